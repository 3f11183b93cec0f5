"""Engine events: past-tense facts published on the bus after they are stored.

Every event is a frozen dataclass with a UTC timestamp and a stable `kind` string used by the
store, the remote protocol and the TUI. `coalesce_key` marks snapshot-like events where only
the newest matters, so a slow subscriber gets the latest instead of a backlog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from engine.domain.fast_init import fast_init
from engine.domain.market import Bar
from engine.domain.orders import Fill, Order
from engine.domain.portfolio import Portfolio, Position
from engine.domain.proposals import ProposalState, RiskDecision, TradeProposal


@fast_init
@dataclass(frozen=True, slots=True)
class EngineEvent:
    ts: datetime
    kind: ClassVar[str] = "event"

    @property
    def coalesce_key(self) -> str | None:
        return None


@fast_init
@dataclass(frozen=True, slots=True)
class EngineStarted(EngineEvent):
    mode: str  # sim | paper | live
    broker: str
    data: str
    kind: ClassVar[str] = "engine_started"


@fast_init
@dataclass(frozen=True, slots=True)
class EngineStopped(EngineEvent):
    reason: str
    kind: ClassVar[str] = "engine_stopped"


@fast_init
@dataclass(frozen=True, slots=True)
class BarsReceived(EngineEvent):
    bars: tuple[Bar, ...]
    kind: ClassVar[str] = "bars"

    @property
    def coalesce_key(self) -> str | None:
        return "bars"


@fast_init
@dataclass(frozen=True, slots=True)
class ProposalCreated(EngineEvent):
    proposal: TradeProposal
    kind: ClassVar[str] = "proposal_created"


@fast_init
@dataclass(frozen=True, slots=True)
class ProposalDecided(EngineEvent):
    proposal: TradeProposal
    decision: RiskDecision
    kind: ClassVar[str] = "proposal_decided"


@fast_init
@dataclass(frozen=True, slots=True)
class ProposalStateChanged(EngineEvent):
    proposal_id: str
    state: ProposalState
    note: str = ""
    actor: str = "engine"
    kind: ClassVar[str] = "proposal_state"


@fast_init
@dataclass(frozen=True, slots=True)
class OrderUpdated(EngineEvent):
    order: Order
    kind: ClassVar[str] = "order_updated"


@fast_init
@dataclass(frozen=True, slots=True)
class OrderFilled(EngineEvent):
    fill: Fill
    position: Position
    kind: ClassVar[str] = "order_filled"


@fast_init
@dataclass(frozen=True, slots=True)
class PortfolioSnapshot(EngineEvent):
    portfolio: Portfolio
    kind: ClassVar[str] = "portfolio"

    @property
    def coalesce_key(self) -> str | None:
        return "portfolio"


@fast_init
@dataclass(frozen=True, slots=True)
class StrategyStatusChanged(EngineEvent):
    strategy: str
    state: str  # running | paused | stopped | errored
    detail: str = ""
    kind: ClassVar[str] = "strategy_status"


@fast_init
@dataclass(frozen=True, slots=True)
class ReconciliationDifference(EngineEvent):
    symbol: str
    stored_quantity: int
    broker_quantity: int
    detail: str
    kind: ClassVar[str] = "reconciliation_difference"


@fast_init
@dataclass(frozen=True, slots=True)
class DataRejected(EngineEvent):
    source: str
    detail: str
    kind: ClassVar[str] = "data_rejected"


@fast_init
@dataclass(frozen=True, slots=True)
class LogLine(EngineEvent):
    level: str
    message: str
    kind: ClassVar[str] = "log"


@fast_init
@dataclass(frozen=True, slots=True)
class RiskUpdated(EngineEvent):
    """The live risk picture in the compact figures the gauges need.

    Published every tick after the risk monitor ran (coalesced: a slow reader sees only the
    newest).  Dollar figures are float64 analytics, not ledger money.  VaR/CVaR are 1-day
    99 % figures from the latest full snapshot (`snapshot_at`); None until one succeeded or
    when the latest failed (`error` says why, and new risk is then blocked).  Drawdown and
    day loss are fractions (of peak and of start-of-day equity) with the breaker level each
    trips at.
    """

    equity: float
    var99: float | None
    var99_budget: float
    cvar99: float | None
    cvar99_budget: float
    drawdown: float
    drawdown_limit: float
    day_loss: float
    day_loss_limit: float
    gross_exposure: float
    net_delta: float | None
    net_vega: float | None
    trading_state: str  # ACTIVE | REDUCING | HALTED
    breakers: tuple[str, ...] = ()  # tripped breaker names
    size_multiplier: float = 1.0  # VIX soft limit applied to new risk
    vix: float | None = None
    snapshot_at: datetime | None = None
    error: str = ""
    kind: ClassVar[str] = "risk_updated"

    @property
    def coalesce_key(self) -> str | None:
        return "risk"
