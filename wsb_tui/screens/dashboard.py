"""The dashboard: header, positions, risk gauges, ten strategy panes, proposals, event log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from widgets.analytics import LiveAnalyticsPanel
from widgets.event_log import EventLog
from widgets.gauges import RiskGauges
from widgets.header import DeskHeader, HeaderView
from widgets.positions import PositionsTable
from widgets.proposals import ProposalsQueue
from widgets.strategy_grid import StrategyGrid
from wsb_tui.bindings import bindings
from wsb_tui.screens.desk import Desk, DeskChange

if TYPE_CHECKING:
    from wsb_tui.app import WsbApp

SHORT_BELOW = 36


def header_view(desk: Desk) -> HeaderView:
    pf = desk.portfolio
    equity = pf.equity if pf is not None else None
    day = pf.day_pnl if pf is not None else None
    sod = float(pf.start_of_day_equity) if pf is not None and pf.start_of_day_equity else None
    return HeaderView(
        mode=desk.mode,
        ts=desk.now,
        session_state=desk.session_state,
        equity=equity,
        day_pnl=day,
        day_return=(day / sod) if day is not None and sod else None,
        buying_power=float(pf.buying_power) if pf is not None else None,
        trading_state=str(desk.risk.trading_state) if desk.risk is not None else "—",
        data_source=desk.data.source if desk.data is not None else "",
        data_ok=desk.data.healthy if desk.data is not None else True,
        gate_mode=desk.gate_mode,
        waiting=len(desk.pending),
        connected=desk.connected,
        data=desk.data,
    )


def _set_title(box: Widget, title: str) -> None:
    # Setting a border title repaints the whole box (the 500-row table inside it too),
    # even when the text is the same: only write a title that changed.
    if box.border_title != title:
        box.border_title = title


class DashboardScreen(Screen[None]):
    SCOPE = "dashboard"
    BINDINGS = bindings("dashboard")

    def __init__(self, mode: str = "SIM") -> None:
        super().__init__(id="dashboard")
        self._mode = mode

    @property
    def wsb(self) -> WsbApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield DeskHeader(self._mode, id="header")
        with Horizontal(id="top"):
            with Vertical(id="positions-box", classes="box"):
                yield PositionsTable(id="positions")
            with Vertical(id="risk-box", classes="box"):
                yield RiskGauges(id="gauges")
                yield LiveAnalyticsPanel(id="analytics")
        with Vertical(id="strategies-box", classes="box"):
            yield StrategyGrid(id="strategies")
        with Horizontal(id="bottom"):
            with Vertical(id="queue-box", classes="box"):
                yield ProposalsQueue(id="queue")
            with Vertical(id="log-box", classes="box"):
                yield EventLog(id="log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#positions-box").border_title = "Positions"
        self.query_one("#risk-box").border_title = "Risk"
        self.query_one("#strategies-box").border_title = "Strategies"
        self.query_one("#queue-box").border_title = "Proposals"
        self.query_one("#log-box").border_title = "Log"
        log = self.query_one(EventLog)
        for n in self.wsb.desk.log_history:
            log.add(n.ts, n.level, n.message)
        self.wsb.desk_changed.subscribe(self, self._on_desk)
        from wsb_tui.live_analytics import attach_panel

        attach_panel(self, self.query_one(LiveAnalyticsPanel))
        self._render_all()
        self.query_one(ProposalsQueue).focus()

    def on_resize(self, event: events.Resize) -> None:
        short = event.size.height < SHORT_BELOW
        self.query_one(RiskGauges).set_class(short or event.size.width < 120, "-compact")
        self.query_one(StrategyGrid).set_force_list(short)

    def on_screen_resume(self) -> None:
        self._render_all()

    # ---------------------------------------------------------------- rendering
    def _on_desk(self, change: DeskChange) -> None:
        log = self.query_one(EventLog)
        for n in change.notices:
            if n.log:
                log.add(n.ts, n.level, n.message)
        if not self.is_current and not change.topics & {"pending"}:
            return  # drawn in full when the screen comes back
        self._redraw(change.topics)

    def _render_all(self) -> None:
        self._redraw({"header", "portfolio", "risk", "strategies", "pending"})

    def _redraw(self, topics: set[str]) -> None:
        desk = self.wsb.desk
        if topics & {"header", "portfolio", "pending", "risk"}:
            self.query_one(DeskHeader).set_view(header_view(desk))
        if "portfolio" in topics and desk.portfolio is not None:
            table = self.query_one(PositionsTable)
            table.show(desk.portfolio.positions, desk.greeks)
            _set_title(self.query_one("#positions-box"), f"Positions ({table.row_count})")
        if "risk" in topics and desk.risk is not None:
            self.query_one(RiskGauges).show(desk.risk)
        if "strategies" in topics and desk.strategies:
            self.query_one(StrategyGrid).show(list(desk.strategies.values()))
        if topics & {"pending", "header"}:
            queue = self.query_one(ProposalsQueue)
            queue.show(list(desk.pending.values()), desk.now)
            n = len(desk.pending)
            _set_title(
                self.query_one("#queue-box"),
                f"Proposals ({n} waiting)" if n else "Proposals (none waiting)",
            )

    # ---------------------------------------------------------------- actions
    def _selected_proposal(self) -> str | None:
        queue = self.query_one(ProposalsQueue)
        pid = queue.selected_id
        if pid is None and queue.pending_ids:
            pid = queue.pending_ids[0]
        if pid is None:
            self.notify("no proposal is waiting", severity="information", timeout=2)
        return pid

    def action_confirm_selected(self) -> None:
        pid = self._selected_proposal()
        if pid is not None:
            self.wsb.open_confirm(pid)

    def action_review_selected(self) -> None:
        self.action_confirm_selected()

    def action_edit_selected(self) -> None:
        pid = self._selected_proposal()
        if pid is not None:
            self.wsb.open_confirm(pid, edit=True)

    def action_reject_selected(self) -> None:
        pid = self._selected_proposal()
        if pid is not None:
            self.wsb.send_reject(pid, "rejected from the queue")

    def action_toggle_strategy(self) -> None:
        name = self.query_one(StrategyGrid).selected_name
        if name is None:
            self.notify("no strategy selected", timeout=2)
            return
        self.wsb.toggle_strategy(name)

    def action_open_strategy(self) -> None:
        name = self.query_one(StrategyGrid).selected_name
        if name is not None:
            self.wsb.open_strategy(name)

    def action_cycle_sort(self) -> None:
        self.query_one(PositionsTable).cycle_sort()

    def action_focus_queue(self) -> None:
        self.query_one(ProposalsQueue).focus()

    def action_open_backtest(self) -> None:
        from wsb_tui.screens.backtest import open_backtest

        open_backtest(self.app)

    # ---------------------------------------------------------------- widget messages
    def on_proposals_queue_review_requested(self, event: ProposalsQueue.ReviewRequested) -> None:
        event.stop()
        self.wsb.open_confirm(event.proposal_id)

    def on_strategy_grid_opened(self, event: StrategyGrid.Opened) -> None:
        event.stop()
        self.wsb.open_strategy(event.name)

    def on_positions_table_sort_changed(self, event: PositionsTable.SortChanged) -> None:
        event.stop()
        arrow = "▼" if event.reverse else "▲"
        self.query_one("#positions-box").border_subtitle = f"sort {event.column} {arrow}"

    def on_data_table_row_selected(self, event: Any) -> None:
        # Enter on a position opens its price chart.
        if event.data_table is self.query_one(PositionsTable):
            event.stop()
            key = event.row_key.value
            if key is not None and self.wsb.desk.portfolio is not None:
                pos = self.wsb.desk.portfolio.positions.get(str(key))
                if pos is not None:
                    self.wsb.open_chart(pos.instrument.underlying)
