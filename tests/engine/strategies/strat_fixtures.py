"""Hand-built market data for strategy tests: sessions, bar series, option chains, contexts.

Everything is explicit: a test says which closes, which strikes and which quotes exist, and
feeds them to the real `InMemoryMarketData` behind a `SimulatedClock`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from engine.data.calendar import default_calendar
from engine.data.memory import InMemoryMarketData
from engine.domain import (
    Bar,
    BarInterval,
    Instrument,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Portfolio,
    Position,
    Quote,
    TradeProposal,
)
from engine.pricing import black_scholes
from engine.runtime.clock import SimulatedClock
from engine.strategies.base import ProfileLimits, StrategyContext

NY = ZoneInfo("America/New_York")
CAL = default_calendar()
# Portfolio limits loose enough that a strategy's own sizing rule is what the test sees.
LOOSE = ProfileLimits(max_total_risk=0.50, max_position_size=0.20, data_refresh_seconds=30)


def et(d: date, hh: int, mm: int = 0) -> datetime:
    """A New York wall-clock time on `d`, as UTC."""
    return datetime.combine(d, time(hh, mm), tzinfo=NY).astimezone(UTC)


def sessions_before(d: date, n: int) -> list[date]:
    """The `n` sessions strictly before `d`, oldest first."""
    return CAL.sessions_ending(CAL.previous_session(d), n)


def daily_bars(
    symbol: str,
    closes: Sequence[float],
    sessions: Sequence[date],
    volumes: Sequence[float] | None = None,
) -> list[Bar]:
    assert len(closes) == len(sessions)
    out: list[Bar] = []
    prev = closes[0]
    for i, (c, d) in enumerate(zip(closes, sessions, strict=True)):
        o = prev
        vol = volumes[i] if volumes is not None else 1_000_000.0
        out.append(
            Bar(symbol, CAL.session_open(d), o, max(o, c), min(o, c), c, vol, BarInterval.DAY)
        )
        prev = c
    return out


def alternating_closes(start: float, abs_log_returns: Sequence[float]) -> list[float]:
    """Closes whose log returns alternate +x, -x: a window of an even number of returns has
    mean 0 and a known standard deviation, so realised vol is exactly controllable."""
    out = [start]
    for i, x in enumerate(abs_log_returns):
        sign = 1.0 if i % 2 == 0 else -1.0
        out.append(out[-1] * math.exp(sign * x))
    return out


def intraday_bar(
    symbol: str,
    start: datetime,
    close: float,
    volume: float,
    interval: BarInterval = BarInterval.FIVE_MINUTES,
    open_: float | None = None,
) -> Bar:
    o = close if open_ is None else open_
    return Bar(symbol, start, o, max(o, close), min(o, close), close, volume, interval)


def option_quote(
    underlying: str,
    expiry: date,
    strike: float,
    right: OptionRight,
    ts: datetime,
    bid: float,
    ask: float,
    *,
    volume: int = 1_000,
    oi: int = 5_000,
    delta: float | None = None,
    iv: float | None = None,
) -> OptionQuote:
    c = OptionContract(underlying, expiry, Decimal(str(strike)), right)
    return OptionQuote(
        c, ts, bid, ask, last=0.5 * (bid + ask), volume=volume, open_interest=oi, iv=iv, delta=delta
    )


def bs_chain(
    underlying: str,
    ts: datetime,
    spot: float,
    expiries: Iterable[date],
    strikes: Iterable[float],
    *,
    sigma: float = 0.30,
    rate: float = 0.04,
    half_spread: float = 0.02,
    volume: int = 1_000,
    oi: int = 5_000,
    with_greeks: bool = True,
    rights: Sequence[OptionRight] = (OptionRight.CALL, OptionRight.PUT),
) -> OptionChain:
    """A chain priced by Black-Scholes: bid/ask = price × (1 ∓ half_spread), to the cent."""
    rows: list[OptionQuote] = []
    strikes = list(strikes)
    for exp in expiries:
        t = max((datetime.combine(exp, time(16), tzinfo=NY) - ts).total_seconds(), 60.0) / (
            365.0 * 86400.0
        )
        for k in strikes:
            for right in rights:
                g = black_scholes(spot, k, t, rate, 0.0, sigma, right is OptionRight.CALL)
                px = max(float(g.price), 0.02)
                bid = round(px * (1 - half_spread), 2)
                ask = round(px * (1 + half_spread), 2)
                if ask <= bid:
                    ask = bid + 0.01
                rows.append(
                    option_quote(
                        underlying,
                        exp,
                        k,
                        right,
                        ts,
                        bid,
                        ask,
                        volume=volume,
                        oi=oi,
                        delta=float(g.delta) if with_greeks else None,
                        iv=sigma if with_greeks else None,
                    )
                )
    return OptionChain(underlying, ts, spot, tuple(rows))


def replace_rows(chain: OptionChain, rows: Iterable[OptionQuote]) -> OptionChain:
    """The chain with the given rows replacing those of the same contract (others kept)."""
    new = {q.contract: q for q in rows}
    kept = [new.pop(q.contract, q) for q in chain.quotes]
    return OptionChain(chain.underlying, chain.ts, chain.spot, tuple(kept) + tuple(new.values()))


def market(now: datetime) -> tuple[SimulatedClock, InMemoryMarketData]:
    clock = SimulatedClock(now)
    return clock, InMemoryMarketData(clock, calendar=CAL)


def spot_quote(symbol: str, ts: datetime, last: float, half_spread: float = 0.01) -> Quote:
    return Quote(symbol, ts, bid=last - half_spread, ask=last + half_spread, last=last)


def position(
    instrument: Instrument,
    quantity: int,
    avg_price: float,
    *,
    opened_at: datetime | None = None,
    mark: float | None = None,
) -> Position:
    return Position(instrument, quantity, Decimal(str(avg_price)), mark=mark, opened_at=opened_at)


def context(
    now: datetime,
    data: InMemoryMarketData,
    *,
    equity: float = 100_000.0,
    positions: Iterable[Position] = (),
    pending: Sequence[TradeProposal] = (),
    profile: str = "research_2024",
    allocation_cap: float = 1.0,
    open_risk: float = 0.0,
    limits: ProfileLimits = LOOSE,
) -> StrategyContext:
    pos: Mapping[str, Position] = MappingProxyType({p.symbol: p for p in positions})
    return StrategyContext(
        now=now,
        market=data,
        calendar=CAL,
        portfolio=Portfolio(ts=now, cash=Decimal(str(equity))),
        positions=pos,
        pending=tuple(pending),
        profile=profile,
        allocation_cap=allocation_cap,
        open_risk=open_risk,
        limits=limits,
    )


def fresh_bar(symbol: str, now: datetime, close: float) -> Bar:
    """A 1-minute bar that ended at `now` (what the engine hands `on_bar`)."""
    return intraday_bar(symbol, now - timedelta(minutes=1), close, 10_000, BarInterval.MINUTE)


def next_weekday(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday()) % 7)
