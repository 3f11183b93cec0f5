"""Read models the engine publishes for clients (TUI, attached remotes, `wsb status`).

Plain frozen values derived from engine state: a client can render them without knowing
anything about how the engine computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from engine.domain import Fill, Order, Portfolio, RiskDecision, TradeProposal
from engine.domain.proposals import ProposalState


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only risk-reducing orders pass
    HALTED = "HALTED"


class StrategyRunState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    ERRORED = "errored"


@dataclass(frozen=True, slots=True)
class StrategyStatus:
    name: str
    title: str
    state: StrategyRunState
    profile: str
    open_positions: int
    proposals_today: int
    realized_pnl: float
    unrealized_pnl: float
    pnl_history: tuple[float, ...] = ()  # end-of-day total P&L, newest last (sparkline)
    last_reason: str = ""
    error: str = ""
    allocation_cap: float = 0.0
    open_risk: float = 0.0
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PendingProposal:
    """A proposal waiting for a person (confirm mode), with the risk decision that passed it."""

    proposal: TradeProposal
    decision: RiskDecision
    state: ProposalState
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class GaugeReading:
    """One risk gauge: a value against its limit (both in dollars or fractions, as labelled)."""

    name: str
    value: float
    limit: float
    unit: str = "$"

    @property
    def ratio(self) -> float:
        return self.value / self.limit if self.limit else 0.0


@dataclass(frozen=True, slots=True)
class RiskSummary:
    ts: datetime
    trading_state: TradingState
    gauges: tuple[GaugeReading, ...] = ()
    net_delta: float = 0.0  # dollars per 1.00 move... per spec: delta dollars (Δ × S × mult)
    net_gamma: float = 0.0
    net_vega: float = 0.0
    net_theta: float = 0.0
    breakers: tuple[str, ...] = ()  # names of tripped breakers
    note: str = ""  # e.g. "insufficient data: 12 of 30 observations"


@dataclass(frozen=True, slots=True)
class DataHealth:
    source: str
    healthy: bool
    last_update: datetime | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Everything a client needs to draw the desk from scratch."""

    ts: datetime
    mode: str  # SIM | PAPER | LIVE
    session_state: str  # pre | open | post | closed
    portfolio: Portfolio
    strategies: tuple[StrategyStatus, ...]
    pending: tuple[PendingProposal, ...]
    open_orders: tuple[Order, ...]
    recent_fills: tuple[Fill, ...]
    risk: RiskSummary
    data: DataHealth
    gate_mode: str  # auto | confirm
    log: tuple[str, ...] = field(default_factory=tuple)
