"""The backtest screen: pick strategies and a window, run it off the UI thread, read the result.

The run goes through `wsb_tui.commands_backtest.run_backtest_for_tui` in a worker thread (the
same engine path as `wsb backtest`: strategies, risk, paper fills, store, on a replay clock),
reporting each session to a progress bar. Ctrl+X cancels between sessions; the result then
covers the sessions that ran. Results: the key figures, equity against the benchmark, the
drawdown, a monthly returns heat-map and the trades.

The screen is installed once per app (`open_backtest`), so leaving it does not lose a run in
progress or its result.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Select, SelectionList, Static
from textual.worker import Worker, WorkerState, get_current_worker

from widgets.backtest_charts import BacktestEquityChart, DrawdownChart
from widgets.format import money
from widgets.heatmap import MonthlyHeatmap
from widgets.keyed_table import CellSpec, Column, KeyedTable, cell, num
from widgets.styles import SignalStyles, signal_styles
from wsb_tui.bindings import bindings
from wsb_tui.commands_backtest import (
    BacktestForm,
    BacktestOutcome,
    BacktestView,
    check_form,
    run_backtest_for_tui,
    strategy_choices,
)
from wsb_tui.screens.base import DeskScreen

SCREEN_NAME = "backtest"
DEFAULT_DAYS = 91
PROGRESS_EVERY_SECONDS = 0.05
TRADE_COLUMNS = (
    Column("strategy", "strategy"),
    Column("symbol", "symbol"),
    Column("side", "side"),
    Column("qty", "qty"),
    Column("entry", "entry"),
    Column("entry_px", "price"),
    Column("exit", "exit"),
    Column("exit_px", "price"),
    Column("pnl", "P&L"),
    Column("ret", "return"),
)
FIELDS = (
    ("data", "data", "sim | csv:DIR"),
    ("symbols", "symbols", "blank = the strategies' own"),
    ("start", "start", "YYYY-MM-DD"),
    ("end", "end", "YYYY-MM-DD"),
    ("capital", "capital $", "100000"),
    ("seed", "seed", "7"),
)


def open_backtest(app: App[Any]) -> None:
    """Show the app's backtest screen (created on first use, kept afterwards)."""
    if isinstance(app.screen, BacktestScreen):
        return
    if not app.is_screen_installed(SCREEN_NAME):
        app.install_screen(BacktestScreen(), SCREEN_NAME)
    app.push_screen(SCREEN_NAME)


def _today_utc() -> date:
    return datetime.now(UTC).date()


class BacktestScreen(DeskScreen):
    SCOPE = "backtest"
    BINDINGS = bindings("backtest")

    class Progress(Message):
        """From the worker thread: `done` of `total` sessions replayed."""

        def __init__(self, run: int, done: int, total: int, session: str, equity: float) -> None:
            super().__init__()
            self.run, self.done, self.total = run, done, total
            self.session, self.equity = session, equity

    def __init__(self) -> None:
        super().__init__(id="backtest-screen")
        self.state = "idle"  # idle | running | done | cancelled | error
        self.view: BacktestView | None = None
        self.error = ""
        self.progress_done = 0
        self.progress_total = 0
        self.registry: tuple[str, ...] = ()
        self.examples: tuple[str, ...] = ()
        self._cancel = threading.Event()
        self._worker: Worker[BacktestOutcome] | None = None
        self._run = 0
        self._last_progress: tuple[str, float] | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="bt-body"):
            with Horizontal(id="bt-top", classes="row"):
                with Horizontal(id="bt-form-box", classes="box"):
                    yield SelectionList[str](id="bt-strategies")
                    with Vertical(id="bt-fields"):
                        with Horizontal(classes="bt-field"):
                            yield Label("profile", classes="bt-label")
                            yield Select[str](
                                [(p, p) for p in self._profiles()],
                                value=self._profiles()[0],
                                allow_blank=False,
                                compact=True,
                                id="bt-profile",
                            )
                        for key, label, hint in FIELDS:
                            with Horizontal(classes="bt-field"):
                                yield Label(label, classes="bt-label")
                                yield Input(
                                    self._default(key),
                                    placeholder=hint,
                                    compact=True,
                                    id=f"bt-{key}",
                                )
                with Vertical(id="bt-run-box", classes="box"):
                    # Idle: an empty bar (the indeterminate one animates; kept for "loading").
                    yield ProgressBar(total=1, show_eta=False, id="bt-progress")
                    yield Static(id="bt-status")
            with Horizontal(id="bt-results", classes="row"):
                with Vertical(id="bt-figures-box", classes="box"):
                    yield Static(id="bt-figures")
                with Vertical(id="bt-equity-box", classes="box"):
                    yield BacktestEquityChart(id="bt-equity")
            with Horizontal(id="bt-lower", classes="row"):
                with Vertical(id="bt-dd-box", classes="box"):
                    yield DrawdownChart(id="bt-drawdown")
                with Vertical(id="bt-monthly-box", classes="box"):
                    yield MonthlyHeatmap(id="bt-monthly")
            with Vertical(id="bt-trades-box", classes="box"):
                yield KeyedTable(TRADE_COLUMNS, id="bt-trades")
        yield from self.compose_footer()

    def _profiles(self) -> tuple[str, ...]:
        return tuple(self.wsb.desk.profiles) or ("research_2024",)

    def _default(self, key: str) -> str:
        now = self.wsb.desk.now
        end = (now.date() if now is not None else _today_utc()) - timedelta(days=1)
        return {
            "data": "sim",
            "symbols": "",
            "start": (end - timedelta(days=DEFAULT_DAYS)).isoformat(),
            "end": end.isoformat(),
            "capital": "100000",
            "seed": "7",
        }[key]

    def on_mount(self) -> None:
        super().on_mount()
        titles = {
            "#bt-form-box": "Backtest: strategies (space) · ctrl+l all",
            "#bt-run-box": "Run",
            "#bt-figures-box": "Key figures",
            "#bt-equity-box": "Equity",
            "#bt-dd-box": "Drawdown",
            "#bt-monthly-box": "Monthly returns (%)",
            "#bt-trades-box": "Trades",
        }
        for sel, title in titles.items():
            self.query_one(sel).border_title = title
        self.query_one("#bt-strategies", SelectionList).border_title = "strategies"
        self._render_status()
        self._render_results()
        self.run_worker(
            strategy_choices, thread=True, group="backtest-choices", name="strategy list"
        )
        self.query_one("#bt-strategies").focus()

    def on_unmount(self) -> None:
        self._cancel.set()  # the app is closing: let the thread finish at the next session

    # ------------------------------------------------------------------ form
    def strategies_selected(self) -> list[str]:
        return list(self.query_one("#bt-strategies", SelectionList).selected)

    def select_strategies(self, names: list[str]) -> None:
        sl = self.query_one("#bt-strategies", SelectionList)
        sl.deselect_all()
        for n in names:
            sl.select(n)

    def set_field(self, key: str, value: str) -> None:
        self.query_one(f"#bt-{key}", Input).value = value

    def form(self) -> BacktestForm:
        profile = self.query_one("#bt-profile", Select).value
        values = {key: self.query_one(f"#bt-{key}", Input).value for key, _, _ in FIELDS}
        return BacktestForm(
            strategies=tuple(self.strategies_selected()),
            profile=str(profile) if isinstance(profile, str) else self._profiles()[0],
            **values,
        )

    # ------------------------------------------------------------------ actions
    def action_run(self) -> None:
        if self.state == "running":
            self.notify("a backtest is already running (ctrl+x cancels it)", timeout=3)
            return
        form = self.form()
        problems = check_form(form)
        if problems:
            self._fail("; ".join(problems))
            return
        self._run += 1
        self._cancel = threading.Event()
        self.state, self.error = "running", ""
        self.progress_done, self.progress_total = 0, 0
        self._last_progress = None
        self.query_one("#bt-progress", ProgressBar).update(total=None, progress=0)
        self._render_status()
        run, cancel = self._run, self._cancel
        self._worker = self.run_worker(
            lambda: self._job(form, run, cancel),
            thread=True,
            group="backtest",
            name="backtest",
            exit_on_error=False,
        )

    def action_cancel_run(self) -> None:
        if self.state != "running":
            self.notify("no backtest is running", timeout=2)
            return
        self._cancel.set()
        self._render_status(cancelling=True)

    def action_toggle_all(self) -> None:
        sl = self.query_one("#bt-strategies", SelectionList)
        if set(self.registry) <= set(sl.selected):
            sl.deselect_all()
        else:
            self.select_strategies(list(self.registry))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    # ------------------------------------------------------------------ worker
    def _job(self, form: BacktestForm, run: int, cancel: threading.Event) -> BacktestOutcome:
        worker = get_current_worker()
        last = -1e9

        def progress(done: int, total: int, session: str, equity: float) -> None:
            nonlocal last
            # Hand the GIL to the UI thread between sessions: the replay is pure Python, and
            # without a pause the event loop waits out whole switch intervals for it.
            time.sleep(0)
            now = time.monotonic()
            if done == total or now - last >= PROGRESS_EVERY_SECONDS:
                last = now
                self.post_message(self.Progress(run, done, total, session, equity))

        return run_backtest_for_tui(form, progress, lambda: cancel.is_set() or worker.is_cancelled)

    def on_backtest_screen_progress(self, message: BacktestScreen.Progress) -> None:
        message.stop()
        if message.run != self._run or self.state != "running":
            return
        self.progress_done, self.progress_total = message.done, message.total
        self._last_progress = (message.session, message.equity)
        self.query_one("#bt-progress", ProgressBar).update(
            total=message.total, progress=message.done
        )
        self._render_status(cancelling=self._cancel.is_set())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "backtest-choices" and event.state is WorkerState.SUCCESS:
            event.stop()
            self._fill_choices(worker.result)
            return
        if worker is not self._worker:
            return
        if event.state is WorkerState.SUCCESS:
            event.stop()
            outcome = worker.result
            if outcome is None or outcome.view is None:
                self._fail(outcome.error if outcome is not None else "no result")
                return
            self._show(outcome.view)
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            event.stop()
            self._fail(f"backtest stopped: {worker.error or 'cancelled'}")

    def _fill_choices(self, choices: Any) -> None:
        registry, examples = choices
        self.registry, self.examples = tuple(registry), tuple(examples)
        sl = self.query_one("#bt-strategies", SelectionList)
        chosen = set(sl.selected)
        sl.clear_options()
        sl.add_options([(n, n, n in chosen) for n in (*self.registry, *self.examples)])

    def _fail(self, message: str) -> None:
        self.state, self.error = "error", message
        self._render_status()

    def _show(self, view: BacktestView) -> None:
        self.view = view
        self.state = "cancelled" if view.cancelled else "done"
        self.progress_done, self.progress_total = view.sessions_done, view.sessions_total
        self.query_one("#bt-progress", ProgressBar).update(
            total=view.sessions_total, progress=view.sessions_done
        )
        self._render_status()
        self._render_results()
        self.query_one("#bt-trades", KeyedTable).scroll_home(animate=False)
        self.query_one("#bt-body", VerticalScroll).scroll_to_widget(
            self.query_one("#bt-results"), animate=False, top=True
        )

    # ------------------------------------------------------------------ drawing
    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if "theme" in topics and self.is_mounted:
            self._render_status()
            self._render_results()

    def _render_status(self, *, cancelling: bool = False) -> None:
        st = signal_styles(self.app)
        t = Text()
        if self.state == "idle":
            t.append("Pick strategies (space), set the fields, then ", style=st.muted)
            t.append("ctrl+r", style=f"bold {st.accent}")
            t.append(" (or enter) to run.", style=st.muted)
        elif self.state == "running":
            t.append("cancelling… " if cancelling else "running ", style=f"bold {st.warn}")
            if self._last_progress is None:
                t.append("loading the engine and the data…", style=st.muted)
            else:
                session, equity = self._last_progress
                t.append(f"{session} ({self.progress_done}/{self.progress_total})  ")
                t.append("equity ", style=st.muted)
                t.append(money(equity, cents=False))
            t.append("\nctrl+x cancels", style=st.muted)
        elif self.state == "error":
            t.append("error: ", style=f"bold {st.loss}")
            t.append(self.error, style=st.loss)
        elif self.view is not None:
            v = self.view
            if v.cancelled:
                t.append(
                    f"cancelled after {v.sessions_done} of {v.sessions_total} sessions: "
                    "partial results\n",
                    style=f"bold {st.warn}",
                )
            else:
                t.append(f"done: {v.sessions_done} sessions\n", style=f"bold {st.gain}")
            t.append(f"{v.title}\n", style=st.muted)
            t.append(f"{v.trades_total} trades (open ones included) · ")
            if v.checks_ok:
                t.append("checks ok", style=st.gain)
            else:
                t.append("consistency checks FAILED", style=f"bold {st.loss}")
            t.append(f" · fingerprint {v.fingerprint[:12]}", style=st.muted)
            for name, pnl, contribution in v.attribution:
                t.append(f"\n{name} ", style=st.muted)
                t.append(money(pnl, signed=True), style=st.for_sign(_sign(pnl)))
                t.append(f" ({contribution * 100:+.2f}%)", style=st.muted)
            for note in v.notes:
                t.append(f"\nnote: {note}", style=st.warn)
        self.query_one("#bt-status", Static).update(t)
        box = self.query_one("#bt-run-box")
        box.border_subtitle = "ctrl+x cancel" if self.state == "running" else "ctrl+r run"

    def _render_results(self) -> None:
        v = self.view
        st = signal_styles(self.app)
        self.query_one("#bt-figures", Static).update(_figures_text(v, st))
        equity = self.query_one("#bt-equity", BacktestEquityChart)
        drawdown = self.query_one("#bt-drawdown", DrawdownChart)
        heatmap = self.query_one("#bt-monthly", MonthlyHeatmap)
        trades = self.query_one("#bt-trades", KeyedTable)
        if v is None:
            equity.set_data((), ())
            drawdown.set_data((), ())
            heatmap.set_returns({})
            trades.sync([])
            return
        equity.set_data(v.sessions, v.equity, v.benchmark, v.benchmark_name)
        drawdown.set_data(v.sessions, v.drawdown_pct)
        heatmap.set_returns(v.monthly)
        trades.reset()
        trades.sync(_trade_rows(v, st))
        shown = len(v.trades)
        more = f" (first {shown} of {v.trades_total})" if shown < v.trades_total else ""
        self.query_one("#bt-trades-box").border_title = f"Trades ({v.trades_total}){more}"


def _sign(x: float) -> int:
    if not math.isfinite(x) or abs(x) < 0.005:
        return 0
    return 1 if x > 0 else -1


def _figures_text(v: BacktestView | None, st: SignalStyles) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    if v is None:
        t.append("no result yet", style=st.muted)
        return t
    figs = v.figures
    half = (len(figs) + 1) // 2
    for i in range(half):
        if i:
            t.append("\n")
        for j, f in enumerate((figs[i], figs[i + half] if i + half < len(figs) else None)):
            if f is None:
                continue
            if j:
                t.append("  ")
            t.append(f"{f.label[:20]:<20} ", style=st.muted)
            t.append(f"{f.text:>11}", style=st.for_sign(f.sign))
    return t


def _trade_rows(v: BacktestView, st: SignalStyles) -> list[tuple[str, list[CellSpec]]]:
    rows: list[tuple[str, list[CellSpec]]] = []
    for r in v.trades:
        style = st.for_sign(_sign(r.pnl))
        ret = f"{r.return_pct * 100:+.2f}%" if math.isfinite(r.return_pct) else "—"
        rows.append(
            (
                r.key,
                [
                    cell(r.strategy),
                    cell(r.symbol),
                    cell(r.side, st.gain if r.side == "long" else st.warn),
                    num(f"{r.quantity:,}", r.quantity),
                    cell(r.entry, st.muted),
                    num(f"{r.entry_price:,.2f}", r.entry_price),
                    cell(r.exit, st.muted),
                    num(f"{r.exit_price:,.2f}" if r.exit_price is not None else "—", r.exit_price),
                    num(money(r.pnl, signed=True), r.pnl, style),
                    num(ret, r.return_pct if math.isfinite(r.return_pct) else None, style),
                ],
            )
        )
    return rows
