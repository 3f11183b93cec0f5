"""One strategy: parameters, its positions, its proposals and decisions, its P&L curve;
keys to pause, resume, stop it and switch its profile."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from engine.domain import ProposalState
from engine.runtime.views import StrategyRunState, StrategyStatus
from widgets.analytics import LiveAnalyticsPanel
from widgets.charts import EquityChart
from widgets.format import compact_money, money, pct, proposal_action
from widgets.keyed_table import Column, KeyedTable, cell
from widgets.positions import PositionsTable
from widgets.styles import signal_styles
from wsb_tui.bindings import bindings
from wsb_tui.live_analytics import attach_panel
from wsb_tui.screens.base import DeskScreen

NEW_YORK = ZoneInfo("America/New_York")
PARAM_COLUMNS = (Column("param", "parameter"), Column("value", "value"))
HISTORY_COLUMNS = (
    Column("time", "time"),
    Column("action", "proposal"),
    Column("state", "state"),
    Column("note", "note"),
)
MAX_HISTORY_ROWS = 200


class StrategyScreen(DeskScreen):
    SCOPE = "strategy"
    BINDINGS = bindings("strategy")

    def __init__(self, name: str) -> None:
        super().__init__(id="strategy-screen")
        self.strategy = name

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with VerticalScroll(id="strategy-body"):
            with Vertical(id="strategy-analytics-box", classes="box"):
                yield LiveAnalyticsPanel(strategy=self.strategy, id="strategy-analytics")
            with Horizontal(id="strategy-top", classes="row"):
                with Vertical(id="strategy-info", classes="box"):
                    yield Static(id="strategy-summary")
                    yield KeyedTable(PARAM_COLUMNS, id="strategy-params", cursor_type="none")
                with Vertical(id="strategy-chart-box", classes="box"):
                    yield EquityChart(id="strategy-chart")
            with Horizontal(id="strategy-bottom", classes="row"):
                with Vertical(id="strategy-positions-box", classes="box"):
                    yield PositionsTable(id="strategy-positions")
                with Vertical(id="strategy-history-box", classes="box"):
                    yield KeyedTable(HISTORY_COLUMNS, id="strategy-history")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        box = self.query_one("#strategy-analytics-box")
        box.border_title = "Analytics"
        box.border_subtitle = "Sharpe: 20 daily returns, annualised"
        attach_panel(self, self.query_one("#strategy-analytics", LiveAnalyticsPanel))
        self.query_one("#strategy-chart-box").border_title = "P&L by day"
        self.query_one("#strategy-positions-box").border_title = "Positions"
        self.query_one("#strategy-history-box").border_title = "Proposals & decisions"

    @property
    def status(self) -> StrategyStatus | None:
        return self.wsb.desk.strategies.get(self.strategy)

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        s = self.status
        if s is None:
            return
        if "strategies" in topics:
            self._render_status(s)
        if topics & {"portfolio", "fills"}:
            self._render_positions()
        if topics & {"proposals", "pending", "strategies"}:
            self._render_history()

    def _render_status(self, s: StrategyStatus) -> None:
        st = signal_styles(self.app)
        info = self.query_one("#strategy-info")
        info.border_title = f"{s.title} · {s.state.value}"
        info.border_subtitle = s.profile
        t = Text()
        state_style = {
            StrategyRunState.RUNNING: st.gain,
            StrategyRunState.PAUSED: st.warn,
        }.get(s.state, f"bold {st.loss}")
        t.append(f"{s.state.value.upper()}", style=state_style)
        t.append(f"  profile {s.profile}\n", style=st.muted)
        pnl = s.realized_pnl + s.unrealized_pnl
        t.append("P&L ", style=st.muted)
        t.append(money(pnl, signed=True), style=st.for_sign(1 if pnl > 0 else -1 if pnl < 0 else 0))
        t.append(
            f"  (realised {money(s.realized_pnl, signed=True)}, open {money(s.unrealized_pnl, signed=True)})\n",
            style=st.muted,
        )
        t.append(f"{s.open_positions} positions · {s.proposals_today} proposals today\n")
        t.append("allocation cap ", style=st.muted)
        t.append(f"{pct(s.allocation_cap, signed=False, digits=0)}")
        t.append("  open risk ", style=st.muted)
        t.append(compact_money(s.open_risk) + "\n")
        if s.error:
            t.append(f"error: {s.error}", style=f"bold {st.loss}")
        else:
            t.append(f"last: {s.last_reason or '—'}", style=st.muted)
        self.query_one("#strategy-summary", Static).update(t)
        params = self.query_one("#strategy-params", KeyedTable)
        params.sync([(k, [cell(k, st.muted), cell(v)]) for k, v in s.params])
        self.query_one(EquityChart).set_series(s.pnl_history, f"{s.title} P&L")

    def _render_positions(self) -> None:
        desk = self.wsb.desk
        if desk.portfolio is None:
            return
        symbols = desk.strategy_symbols(self.strategy)
        mine = {k: p for k, p in desk.portfolio.positions.items() if k in symbols}
        table = self.query_one("#strategy-positions", PositionsTable)
        table.show(mine, desk.greeks)
        self.query_one("#strategy-positions-box").border_title = f"Positions ({table.row_count})"

    def _render_history(self) -> None:
        st = signal_styles(self.app)
        records = self.wsb.desk.proposals_of(self.strategy)[-MAX_HISTORY_ROWS:]
        rows = []
        for r in reversed(records):
            style = {
                ProposalState.DENIED: st.loss,
                ProposalState.REJECTED: st.loss,
                ProposalState.EXPIRED: st.muted,
                ProposalState.SUBMITTED: st.gain,
                ProposalState.CONFIRMED: st.gain,
                ProposalState.AWAITING_CONFIRMATION: f"bold {st.accent}",
            }.get(r.state, "")
            note = (
                r.note or (r.decision.reason if r.decision is not None else "") or r.proposal.reason
            )
            rows.append(
                (
                    r.proposal.proposal_id,
                    [
                        cell(f"{r.proposal.created_at.astimezone(NEW_YORK):%m-%d %H:%M}", st.muted),
                        cell(proposal_action(r.proposal)),
                        cell(r.state.value, style),
                        cell(note[:80], st.muted),
                    ],
                )
            )
        self.query_one("#strategy-history", KeyedTable).sync(rows)

    # ------------------------------------------------------------------ actions
    def action_pause(self) -> None:
        self.wsb.pause_strategy(self.strategy)

    def action_resume(self) -> None:
        self.wsb.resume_strategy(self.strategy)

    def action_stop(self) -> None:
        self.wsb.stop_strategy(self.strategy)

    def action_switch_profile(self) -> None:
        s = self.status
        profiles = self.wsb.desk.profiles
        if s is None or not profiles:
            return
        i = profiles.index(s.profile) if s.profile in profiles else -1
        self.wsb.set_profile(self.strategy, profiles[(i + 1) % len(profiles)])

    def action_cycle(self, step: int) -> None:
        names = list(self.wsb.desk.strategies)
        if not names:
            return
        i = names.index(self.strategy) if self.strategy in names else 0
        self.strategy = names[(i + step) % len(names)]
        self.query_one("#strategy-analytics", LiveAnalyticsPanel).follow(self.strategy)
        self.query_one("#strategy-positions", PositionsTable).reset()
        self.query_one("#strategy-history", KeyedTable).reset()
        self.render_desk({"strategies", "portfolio", "fills", "proposals", "header"})
