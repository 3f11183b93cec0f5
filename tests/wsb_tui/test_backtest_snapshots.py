"""Snapshots of the backtest screen's results at 80x24 and 160x48, dark theme.

Fixed inputs: the fake client's clock and the simulator's seed (7), one strategy
(sma_cross) over Jan-Mar 2025, so the run, its figures and its charts are the same every
time. Nothing on the screen shows wall time. Update deliberately:
`pytest --snapshot-update tests/wsb_tui/test_backtest_snapshots.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from desk_helpers import make_app, wait_until
from pytest_textual_snapshot import SVGImageExtension
from textual.pilot import Pilot

from wsb_tui.screens.backtest import BacktestScreen

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


def _shoot(app: Any, size: tuple[int, int]) -> tuple[str, BacktestScreen]:
    shots: list[str] = []
    seen: list[BacktestScreen] = []

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        await app.wait_ready()
        await pilot.pause()
        await pilot.press("b")
        await wait_until(lambda: isinstance(app.screen, BacktestScreen))
        screen: BacktestScreen = app.screen
        await wait_until(lambda: bool(screen.registry), 60)
        screen.select_strategies(["sma_cross"])
        screen.set_field("start", "2025-01-02")
        screen.set_field("end", "2025-03-31")
        await pilot.press("ctrl+r")
        await wait_until(lambda: screen.state != "running", 60)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        shots.append(app.export_screenshot(title="backtest wsb-dark"))
        seen.append(screen)
        app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    return shots[0], seen[0]


@pytest.mark.parametrize("size", list(SIZES))
def test_backtest_results_screen_when_run_then_matches_snapshot(
    size: str, snapshot: Any, isolated_config: Path
) -> None:
    snap = snapshot.use_extension(SVGImageExtension)
    svg, screen = _shoot(make_app(isolated_config, theme="wsb-dark"), SIZES[size])
    assert screen.state == "done", screen.error
    assert snap(name=f"backtest-results-wsb-dark-{size}") == svg
