"""`FailoverFeed`: one `MarketData` over several real sources, e.g. Alpaca then yfinance.

Every call goes to the active source with a timeout. A source that times out or errors
`max_errors` times in a row is marked down and the next healthy source answers (the switch is
logged and shown); the primary is probed again every `probe_every` and takes over as soon as it
answers. Per source the feed keeps latency (moving average), consecutive and total errors,
the last success and the last error: `health()` for the TUI header, `status()` for one line.

Staleness: `last_data_at` is when any source last delivered data. While no source answers,
it stops moving, `stale` turns true after `stale_after`, and pre-trade risk (which reads
`last_data_at` through the engine) blocks new trades until a source answers again.
`DataUnavailable` ("no such symbol/date") is an answer, not a failure: the next source is
asked, but nobody is marked down for it.

For the engine's minute loop the feed also implements `minute_bars_at(ts)` over bars fetched
by `refresh(ts)` (run by a task each minute), and raises `DataUnavailable` when stale so the
engine records a `DataRejected` event instead of trading on old bars.

A simulator or replay source is never mixed with real ones: it would put invented prices
next to a real account.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import (
    BadMarketData,
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

log = logging.getLogger(__name__)

T = TypeVar("T")
SIMULATED_NAMES = frozenset({"sim", "csv", "memory", "replay"})


class AllSourcesDown(DataUnavailable):
    """No source could answer: the data is stale and trading must wait."""


@dataclass(frozen=True, slots=True)
class SourceHealth:
    name: str
    up: bool
    latency_ms: float | None  # exponential moving average of successful calls
    consecutive_errors: int
    total_errors: int
    calls: int
    last_ok_at: datetime | None
    last_error: str | None
    down_since: datetime | None


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the header shows: ``data: alpaca ok`` / ``data: yfinance (failover) ok`` / stale."""

    source: str
    healthy: bool
    last_update: datetime | None
    detail: str


class FailoverFeed:
    def __init__(
        self,
        sources: Sequence[MarketData],
        *,
        clock: Clock,
        timeout_s: float = 5.0,
        max_errors: int = 2,
        stale_after: timedelta = timedelta(minutes=2),
        probe_every: timedelta = timedelta(seconds=30),
        allow_simulated: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not sources:
            raise ValueError("sources: a failover feed needs at least one source")
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"sources: names must be distinct, got {names}")
        simulated = [n for n in names if n in SIMULATED_NAMES]
        if simulated and len(sources) > 1 and not allow_simulated:
            raise ValueError(
                f"sources: {', '.join(simulated)} is simulated and must not be mixed with real "
                "sources feeding a real account"
            )
        if timeout_s <= 0 or max_errors < 1:
            raise ValueError(f"timeout_s={timeout_s} must be > 0 and max_errors={max_errors} >= 1")
        self._sources = list(sources)
        self._clock = clock
        self._timeout = timeout_s
        self._max_errors = max_errors
        self.stale_after = stale_after
        self._probe_every = probe_every
        self._monotonic = monotonic
        self._health = {
            s.name: SourceHealth(s.name, True, None, 0, 0, 0, None, None, None) for s in sources
        }
        self._active = 0
        self._last_probe: datetime | None = None
        self.last_data_at: datetime | None = None
        self.switches = 0
        self._minute: dict[str, Bar] = {}
        self._minute_ts: datetime | None = None

    # -- health ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "failover"

    @property
    def active(self) -> MarketData:
        return self._sources[self._active]

    def health(self) -> tuple[SourceHealth, ...]:
        return tuple(self._health[s.name] for s in self._sources)

    @property
    def stale(self) -> bool:
        last = self.last_data_at
        return last is None or self._clock.now() - last > self.stale_after

    def status(self) -> FeedStatus:
        src = self.active.name
        failover = " (failover)" if self._active != 0 else ""
        down = [h.name for h in self.health() if not h.up]
        detail = f"{src}{failover}"
        if down:
            detail += f"; down: {', '.join(down)}"
        if self.stale:
            age = (
                "no data yet"
                if self.last_data_at is None
                else f"{(self._clock.now() - self.last_data_at).total_seconds():.0f}s old"
            )
            detail += f"; STALE ({age}): new trades blocked"
        return FeedStatus(src, not self.stale, self.last_data_at, detail)

    def _ok(self, name: str, elapsed: float, *, data: bool = True) -> None:
        h = self._health[name]
        ms = elapsed * 1000.0
        lat = ms if h.latency_ms is None else 0.8 * h.latency_ms + 0.2 * ms
        now = self._clock.now()
        if not h.up:
            log.warning("data source %s is answering again", name)
        self._health[name] = replace(
            h, up=True, latency_ms=lat, consecutive_errors=0, calls=h.calls + 1, last_ok_at=now,
            down_since=None,
        )  # fmt: skip
        if data:
            self.last_data_at = now

    def _failed(self, name: str, error: str) -> None:
        h = self._health[name]
        errors = h.consecutive_errors + 1
        up = errors < self._max_errors
        now = self._clock.now()
        if h.up and not up:
            log.error("data source %s marked down after %d errors: %s", name, errors, error)
        self._health[name] = replace(
            h,
            up=up,
            consecutive_errors=errors,
            total_errors=h.total_errors + 1,
            calls=h.calls + 1,
            last_error=error,
            down_since=h.down_since if not up and h.down_since else (None if up else now),
        )

    def _order(self) -> list[int]:
        """Sources to try, best first: the primary when due for a probe, then the active one,
        then every other source that is up, then the ones that are down (last resort)."""
        now = self._clock.now()
        order: list[int] = []
        if self._active != 0 and (
            self._last_probe is None or now - self._last_probe >= self._probe_every
        ):
            self._last_probe = now
            order.append(0)
        order.append(self._active)
        ups = [i for i, s in enumerate(self._sources) if self._health[s.name].up]
        downs = [i for i, s in enumerate(self._sources) if not self._health[s.name].up]
        for i in ups + downs:
            if i not in order:
                order.append(i)
        return order

    def _use(self, i: int) -> None:
        if i != self._active:
            old, new = self._sources[self._active].name, self._sources[i].name
            log.warning("market data switched from %s to %s", old, new)
            self._active = i
            self.switches += 1

    async def _call(self, what: str, fn: Callable[[MarketData], Awaitable[T]]) -> T:
        errors: list[str] = []
        unavailable: list[str] = []
        for i in self._order():
            src = self._sources[i]
            start = self._monotonic()
            try:
                result = await asyncio.wait_for(fn(src), timeout=self._timeout)
            except DataUnavailable as exc:
                # An answer ("no such data"), not an outage: ask the next one, blame nobody.
                self._ok(src.name, self._monotonic() - start, data=False)
                unavailable.append(f"{src.name}: {exc}")
                continue
            except (TimeoutError, BadMarketData, Exception) as exc:
                msg = (
                    "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                )
                self._failed(src.name, msg)
                errors.append(f"{src.name}: {msg}")
                continue
            self._ok(src.name, self._monotonic() - start)
            # Switch when the active source is down, or back to the recovered primary; a
            # source that merely lacked this one symbol keeps its place.
            if i == 0 or not self._health[self.active.name].up:
                self._use(i)
            return result
        if errors and not unavailable:
            raise AllSourcesDown(f"{what}: no data source answered ({'; '.join(errors)})")
        raise DataUnavailable(f"{what}: {'; '.join(unavailable + errors)}")

    async def close(self) -> None:
        """Close every source that holds connections (Alpaca's HTTP sessions)."""
        for src in self._sources:
            closer = getattr(src, "close", None)
            if closer is None:
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one source failing to close must not keep the others open
                log.exception("closing data source %s failed", src.name)

    # -- MarketData -----------------------------------------------------------------------

    def symbols(self) -> Sequence[str]:
        return self._sources[0].symbols()

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        return await self._call(f"daily bars {symbol}", lambda s: s.daily_bars(symbol, end, count))

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        return await self._call(
            f"{interval.value} bars {symbol}",
            lambda s: s.intraday_bars(symbol, interval, start, end),
        )

    async def latest_quote(self, symbol: str) -> Quote:
        return await self._call(f"quote {symbol}", lambda s: s.latest_quote(symbol))

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        return await self._call(
            f"chain {underlying}",
            lambda s: s.option_chain(underlying, min_expiry, max_expiry, right, strikes),
        )

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        return await self._call(f"quote {contract.symbol}", lambda s: s.option_quote(contract))

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        return await self._call("earnings", lambda s: s.earnings_calendar(start, end))

    # -- the engine's minute loop ---------------------------------------------------------

    async def refresh(self, ts: datetime, symbols: Sequence[str] | None = None) -> int:
        """Fetch the minute that ended at `ts` for every symbol in one go (a source with
        `minute_bars_batch`, like Alpaca, answers in one request); returns how many arrived.
        A minute with no bar at all counts as no data: staleness keeps growing."""
        minute = ts - BarInterval.MINUTE.duration
        syms = list(symbols if symbols is not None else self.symbols())

        async def batch(src: MarketData) -> dict[str, Bar]:
            fetch = getattr(src, "minute_bars_batch", None)
            if fetch is not None:
                found: Mapping[str, Sequence[Bar]] = await fetch(syms, minute, ts)
            else:
                found = {}
                for sym in syms:
                    try:
                        found[sym] = await src.intraday_bars(sym, BarInterval.MINUTE, minute, ts)
                    except DataUnavailable:
                        continue
            got = {
                sym: b
                for sym, bars in found.items()
                for b in bars
                if b.start == minute and math.isfinite(b.close)
            }
            if not got:
                raise DataUnavailable(f"no minute bar at {minute:%H:%M} UTC")
            return got

        try:
            bars = await self._call("minute bars", batch)
        except DataUnavailable as exc:
            log.info("minute %s: %s", minute, exc)
            bars = {}
        self._minute = bars
        self._minute_ts = ts
        return len(bars)

    def minute_bars_at(self, ts: datetime) -> Mapping[str, Bar]:
        """Bars of the minute ending at `ts` (from the last `refresh`). Stale -> raises."""
        if self.stale:
            raise AllSourcesDown(f"market data stale: {self.status().detail}")
        if self._minute_ts != ts:
            return {}
        return dict(self._minute)


def is_simulated(source: Any) -> bool:
    return getattr(source, "name", "") in SIMULATED_NAMES
