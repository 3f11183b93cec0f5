"""Market data for backtests: the simulator, CSV history (with an option model) or yfinance.

Historical option chains do not exist for free, so on CSV history options are priced from the
underlying's own history with the simulator's chain builder (`engine.data.simulator.options`):
see `OPTION_MODEL` for the statement the report prints.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.csv_replay import CsvReplayMarket
from engine.data.protocol import DataUnavailable, MarketData
from engine.data.simulator import SimulatedMarket
from engine.data.simulator.options import ChainInputs
from engine.data.simulator.universe import Kind
from engine.domain import Bar, BarInterval, EarningsEvent, EarningsTiming
from engine.runtime.clock import Clock, ReplayClock

log = logging.getLogger(__name__)

OPTION_MODEL = (
    "Options on historical underlyings are priced, not replayed (free historical chains do not "
    "exist). Black-Scholes-Merton on the split/dividend-adjusted underlying; short-end ATM "
    "implied volatility = 1.1 x the trailing 20-session realised volatility known before the "
    "session, moved intraday against the underlying's move, with a term structure reverting to "
    "1.1 x the trailing 252-session realised volatility; skew (puts richer) and smile by kind of "
    "underlying; an earnings premium: each expiry that spans an earnings reaction adds that "
    "event's variance (move sd = RMS of the previous four reactions, 4% before any) so IV runs "
    "up into the event and is crushed after it. The CSV files carry no earnings dates, so for "
    "single stocks they are inferred: the day of the quarter with the largest average overnight "
    "gap over the previous three years is the name's reporting point, and each quarter's "
    "reaction is its largest gap within 7 days of it (real dates are public in advance; this "
    "inference uses the realised gaps to find them, and can miss by days). American-style values are floored at "
    "intrinsic. Listed expiries (dailies, weeklies, monthlies, LEAPS), strike ladders, bid/ask "
    "spreads (wider out of the money, short- and long-dated, in stress) and ticks as in the "
    "simulator; risk-free rate 4%. Fills: market orders pay the far side of the quote plus "
    "slippage (equities 2 bp, options 10% of the half-spread), marketable limits fill at the "
    "quote, commissions $0.65 per contract (configurable). Strategies price at the mid; stops, "
    "time, expiry, end-of-day and post-event exits are re-priced at the natural price (bid of "
    "what is sold, ask of what is bought) so they trade on arrival; a close that sells an option "
    "with no bid is held back (it expires or waits for a bid). Daily backtests tick once "
    "per session in its last minute: strategies see the session's bar and trade at the "
    "closing quote."
)

SIM_MODEL = (
    "Simulated market (seeded): regime-switching daily paths, minute paths that aggregate "
    "exactly to each daily bar, an earnings calendar with IV run-up and crush, option chains "
    "from the same surface model as CSV history."
)


@dataclass(frozen=True, slots=True)
class _Reaction:
    at: datetime  # session open of the reaction day
    day: date
    move_sd: float


def _quarter_offset(d: date) -> int:
    """Days since the start of `d`'s calendar quarter (0..91)."""
    return (d - date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)).days


def _smoothed_peak(gap_sum: np.ndarray, count: np.ndarray) -> int:
    mean = np.divide(gap_sum, count, out=np.zeros(92), where=count > 0)
    ring = np.concatenate([mean[-3:], mean, mean[:3]])
    return int(np.argmax(np.convolve(ring, np.ones(7) / 7.0, mode="valid")))


def infer_earnings(
    dates: Sequence[date],
    opens: np.ndarray,
    closes: np.ndarray,
    opens_at: Sequence[datetime],
    *,
    band: int = 7,
    lookback_quarters: int = 12,
) -> list[_Reaction]:
    """One earnings reaction per calendar quarter, inferred from overnight gaps.

    A company reports at about the same point of every quarter, and its reaction is the
    largest overnight gap around that point. For each quarter the reporting point is the day
    of the quarter whose gaps were largest on average over the previous `lookback_quarters`
    (smoothed over +-3 days; the first quarters use the first two years), and the reaction is
    that quarter's largest gap within `band` days of it. The move sd attached to each event is
    the RMS of the previous four reactions' gaps (4% before any), so the premium priced ahead
    of an event never uses that event's own move.
    """
    if len(dates) < 2:
        return []
    gaps = np.abs(np.log(opens[1:] / closes[:-1]))
    days = list(dates[1:])
    offsets = [_quarter_offset(d) for d in days]
    quarter_of = [(d.year, (d.month - 1) // 3) for d in days]
    quarters = sorted(set(quarter_of))
    rows: dict[tuple[int, int], list[int]] = {}
    for k, q in enumerate(quarter_of):
        rows.setdefault(q, []).append(k)
    out: list[_Reaction] = []
    history: list[float] = []
    for qi, q in enumerate(quarters):
        ref = quarters[max(0, qi - lookback_quarters) : qi] if qi >= 4 else quarters[:8]
        gap_sum, count = np.zeros(92), np.zeros(92)
        for rq in ref:
            for k in rows[rq]:
                gap_sum[offsets[k]] += gaps[k]
                count[offsets[k]] += 1.0
        peak = _smoothed_peak(gap_sum, count)
        near = [k for k in rows[q] if abs(offsets[k] - peak) <= band]
        if not near:
            continue
        k = max(near, key=lambda i: float(gaps[i]))
        recent = history[-4:]
        sd = math.sqrt(sum(x * x for x in recent) / len(recent)) if recent else 0.04
        out.append(_Reaction(opens_at[k + 1], dates[k + 1], min(0.15, max(0.02, sd))))
        history.append(float(gaps[k]))
    return out


class HistoricalMarket(CsvReplayMarket):
    """CSV history with an earnings calendar inferred for single stocks (see `OPTION_MODEL`),
    which feeds the option surface's earnings premium and `earnings_calendar`."""

    def __init__(self, directory: Path, clock: Clock, **kwargs: Any) -> None:
        super().__init__(directory, clock, **kwargs)
        self._reactions: dict[str, list[_Reaction]] = {}
        for sym, s in self._series.items():
            if self._specs[sym].kind is Kind.STOCK:
                self._reactions[sym] = infer_earnings(s.dates, s.o, s.c, s.opens)

    def _chain_inputs(
        self, underlying: str, at: datetime | None = None, spot: float | None = None
    ) -> tuple[ChainInputs, date]:
        inputs, today = super()._chain_inputs(underlying, at, spot)
        events = tuple(
            (r.at, r.move_sd) for r in self._reactions.get(underlying, ()) if r.at > inputs.now
        )
        if events:
            # Only the next year of events can span a listed expiry's variance window.
            horizon = inputs.now + timedelta(days=800)
            inputs = replace(inputs, events=tuple(e for e in events if e[0] <= horizon))
        return inputs, today

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        out = [
            EarningsEvent(sym, r.day, EarningsTiming.BEFORE_OPEN)
            for sym, reactions in self._reactions.items()
            for r in reactions
            if start <= r.day <= end
        ]
        return sorted(out, key=lambda e: (e.date, e.symbol))


class CsvMinuteFeed:
    """`minute_bars_at` over a CSV source's synthetic minute paths (minute-step backtests on
    history): every symbol's 1-minute bar that ended at `ts`."""

    def __init__(self, market: CsvReplayMarket) -> None:
        self._market = market
        self._symbols = tuple(market.symbols())

    def minute_bars_at(self, ts: datetime) -> dict[str, Bar]:
        out: dict[str, Bar] = {}
        start = ts - timedelta(minutes=1)
        for sym in self._symbols:
            got = self._market.intraday_bars_sync(sym, BarInterval.MINUTE, start, ts)
            if got and got[-1].start == start:
                out[sym] = got[-1]
        return out


@dataclass
class Source:
    """A built source: the market, the feed the engine steps on, its calendar and sessions."""

    market: MarketData
    feed: Any
    calendar: MarketCalendar
    sessions: list[date]
    clock: ReplayClock
    minute_capable: bool
    model: str


def sim_source(
    start: date,
    end: date,
    *,
    seed: int,
    symbols: Sequence[str],
    warmup_sessions: int,
    closing_auction: bool = False,
) -> Source:
    calendar = default_calendar()
    sessions = calendar.sessions(start, end)
    if not sessions:
        raise ValueError(f"no trading sessions between {start} and {end}")
    clock = ReplayClock(calendar.session_open(sessions[0]))
    market = SimulatedMarket(
        clock,
        seed=seed,
        start=sessions[0],
        history_days=warmup_sessions,
        horizon_days=len(sessions) + 1,
        universe=list(symbols),
        calendar=calendar,
        closing_auction=closing_auction,
        # One market per seed: a date's prices do not depend on the window (see canonical).
        canonical=True,
    )
    return Source(market, market, calendar, sessions, clock, True, SIM_MODEL)


def csv_source(
    directory: Path,
    start: date,
    end: date,
    *,
    seed: int,
    symbols: Sequence[str] | None,
    closing_auction: bool = False,
) -> Source:
    # The clock is placed after the files are read (their first date picks the calendar).
    clock = ReplayClock(datetime.fromisoformat("1990-01-01T00:00:00+00:00"))
    market = HistoricalMarket(
        directory, clock, symbols=symbols, seed=seed, closing_auction=closing_auction
    )
    cal = market.calendar
    served = market.symbols()
    first = min(market.first_session(s) for s in served)
    last = max(market.last_session(s) for s in served)
    lo, hi = max(start, first), min(end, last)
    sessions = cal.sessions(lo, hi)
    if not sessions:
        raise ValueError(
            f"--start {start} / --end {end}: the price files in {directory} cover "
            f"{first}..{last}; choose dates inside that range"
        )
    clock.jump_to(cal.session_open(sessions[0]))
    return Source(market, market, cal, sessions, clock, False, OPTION_MODEL)


async def export_yfinance_csv(
    symbols: Sequence[str],
    start: date,
    end: date,
    directory: Path,
    *,
    history_days: int = 550,
    cache_dir: Path | None = None,
    source: Any = None,
) -> Path:
    """Fetch daily history through `engine.data.yfinance_history.YFinanceHistory` (its local
    cache: a second run reads from disk) and write it as shared-format CSV files into
    `directory`, for `csv_source` to replay. Prices are split- and dividend-adjusted (the
    history's `daily_bars`), so ``adj_close`` = ``close``. `source` replaces Yahoo (tests)."""
    from engine.data.yfinance_history import YFinanceHistory

    if not symbols:
        raise ValueError("--data yfinance needs --symbols (which tickers to download)")
    hist = YFinanceHistory(source=source, cache_dir=cache_dir, symbols=list(symbols))
    first = start - timedelta(days=history_days)
    await hist.fetch(list(symbols), first, end)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    count = len(default_calendar().sessions(first, end))
    for sym in symbols:
        try:
            bars = await hist.daily_bars(sym, end, count)
        except DataUnavailable as exc:
            raise ValueError(f"yfinance has no daily history for {sym}: {exc}") from exc
        lines = ["date,open,high,low,close,adj_close,volume"]
        lines += [
            f"{b.session_date},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.close!r},{b.volume!r}"
            for b in bars
        ]
        await asyncio.to_thread((directory / f"{sym}.csv").write_text, "\n".join(lines) + "\n")
    return directory
