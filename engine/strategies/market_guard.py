"""Fresh-data access for strategies: every read either returns usable data or skips the symbol.

A strategy must never trade on stale or missing data. These helpers wrap the `MarketData`
reads a strategy makes, turn `DataUnavailable` / `BadMarketData` / stale timestamps / short
histories into `SkipSymbol(symbol, reason)`, and `SkipLog` keeps the reason so the UI and the
tests can see why nothing was proposed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from engine.data.calendar import MarketCalendar
from engine.data.chain_reads import ChainRead
from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    BarInterval,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
)
from engine.strategies.base import StrategyContext, is_stale

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = timedelta(minutes=15)


class SkipSymbol(Exception):
    """Raised inside a per-symbol scan: no trade on this symbol, and why."""

    def __init__(self, symbol: str, reason: str) -> None:
        super().__init__(f"{symbol}: {reason}")
        self.symbol = symbol
        self.reason = reason


@dataclass(slots=True)
class SkipLog:
    """Why each symbol produced no trade on the latest scan (reset at each scan)."""

    strategy: str
    by_symbol: dict[str, str] = field(default_factory=dict)
    last: str | None = None

    def reset(self) -> None:
        self.by_symbol = {}

    def record(self, symbol: str, reason: str) -> None:
        text = f"{symbol}: {reason}"
        self.by_symbol[symbol] = reason
        self.last = text
        log.debug("%s skipped %s", self.strategy, text)


def last_completed_session(ctx: StrategyContext) -> date:
    """The newest session whose daily bar is complete at `ctx.now`."""
    cal = ctx.calendar
    memo = _last_completed
    if memo.calendar is cal and memo.now == ctx.now:  # asked for every symbol of a scan
        return memo.session
    today = ctx.today
    if cal.is_session(today) and ctx.now >= cal.session_close(today):
        got = today
    else:
        got = cal.previous_session(today)
    memo.calendar, memo.now, memo.session = cal, ctx.now, got
    return got


@dataclass(slots=True)
class _LastCompleted:
    calendar: MarketCalendar | None = None
    now: datetime | None = None
    session: date = date.min


_last_completed = _LastCompleted()


def require_fresh_bar(
    ctx: StrategyContext,
    bars: Mapping[str, Bar],
    symbol: str,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> Bar:
    """The bar the engine handed in for `symbol`; skip when missing or stale.

    A daily bar is fresh when it is the last completed session; an intraday bar when it ended
    at most `max_age` ago (`is_stale`).
    """
    bar = bars.get(symbol)
    if bar is None:
        raise SkipSymbol(symbol, "no bar this scan")
    if bar.interval is BarInterval.DAY:
        expected = last_completed_session(ctx)
        if bar.session_date < expected:
            raise SkipSymbol(symbol, f"stale daily bar {bar.session_date} (expected {expected})")
        return bar
    if is_stale(bar, ctx.now, max_age):
        age = (ctx.now - bar.end).total_seconds() / 60.0
        raise SkipSymbol(symbol, f"stale bar: ended {age:.0f} min ago (max {_minutes(max_age)})")
    return bar


def _minutes(td: timedelta) -> str:
    return f"{td.total_seconds() / 60.0:.0f} min"


async def fresh_quote(
    ctx: StrategyContext, symbol: str, max_age: timedelta = DEFAULT_MAX_AGE
) -> Quote:
    try:
        q = await ctx.market.latest_quote(symbol)
    except (DataUnavailable, BadMarketData) as exc:
        raise SkipSymbol(symbol, f"no quote ({exc})") from None
    if ctx.now - q.ts > max_age:
        raise SkipSymbol(symbol, f"stale quote from {q.ts:%Y-%m-%d %H:%M} UTC")
    return q


async def fresh_daily_bars(
    ctx: StrategyContext, symbol: str, count: int, *, min_count: int | None = None
) -> list[Bar]:
    """Up to `count` completed daily bars ending with the last completed session.

    Skips when fewer than `min_count` (default `count`) come back or when the newest bar is
    not the last completed session (a gap means the history is stale).
    """
    need = count if min_count is None else min_count
    try:
        got = list(await ctx.market.daily_bars(symbol, ctx.today, count))
    except (DataUnavailable, BadMarketData) as exc:
        raise SkipSymbol(symbol, f"no daily bars ({exc})") from None
    if len(got) < need:
        raise SkipSymbol(symbol, f"only {len(got)} daily bars, need {need}")
    expected = last_completed_session(ctx)
    if got[-1].session_date < expected:
        raise SkipSymbol(
            symbol, f"stale daily history: last bar {got[-1].session_date}, expected {expected}"
        )
    return got


async def fresh_intraday_bars(
    ctx: StrategyContext,
    symbol: str,
    interval: BarInterval,
    start: datetime,
    *,
    min_count: int,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> list[Bar]:
    """Completed intraday bars from `start` to now; skips when too few or the newest is stale."""
    try:
        got = list(await ctx.market.intraday_bars(symbol, interval, start, ctx.now))
    except (DataUnavailable, BadMarketData) as exc:
        raise SkipSymbol(symbol, f"no {interval.value} bars ({exc})") from None
    if len(got) < min_count:
        raise SkipSymbol(symbol, f"only {len(got)} {interval.value} bars, need {min_count}")
    if is_stale(got[-1], ctx.now, max_age):
        raise SkipSymbol(symbol, f"stale {interval.value} bars: last ended {got[-1].end:%H:%M} UTC")
    return got


async def fresh_chain(
    ctx: StrategyContext,
    underlying: str,
    min_expiry: date,
    max_expiry: date,
    max_age: timedelta = DEFAULT_MAX_AGE,
    *,
    allow_empty: bool = False,
    right: OptionRight | None = None,
    strikes: tuple[float, float] | None = None,
) -> OptionChain:
    """The chain over [min_expiry, max_expiry] (only `right`'s side when given: a strategy
    that reads only calls or only puts should not pay for the other side; likewise only the
    strikes in `strikes`, for a strategy that provably reads nothing outside); skips when
    unavailable, stale or (unless `allow_empty`, for callers that report a missing expiry
    themselves) empty."""
    try:
        if strikes is not None:
            chain = await ctx.market.option_chain(
                underlying, min_expiry, max_expiry, right, strikes
            )
        elif right is not None:
            chain = await ctx.market.option_chain(underlying, min_expiry, max_expiry, right)
        else:
            chain = await ctx.market.option_chain(underlying, min_expiry, max_expiry)
    except (DataUnavailable, BadMarketData) as exc:
        raise SkipSymbol(underlying, f"no option chain ({exc})") from None
    if ctx.now - chain.ts > max_age:
        raise SkipSymbol(underlying, f"stale option chain from {chain.ts:%Y-%m-%d %H:%M} UTC")
    if not chain.quotes and not allow_empty:
        raise SkipSymbol(underlying, f"empty option chain {min_expiry}..{max_expiry}")
    return chain


async def fresh_option_quote(
    ctx: StrategyContext, contract: OptionContract, max_age: timedelta = DEFAULT_MAX_AGE
) -> OptionQuote:
    try:
        q = await ctx.market.option_quote(contract)
    except (DataUnavailable, BadMarketData) as exc:
        raise SkipSymbol(
            contract.underlying, f"no quote for {contract.describe()} ({exc})"
        ) from None
    if ctx.now - q.ts > max_age:
        raise SkipSymbol(
            contract.underlying, f"stale quote for {contract.describe()} from {q.ts:%H:%M} UTC"
        )
    return q


async def fresh_chain_near(
    ctx: StrategyContext,
    underlying: str,
    min_dte: int,
    max_dte: int,
    target_dte: int,
    *,
    right: OptionRight,
    slack_days: tuple[int, ...] = (3, 7),
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> OptionChain:
    """A chain to pick the `right` expiry nearest `target_dte` from, as the chain over
    [min_dte, max_dte] would give (`nearest_expiry` with those bounds).

    Reads target ± each of `slack_days` in turn: once such a window holds an expiry of
    `right`, the nearest one overall is inside it (anything outside is further away, ties
    included), so the narrow chain yields the same pick with a fraction of the pricing (a
    ± 3-day window holds one weekly). Otherwise (or if the narrow reads fail) the full range
    is read, with its own errors.
    """
    for slack in slack_days:
        lo = max(min_dte, target_dte - slack)
        hi = min(max_dte, target_dte + slack)
        if lo > hi:
            continue
        near = await _try_chain(ctx, underlying, lo, hi, max_age, right)
        if near is not None and near.quotes:
            return near
    return await fresh_chain(
        ctx,
        underlying,
        ctx.today + timedelta(days=min_dte),
        ctx.today + timedelta(days=max_dte),
        max_age,
        right=right,
    )


def first_chain_read(
    ctx: StrategyContext,
    underlying: str,
    min_dte: int,
    max_dte: int,
    *,
    right: OptionRight,
    first_span_days: int | tuple[int, ...],
) -> ChainRead:
    """The first chain `fresh_chain_first` reads with these arguments (to prefetch it)."""
    spans = (first_span_days,) if isinstance(first_span_days, int) else first_span_days
    hi = max_dte
    if spans and min(max_dte, min_dte + spans[0]) < max_dte:
        hi = min_dte + spans[0]
    return ChainRead(
        underlying, ctx.today + timedelta(days=min_dte), ctx.today + timedelta(days=hi), right
    )


async def fresh_chain_first(
    ctx: StrategyContext,
    underlying: str,
    min_dte: int,
    max_dte: int,
    *,
    right: OptionRight,
    first_span_days: int | tuple[int, ...],
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> OptionChain:
    """A chain holding the earliest `right` expiry with min_dte <= DTE <= max_dte, as the
    chain over that whole range would give it: [min_dte, min_dte + span] is read first for
    each of `first_span_days` (shortest first) and kept when it lists such an expiry (the
    earliest one is then inside it); else the full range is read, with its own errors. Every
    expiry read is priced, so a span that usually holds one expiry saves the rest."""
    spans = (first_span_days,) if isinstance(first_span_days, int) else first_span_days
    for span in spans:
        hi = min(max_dte, min_dte + span)
        if hi >= max_dte:
            break
        near = await _try_chain(ctx, underlying, min_dte, hi, max_age, right)
        if near is not None and near.quotes:
            return near
    return await fresh_chain(
        ctx,
        underlying,
        ctx.today + timedelta(days=min_dte),
        ctx.today + timedelta(days=max_dte),
        max_age,
        right=right,
    )


async def _try_chain(
    ctx: StrategyContext,
    underlying: str,
    lo_dte: int,
    hi_dte: int,
    max_age: timedelta,
    right: OptionRight,
) -> OptionChain | None:
    try:
        return await fresh_chain(
            ctx,
            underlying,
            ctx.today + timedelta(days=lo_dte),
            ctx.today + timedelta(days=hi_dte),
            max_age,
            allow_empty=True,
            right=right,
        )
    except SkipSymbol:
        return None
