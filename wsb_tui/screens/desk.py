"""The desk: what the UI knows about the engine, built from snapshots and events.

Plain Python, no Textual: the app feeds it snapshots and events, it answers which parts of
the screen changed and what the person should be told. Every history it keeps is bounded,
so memory stays flat however long the desk runs.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from engine.domain import (
    BarsReceived,
    DataRejected,
    EngineEvent,
    EngineStarted,
    EngineStopped,
    Fill,
    LogLine,
    Order,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    Portfolio,
    PortfolioSnapshot,
    ProposalCreated,
    ProposalDecided,
    ProposalState,
    ProposalStateChanged,
    ReconciliationDifference,
    RiskDecision,
    RiskUpdated,
    StrategyStatusChanged,
    TradeProposal,
)
from engine.runtime.views import (
    DataHealth,
    EngineSnapshot,
    PendingProposal,
    RiskSummary,
    StrategyRunState,
    StrategyStatus,
    TradingState,
)
from widgets.format import instrument_label, proposal_action

MAX_ORDERS = 2_000
MAX_FILLS = 2_000
MAX_PROPOSALS = 1_000
# The most recent proposals keep their whole risk decision (every check with its value and
# limit, ~5 KB each); older finished ones keep only what the strategy screen's history shows
# (state, time, action, note), so the history costs little however long the desk runs.
DETAILED_PROPOSALS = 100
MAX_BARS_SYMBOLS = 200
MAX_LOG_HISTORY = 300
DEFAULT_PROFILES = ("research_2024", "wsb_2025")
TERMINAL_PROPOSAL_STATES = frozenset(
    {
        ProposalState.DENIED,
        ProposalState.CONFIRMED,
        ProposalState.REJECTED,
        ProposalState.EXPIRED,
        ProposalState.SUBMITTED,
    }
)


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the event log; `notify` also raises a toast (errors, breakers, expiries)."""

    ts: datetime | None
    level: str  # debug | info | fill | warning | error
    message: str
    notify: bool = False
    key: str = ""  # notifications with the same key are rate-limited together
    # False when the engine's own log line already records it: a toast, not a second line.
    log: bool = True


@dataclass(slots=True)
class ProposalRecord:
    proposal: TradeProposal
    state: ProposalState
    updated: datetime
    decision: RiskDecision | None = None  # None once an old finished record is compacted
    note: str = ""
    seq: int = 0  # order of arrival at the desk

    def compact(self) -> None:
        """Drop the decision's checks, keeping the line the history shows for it."""
        if self.decision is not None:
            self.note = self.note or self.decision.reason
            self.decision = None


@dataclass(slots=True)
class DeskChange:
    topics: set[str] = field(default_factory=set)
    notices: list[Notice] = field(default_factory=list)
    new_pending: list[str] = field(default_factory=list)
    gone_pending: dict[str, str] = field(default_factory=dict)  # id -> why
    resync: bool = False

    def merge(self, other: DeskChange) -> None:
        self.topics |= other.topics
        self.notices.extend(other.notices)
        self.new_pending.extend(p for p in other.new_pending if p not in self.new_pending)
        self.gone_pending.update(other.gone_pending)
        self.resync = self.resync or other.resync


class Desk:
    def __init__(self, mode: str = "SIM") -> None:
        self.mode = mode.upper()
        self.snapshot: EngineSnapshot | None = None
        self.portfolio: Portfolio | None = None
        self.strategies: OrderedDict[str, StrategyStatus] = OrderedDict()
        self.pending: OrderedDict[str, PendingProposal] = OrderedDict()
        self.risk: RiskSummary | None = None
        self.data: DataHealth | None = None
        self.session_state = "closed"
        self.gate_mode = "auto"
        self.orders: OrderedDict[str, Order] = OrderedDict()
        self.fills: OrderedDict[str, Fill] = OrderedDict()
        self.proposals: OrderedDict[str, ProposalRecord] = OrderedDict()
        self._proposal_seq = 0
        # Ids of the newest DETAILED_PROPOSALS records: the one pushed out is compacted.
        self._detailed: deque[str] = deque(maxlen=DETAILED_PROPOSALS)
        self.last_bars: OrderedDict[str, Any] = OrderedDict()
        self.greeks: Mapping[str, Any] = {}
        self.profiles: tuple[str, ...] = DEFAULT_PROFILES
        self.now: datetime | None = None
        self.connected = False
        self.events_seen = 0
        # Recent log lines, so a log widget mounted later starts with context.
        self.log_history: deque[Notice] = deque(maxlen=MAX_LOG_HISTORY)

    # ----------------------------------------------------------------- queries
    @property
    def ready(self) -> bool:
        return self.snapshot is not None

    def open_positions(self) -> int:
        if self.portfolio is None:
            return 0
        return sum(1 for p in self.portfolio.positions.values() if p.quantity != 0)

    def underlyings(self) -> list[str]:
        if self.portfolio is None:
            return []
        seen: dict[str, None] = {}
        for p in self.portfolio.positions.values():
            if p.quantity != 0:
                seen.setdefault(p.instrument.underlying, None)
        return sorted(seen)

    def strategy_symbols(self, name: str) -> set[str]:
        """Symbols a strategy traded (from fills): the engine does not yet attribute
        positions to strategies in its snapshot."""
        return {f.symbol for f in self.fills.values() if f.strategy == name}

    def proposals_of(self, name: str) -> list[ProposalRecord]:
        return [r for r in self.proposals.values() if r.proposal.strategy == name]

    # ----------------------------------------------------------------- snapshot
    def apply_snapshot(self, snap: EngineSnapshot) -> DeskChange:
        change = DeskChange(topics={"header", "portfolio", "strategies", "risk", "pending"})
        first = self.snapshot is None
        self.snapshot = snap
        self.connected = True
        self.mode = snap.mode.upper()
        self.session_state = snap.session_state
        self.gate_mode = snap.gate_mode
        self.data = snap.data
        self._advance(snap.ts)
        if self.portfolio is None or snap.portfolio.ts >= self.portfolio.ts:
            self.portfolio = snap.portfolio
        self.risk = snap.risk
        self.strategies = OrderedDict((s.name, s) for s in snap.strategies)
        self.greeks = snap.position_greeks
        if snap.profiles:
            self.profiles = tuple(snap.profiles)
        before = set(self.pending)
        self.pending = OrderedDict((p.proposal.proposal_id, p) for p in snap.pending)
        for p in snap.pending:
            self._record(p.proposal, p.state, snap.ts, decision=p.decision)
        change.new_pending = [pid for pid in self.pending if pid not in before]
        for pid in before - set(self.pending):
            rec = self.proposals.get(pid)
            change.gone_pending[pid] = rec.state.value if rec else "resolved"
        for o in snap.open_orders:
            self._put_order(o)
        for f in snap.recent_fills:
            self._put_fill(f)
        if snap.open_orders or snap.recent_fills:
            change.topics |= {"orders", "fills"}
        if first:
            change.notices.extend(Notice(None, "info", line) for line in snap.log)
            change.notices.append(
                Notice(snap.ts, "info", f"connected: {self.mode} engine, gate {snap.gate_mode}")
            )
        return change

    # ----------------------------------------------------------------- events
    def apply_event(self, ev: EngineEvent) -> DeskChange:
        self.events_seen += 1
        self._advance(ev.ts)
        change = DeskChange()
        handler = _HANDLERS.get(type(ev))
        if handler is not None:
            handler(self, ev, change)
        elif ev.kind == "events_dropped":
            n = getattr(ev, "count", 0)
            change.resync = True
            change.notices.append(
                Notice(ev.ts, "warning", f"UI fell behind: {n} engine events skipped; resyncing")
            )
        else:
            change.notices.append(Notice(ev.ts, "debug", f"event {ev.kind}"))
        return change

    def _on_started(self, ev: EngineStarted, change: DeskChange) -> None:
        self.mode = ev.mode.upper()
        change.topics.add("header")
        change.notices.append(
            Notice(ev.ts, "info", f"engine started: {ev.mode} broker={ev.broker} data={ev.data}")
        )

    def _on_stopped(self, ev: EngineStopped, change: DeskChange) -> None:
        self.connected = False
        change.topics.add("header")
        change.notices.append(
            Notice(ev.ts, "warning", f"engine stopped: {ev.reason}", notify=True, key="stopped")
        )

    def _on_bars(self, ev: BarsReceived, change: DeskChange) -> None:
        for bar in ev.bars:
            self.last_bars[bar.symbol] = bar
            self.last_bars.move_to_end(bar.symbol)
        while len(self.last_bars) > MAX_BARS_SYMBOLS:
            self.last_bars.popitem(last=False)
        change.topics.add("bars")

    def _on_created(self, ev: ProposalCreated, change: DeskChange) -> None:
        p = ev.proposal
        self._record(p, ProposalState.PENDING_RISK, ev.ts)
        change.topics.add("proposals")
        change.notices.append(Notice(ev.ts, "info", f"{p.strategy} proposes {proposal_action(p)}"))

    def _on_decided(self, ev: ProposalDecided, change: DeskChange) -> None:
        d = ev.decision
        known = self.proposals.get(ev.proposal.proposal_id)
        # Approval alone does not say whether a person must confirm (gate mode decides);
        # the state change that follows does.
        if d.approved:
            state = known.state if known is not None else ProposalState.PENDING_RISK
        else:
            state = ProposalState.DENIED
        rec = self._record(ev.proposal, state, ev.ts, decision=d)
        change.topics.add("proposals")
        if not d.approved:
            why = d.reason or "; ".join(
                f"{c.name}: {c.message or c.outcome.value}" for c in d.failed_checks
            )
            rec.note = why
            change.notices.append(
                Notice(
                    ev.ts,
                    "warning",
                    f"risk denied {ev.proposal.strategy}: {why}",
                    notify=True,
                    key=f"denied:{ev.proposal.strategy}",
                    log=False,
                )
            )
            self._drop_pending(ev.proposal.proposal_id, "denied by risk", change)

    def _on_state(self, ev: ProposalStateChanged, change: DeskChange) -> None:
        rec = self.proposals.get(ev.proposal_id)
        change.topics.add("proposals")
        if rec is not None:
            rec.state, rec.updated = ev.state, ev.ts
            if ev.note:
                rec.note = ev.note
            self._settle(rec)
        if ev.state is ProposalState.AWAITING_CONFIRMATION and rec is not None:
            if ev.proposal_id not in self.pending and rec.decision is not None:
                self.pending[ev.proposal_id] = PendingProposal(
                    rec.proposal, rec.decision, ev.state, rec.proposal.expires_at
                )
                change.new_pending.append(ev.proposal_id)
                change.topics.add("pending")
        elif ev.state in TERMINAL_PROPOSAL_STATES:
            label = rec.proposal.strategy if rec else ev.proposal_id
            if ev.state is ProposalState.EXPIRED:
                note = f" ({ev.note})" if ev.note else ""
                change.notices.append(
                    Notice(
                        ev.ts,
                        "warning",
                        f"proposal from {label} expired before a decision{note}",
                        notify=True,
                        key="expired",
                    )
                )
            elif ev.state in (ProposalState.CONFIRMED, ProposalState.REJECTED):
                by = f" by {ev.actor}" if ev.actor else ""
                change.notices.append(
                    Notice(ev.ts, "info", f"proposal from {label} {ev.state.value}{by}")
                )
            self._drop_pending(ev.proposal_id, ev.state.value, change)

    def _on_order(self, ev: OrderUpdated, change: DeskChange) -> None:
        o = ev.order
        self._put_order(o)
        change.topics.add("orders")
        if o.status is OrderStatus.REJECTED:
            change.notices.append(
                Notice(
                    ev.ts,
                    "error",
                    f"order rejected {', '.join(o.request.symbols)}: {o.reject_reason or 'no reason given'}",
                    notify=True,
                    key="order-rejected",
                )
            )
        elif o.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            change.notices.append(
                Notice(ev.ts, "info", f"order {o.status.value} {', '.join(o.request.symbols)}")
            )

    def _on_fill(self, ev: OrderFilled, change: DeskChange) -> None:
        f = ev.fill
        self._put_fill(f)
        if self.portfolio is not None:
            positions = dict(self.portfolio.positions)
            positions[ev.position.symbol] = ev.position
            self.portfolio = replace(self.portfolio, positions=positions)
            change.topics |= {"portfolio", "header"}
        change.topics |= {"fills", "orders"}
        change.notices.append(
            Notice(
                ev.ts,
                "fill",
                f"fill {f.strategy or 'manual'} {f.side.value.upper()} {f.quantity} "
                f"{instrument_label(f.instrument)} @{f.price:.2f}",
            )
        )

    def _on_portfolio(self, ev: PortfolioSnapshot, change: DeskChange) -> None:
        if self.portfolio is None or ev.portfolio.ts >= self.portfolio.ts:
            self.portfolio = ev.portfolio
            change.topics |= {"portfolio", "header"}

    def _on_strategy(self, ev: StrategyStatusChanged, change: DeskChange) -> None:
        try:
            state = StrategyRunState(ev.state)
        except ValueError:
            state = StrategyRunState.ERRORED
        current = self.strategies.get(ev.strategy)
        if current is not None:
            self.strategies[ev.strategy] = replace(
                current,
                state=state,
                error=ev.detail if state is StrategyRunState.ERRORED else "",
            )
        change.topics.add("strategies")
        if state is StrategyRunState.ERRORED:
            change.notices.append(
                Notice(
                    ev.ts,
                    "error",
                    f"strategy {ev.strategy} errored: {ev.detail}",
                    notify=True,
                    key=f"strategy:{ev.strategy}",
                )
            )
        else:
            detail = f" ({ev.detail})" if ev.detail else ""
            change.notices.append(
                Notice(ev.ts, "info", f"strategy {ev.strategy} {state.value}{detail}")
            )

    def _on_recon(self, ev: ReconciliationDifference, change: DeskChange) -> None:
        change.notices.append(
            Notice(
                ev.ts,
                "warning",
                f"reconciliation {ev.symbol}: stored {ev.stored_quantity} vs broker "
                f"{ev.broker_quantity} ({ev.detail})",
                notify=True,
                key="recon",
            )
        )

    def _on_data(self, ev: DataRejected, change: DeskChange) -> None:
        change.notices.append(
            Notice(
                ev.ts,
                "warning",
                f"data rejected from {ev.source}: {ev.detail}",
                notify=True,
                key=f"data:{ev.source}",
            )
        )

    def _on_risk(self, ev: RiskUpdated, change: DeskChange) -> None:
        # Between snapshots the monitor's compact picture keeps the gauges and the state badge
        # current; the next snapshot replaces the whole summary again.
        if self.risk is None:
            return
        fresh: dict[str, tuple[float, float]] = {}
        if ev.var99 is not None:
            fresh["VaR99 1d"] = (ev.var99, ev.var99_budget)
        if ev.cvar99 is not None:
            fresh["CVaR99 1d"] = (ev.cvar99, ev.cvar99_budget)
        gauges = tuple(
            replace(g, value=fresh[g.name][0], limit=fresh[g.name][1]) if g.name in fresh else g
            for g in self.risk.gauges
        )
        state = TradingState(ev.trading_state)
        if state != self.risk.trading_state or ev.breakers != self.risk.breakers:
            change.topics.add("header")
        self.risk = replace(
            self.risk,
            ts=ev.ts,
            trading_state=state,
            gauges=gauges,
            breakers=ev.breakers,
            net_delta=self.risk.net_delta if ev.net_delta is None else ev.net_delta,
            net_vega=self.risk.net_vega if ev.net_vega is None else ev.net_vega,
            note=ev.error or self.risk.note,
        )
        change.topics.add("risk")

    def _on_log(self, ev: LogLine, change: DeskChange) -> None:
        level = ev.level.lower()
        level = {"warn": "warning", "critical": "error", "fatal": "error"}.get(level, level)
        change.notices.append(
            Notice(ev.ts, level, ev.message, notify=level == "error", key=f"log:{ev.message[:40]}")
        )

    # ----------------------------------------------------------------- helpers
    def _advance(self, ts: datetime) -> None:
        if self.now is None or ts > self.now:
            self.now = ts

    def _record(
        self,
        p: TradeProposal,
        state: ProposalState,
        ts: datetime,
        *,
        decision: RiskDecision | None = None,
    ) -> ProposalRecord:
        rec = self.proposals.get(p.proposal_id)
        if rec is None:
            self._proposal_seq += 1
            rec = ProposalRecord(p, state, ts, decision, seq=self._proposal_seq)
            self.proposals[p.proposal_id] = rec
            while len(self.proposals) > MAX_PROPOSALS:
                self.proposals.popitem(last=False)
            if len(self._detailed) == DETAILED_PROPOSALS:
                older = self.proposals.get(self._detailed[0])
                if older is not None:
                    self._settle(older, recent=False)
            self._detailed.append(p.proposal_id)
        else:
            rec.proposal, rec.state, rec.updated = p, state, ts
            if decision is not None:
                rec.decision = decision
            self._settle(rec)
        return rec

    def _settle(self, rec: ProposalRecord, *, recent: bool | None = None) -> None:
        """Compact `rec` once it is both finished and no longer among the newest records. A
        record still waiting keeps its decision: the confirmation dialog shows its checks."""
        if recent is None:
            recent = rec.seq > self._proposal_seq - DETAILED_PROPOSALS
        if not recent and rec.state in TERMINAL_PROPOSAL_STATES:
            rec.compact()

    def _drop_pending(self, pid: str, why: str, change: DeskChange) -> None:
        if self.pending.pop(pid, None) is not None:
            change.gone_pending[pid] = why
            change.topics.add("pending")

    def _put_order(self, o: Order) -> None:
        self.orders[o.client_order_id] = o
        self.orders.move_to_end(o.client_order_id)
        while len(self.orders) > MAX_ORDERS:
            self.orders.popitem(last=False)

    def _put_fill(self, f: Fill) -> None:
        if f.fill_id in self.fills:
            return
        self.fills[f.fill_id] = f
        while len(self.fills) > MAX_FILLS:
            self.fills.popitem(last=False)


_HANDLERS: dict[type[EngineEvent], Any] = {
    EngineStarted: Desk._on_started,
    EngineStopped: Desk._on_stopped,
    BarsReceived: Desk._on_bars,
    ProposalCreated: Desk._on_created,
    ProposalDecided: Desk._on_decided,
    ProposalStateChanged: Desk._on_state,
    OrderUpdated: Desk._on_order,
    OrderFilled: Desk._on_fill,
    PortfolioSnapshot: Desk._on_portfolio,
    StrategyStatusChanged: Desk._on_strategy,
    ReconciliationDifference: Desk._on_recon,
    DataRejected: Desk._on_data,
    LogLine: Desk._on_log,
    RiskUpdated: Desk._on_risk,
}
