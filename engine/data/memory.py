"""`InMemoryMarketData`: a real `MarketData` fed by hand, for tests of strategies and the engine.

Tests build exactly the series they need (a 10-day run then a dip, a chain with one liquid
strike, an earnings date in five days) and the source serves it through the same protocol as
the simulator, honouring the clock: nothing stamped after `clock.now()` is ever returned.

Visibility rules (the same as every other source):

* a daily bar is served once its session has closed (the calendar's close for that date; for a
  date the calendar does not know, ``bar.start + 1 day``);
* an intraday bar is served once ``bar.end <= now``; 5m/15m/1h requests are aggregated from
  1-minute bars (anchored at the session open) unless bars of that interval were added;
* ``latest_quote`` is the newest quote with ``ts <= now``; with none set, it falls back to the
  newest visible bar's close with bid = ask = last (so a test that only adds bars can still ask
  for a quote);
* ``option_chain``/``option_quote`` read the newest chain with ``ts <= now``;
* earnings events are scheduled facts, served for any date range.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.protocol import DataUnavailable
from engine.data.simulator.bars import aggregate_bars
from engine.domain import (
    Bar,
    BarInterval,
    EarningsEvent,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
)

if TYPE_CHECKING:
    from engine.runtime.clock import Clock

T = TypeVar("T")


class InMemoryMarketData:
    """A `MarketData` over explicitly added bars, quotes, chains and earnings."""

    def __init__(
        self, clock: Clock, *, name: str = "memory", calendar: MarketCalendar | None = None
    ) -> None:
        self._clock = clock
        self._name = name
        self._calendar = calendar if calendar is not None else default_calendar()
        self._daily: dict[str, list[Bar]] = defaultdict(list)
        self._intraday: dict[tuple[str, BarInterval], list[Bar]] = defaultdict(list)
        self._quotes: dict[str, list[Quote]] = defaultdict(list)
        self._chains: dict[str, list[OptionChain]] = defaultdict(list)
        self._earnings: list[EarningsEvent] = []
        self._extra_symbols: set[str] = set()

    # -- feeding -------------------------------------------------------------------------

    def add_symbol(self, symbol: str) -> None:
        """Declare a symbol with no data yet (it is then known, but every read is empty)."""
        self._extra_symbols.add(symbol)

    def add_daily_bars(self, bars: Iterable[Bar]) -> None:
        """Add daily bars (any symbol mix, any order). A later bar for the same date replaces
        the earlier one."""
        for bar in bars:
            if bar.interval is not BarInterval.DAY:
                raise ValueError(
                    f"add_daily_bars: bar {bar.symbol} {bar.start} has interval "
                    f"{bar.interval.value!r}; only '1d' is allowed (use add_intraday_bars)"
                )
            _insert(self._daily[bar.symbol], bar, key=lambda b: b.session_date)

    def add_intraday_bars(self, bars: Iterable[Bar]) -> None:
        """Add intraday bars of any interval except '1d'."""
        for bar in bars:
            if bar.interval is BarInterval.DAY:
                raise ValueError(
                    f"add_intraday_bars: bar {bar.symbol} {bar.start} is a daily bar; "
                    "use add_daily_bars"
                )
            _insert(self._intraday[(bar.symbol, bar.interval)], bar, key=lambda b: b.start)

    def set_quote(self, quote: Quote) -> None:
        """Add a quote; `latest_quote` serves the newest one stamped at or before now."""
        _insert(self._quotes[quote.symbol], quote, key=lambda q: q.ts)

    def set_chain(self, chain: OptionChain) -> None:
        """Add a chain snapshot; reads serve the newest one stamped at or before now."""
        _insert(self._chains[chain.underlying], chain, key=lambda c: c.ts)

    def add_earnings(self, events: Iterable[EarningsEvent]) -> None:
        for ev in events:
            if ev not in self._earnings:
                self._earnings.append(ev)
        self._earnings.sort(key=lambda e: (e.date, e.symbol))

    # -- MarketData ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def calendar(self) -> MarketCalendar:
        return self._calendar

    def symbols(self) -> Sequence[str]:
        found = set(self._extra_symbols) | set(self._daily) | set(self._quotes)
        found |= {sym for sym, _ in self._intraday} | set(self._chains)
        return sorted(found)

    def _require(self, symbol: str) -> None:
        known = (
            symbol in self._extra_symbols
            or symbol in self._daily
            or symbol in self._quotes
            or symbol in self._chains
            or any(sym == symbol for sym, _ in self._intraday)
        )
        if not known:
            raise DataUnavailable(f"{self._name}: unknown symbol {symbol!r}")

    def _daily_close_time(self, d: date) -> datetime | None:
        if self._calendar.is_session(d):
            return self._calendar.session_close(d)
        return None

    def daily_bars_sync(self, symbol: str, end: date, count: int) -> list[Bar]:
        self._require(symbol)
        now = self._clock.now()
        out: list[Bar] = []
        for bar in reversed(self._daily.get(symbol, [])):
            if len(out) >= count:
                break
            if bar.session_date > end:
                continue
            close = self._daily_close_time(bar.session_date)
            visible_from = close if close is not None else bar.start + timedelta(days=1)
            if visible_from <= now:
                out.append(bar)
        out.reverse()
        return out

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        return self.daily_bars_sync(symbol, end, count)

    def intraday_bars_sync(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> list[Bar]:
        self._require(symbol)
        if interval is BarInterval.DAY:
            raise ValueError("intraday_bars: interval '1d' is not intraday; use daily_bars")
        now = self._clock.now()
        direct = self._intraday.get((symbol, interval))
        if direct:
            return [b for b in direct if start <= b.start < end and b.end <= now]
        minutes = self._intraday.get((symbol, BarInterval.MINUTE), [])
        # Aggregate session by session so buckets stay anchored at each session's open.
        by_day: dict[date, list[Bar]] = defaultdict(list)
        for b in minutes:
            by_day[b.start.date()].append(b)
        out: list[Bar] = []
        for d in sorted(by_day):
            day = by_day[d]
            if self._calendar.is_session(d):
                anchor = self._calendar.session_open(d)
                session_end: datetime | None = self._calendar.session_close(d)
            else:
                anchor = datetime.combine(d, datetime.min.time(), tzinfo=day[0].start.tzinfo)
                session_end = None
            for agg in aggregate_bars(
                day, interval, anchor, complete_before=now, session_end=session_end
            ):
                if start <= agg.start < end:
                    out.append(agg)
        return out

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        return self.intraday_bars_sync(symbol, interval, start, end)

    def latest_quote_sync(self, symbol: str) -> Quote:
        self._require(symbol)
        now = self._clock.now()
        quotes = self._quotes.get(symbol, [])
        i = bisect.bisect_right([q.ts for q in quotes], now)
        if i > 0:
            return quotes[i - 1]
        last = self._last_visible_bar(symbol, now)
        if last is None:
            raise DataUnavailable(f"{self._name}: no quote or bar for {symbol} at {now}")
        bar, ts = last
        return Quote(symbol, ts, bid=bar.close, ask=bar.close, last=bar.close)

    async def latest_quote(self, symbol: str) -> Quote:
        return self.latest_quote_sync(symbol)

    def _last_visible_bar(self, symbol: str, now: datetime) -> tuple[Bar, datetime] | None:
        best: tuple[Bar, datetime] | None = None
        for (sym, _), bars in self._intraday.items():
            if sym != symbol:
                continue
            for b in reversed(bars):
                if b.end <= now:
                    if best is None or b.end > best[1]:
                        best = (b, b.end)
                    break
        daily = self.daily_bars_sync(symbol, now.date(), 1)
        if daily:
            b = daily[-1]
            close = self._daily_close_time(b.session_date) or b.start + timedelta(days=1)
            if best is None or close > best[1]:
                best = (b, close)
        return best

    def _chain_at(self, underlying: str) -> OptionChain:
        self._require(underlying)
        now = self._clock.now()
        chains = self._chains.get(underlying, [])
        i = bisect.bisect_right([c.ts for c in chains], now)
        if i == 0:
            raise DataUnavailable(f"{self._name}: no option chain for {underlying} at {now}")
        return chains[i - 1]

    def option_chain_sync(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        chain = self._chain_at(underlying)
        rows = [
            q
            for q in chain.quotes
            if min_expiry <= q.contract.expiry <= max_expiry
            and (right is None or q.contract.right is right)
            and (strikes is None or strikes[0] <= float(q.contract.strike) <= strikes[1])
        ]
        return chain.filter(rows)

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        return self.option_chain_sync(underlying, min_expiry, max_expiry, right, strikes)

    def option_quote_sync(self, contract: OptionContract) -> OptionQuote:
        quote = self._chain_at(contract.underlying).find(contract)
        if quote is None:
            raise DataUnavailable(f"{self._name}: {contract.symbol} is not in the current chain")
        return quote

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        return self.option_quote_sync(contract)

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        return [e for e in self._earnings if start <= e.date <= end]


def _insert(items: list[T], item: T, *, key: Callable[[T], date]) -> None:
    """Keep `items` sorted by `key`; an item with an equal key replaces the old one."""
    k = key(item)
    keys = [key(x) for x in items]
    i = bisect.bisect_left(keys, k)
    if i < len(items) and keys[i] == k:
        items[i] = item
    else:
        items.insert(i, item)
