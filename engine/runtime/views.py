"""Read models the engine publishes for clients (TUI, attached remotes, `wsb status`).

Plain frozen values derived from engine state: a client can render them without knowing
anything about how the engine computes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from engine.domain import Fill, Order, Portfolio, Position, RiskDecision, TradeProposal
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
    positions: tuple[Position, ...] = ()  # the strategy's open positions, marked


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
class PositionGreeks:
    """One position's greeks, priced from its mark (implied vol) and its underlying's spot.

    Dollar figures are for the whole position (quantity x multiplier), in the units of the risk
    spec: delta$ = delta x S x units, gamma$ = gamma x S^2 x units / 100 (per 1 % move),
    vega$ per vol point, theta$ per calendar day. Shares: unit delta 1, the rest 0.
    `model` says how they were obtained: "bs" (Black-Scholes at the mark's implied vol),
    "intrinsic" (no implied vol fits the mark, e.g. a stale mark below the discounted
    intrinsic value: delta is +-1 in the money and 0 out of it, no gamma, vega or theta) or
    "shares".
    """

    symbol: str
    underlying: str
    unit_delta: float
    delta_dollars: float
    gamma_dollars: float
    vega_dollars: float
    theta_dollars: float
    iv: float | None = None
    model: str = "bs"

    # The positions table reads `.delta` (per unit, like a chain's) and `.theta` ($/day).
    @property
    def delta(self) -> float:
        return self.unit_delta

    @property
    def theta(self) -> float:
        return self.theta_dollars


class DataState(StrEnum):
    HEALTHY = "healthy"
    STALE = "stale"  # no fresh data for longer than the source allows: new trades blocked
    FAILED = "failed"  # no source is answering at all


@dataclass(frozen=True, slots=True)
class DataSourceHealth:
    """One source behind a failover feed."""

    name: str
    up: bool
    latency_ms: float | None = None
    consecutive_errors: int = 0
    total_errors: int = 0
    last_ok_at: datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class DataHealth:
    """The market-data source as the header shows it: which one, and is it fresh."""

    source: str
    healthy: bool
    last_update: datetime | None
    detail: str = ""
    state: DataState = DataState.HEALTHY
    latency_ms: float | None = None  # the active source's moving-average call latency
    age_seconds: float | None = None  # now - last_update, at the snapshot
    failover: bool = False  # a secondary source is answering
    sources: tuple[DataSourceHealth, ...] = ()


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
    # Symbol -> greeks of every open position the engine could price (options and shares).
    position_greeks: Mapping[str, PositionGreeks] = field(default_factory=dict)
    profiles: tuple[str, ...] = ()  # profile names `set_profile` accepts


# --------------------------------------------------------------------------- risk report
# The risk screen's figures (`EngineClient.risk_report()`, built by engine.runtime.risk_views).
# Plain frozen values of JSON-friendly types, so the control protocol's codec carries them
# unchanged and a remote desk draws exactly what a local one does. Dollar VaR/CVaR/LVaR and
# stress P&L (positive VaR is a loss) with fractions of net liquidation value alongside;
# greeks in dollars as in `PositionGreeks`; one-day horizon.

ENVELOPE = "envelope"  # the conservative envelope over the methods (what limits check)


@dataclass(frozen=True, slots=True)
class VarEstimate:
    method: str
    confidence: float
    horizon_days: int
    var: float  # dollars
    cvar: float  # dollars
    lvar: float | None = None  # liquidity-adjusted VaR, dollars (envelope at the top level)
    var_pct: float = 0.0  # fraction of net liquidation value
    cvar_pct: float = 0.0
    in_envelope: bool = False


@dataclass(frozen=True, slots=True)
class StressResult:
    scenario: str  # the scenario's name as a person reads it
    pnl: float  # dollars
    pnl_pct: float  # fraction of net liquidation value
    recovery_days: float
    passed: bool
    key: str = ""
    worst_position: str | None = None
    worst_position_pnl: float = 0.0
    drawdown: float = 0.0


@dataclass(frozen=True, slots=True)
class GreeksBucket:
    """Dollar greeks of the positions on one underlying with one expiry (None: shares)."""

    underlying: str
    expiry: date | None
    delta: float
    gamma: float
    vega: float
    theta: float
    positions: int = 0


@dataclass(frozen=True, slots=True)
class GreeksTotal:
    delta: float
    gamma: float
    vega: float
    theta: float
    beta_delta: float = 0.0


@dataclass(frozen=True, slots=True)
class VarBacktest:
    """Kupiec / Christoffersen backtest of the 99 % VaR over the last `window` days."""

    window: int
    exceptions: int
    kupiec_lr: float
    traffic_light: str  # green | yellow | red (Basel)
    christoffersen_lr: float | None = None
    kupiec_reject: bool = False
    christoffersen_reject: bool = False


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    name: str
    tripped: bool
    detail: str = ""  # why it tripped, or what it watches
    kind: str = ""  # order | monitoring | latched | engine
    since: datetime | None = None
    cooldown_left_s: float | None = None  # None: no cool-down (latched: a person resets)


@dataclass(frozen=True, slots=True)
class RiskReportView:
    ts: datetime
    var: tuple[VarEstimate, ...]
    stress: tuple[StressResult, ...]
    greeks: tuple[GreeksBucket, ...]
    backtest: VarBacktest | None
    breakers: tuple[BreakerStatus, ...] = ()
    note: str = ""
    available: bool = False  # False until the monitor's first successful risk snapshot
    report_ts: datetime | None = None  # when the monitor measured the figures
    value: float = 0.0  # net liquidation value the fractions are of
    observations: int = 0
    greeks_total: GreeksTotal | None = None
    stress_compliance: str = ""
    stress_advice: tuple[str, ...] = ()
    monte_carlo: bool = False
