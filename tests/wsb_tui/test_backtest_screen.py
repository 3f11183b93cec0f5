"""The backtest screen driven by Pilot: a small simulator backtest runs in a worker thread,
the progress bar reaches the end, the figures and trades are the engine's, cancel stops it."""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import make_app, wait_until
from textual.widgets import ProgressBar, Static

from engine.backtest.runner import run_backtest_sync
from widgets.heatmap import MonthlyHeatmap
from widgets.keyed_table import KeyedTable
from wsb_tui.commands import DeskCommands
from wsb_tui.commands_backtest import BacktestForm, form_config, run_backtest_for_tui
from wsb_tui.screens import backtest as backtest_screen
from wsb_tui.screens.backtest import BacktestScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.help import HelpScreen

# Jan-Mar 2025 on the simulator, sma_cross on its own universe: ~0.6 s, a dozen trades.
SMALL = {"start": "2025-01-02", "end": "2025-03-31"}
LOAD_SECONDS = 60  # the first run in a process imports the engine (~2-4 s on a busy box)


async def open_screen(app: Any, pilot: Any) -> BacktestScreen:
    await app.wait_ready()
    await pilot.pause()
    await pilot.press("b")
    await wait_until(lambda: isinstance(app.screen, BacktestScreen))
    screen: BacktestScreen = app.screen
    await wait_until(lambda: bool(screen.registry), LOAD_SECONDS)
    return screen


def fill(screen: BacktestScreen, strategies: list[str], **fields: str) -> None:
    screen.select_strategies(strategies)
    for key, value in fields.items():
        screen.set_field(key, value)


def text_of(screen: BacktestScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_run_when_small_sim_backtest_then_progress_done_and_engine_figures_shown(
    isolated_config: Path,
) -> None:
    app = make_app(isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_screen(app, pilot)
        fill(screen, ["sma_cross"], **SMALL)
        await pilot.press("ctrl+r")
        await wait_until(lambda: screen.state != "running", LOAD_SECONDS)
        await pilot.pause()
        assert screen.state == "done", screen.error
        view = screen.view
        assert view is not None

        # The same form through the CLI's path gives the same run (determinism + wiring).
        form = BacktestForm(("sma_cross",), "research_2024", **SMALL)
        assert screen.form() == form
        expected = await asyncio.to_thread(run_backtest_sync, form_config(form))
        assert view.fingerprint == expected.fingerprint()
        assert view.sessions_done == view.sessions_total == len(expected.sessions) > 40

        bar = screen.query_one("#bt-progress", ProgressBar)
        assert bar.total == bar.progress == len(expected.sessions)
        assert screen.progress_done == screen.progress_total == len(expected.sessions)

        figures = text_of(screen, "#bt-figures")
        s = expected.summary
        for label, value in (
            ("Sharpe", f"{s.sharpe:,.2f}"),
            ("Sortino", f"{s.sortino:,.2f}"),
            ("Total return", f"{s.total_return * 100:+.2f}%"),
            ("Max drawdown", f"{-s.max_drawdown * 100:+.2f}%"),
            ("Win rate", f"{s.win_rate * 100:.2f}%"),
            ("Profit factor", f"{s.profit_factor:,.2f}"),
            ("Beta", f"{s.beta:,.2f}"),
        ):
            line = next(ln for ln in figures.splitlines() if label in ln)
            assert value in line, (label, value, line)

        trades = screen.query_one("#bt-trades", KeyedTable)
        assert len(expected.trades) > 3
        assert trades.row_count == len(expected.trades)
        first = expected.trades[0]
        row = [str(c) for c in trades.get_row_at(0)]
        assert row[0] == first.strategy
        assert row[1] == first.symbol
        assert row[8] == f"{'-' if first.pnl < 0 else '+'}${abs(first.pnl):,.2f}"

        heat = screen.query_one("#bt-monthly", MonthlyHeatmap)
        assert set(heat.returns) == {(2025, 1), (2025, 2), (2025, 3)}
        assert math.isclose(view.equity[-1], s.end_equity)
        assert "checks ok" in text_of(screen, "#bt-status")
        assert app._exception is None


GATE_SESSION = 3  # the replay waits here for the test's ctrl+x


async def test_cancel_when_ctrl_x_during_run_then_stops_early_with_partial_result(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replay is now fast enough to finish 4,700 sessions before a busy CI box delivers
    # the key press, so the run is held at one session until ctrl+x has been pressed. The
    # engine's own cancel check still has to stop it: the gate only orders the two threads.
    reached, release = threading.Event(), threading.Event()

    def gated(form: Any, progress: Any, cancelled: Any) -> Any:
        def on_session(done: int, total: int, session: str, equity: float) -> None:
            progress(done, total, session, equity)
            if done == GATE_SESSION:
                reached.set()
                release.wait(LOAD_SECONDS)

        return run_backtest_for_tui(form, on_session, cancelled)

    monkeypatch.setattr(backtest_screen, "run_backtest_for_tui", gated)
    app = make_app(isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(app, pilot)
        fill(screen, ["sma_cross"], start="2006-01-03", end="2024-12-31")
        await pilot.press("ctrl+r")
        await wait_until(reached.is_set, LOAD_SECONDS, step=0.005)
        await wait_until(lambda: screen.progress_done >= 1, LOAD_SECONDS)
        await pilot.press("ctrl+x")
        await wait_until(lambda: "cancelling" in text_of(screen, "#bt-status"))
        release.set()
        await wait_until(lambda: screen.state != "running", 30)
        await pilot.pause()
        assert screen.state == "cancelled", screen.error
        view = screen.view
        assert view is not None
        assert GATE_SESSION <= view.sessions_done < view.sessions_total
        assert view.sessions_total > 4000
        status = text_of(screen, "#bt-status")
        assert f"cancelled after {view.sessions_done} of {view.sessions_total}" in status
        assert len(view.equity) == view.sessions_done

        # The screen is usable again: a new run starts and finishes.
        fill(screen, ["sma_cross"], **SMALL)
        await pilot.press("ctrl+r")
        await wait_until(lambda: screen.state != "running", LOAD_SECONDS)
        assert screen.state == "done"
        assert app._exception is None


async def test_form_when_fields_bad_then_error_names_each_and_nothing_runs(
    isolated_config: Path,
) -> None:
    app = make_app(isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(app, pilot)
        fill(screen, [], start="2025-13-01", end="2025-01-02", capital="lots", data="ftp:x")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.state == "error"
        status = text_of(screen, "#bt-status")
        for field in ("strategies:", "start:", "capital:", "data:"):
            assert field in status, field
        assert "'2025-13-01'" in status
        assert "'lots'" in status
        assert screen.view is None

        # An unknown strategy is caught by the engine's registry, off the UI thread.
        form = BacktestForm(("nope",), "research_2024", **SMALL)
        with pytest.raises(ValueError, match=r"strategies: .*nope"):
            form_config(form)


async def test_open_when_dashboard_key_palette_or_help_then_backtest_reachable_and_listed(
    isolated_config: Path,
) -> None:
    app = make_app(isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_screen(app, pilot)
        await pilot.press("ctrl+l")  # all = the registry's ten, like `--strategy all`
        await pilot.pause()
        assert screen.strategies_selected() == list(screen.registry)
        assert len(screen.registry) == 10
        await pilot.press("ctrl+l")
        assert screen.strategies_selected() == []
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, DashboardScreen))

        # From another screen, through the command palette's entry.
        await pilot.press("question_mark")
        await wait_until(lambda: isinstance(app.screen, HelpScreen))
        help_table = app.screen.query_one("#help-table", KeyedTable)
        for binding_id in (
            "dashboard.backtest",
            "backtest.run",
            "backtest.cancel",
            "backtest.all",
            "backtest.back",
        ):
            assert binding_id in help_table.row_keys, binding_id
        entries = {t: cb for t, cb, _ in DeskCommands(app.screen)._entries()}
        entries["backtest: open backtest screen"]()
        await wait_until(lambda: isinstance(app.screen, BacktestScreen))
        assert app.screen is screen  # the same screen: a result survives leaving it
        await pilot.press("ctrl+x")  # nothing running: a note, no error
        await pilot.pause()
        assert screen.state == "idle"
        assert app._exception is None
