"""Hand-built markets for the strategy tests (index, LEAPS, swing, credit spreads, lotto).

Everything goes through the real `InMemoryMarketData` + `SimulatedClock` + the XNYS
calendar; the helpers only save typing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from engine.data.calendar import default_calendar
from engine.data.memory import InMemoryMarketData
from engine.domain import (
    Bar,
    BarInterval,
    Equity,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Portfolio,
    Position,
    Quote,
    TradeProposal,
)
from engine.runtime.clock import SimulatedClock
from engine.strategies.base import PROFILE_LIMITS, StrategyContext

NY = ZoneInfo("America/New_York")
CAL = default_calendar()


def et(y: int, m: int, d: int, hh: int = 10, mm: int = 30) -> datetime:
    """A New York wall-clock time as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=NY).astimezone(UTC)


class Market:
    """A clock plus an in-memory source, moved together."""

    def __init__(self, now: datetime) -> None:
        self.clock = SimulatedClock(now)
        self.data = InMemoryMarketData(self.clock, calendar=CAL)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def move_to(self, when: datetime) -> None:
        self.clock.jump_to(when)

    # -- equities ---------------------------------------------------------------------------

    def daily(
        self,
        symbol: str,
        closes: Sequence[float],
        *,
        end: date | None = None,
        volumes: Sequence[float] | None = None,
    ) -> list[Bar]:
        """Daily bars with these closes on the sessions ending at `end` (default: the last
        session completed before now). Open = previous close, high/low bracket both."""
        last = end if end is not None else last_session_before(self.now)
        sessions = CAL.sessions_ending(last, len(closes))
        assert len(sessions) == len(closes)
        vols = volumes if volumes is not None else [1_000_000.0] * len(closes)
        bars = []
        prev = closes[0]
        for d, c, v in zip(sessions, closes, vols, strict=True):
            lo, hi = min(prev, c), max(prev, c)
            bars.append(Bar(symbol, CAL.session_open(d), prev, hi * 1.002, lo * 0.998, c, float(v)))
            prev = c
        self.data.add_daily_bars(bars)
        return bars

    def quote(self, symbol: str, price: float, *, ts: datetime | None = None) -> None:
        self.data.set_quote(Quote(symbol, ts or self.now, bid=price, ask=price, last=price))

    def intraday(self, bars: Iterable[Bar]) -> None:
        self.data.add_intraday_bars(bars)

    # -- options ----------------------------------------------------------------------------

    def chain(self, underlying: str, spot: float, quotes: Sequence[OptionQuote]) -> OptionChain:
        ch = OptionChain(underlying, self.now, spot, tuple(quotes))
        self.data.set_chain(ch)
        return ch


def last_session_before(now: datetime) -> date:
    today = now.astimezone(NY).date()
    if CAL.is_session(today) and CAL.session_close(today) <= now:
        return today
    return CAL.previous_session(today) if CAL.is_session(today) else CAL.session_on_or_before(today)


def intraday_series(
    symbol: str,
    interval: BarInterval,
    closes: Sequence[float],
    *,
    end: datetime,
    volumes: Sequence[float] | None = None,
) -> list[Bar]:
    """Intraday bars with these closes, the last one ending at `end`, spaced by `interval`
    (session gaps are ignored: the detectors only look at the bar sequence)."""
    step = interval.duration
    vols = volumes if volumes is not None else [10_000.0] * len(closes)
    out = []
    prev = closes[0]
    n = len(closes)
    for i, (c, v) in enumerate(zip(closes, vols, strict=True)):
        start = end - (n - i) * step
        lo, hi = min(prev, c), max(prev, c)
        out.append(Bar(symbol, start, prev, hi, lo, c, float(v), interval))
        prev = c
    return out


def contract(
    underlying: str, expiry: date, strike: float, right: OptionRight = OptionRight.CALL
) -> OptionContract:
    return OptionContract(underlying, expiry, Decimal(str(strike)), right)


def oq(
    c: OptionContract,
    bid: float,
    ask: float,
    *,
    ts: datetime,
    volume: int = 1_000,
    oi: int = 5_000,
    delta: float | None = None,
    iv: float | None = None,
) -> OptionQuote:
    return OptionQuote(
        c, ts, bid, ask, last=(bid + ask) / 2, volume=volume, open_interest=oi, iv=iv, delta=delta
    )


def position(
    instrument: Equity | OptionContract,
    quantity: int,
    avg_price: float,
    *,
    mark: float | None = None,
    opened_at: datetime | None = None,
) -> Position:
    return Position(instrument, quantity, Decimal(str(avg_price)), mark=mark, opened_at=opened_at)


def context(
    market: Market,
    *,
    cash: float = 100_000.0,
    positions: Sequence[Position] = (),
    pending: Sequence[TradeProposal] = (),
    profile: str = "research_2024",
    allocation_cap: float = 1.0,
    open_risk: float = 0.0,
    vix: float | None = None,
    start_of_day_equity: float | None = None,
    max_position_size: float | None = None,
) -> StrategyContext:
    pos_map: Mapping[str, Position] = MappingProxyType({p.symbol: p for p in positions})
    limits = PROFILE_LIMITS[profile]
    if max_position_size is not None:
        limits = type(limits)(limits.max_total_risk, max_position_size, limits.data_refresh_seconds)
    portfolio = Portfolio(
        ts=market.now,
        cash=Decimal(str(cash)),
        positions=pos_map,
        start_of_day_equity=(
            Decimal(str(start_of_day_equity)) if start_of_day_equity is not None else None
        ),
    )
    return StrategyContext(
        now=market.now,
        market=market.data,
        calendar=CAL,
        portfolio=portfolio,
        positions=pos_map,
        pending=tuple(pending),
        profile=profile,
        allocation_cap=allocation_cap,
        open_risk=open_risk,
        limits=limits,
        vix=vix,
    )


def steady(start: float, n: int, daily: float = 0.0005, wiggle: float = 0.002) -> list[float]:
    """A calm series: constant drift plus a small alternating wiggle (low realised vol)."""
    out = []
    level = start
    for i in range(n):
        level *= 1.0 + daily
        out.append(round(level * (1.0 + (wiggle if i % 2 else -wiggle)), 4))
    return out


def later(ts: datetime, **kw: float) -> datetime:
    return ts + timedelta(**kw)
