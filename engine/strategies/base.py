"""The `Strategy` interface, its read-only context, and parameter/profile handling.

Strategies read market data, the portfolio and the clock through `StrategyContext` and
return `TradeProposal`s. They never call the broker: the engine owns execution, risk and
confirmation. Everything a strategy is handed is a frozen snapshot, so a strategy cannot
mutate live engine state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from engine.data.calendar import MarketCalendar
from engine.data.protocol import MarketData
from engine.domain import (
    Bar,
    ExitReason,
    Fill,
    OrderLeg,
    OrderType,
    Portfolio,
    Position,
    ProposalIntent,
    TradeProposal,
    make_proposal_id,
)
from engine.domain.fast_init import fast_init

NEW_YORK = ZoneInfo("America/New_York")

PROFILES: tuple[str, ...] = ("research_2024", "wsb_2025")
DEFAULT_PROFILE = "research_2024"


@dataclass(frozen=True, slots=True)
class ProfileLimits:
    """Portfolio-level profile defaults (spec §0.1)."""

    max_total_risk: float
    max_position_size: float
    data_refresh_seconds: int


PROFILE_LIMITS: Mapping[str, ProfileLimits] = {
    "research_2024": ProfileLimits(0.10, 0.05, 60),
    "wsb_2025": ProfileLimits(0.65, 0.30, 10),
}


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model. Field defaults are the engine ("Eng") values;
    each strategy's `profiles` mapping overrides them per profile; explicit values win."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class ParameterError(ValueError):
    """A strategy parameter is out of range; the message names strategy, field, value, rule."""


# fast_init: the engine builds one per strategy per scan (13 fields).
@fast_init
@dataclass(frozen=True, slots=True)
class StrategyContext:
    """What a strategy may see on each call. Immutable snapshots only."""

    now: datetime
    market: MarketData
    calendar: MarketCalendar
    portfolio: Portfolio
    positions: Mapping[str, Position]  # this strategy's own (attributed) open positions
    pending: tuple[TradeProposal, ...] = ()  # this strategy's proposals not yet resolved
    profile: str = DEFAULT_PROFILE
    allocation_cap: float = 1.0  # fraction of equity this strategy may put at risk (spec §0.2)
    open_risk: float = 0.0  # dollars currently at risk in this strategy's positions
    limits: ProfileLimits = field(default_factory=lambda: PROFILE_LIMITS[DEFAULT_PROFILE])
    vix: float | None = None
    # Underlyings whose new entry risk denied earlier this session: the engine drops this
    # strategy's OPEN proposals on them until the next session or the next fill, so a scan
    # may skip them (`is_cooling`) instead of pricing the same entry again.
    cooling: frozenset[str] = frozenset()
    # `now` in New York, converted once: strategies read `today`/`et_time` hundreds of times
    # a scan.
    _now_et: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_now_et", self.now.astimezone(NEW_YORK))

    @property
    def equity(self) -> float:
        return self.portfolio.equity

    @property
    def today(self) -> date:
        """The trading date in New York (a UTC date flips at 19:00 or 20:00 ET)."""
        return self._now_et.date()

    @property
    def et_time(self) -> time:
        return self._now_et.time()

    @property
    def market_open(self) -> bool:
        return self.calendar.is_open(self.now)

    def minutes_to_close(self) -> float | None:
        session = self.calendar.session_of(self.now)
        if session is None:
            return None
        return (self.calendar.session_close(session) - self.now).total_seconds() / 60.0

    def budget(self, size_pct: float) -> float:
        """Dollars a new position may use (spec §0.2 proposed rule): the smallest of the
        strategy's own rule, what is left of its allocation cap, and the per-position cap."""
        eq = self.equity
        return max(
            0.0,
            min(
                eq * size_pct,
                eq * self.allocation_cap - self.open_risk,
                eq * self.limits.max_position_size,
            ),
        )

    def is_cooling(self, underlying: str) -> bool:
        """True when a new entry on `underlying` would be dropped (see `cooling`)."""
        return underlying in self.cooling

    def has_pending(self, underlying: str) -> bool:
        return any(p.underlying == underlying for p in self.pending)

    def holds(self, underlying: str) -> bool:
        return any(p.instrument.underlying == underlying for p in self.positions.values())


class Strategy(ABC):
    """One trading strategy. Subclasses set the class variables and implement `on_bar`."""

    name: ClassVar[str]  # registry key, e.g. "wsb_dip_bot"
    title: ClassVar[str]  # short display name, e.g. "Dip Bot"
    params_model: ClassVar[type[StrategyParams]]
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    scan_interval: ClassVar[timedelta] = timedelta(minutes=1)
    # True when the strategy reads intraday bars; False for daily-only strategies.
    intraday: ClassVar[bool] = True
    # False for strategies that trade options only: shares that land in their book (an
    # option exercised or assigned at expiry) are closed at market on the next scan
    # (`engine.strategies.stray_stock`), because none of their rules would ever manage them.
    trades_stock: ClassVar[bool] = True

    def __init__(self, params: StrategyParams, *, profile: str = DEFAULT_PROFILE) -> None:
        if not isinstance(params, self.params_model):
            raise TypeError(f"{self.name} needs {self.params_model.__name__}")
        self.params = params
        self.profile = profile

    @classmethod
    def from_profile(
        cls, profile: str = DEFAULT_PROFILE, overrides: Mapping[str, Any] | None = None
    ) -> Self:
        if profile not in PROFILES:
            raise ParameterError(
                f"strategy {cls.name}: profile={profile!r} is not one of {', '.join(PROFILES)}"
            )
        values: dict[str, Any] = dict(cls.profiles.get(profile, {}))
        values.update(overrides or {})
        try:
            params = cls.params_model(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}={err.get('input')!r}: {err['msg']}"
                for err in exc.errors()
            )
            raise ParameterError(f"strategy {cls.name} ({profile}): {problems}") from None
        return cls(params, profile=profile)

    @abstractmethod
    def universe(self) -> frozenset[str]:
        """Underlyings this strategy scans."""

    @abstractmethod
    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        """Called at most every `scan_interval` during market hours with the latest completed
        bars of the universe. Returns entry and exit proposals."""

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        """Called for each fill of this strategy's orders (after it is stored)."""
        return ()

    def state(self) -> dict[str, Any]:
        """JSON-able state persisted by the manager (e.g. a wheel cycle, scale-out levels)."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Inverse of `state()`, called once at start before any bar."""
        return None

    # Helpers for subclasses -------------------------------------------------------------

    def propose(
        self,
        ctx: StrategyContext,
        *,
        legs: Sequence[OrderLeg],
        quantity: int,
        reason: str,
        limit_price: Decimal | None,
        intent: ProposalIntent = ProposalIntent.OPEN,
        max_loss: Decimal | None = None,
        max_profit: Decimal | None = None,
        breakevens: Sequence[float] = (),
        confidence: float = 1.0,
        exit_reason: ExitReason | None = None,
        ttl: timedelta = timedelta(minutes=15),
        key: str = "",
        meta: Mapping[str, float | str] | None = None,
    ) -> TradeProposal:
        """Build a proposal with a deterministic id (same market replay -> same ids)."""
        legs_t = tuple(legs)
        ident = key or "|".join(f"{leg.side}:{leg.symbol}" for leg in legs_t)
        return TradeProposal(
            proposal_id=make_proposal_id(self.name, ctx.now, f"{intent}|{ident}"),
            strategy=self.name,
            created_at=ctx.now,
            intent=intent,
            legs=legs_t,
            quantity=quantity,
            reason=reason,
            order_type=OrderType.LIMIT if limit_price is not None else OrderType.MARKET,
            limit_price=limit_price,
            max_loss=max_loss,
            max_profit=max_profit,
            breakevens=tuple(breakevens),
            confidence=confidence,
            expires_at=ctx.now + ttl,
            exit_reason=exit_reason,
            meta=dict(meta or {}),
        )


def contracts_for_budget(
    budget: float, premium: float, multiplier: int = 100, cap: int | None = None
) -> int:
    """Generic sizing (spec §0): floor(budget / (premium × multiplier)), capped; 0 means skip."""
    if premium <= 0 or budget <= 0:
        return 0
    n = int(budget // (premium * multiplier))
    return min(n, cap) if cap is not None else n


def is_stale(bar: Bar | None, now: datetime, max_age: timedelta) -> bool:
    """True when there is no bar or its end is older than `max_age`: never trade on it."""
    return bar is None or now - bar.end > max_age


MEME_CORE: tuple[str, ...] = (
    "NVDA", "TSLA", "SMCI", "ARM", "AAPL", "MSFT", "GOOGL", "AMZN", "META", "COIN",
    "MSTR", "PLTR", "AMD", "SPY", "QQQ", "IWM", "GME", "AMC",
)  # fmt: skip
MEME_CORE_EX_ETF: tuple[str, ...] = tuple(s for s in MEME_CORE if s not in {"SPY", "QQQ", "IWM"})
