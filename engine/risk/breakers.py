"""Circuit breakers (spec §5) as a pure state machine over portfolio numbers.

Three reset policies, from the spec's table:

* ORDER breakers (day loss, drawdown, position limits, consecutive errors) auto-reset after
  a 300 s cool-down.
* MONITORING breakers (daily loss, error rate, stale data, VIX critical, consecutive losses)
  hold for a 30 min cool-down.
* LATCHED breakers (drawdown block at 30 %, drawdown kill switch at 35 %, a Basel red VaR
  backtest) hold until a person resets them.

A breaker whose cool-down has elapsed while its condition still holds stays tripped with a
fresh cool-down (it would re-trip on the next check anyway).  A person's reset clears a
breaker at once; it then stays quiet until its condition has cleared once ("re-armed"), or,
for the loss and drawdown breakers, until the loss deepens by `rearm_margin` beyond where
it was at the reset.  Otherwise a reset at a 36 % drawdown would re-trip on the next tick and
a person could never take the book back.

The spec's dollar limits are expressed as fractions of start-of-day equity ([PROPOSED]):
$500 day loss -> 0.5 %, $100k gross -> 1.0x, on the $100,000 reference account.

Every method takes the time it should act at; nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

__all__ = [
    "BREAKERS",
    "BoardUpdate",
    "BreakerBoard",
    "BreakerConfig",
    "BreakerKind",
    "BreakerSpec",
    "Condition",
    "RiskMetrics",
    "Trip",
    "vix_level",
    "vix_size_multiplier",
]


class BreakerKind(StrEnum):
    ORDER = "order"  # auto-reset after `order_cooldown`
    MONITORING = "monitoring"  # cool-down `monitoring_cooldown`
    LATCHED = "latched"  # until a person resets it


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    name: str
    kind: BreakerKind
    description: str
    kill: bool = False  # tripping it fires the kill switch (cancel orders, HALTED)
    deepening: bool = False  # a loss/drawdown measure: re-arms when it deepens after a reset


BREAKERS: Mapping[str, BreakerSpec] = {
    s.name: s
    for s in (
        BreakerSpec(
            "order_day_loss", BreakerKind.ORDER, "day loss vs start-of-day equity", deepening=True
        ),
        BreakerSpec("order_drawdown", BreakerKind.ORDER, "drawdown from peak", deepening=True),
        BreakerSpec("order_position_limits", BreakerKind.ORDER, "contracts or gross exposure"),
        BreakerSpec("order_errors", BreakerKind.ORDER, "consecutive errors"),
        BreakerSpec(
            "daily_loss", BreakerKind.MONITORING, "drawdown vs start-of-day", deepening=True
        ),
        BreakerSpec("error_rate", BreakerKind.MONITORING, "errors per minute"),
        BreakerSpec("stale_data", BreakerKind.MONITORING, "no fresh market data"),
        BreakerSpec("vix_critical", BreakerKind.MONITORING, "VIX at the critical level"),
        BreakerSpec("consecutive_losses", BreakerKind.MONITORING, "losing trades in a row"),
        BreakerSpec(
            "drawdown_block", BreakerKind.LATCHED, "drawdown from peak blocks", deepening=True
        ),
        BreakerSpec(
            "drawdown_kill",
            BreakerKind.LATCHED,
            "drawdown from peak: kill switch",
            kill=True,
            deepening=True,
        ),
        BreakerSpec("var_backtest_red", BreakerKind.LATCHED, "VaR backtest in the red zone"),
    )
}


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """Thresholds (spec §5 defaults). Loss and exposure limits are fractions of equity."""

    # Order breaker
    order_day_loss_pct: float = 0.005
    order_drawdown_pct: float = 0.10
    max_contracts_per_symbol: int = 50_000
    max_contracts_total: int = 100_000
    max_gross_pct: float = 1.0
    max_consecutive_errors: int = 5
    order_cooldown: timedelta = timedelta(seconds=300)
    # Monitoring breaker
    daily_loss_pct: float = 0.06
    max_errors_per_minute: int = 5
    stale_data_seconds: float = 30.0
    vix_critical: float = 45.0
    max_consecutive_losses: int = 5
    monitoring_cooldown: timedelta = timedelta(minutes=30)
    # VIX soft limits: size x 0.5 / 0.25 / 0
    vix_elevated: float = 25.0
    vix_extreme: float = 35.0
    vix_spike_pct: float = 0.20
    # Drawdown kill switch
    drawdown_block_pct: float = 0.30
    drawdown_kill_pct: float = 0.35
    flatten_on_kill: bool = False
    # After a person's reset, a loss/drawdown breaker re-arms when it deepens this much more.
    rearm_margin: float = 0.05

    def __post_init__(self) -> None:
        for name in (
            "order_day_loss_pct",
            "order_drawdown_pct",
            "max_gross_pct",
            "daily_loss_pct",
            "drawdown_block_pct",
            "drawdown_kill_pct",
            "rearm_margin",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"BreakerConfig.{name}={v!r} must be a finite fraction >= 0")
        for name in ("order_cooldown", "monitoring_cooldown"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"BreakerConfig.{name} must not be negative")
        if not self.vix_elevated <= self.vix_extreme <= self.vix_critical:
            raise ValueError(
                f"VIX levels must ascend: elevated {self.vix_elevated} <= extreme "
                f"{self.vix_extreme} <= critical {self.vix_critical}"
            )

    def cooldown(self, kind: BreakerKind) -> timedelta | None:
        if kind is BreakerKind.ORDER:
            return self.order_cooldown
        if kind is BreakerKind.MONITORING:
            return self.monitoring_cooldown
        return None


def _pct(x: float) -> str:
    """A fraction as a percent readable at any size (0.5%, 6.10%, 0.00065%)."""
    v = x * 100.0
    return f"{v:.2f}%" if v == 0 or abs(v) >= 0.01 else f"{v:.2g}%"


def vix_size_multiplier(vix: float | None, config: BreakerConfig = BreakerConfig()) -> float:
    """Spec §5 VIX soft limits: >= 25 x 0.5, >= 35 x 0.25, >= 45 x 0; unknown VIX x 1."""
    if vix is None or not math.isfinite(vix):
        return 1.0
    if vix >= config.vix_critical:
        return 0.0
    if vix >= config.vix_extreme:
        return 0.25
    if vix >= config.vix_elevated:
        return 0.5
    return 1.0


def vix_level(vix: float | None, config: BreakerConfig = BreakerConfig()) -> str:
    if vix is None or not math.isfinite(vix):
        return "unknown"
    if vix >= config.vix_critical:
        return "critical"
    if vix >= config.vix_extreme:
        return "extreme"
    if vix >= config.vix_elevated:
        return "elevated"
    return "normal"


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    """The portfolio numbers breakers look at, gathered once per tick."""

    now: datetime
    equity: float
    start_of_day_equity: float | None = None
    peak_equity: float | None = None
    gross_exposure: float = 0.0
    max_symbol_contracts: int = 0
    total_contracts: int = 0
    errors_last_minute: int = 0
    consecutive_errors: int = 0
    consecutive_losses: int = 0
    data_age_seconds: float | None = None  # None: no data expected (session closed)
    vix: float | None = None
    backtest_zone: str | None = None  # green | yellow | red

    @property
    def day_loss(self) -> float:
        """Loss since the open as a fraction of start-of-day equity (0 when up)."""
        sod = self.start_of_day_equity
        if sod is None or sod <= 0:
            return 0.0
        return max(0.0, (sod - self.equity) / sod)

    @property
    def drawdown(self) -> float:
        peak = self.peak_equity
        if peak is None or peak <= 0:
            return 0.0
        return max(0.0, (peak - self.equity) / peak)


@dataclass(frozen=True, slots=True)
class Condition:
    active: bool
    value: float
    limit: float
    reason: str


@dataclass(slots=True)
class Trip:
    name: str
    reason: str
    at: datetime
    value: float


@dataclass(frozen=True, slots=True)
class BoardUpdate:
    trips: tuple[Trip, ...] = ()
    clears: tuple[str, ...] = ()
    conditions: Mapping[str, Condition] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.trips or self.clears)


class BreakerBoard:
    """Which breakers are tripped, since when, and which a person has reset."""

    def __init__(self, config: BreakerConfig | None = None) -> None:
        self.config = config or BreakerConfig()
        self.tripped: dict[str, Trip] = {}
        self.suppressed: dict[str, float] = {}  # name -> measure at the person's reset

    # -- conditions ------------------------------------------------------------------------

    def conditions(self, m: RiskMetrics) -> dict[str, Condition]:
        c = self.config
        sod = m.start_of_day_equity if m.start_of_day_equity else m.equity
        out: dict[str, Condition] = {}

        def put(name: str, active: bool, value: float, limit: float, reason: str) -> None:
            out[name] = Condition(active, value, limit, reason)

        dl, dd = m.day_loss, m.drawdown
        put(
            "order_day_loss",
            dl > 0 and dl >= c.order_day_loss_pct,
            dl,
            c.order_day_loss_pct,
            f"day loss {_pct(dl)} of start-of-day equity >= {_pct(c.order_day_loss_pct)}",
        )
        put(
            "order_drawdown",
            dd > 0 and dd >= c.order_drawdown_pct,
            dd,
            c.order_drawdown_pct,
            f"drawdown {_pct(dd)} from peak >= {_pct(c.order_drawdown_pct)}",
        )
        gross_frac = m.gross_exposure / sod if sod > 0 else math.inf
        pos_bad = (
            m.max_symbol_contracts > c.max_contracts_per_symbol
            or m.total_contracts > c.max_contracts_total
            or gross_frac > c.max_gross_pct
        )
        put(
            "order_position_limits",
            pos_bad,
            gross_frac,
            c.max_gross_pct,
            f"gross {gross_frac:.2f}x equity (limit {c.max_gross_pct:.2f}x), contracts "
            f"{m.max_symbol_contracts:,} in one symbol (limit {c.max_contracts_per_symbol:,}), "
            f"{m.total_contracts:,} total (limit {c.max_contracts_total:,})",
        )
        put(
            "order_errors",
            m.consecutive_errors >= c.max_consecutive_errors,
            float(m.consecutive_errors),
            float(c.max_consecutive_errors),
            f"{m.consecutive_errors} consecutive errors",
        )
        put(
            "daily_loss",
            dl > 0 and dl >= c.daily_loss_pct,
            dl,
            c.daily_loss_pct,
            f"equity {_pct(dl)} below start of day >= {_pct(c.daily_loss_pct)}",
        )
        put(
            "error_rate",
            m.errors_last_minute >= c.max_errors_per_minute,
            float(m.errors_last_minute),
            float(c.max_errors_per_minute),
            f"{m.errors_last_minute} errors in the last minute",
        )
        age = m.data_age_seconds
        put(
            "stale_data",
            age is not None and age > c.stale_data_seconds,
            age if age is not None else 0.0,
            c.stale_data_seconds,
            f"no fresh market data for {age:.0f}s" if age is not None else "data fresh",
        )
        vix = m.vix
        put(
            "vix_critical",
            vix is not None and vix >= c.vix_critical,
            vix if vix is not None else 0.0,
            c.vix_critical,
            f"VIX {vix:.1f} >= {c.vix_critical:.0f}" if vix is not None else "no VIX",
        )
        put(
            "consecutive_losses",
            m.consecutive_losses >= c.max_consecutive_losses,
            float(m.consecutive_losses),
            float(c.max_consecutive_losses),
            f"{m.consecutive_losses} losing trades in a row",
        )
        put(
            "drawdown_block",
            dd > 0 and dd >= c.drawdown_block_pct,
            dd,
            c.drawdown_block_pct,
            f"drawdown {_pct(dd)} from peak >= {_pct(c.drawdown_block_pct)}: new risk blocked",
        )
        put(
            "drawdown_kill",
            dd > 0 and dd >= c.drawdown_kill_pct,
            dd,
            c.drawdown_kill_pct,
            f"drawdown {_pct(dd)} from peak >= {_pct(c.drawdown_kill_pct)}: kill switch latched",
        )
        put(
            "var_backtest_red",
            m.backtest_zone == "red",
            1.0 if m.backtest_zone == "red" else 0.0,
            1.0,
            "VaR backtest in the Basel red zone: new risk blocked until model review",
        )
        return out

    # -- transitions -----------------------------------------------------------------------

    def evaluate(self, m: RiskMetrics) -> BoardUpdate:
        conds = self.conditions(m)
        trips: list[Trip] = []
        clears: list[str] = []
        for name, cond in conds.items():
            spec = BREAKERS[name]
            trip = self.tripped.get(name)
            if trip is not None:
                cool = self.config.cooldown(spec.kind)
                if cool is not None and m.now - trip.at >= cool:
                    if cond.active:
                        trip.at = m.now  # still bad: a fresh cool-down, no flicker
                        trip.reason = cond.reason
                        trip.value = cond.value
                    else:
                        del self.tripped[name]
                        clears.append(name)
                continue
            if name in self.suppressed:
                at_reset = self.suppressed[name]
                deeper = spec.deepening and cond.value >= at_reset + self.config.rearm_margin
                if not cond.active:
                    del self.suppressed[name]  # re-armed
                    continue
                if not deeper:
                    continue
                del self.suppressed[name]
            if cond.active:
                t = Trip(name, cond.reason, m.now, cond.value)
                self.tripped[name] = t
                trips.append(t)
        return BoardUpdate(tuple(trips), tuple(clears), conds)

    def reset(self, name: str, value: float | None = None) -> bool:
        """A person's reset: clear now, stay quiet until the condition clears (or deepens).

        `value` is the breaker's measure at the reset (default: the one it tripped at)."""
        trip = self.tripped.pop(name, None)
        if trip is None:
            return False
        self.suppressed[name] = trip.value if value is None else value
        return True

    def adopt(self, name: str, reason: str, now: datetime) -> None:
        """Take over a breaker known to be tripped (e.g. restored from the store) that this
        board has no record of: its cool-down starts now."""
        if name in BREAKERS and name not in self.tripped:
            self.tripped[name] = Trip(name, reason, now, math.inf)

    def cooldown_left(self, name: str, now: datetime) -> timedelta | None:
        trip = self.tripped.get(name)
        if trip is None:
            return None
        cool = self.config.cooldown(BREAKERS[name].kind)
        if cool is None:
            return None
        return max(timedelta(0), trip.at + cool - now)

    # -- persistence -----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "tripped": {
                n: {
                    "reason": t.reason,
                    "at": t.at.isoformat(),
                    "value": t.value if math.isfinite(t.value) else None,
                }
                for n, t in self.tripped.items()
            },
            "suppressed": {
                n: (v if math.isfinite(v) else None) for n, v in self.suppressed.items()
            },
        }

    def load_json(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        tripped = data.get("tripped")
        if isinstance(tripped, dict):
            for name, rec in tripped.items():
                if name not in BREAKERS or not isinstance(rec, dict):
                    continue
                try:
                    at = datetime.fromisoformat(str(rec["at"]))
                except (KeyError, ValueError):
                    continue
                value = rec.get("value")
                self.tripped[name] = Trip(
                    name,
                    str(rec.get("reason", "")),
                    at,
                    float(value) if isinstance(value, int | float) else math.inf,
                )
        suppressed = data.get("suppressed")
        if isinstance(suppressed, dict):
            for name, v in suppressed.items():
                if name in BREAKERS:
                    self.suppressed[name] = float(v) if isinstance(v, int | float) else math.inf
