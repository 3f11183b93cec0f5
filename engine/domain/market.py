"""Market data values: bars, quotes, option quotes and chains, earnings events.

Prices here are floats: they feed analytics, pricing and risk. The ledger (fills, cash) is
`Decimal` and lives in `orders` and `portfolio`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from engine.domain.fast_init import fast_init
from engine.domain.instruments import OptionContract, OptionRight


class BarInterval(StrEnum):
    MINUTE = "1m"
    FIVE_MINUTES = "5m"
    FIFTEEN_MINUTES = "15m"
    HOUR = "1h"
    DAY = "1d"

    @property
    def duration(self) -> timedelta:
        return _DURATIONS[self]


_DURATIONS = {
    BarInterval.MINUTE: timedelta(minutes=1),
    BarInterval.FIVE_MINUTES: timedelta(minutes=5),
    BarInterval.FIFTEEN_MINUTES: timedelta(minutes=15),
    BarInterval.HOUR: timedelta(hours=1),
    BarInterval.DAY: timedelta(days=1),
}


class BadMarketData(ValueError):
    """A data source delivered something that must not be traded on (NaN, <= 0, crossed)."""


def _finite_positive(name: str, value: float, where: str) -> None:
    if not math.isfinite(value) or value <= 0:
        raise BadMarketData(f"{where}: {name}={value!r} must be a finite positive price")


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV over [start, start + interval). `start` is UTC; daily bars start at the session open."""

    symbol: str
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    interval: BarInterval = BarInterval.DAY

    def __post_init__(self) -> None:
        # Validation runs on every bar the simulator builds, so the happy path is plain
        # comparisons; the descriptive message is only formatted when a check fails.
        o, h, lo, c, v = self.open, self.high, self.low, self.close, self.volume
        if (
            o > 0
            and h > 0
            and lo > 0
            and c > 0
            and h < math.inf
            and 0 <= v < math.inf
            and h >= o
            and h >= c
            and h >= lo
            and lo <= o
            and lo <= c
        ):
            return
        where = f"bar {self.symbol} {self.start:%Y-%m-%d %H:%M}"
        for name in ("open", "high", "low", "close"):
            _finite_positive(name, getattr(self, name), where)
        if not math.isfinite(v) or v < 0:
            raise BadMarketData(f"{where}: volume={v!r} must be finite and >= 0")
        raise BadMarketData(
            f"{where}: high/low {self.high}/{self.low} do not contain open/close {o}/{c}"
        )

    @property
    def end(self) -> datetime:
        return self.start + self.interval.duration

    @property
    def session_date(self) -> date:
        return self.start.date()


@fast_init
@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book for an equity or index. `last` is the last trade."""

    symbol: str
    ts: datetime
    bid: float
    ask: float
    last: float
    bid_size: float = 0.0
    ask_size: float = 0.0

    def __post_init__(self) -> None:
        b, a, last = self.bid, self.ask, self.last
        if 0 < b <= a < math.inf and 0 < last < math.inf:
            return
        where = f"quote {self.symbol} {self.ts:%Y-%m-%d %H:%M:%S}"
        _finite_positive("last", last, where)
        _finite_positive("bid", b, where)
        _finite_positive("ask", a, where)
        raise BadMarketData(f"{where}: crossed quote bid {b} > ask {a}")

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@fast_init
@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One row of an option chain. Bid may be 0 for far out-of-the-money contracts.

    Greeks are per unit of underlying (multiply by the contract multiplier for dollars);
    `iv` is annualised decimal volatility, None when it could not be computed.
    """

    contract: OptionContract
    ts: datetime
    bid: float
    ask: float
    last: float
    volume: int
    open_interest: int
    iv: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None
    bid_size: int = 0
    ask_size: int = 0

    def __post_init__(self) -> None:
        b, a, last = self.bid, self.ask, self.last
        if (
            0 <= b <= a < math.inf
            and a > 0
            and 0 <= last < math.inf
            and self.volume >= 0
            and self.open_interest >= 0
        ):
            return
        where = f"option quote {self.contract.symbol}"
        for name in ("bid", "ask", "last"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise BadMarketData(f"{where}: {name}={v!r} must be finite and >= 0")
        if a <= 0:
            raise BadMarketData(f"{where}: ask={a!r} must be positive")
        if b > a:
            raise BadMarketData(f"{where}: crossed quote bid {b} > ask {a}")
        raise BadMarketData(f"{where}: volume/open interest must be >= 0")

    @property
    def symbol(self) -> str:
        return self.contract.symbol

    @property
    def mid(self) -> float:
        """Spec §0: prices are bid/ask mid, else last."""
        if self.bid > 0:
            return 0.5 * (self.bid + self.ask)
        return self.last if self.last > 0 else 0.5 * self.ask

    @property
    def spread_pct_of_mid(self) -> float:
        m = self.mid
        return (self.ask - self.bid) / m if m > 0 else math.inf


@dataclass(frozen=True, slots=True, weakref_slot=True)
class OptionChain:
    """All quoted contracts of one underlying over a range of expiries, at one instant."""

    underlying: str
    ts: datetime
    spot: float
    quotes: tuple[OptionQuote, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _finite_positive("spot", self.spot, f"chain {self.underlying}")

    def __iter__(self) -> Iterator[OptionQuote]:
        return iter(self.quotes)

    def __len__(self) -> int:
        return len(self.quotes)

    @property
    def expiries(self) -> tuple[date, ...]:
        return tuple(sorted({q.contract.expiry for q in self.quotes}))

    def for_expiry(self, expiry: date, right: OptionRight | None = None) -> tuple[OptionQuote, ...]:
        rows = [
            q
            for q in self.quotes
            if q.contract.expiry == expiry and (right is None or q.contract.right is right)
        ]
        rows.sort(key=lambda q: q.contract.strike)
        return tuple(rows)

    def find(self, contract: OptionContract) -> OptionQuote | None:
        for q in self.quotes:
            if q.contract == contract:
                return q
        return None

    def nearest_expiry(self, today: date, target_dte: int) -> date | None:
        exps = self.expiries
        if not exps:
            return None
        return min(exps, key=lambda e: (abs((e - today).days - target_dte), e))

    def filter(self, rows: Sequence[OptionQuote]) -> OptionChain:
        return OptionChain(self.underlying, self.ts, self.spot, tuple(rows))


class EarningsTiming(StrEnum):
    BEFORE_OPEN = "bmo"
    AFTER_CLOSE = "amc"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class EarningsEvent:
    symbol: str
    date: date
    timing: EarningsTiming = EarningsTiming.UNKNOWN
