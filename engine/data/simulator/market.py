"""`SimulatedMarket`: the embedded default market, deterministic from a seed.

Daily paths for the whole universe (history before the start plus the horizon after it) are
generated up front in one vectorised pass (paths.py); minute bars are generated lazily per
(symbol, session) and aggregate exactly to the daily bars (intraday.py); option chains are
priced on demand from a volatility surface and cached for the current minute (options.py).

No look-ahead: everything served is at or before `clock.now()`. A daily bar appears once its
session has closed; during a session the price is the close of the last completed minute (at
the opening bell, the session's open); outside regular hours it is the last close.

With ``closing_auction=True`` the price in a session's last minute is the session's close: an
order placed then trades at the closing auction (market-on-close). The daily-step backtest
sets it, because its strategies decide in that minute on the session's daily bar, close
included: filling them at the previous minute's price instead would let a strategy buy below
a close it already knows (one minute of look-ahead). A minute-step or live engine never sets
it: there the final minute's close is still in the future.

The async `MarketData` methods are thin wrappers over the synchronous ``*_sync`` methods, and
the engine's minute loop can use `minute_bars_at`, `minute_arrays_at` and `marks_at` to read
every symbol at once without awaiting per symbol.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.chain_reads import ChainRead
from engine.data.protocol import DataUnavailable
from engine.data.session_range import Asked, RangePoint, range_points, underlying_of
from engine.data.simulator.earnings import EarningsSchedule, build_schedule
from engine.data.simulator.intraday import (
    BucketArrays,
    MinuteArrays,
    SessionDraws,
    aggregate_buckets,
    aggregate_minutes,
    minute_path,
)
from engine.data.simulator.minute_batch import (
    aggregate_minute_rows,
    minute_paths_many,
    session_closes_many,
)
from engine.data.simulator.minute_close import session_draws
from engine.data.simulator.options import (
    RISK_FREE_RATE,
    ChainCache,
    ChainInputs,
    OptionStyle,
    listed_expiries,
    listing_day,
    option_quotes_at,
    stress_factor,
)
from engine.data.simulator.paths import DailyPaths, generate_paths
from engine.data.simulator.regimes import Regime
from engine.data.simulator.seeding import derived_rng
from engine.data.simulator.session_cache import SessionLRU
from engine.data.simulator.universe import SymbolSpec, resolve_universe
from engine.domain import (
    Bar,
    BarInterval,
    EarningsEvent,
    Equity,
    Instrument,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
)

if TYPE_CHECKING:
    from engine.runtime.clock import Clock

DEFAULT_SIM_START = date(2026, 1, 5)
_MINUTE = timedelta(minutes=1)
# Sessions of bars kept: the current one (in progress or last opened) and the five before it.
# Strategies read intraday bars over at most the last 5 sessions (swing_trading,
# momentum_weeklies). Minute paths are kept for the current and the previous session only:
# older sessions are read as bars, and a bar miss rebuilds its path from the seed. Anything
# dropped is regenerated identically on the rare read that needs it.
_SESSIONS_KEPT = 6
_MINUTE_SESSIONS_KEPT = 2
# Count caps per symbol of the universe (a backstop for reads spread over many old sessions;
# the session windows keep a normal run well below them).
_MINUTE_CACHE = _SESSIONS_KEPT  # (symbol, session) minute paths; ~16 KB each
_BAR_CACHE = 2 * _SESSIONS_KEPT  # (symbol, interval, session) bar lists; 26-390 bars each
_SPAN_CACHE = 1024  # intraday_bars answers (lists of references to cached bars), in all
_FROM_FIVE_MINUTES = frozenset((BarInterval.FIFTEEN_MINUTES, BarInterval.HOUR))


@dataclass(frozen=True, slots=True, eq=False)
class MinuteSnapshot:
    """Every symbol's bar for one minute, as arrays aligned with `symbols`."""

    symbols: tuple[str, ...]
    start: datetime
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class _SessionBars:
    """One symbol's bars of one interval over a whole session, with their bucket bounds."""

    bars: list[Bar]
    starts: list[datetime]
    ends: list[datetime]  # actual bucket ends (a session's last bucket may be short)
    agg: BucketArrays  # the same buckets as arrays (coarser intervals are built from them)


@dataclass(frozen=True, slots=True, eq=False)
class _SessionStack:
    """All symbols' minute paths of one session, stacked (symbols x minutes)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


# The full-span canonical paths of the last few (universe, calendar, seed)s generated in this
# process. They are a pure function of those three, and every canonical market of one seed
# reads its own window of them: walk-forward folds, parameter sweeps and repeated runs over
# one seed generated the calendar's whole span (~8,000 sessions) again for each run, ~5% of
# a daily backtest. The arrays are made read-only so no market can change another's prices.
_CANONICAL_KEPT = 2  # ~12 MB each for 20 names (the views of every live market share them)
_canonical_memo: OrderedDict[
    tuple[tuple[SymbolSpec, ...], int, int], tuple[MarketCalendar, DailyPaths]
] = OrderedDict()
_canonical_lock = threading.Lock()
_PATH_ARRAYS = tuple(f.name for f in fields(DailyPaths) if f.name not in ("symbols", "sessions"))


def forget_generated_paths() -> None:
    """Drop the kept generations: the next market of any seed generates its paths afresh
    (the SMA benchmark's cold run)."""
    with _canonical_lock:
        _canonical_memo.clear()


def _canonical_full(
    specs: Sequence[SymbolSpec],
    full: list[date],
    anchor: int,
    cal: MarketCalendar,
    seed: int,
) -> DailyPaths:
    # Keyed by the calendar object (held in the entry, so its id cannot be reused) and the
    # span it gives now: a calendar answering a different span is a different market.
    key = (tuple(specs), id(cal), seed)
    with _canonical_lock:
        hit = _canonical_memo.get(key)
        if hit is not None and hit[0] is cal and hit[1].sessions == tuple(full):
            _canonical_memo.move_to_end(key)
            return hit[1]
    earnings = build_schedule(specs, full, cal, seed)
    paths = generate_paths(specs, full, anchor, seed, earnings)
    for name in _PATH_ARRAYS:
        getattr(paths, name).flags.writeable = False
    with _canonical_lock:
        _canonical_memo[key] = (cal, paths)
        _canonical_memo.move_to_end(key)
        while len(_canonical_memo) > _CANONICAL_KEPT:
            _canonical_memo.popitem(last=False)
    return paths


def _canonical_paths(
    specs: Sequence[SymbolSpec], sessions: Sequence[date], cal: MarketCalendar, seed: int
) -> DailyPaths:
    """`sessions`' rows of the paths generated over the calendar's every session, anchored
    at `DEFAULT_SIM_START` (see `SimulatedMarket`'s ``canonical``)."""
    full = cal.sessions(cal.first_session, cal.last_session)
    anchor = bisect.bisect_left(full, DEFAULT_SIM_START)
    if not 1 <= anchor < len(full):
        raise ValueError(
            f"calendar {cal.first_session}..{cal.last_session} does not span the canonical "
            f"anchor {DEFAULT_SIM_START}"
        )
    lo = bisect.bisect_left(full, sessions[0])
    hi = lo + len(sessions)
    if full[lo:hi] != list(sessions):
        raise ValueError(f"sessions {sessions[0]}..{sessions[-1]} are not calendar sessions")
    return _canonical_full(specs, full, anchor, cal, seed).rows(lo, hi)


def _note_wanted(wanted_by_session: dict[int, set[int]], j: int, t: int) -> None:
    """Note that column `j`'s minute path (or 5-minute bars) of session `t` was asked for,
    keeping the last two sessions asked about: who to build with in one batch next session."""
    wanted = wanted_by_session.get(t)
    if wanted is None:
        for old in [s for s in wanted_by_session if s < t - 1]:
            del wanted_by_session[old]
        wanted = wanted_by_session[t] = set()
    wanted.add(j)


class SimulatedMarket:
    """A seeded simulated market implementing `MarketData` (see the module docstring).

    ``canonical=True``: the daily paths are generated over the calendar's whole span, always
    anchored at `DEFAULT_SIM_START`, and this market serves its sessions' rows of them. A
    session's prices then depend on the seed alone, not on the window asked for: backtests
    over overlapping windows (a longer run, walk-forward folds) see one market. Without it
    (the desk) the paths start at the first history session and are anchored at `start`,
    which costs a fraction of generating the whole span.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 7,
        start: date | None = None,
        history_days: int = 300,
        horizon_days: int = 400,
        universe: Sequence[str] | None = None,
        calendar: MarketCalendar | None = None,
        closing_auction: bool = False,
        canonical: bool = False,
    ) -> None:
        if history_days < 1:
            raise ValueError(f"history_days={history_days} must be >= 1 (300 or more for SMA200)")
        if horizon_days < 1:
            raise ValueError(f"horizon_days={horizon_days} must be >= 1")
        if seed < 0:
            raise ValueError(f"seed={seed} must be a non-negative integer")
        for sym in universe or ():
            Equity(sym)  # validates the ticker with a clear message
        self._clock = clock
        self.seed = seed
        # See the module docstring: the last minute trades at the close (daily steps only).
        self.closing_auction = closing_auction
        self.calendar = calendar if calendar is not None else default_calendar()
        cal = self.calendar
        start_day = cal.session_on_or_after(start or DEFAULT_SIM_START)
        history = cal.sessions_ending(cal.previous_session(start_day), history_days)
        future = cal.sessions(start_day, start_day + timedelta(days=horizon_days * 2))
        future = future[:horizon_days]
        if len(history) < history_days or len(future) < horizon_days:
            raise ValueError(
                f"calendar {cal.first_session}..{cal.last_session} cannot hold "
                f"{history_days} history and {horizon_days} horizon sessions around {start_day}"
            )
        self.start = start_day
        self.sessions: tuple[date, ...] = tuple(history + future)
        self._anchor = len(history)
        self._opens = [cal.session_open(d) for d in self.sessions]
        self._closes = [cal.session_close(d) for d in self.sessions]
        self._minutes = [cal.session_minutes(d) for d in self.sessions]
        self._index = {d: i for i, d in enumerate(self.sessions)}

        self._specs = resolve_universe(universe)
        self._spec_by = {s.symbol: s for s in self._specs}
        self._col = {s.symbol: i for i, s in enumerate(self._specs)}
        self._symbols = tuple(s.symbol for s in self._specs)
        self._earnings: EarningsSchedule = build_schedule(self._specs, self.sessions, cal, seed)
        if canonical:
            self.paths = _canonical_paths(self._specs, self.sessions, cal, seed)
        else:
            self.paths = generate_paths(
                self._specs, self.sessions, self._anchor, seed, self._earnings
            )
        self._styles = {s.symbol: OptionStyle.for_spec(s) for s in self._specs if s.has_options}
        self._events_by_symbol: dict[str, list[tuple[datetime, float]]] = {}
        for ev, idx, sd in zip(
            self._earnings.events,
            self._earnings.reaction_index,
            self._earnings.move_sd,
            strict=True,
        ):
            if idx >= 0:
                self._events_by_symbol.setdefault(ev.symbol, []).append((self._opens[idx], sd))

        self._daily_cache: dict[str, list[Bar]] = {}
        self._daily_lists: list[list[Bar]] | None = None  # _daily_list of each symbol, in order
        n_symbols = len(self._specs)
        self._minute_cache: SessionLRU[tuple[str, int], MinuteArrays] = SessionLRU(
            max(64, _MINUTE_CACHE * n_symbols)
        )
        self._stacks: OrderedDict[int, _SessionStack] = OrderedDict()
        self._bar_cache: SessionLRU[tuple[int, BarInterval, int], _SessionBars] = SessionLRU(
            max(64, _BAR_CACHE * n_symbols)
        )
        self._span_cache: SessionLRU[tuple[int, BarInterval, int, int, int, int], list[Bar]] = (
            SessionLRU(_SPAN_CACHE)
        )
        self._window_start = -1  # the session the cache windows last moved to (_trim_caches)
        # Minute closes built without the rest of the minute path (one session's worth): a
        # daily replay reads only the price before the closing minute, once per traded name.
        self._closes_session = -1
        # column -> the session's draws (closes and what minute_path needs besides)
        self._closes_memo: dict[int, SessionDraws | np.ndarray] = {}
        # session -> columns whose minute path was asked for (the last two sessions): who to
        # build with in one batch in the next session (see _batch_paths)
        self._paths_wanted: dict[int, set[int]] = {}
        # the same for 5-minute bars (see _batch_five_minute_bars)
        self._five_wanted: dict[int, set[int]] = {}
        self._bounds: dict[tuple[int, BarInterval], tuple[list[datetime], list[datetime]]] = {}
        self._inputs_at: datetime | None = None
        self._quotes_at: datetime | None = None
        self._quote_memo: dict[str, Quote] = {}
        self._inputs_memo: dict[str, tuple[ChainInputs, date]] = {}
        self._chains = ChainCache(self.calendar, inputs_for=lambda u: self._chain_inputs(u)[0])

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "sim"

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def start_time(self) -> datetime:
        """The open of the start session: where a simulated clock should begin."""
        return self._opens[self._anchor]

    @property
    def end_time(self) -> datetime:
        """The close of the last simulated session."""
        return self._closes[-1]

    @property
    def rate(self) -> float:
        return RISK_FREE_RATE

    def symbols(self) -> Sequence[str]:
        return self._symbols

    def spec(self, symbol: str) -> SymbolSpec:
        self._require(symbol)
        return self._spec_by[symbol]

    def instrument(self, symbol: str) -> Equity:
        return Equity(symbol, is_index=self.spec(symbol).is_index)

    def index_symbols(self) -> frozenset[str]:
        return frozenset(s.symbol for s in self._specs if s.is_index)

    def _require(self, symbol: str) -> int:
        try:
            return self._col[symbol]
        except KeyError:
            raise DataUnavailable(f"sim: unknown symbol {symbol!r}") from None

    # -- time ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now()

    def _last_closed(self, ts: datetime) -> int:
        """Index of the last session closed at `ts` (-1 if none)."""
        return bisect.bisect_right(self._closes, ts) - 1

    def _position(self, ts: datetime) -> tuple[int, int | None]:
        """(session index, minutes elapsed) when `ts` is inside a session, else
        (last closed session index, None)."""
        i = bisect.bisect_right(self._opens, ts) - 1
        if i >= 0 and ts < self._closes[i]:
            return i, int((ts - self._opens[i]) // _MINUTE)
        return self._last_closed(ts), None

    def _check_span(self, ts: datetime) -> None:
        if ts < self._opens[0]:
            raise DataUnavailable(f"sim: {ts} is before the simulated span ({self._opens[0]})")
        if ts > self._closes[-1] + timedelta(days=4):
            raise DataUnavailable(f"sim: {ts} is after the simulated span ({self._closes[-1]})")

    def _no_future(self, ts: datetime) -> None:
        now = self._now()
        if ts > now:
            raise ValueError(f"ts {ts} is after the clock's now {now}: that would look ahead")

    def regime_at(self, ts: datetime | None = None) -> Regime:
        """The volatility regime of the session in progress at `ts` (else the last session)."""
        ts = self._now() if ts is None else ts
        self._no_future(ts)
        self._check_span(ts)
        i, _ = self._position(ts)
        return Regime(int(self.paths.regime[max(i, 0)]))

    def vix_at(self, ts: datetime | None = None) -> float:
        """The VIX-like index level at `ts` (100 x the market's 30-day implied vol)."""
        ts = self._now() if ts is None else ts
        return self._price_at("VIX", ts)

    # -- daily bars ------------------------------------------------------------------------

    def _daily_list(self, symbol: str) -> list[Bar]:
        bars = self._daily_cache.get(symbol)
        if bars is None:
            j = self._require(symbol)
            p = self.paths
            cols = (p.open[:, j], p.high[:, j], p.low[:, j], p.close[:, j], p.volume[:, j])
            lists = [a.tolist() for a in cols]
            if _ohlcv_valid(*cols):
                # Every session of the run at once: the validating constructor was a few
                # percent of a daily backtest. Equal objects (see _checked_bars).
                bars = _checked_bars(symbol, self._opens, lists, BarInterval.DAY)
            else:  # the dataclass constructor raises its own error on the bad bar
                bars = [
                    Bar(symbol, start, o, h, lo, c, v)
                    for start, o, h, lo, c, v in zip(self._opens, *lists, strict=True)
                ]
            self._daily_cache[symbol] = bars
        return bars

    def daily_bars_sync(self, symbol: str, end: date, count: int) -> list[Bar]:
        """Up to `count` completed daily bars with session <= `end`, oldest first."""
        self._require(symbol)
        if count <= 0:
            return []
        last = self._last_closed(self._now())
        hi = min(last, bisect.bisect_right(self.sessions, end) - 1)
        if hi < 0:
            return []
        return self._daily_list(symbol)[max(0, hi - count + 1) : hi + 1]

    def daily_closes(self, symbol: str, end: date, count: int) -> np.ndarray:
        """Closes of the bars `daily_bars_sync` would return, as a float64 array (no objects)."""
        j = self._require(symbol)
        last = self._last_closed(self._now())
        hi = min(last, bisect.bisect_right(self.sessions, end) - 1)
        if hi < 0 or count <= 0:
            return np.empty(0)
        out: np.ndarray = self.paths.close[max(0, hi - count + 1) : hi + 1, j].copy()
        return out

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        return self.daily_bars_sync(symbol, end, count)

    def daily_bars_at(self, session: date) -> dict[str, Bar]:
        """Every symbol's daily bar of `session` (the engine's daily step, `DailyFeed`).

        Served from the start of the session's final minute on: the daily step ticks at
        close - 1 s so strategies trade at the closing quote (market-on-close). Asking any
        earlier would look ahead and raises ValueError."""
        t = self._index.get(session)
        if t is None:
            raise DataUnavailable(f"sim: {session} is not a simulated session")
        now = self._now()
        if now < self._closes[t] - _MINUTE:
            raise ValueError(
                f"daily_bars_at({session}) at {now}: the bar completes at {self._closes[t]}; "
                "serving it before the session's last minute would look ahead"
            )
        lists = self._daily_lists
        if lists is None:
            # Every symbol's list once: a daily step asks for all of them every session.
            lists = self._daily_lists = [self._daily_list(sym) for sym in self._symbols]
        return dict(zip(self._symbols, [bars[t] for bars in lists], strict=True))

    # -- minute paths ------------------------------------------------------------------------

    def minute_arrays(self, symbol: str, session: date) -> MinuteArrays:
        """Minute OHLCV of one whole session (internal: no clock check; serve via bars)."""
        j = self._require(symbol)
        try:
            t = self._index[session]
        except KeyError:
            raise DataUnavailable(f"sim: {session} is not a simulated session") from None
        return self._minute_arrays(j, t)

    def _minute_arrays(self, j: int, t: int) -> MinuteArrays:
        spec = self._specs[j]
        key = (spec.symbol, t)
        _note_wanted(self._paths_wanted, j, t)
        cached = self._minute_cache.get(key)
        if cached is not None:
            return cached
        self._trim_caches()
        if spec.scaled is not None:
            u = self._minute_arrays(self._col[spec.scaled[0]], t)
            ratio = spec.scaled[1]
            o, h, lo, c = (
                np.maximum(np.round(a * ratio, 2), 0.01) for a in (u.open, u.high, u.low, u.close)
            )
            arrs = MinuteArrays(o, h, lo, c, u.volume)
        else:
            p = self.paths
            memo = self._closes_memo.get(j) if t == self._closes_session else None
            draws = memo if isinstance(memo, SessionDraws) else None
            batched = self._batch_paths(j, t) if draws is None else None
            if batched is not None:
                arrs = batched
            else:
                rng = (
                    None
                    if draws is not None
                    else derived_rng(
                        self.seed, spec.symbol, self.sessions[t].isoformat(), "minutes"
                    )
                )
                arrs = minute_path(
                    float(p.open[t, j]),
                    float(p.high[t, j]),
                    float(p.low[t, j]),
                    float(p.close[t, j]),
                    float(p.volume[t, j]),
                    self._minutes[t],
                    rng,
                    draws,
                )
        self._minute_cache.put(key, t, arrs)
        return arrs

    def _batch_paths(self, j: int, t: int) -> MinuteArrays | None:
        """In the session in progress, column `j`'s minute path built in one batch with the
        paths of every other name asked for in the session before and not built yet (cached
        here, and `j`'s returned); None elsewhere or when there is no other name.

        A daily replay builds the same names' paths every session (momentum's 5-minute bars),
        and building one at a time paid the per-array-call overheads of ~40 operations for
        each. Each name keeps its own stream and `session_closes_many`/`minute_paths_many`
        build bit-for-bit `minute_path`'s arrays, so batching never changes a path; a name
        no longer asked for drops out of the next session's batch."""
        if t != bisect.bisect_right(self._opens, self._now()) - 1:
            return None
        symbols, specs = self._symbols, self._specs
        cols = [j] + [
            k
            for k in sorted(self._paths_wanted.get(t - 1, ()))
            if k != j and specs[k].scaled is None and (symbols[k], t) not in self._minute_cache
        ]
        if len(cols) == 1:
            return None
        memo = self._closes_memo if t == self._closes_session else {}
        p, day = self.paths, self.sessions[t].isoformat()
        # Names whose closes were read for a quote have their draws already.
        drawn: dict[int, SessionDraws] = {
            k: d for k in cols if isinstance(d := memo.get(k), SessionDraws)
        }
        fresh = [k for k in cols if k not in drawn]
        ohlc = [
            (float(p.open[t, k]), float(p.high[t, k]), float(p.low[t, k]), float(p.close[t, k]))
            for k in fresh
        ]
        rngs = [derived_rng(self.seed, symbols[k], day, "minutes") for k in fresh]
        drawn.update(zip(fresh, session_closes_many(ohlc, self._minutes[t], rngs), strict=True))
        paths = minute_paths_many(
            [
                (
                    float(p.open[t, k]),
                    float(p.high[t, k]),
                    float(p.low[t, k]),
                    float(p.close[t, k]),
                    float(p.volume[t, k]),
                )
                for k in cols
            ],
            self._minutes[t],
            [drawn[k] for k in cols],
        )
        for k, arrs in zip(cols[1:], paths[1:], strict=True):
            self._minute_cache.put((symbols[k], t), t, arrs)
        return paths[0]

    def _trim_caches(self) -> None:
        """Drop minute paths, bars and spans of sessions older than their kept windows.

        Called before anything is added to those caches; the windows follow the clock (the
        session in progress or last opened), so a long run holds a fixed number of sessions.
        Everything dropped is a pure function of the seed and is rebuilt identically."""
        current = bisect.bisect_right(self._opens, self._now()) - 1
        if current <= self._window_start:
            return
        self._window_start = current
        self._minute_cache.drop_before(current - (_MINUTE_SESSIONS_KEPT - 1))
        self._bar_cache.drop_before(current - (_SESSIONS_KEPT - 1))
        self._span_cache.drop_before(current - (_SESSIONS_KEPT - 1))

    def cache_sizes(self) -> dict[str, int]:
        """Entries held by each of the simulator's caches (for tests and diagnostics)."""
        return {
            "minute_paths": len(self._minute_cache),
            "session_stacks": len(self._stacks),
            "session_bars": len(self._bar_cache),
            "bar_spans": len(self._span_cache),
            "daily_lists": len(self._daily_cache),
            **self._chains.sizes(),
        }

    def cache_window(self) -> dict[str, date | None]:
        """The oldest session whose minute paths / bars are cached and the oldest expiry
        with interned contracts (None when empty), for tests and diagnostics."""

        def oldest(sessions: set[int]) -> date | None:
            return self.sessions[min(sessions)] if sessions else None

        expiries = self._chains.expiries()
        return {
            "minute_paths": oldest(self._minute_cache.sessions()),
            "session_bars": oldest(self._bar_cache.sessions()),
            "bar_spans": oldest(self._span_cache.sessions()),
            "contracts": min(expiries) if expiries else None,
        }

    def _stack(self, t: int) -> _SessionStack:
        stack = self._stacks.get(t)
        if stack is None:
            per = [self._minute_arrays(j, t) for j in range(len(self._specs))]
            stack = _SessionStack(
                open=np.vstack([m.open for m in per]),
                high=np.vstack([m.high for m in per]),
                low=np.vstack([m.low for m in per]),
                close=np.vstack([m.close for m in per]),
                volume=np.vstack([m.volume for m in per]),
            )
            self._stacks[t] = stack
            if len(self._stacks) > 2:
                self._stacks.popitem(last=False)
        return stack

    def minute_arrays_at(self, ts: datetime) -> MinuteSnapshot | None:
        """Every symbol's bar for the minute [ts - 1m, ts) as arrays, or None when that minute
        is not inside a session. The cheapest way to drive a minute loop."""
        self._no_future(ts)
        start = ts - _MINUTE
        i = bisect.bisect_right(self._opens, start) - 1
        if i < 0 or not start < self._closes[i]:
            return None
        k = int((start - self._opens[i]) // _MINUTE)
        if self._opens[i] + k * _MINUTE != start:
            return None  # not on a minute boundary
        st = self._stack(i)
        return MinuteSnapshot(
            self._symbols,
            start,
            st.open[:, k],
            st.high[:, k],
            st.low[:, k],
            st.close[:, k],
            st.volume[:, k],
        )

    def minute_bars_at(self, ts: datetime) -> dict[str, Bar]:
        """Every symbol's 1-minute bar for the minute ending at `ts` ({} outside sessions)."""
        snap = self.minute_arrays_at(ts)
        if snap is None:
            return {}
        cols = (snap.open, snap.high, snap.low, snap.close, snap.volume)
        bars = map(
            Bar,
            self._symbols,
            repeat(snap.start),
            *(a.tolist() for a in cols),
            repeat(BarInterval.MINUTE),
        )
        return dict(zip(self._symbols, bars, strict=True))

    def marks_at(self, ts: datetime | None = None) -> dict[str, float]:
        """Last price of every symbol at `ts` (default now): the last completed minute's close
        in a session (the open at the bell), else the last close."""
        ts = self._now() if ts is None else ts
        self._no_future(ts)
        self._check_span(ts)
        i, k = self._position(ts)
        if k is None:
            if i < 0:
                raise DataUnavailable(f"sim: no prices yet at {ts}")
            values = self.paths.close[i]
        elif k == 0:
            values = self.paths.open[i]
        elif self.closing_auction and k == self._minutes[i] - 1:
            values = self.paths.close[i]
        else:
            values = self._stack(i).close[:, k - 1]
        return dict(zip(self._symbols, values.tolist(), strict=True))

    def _price_at(self, symbol: str, ts: datetime) -> float:
        """Last price of one symbol at `ts` (see marks_at)."""
        return self._price_and_stamp(symbol, ts)[0]

    def _price_and_stamp(self, symbol: str, ts: datetime) -> tuple[float, datetime, int, bool]:
        """(price, stamp, session index, in_session) at `ts`."""
        j = self._require(symbol)
        self._no_future(ts)
        self._check_span(ts)
        i, k = self._position(ts)
        if k is None:
            if i < 0:
                raise DataUnavailable(f"sim: no prices for {symbol} yet at {ts}")
            return float(self.paths.close[i, j]), self._closes[i], i, False
        stamp = self._opens[i] + k * _MINUTE
        if k == 0:
            return float(self.paths.open[i, j]), stamp, i, True
        if self.closing_auction and k == self._minutes[i] - 1:
            return float(self.paths.close[i, j]), stamp, i, True
        return float(self._minute_closes(j, i)[k - 1]), stamp, i, True

    def _minute_closes(self, j: int, t: int) -> np.ndarray:
        """The minute closes of `_minute_arrays(j, t)`, from its cache when it holds the path,
        else built alone (`minute_close.minute_closes`: the same floats, a fraction of the work)
        and kept for the rest of the session."""
        spec = self._specs[j]
        cached = self._minute_cache.get((spec.symbol, t))
        if cached is not None:
            return cached.close
        if t != self._closes_session:
            self._closes_session = t
            self._closes_memo.clear()
        hit = self._closes_memo.get(j)
        if hit is not None:
            return hit if isinstance(hit, np.ndarray) else hit.closes
        if spec.scaled is not None:
            u = self._minute_closes(self._col[spec.scaled[0]], t)
            closes: np.ndarray = np.maximum(np.round(u * spec.scaled[1], 2), 0.01)
            self._closes_memo[j] = closes
            return closes
        p = self.paths
        rng = derived_rng(self.seed, spec.symbol, self.sessions[t].isoformat(), "minutes")
        # The draws are kept, not just the closes: if this session's whole minute path is
        # wanted later (intraday bars), it is built from them without drawing again.
        draws = session_draws(
            float(p.open[t, j]),
            float(p.high[t, j]),
            float(p.low[t, j]),
            float(p.close[t, j]),
            self._minutes[t],
            rng,
        )
        self._closes_memo[j] = draws
        return draws.closes

    # -- intraday bars -----------------------------------------------------------------------

    def _session_bars(self, j: int, t: int, interval: BarInterval) -> _SessionBars:
        """Every bucket of session `t` for symbol column `j`, built once and kept (LRU).

        Strategies ask for the same few sessions of bars every minute; rebuilding the Bar
        objects each time dominated a run. The whole session is built at once (its minute path
        exists in full anyway); `intraday_bars_sync` serves only the completed prefix, so
        nothing after `now` is ever returned.
        """
        key = (j, interval, t)
        if interval is BarInterval.FIVE_MINUTES:
            _note_wanted(self._five_wanted, j, t)
        cached = self._bar_cache.get(key)
        if cached is not None:
            return cached
        batched = (
            self._batch_five_minute_bars(j, t) if interval is BarInterval.FIVE_MINUTES else None
        )
        if batched is not None:
            return batched
        symbol = self._symbols[j]
        # 15-minute and hourly bars are whole 5-minute bars: built from those when they are
        # kept (momentum reads 5-minute bars of a session before its 15-minute ones), they
        # need no minute path (kept for fewer sessions) and a fraction of the work.
        finer = (
            self._bar_cache.get((j, BarInterval.FIVE_MINUTES, t))
            if interval in _FROM_FIVE_MINUTES
            else None
        )
        if finer is not None:
            agg = aggregate_buckets(finer.agg, 5, interval)
        else:
            agg = aggregate_minutes(self._minute_arrays(j, t), interval)
        starts, ends = self._bucket_bounds(t, interval, agg)
        cols = (agg.open, agg.high, agg.low, agg.close, agg.volume)
        lists = [a.tolist() for a in cols]
        if _bars_valid(agg):
            bars = _checked_bars(symbol, starts, lists, interval)
        else:  # the dataclass constructor raises its own error on the bad bucket
            bars = list(map(Bar, repeat(symbol), starts, *lists, repeat(interval)))
        built = _SessionBars(bars, starts, ends, agg)
        self._trim_caches()
        self._bar_cache.put(key, t, built)
        return built

    def _batch_five_minute_bars(self, j: int, t: int) -> _SessionBars | None:
        """In the session in progress, column `j`'s 5-minute bars built in one batch with those
        of every other name whose 5-minute bars were asked for in the session before and are
        not built yet (all cached; `j`'s returned); None elsewhere, when there is no other
        name, or when some bucket of the batch fails `Bar`'s checks (then each is built
        alone, and the bad one raises its own error).

        Momentum reads the same dozen or more names' 5-minute bars every session; aggregating,
        checking and converting them one name at a time paid ~20 array calls per name. The
        rows are reduced exactly as `aggregate_minutes` reduces one name, so the bars are the
        same."""
        if t != bisect.bisect_right(self._opens, self._now()) - 1:
            return None
        interval = BarInterval.FIVE_MINUTES
        cols = [j] + [
            k
            for k in sorted(self._five_wanted.get(t - 1, ()))
            if k != j and (k, interval, t) not in self._bar_cache
        ]
        if len(cols) == 1:
            return None
        paths = [self._minute_arrays(k, t) for k in cols]
        block = MinuteArrays(
            np.stack([m.open for m in paths]),
            np.stack([m.high for m in paths]),
            np.stack([m.low for m in paths]),
            np.stack([m.close for m in paths]),
            np.stack([m.volume for m in paths]),
        )
        agg = aggregate_minute_rows(block, interval)
        if not _bars_valid(agg):
            return None
        starts, ends = self._bucket_bounds(t, interval, agg)
        fields5 = (agg.open, agg.high, agg.low, agg.close, agg.volume)
        lists = [a.tolist() for a in fields5]
        self._trim_caches()
        built: _SessionBars | None = None
        for r, k in enumerate(cols):
            bars = _checked_bars(self._symbols[k], starts, [col[r] for col in lists], interval)
            row = BucketArrays(agg.start, agg.end, *(a[r] for a in fields5))
            sb = _SessionBars(bars, starts, ends, row)
            self._bar_cache.put((k, interval, t), t, sb)
            if built is None:
                built = sb
        return built

    def _bucket_bounds(
        self, t: int, interval: BarInterval, agg: BucketArrays
    ) -> tuple[list[datetime], list[datetime]]:
        """Bucket starts and ends of session `t` (the same for every symbol: they depend on
        the session's open and length only). Shared read-only by the symbols' bar lists."""
        key = (t, interval)
        hit = self._bounds.get(key)
        if hit is None:
            open_ = self._opens[t]
            hit = (
                [open_ + s_min * _MINUTE for s_min in agg.start.tolist()],
                [open_ + e_min * _MINUTE for e_min in agg.end.tolist()],
            )
            if len(self._bounds) >= 64:
                self._bounds.clear()
            self._bounds[key] = hit
        return hit

    def intraday_bars_sync(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> list[Bar]:
        """Completed bars with start in [start, end), oldest first."""
        j = self._require(symbol)
        if interval is BarInterval.DAY:
            raise ValueError("intraday_bars: interval '1d' is not intraday; use daily_bars")
        now = self._now()
        end = min(end, now)
        lo = max(0, bisect.bisect_right(self._closes, start))
        hi = bisect.bisect_left(self._opens, end)
        if hi <= lo:
            return []
        # Only the first and the last session can be partial: every session in between
        # opens after `start`, closes before `end` and has closed by now. So the answer is
        # fixed by where `start` cuts the first session and where `end`/now cut the last,
        # and the same request is answered from a memo until another bar completes.
        first = bisect.bisect_left(self._session_bars(j, lo, interval).starts, start)
        sb = self._session_bars(j, hi - 1, interval)
        # Bars starting before `end` and complete (bucket end <= now; the last bucket of a
        # session may be short, so its own end counts, not start + interval).
        last = min(bisect.bisect_left(sb.starts, end), bisect.bisect_right(sb.ends, now))
        key = (j, interval, lo, hi, first, last)
        hit = self._span_cache.get(key)
        if hit is None:
            parts: list[Bar] = []
            for t in range(lo, hi):
                bars = self._session_bars(j, t, interval).bars
                a = first if t == lo else 0
                b = last if t == hi - 1 else len(bars)
                if b > a:
                    parts.extend(bars[a:b])
            # Tagged with its first session: dropped with the oldest bars it refers to.
            self._trim_caches()
            self._span_cache.put(key, lo, parts)
            hit = parts
        return list(hit)

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        return self.intraday_bars_sync(symbol, interval, start, end)

    # -- quotes ------------------------------------------------------------------------------

    def latest_quote_sync(self, symbol: str) -> Quote:
        # Several strategies ask for the same names every minute; a quote is a pure
        # function of the clock, so each is built once per instant.
        now = self._now()
        if now != self._quotes_at:
            self._quotes_at = now
            self._quote_memo.clear()
        hit = self._quote_memo.get(symbol)
        if hit is None:
            hit = self._quote_memo[symbol] = self._build_quote(symbol, now)
        return hit

    def _build_quote(self, symbol: str, now: datetime) -> Quote:
        price, stamp, i, _ = self._price_and_stamp(symbol, now)
        return self._quote_at_price(symbol, price, stamp, i)

    def _quote_at_price(self, symbol: str, price: float, stamp: datetime, i: int) -> Quote:
        spec = self._spec_by[symbol]
        if spec.is_index:
            return Quote(symbol, stamp, price, price, price)
        stress = stress_factor(float(self.paths.market_iv[max(i - 1, 0)]))
        half = max(0.005, price * (0.00001 + 0.0008 * (1.0 - spec.liquidity) ** 2) * stress**0.5)
        bid = max(0.01, math.floor((price - half) * 100.0 + 1e-9) / 100.0)
        ask = max(bid + 0.01, math.ceil((price + half) * 100.0 - 1e-9) / 100.0)
        size = float(max(1, round(spec.liquidity * 20)) * 100)
        return Quote(symbol, stamp, bid, round(ask, 2), price, size, size)

    async def latest_quote(self, symbol: str) -> Quote:
        return self.latest_quote_sync(symbol)

    def quotes_at_now(self, symbols: Sequence[str] | None = None) -> dict[str, Quote]:
        return {s: self.latest_quote_sync(s) for s in (symbols or self._symbols)}

    # -- options -----------------------------------------------------------------------------

    def listed_expiries(self, underlying: str) -> tuple[date, ...]:
        """Expiries listed now for `underlying` (today's included until its close)."""
        style = self._style(underlying)
        today = listing_day(self.calendar, self._now())
        return listed_expiries(style.daily_expiries, today, self.calendar)

    def _style(self, underlying: str) -> OptionStyle:
        self._require(underlying)
        style = self._styles.get(underlying)
        if style is None:
            raise DataUnavailable(f"sim: no options are listed on {underlying}")
        return style

    def _chain_inputs(self, underlying: str) -> tuple[ChainInputs, date]:
        # Asked for on every option read (many per minute); a pure function of the clock.
        now = self._now()
        if now != self._inputs_at:
            self._inputs_at = now
            self._inputs_memo.clear()
        hit = self._inputs_memo.get(underlying)
        if hit is None:
            hit = self._inputs_memo[underlying] = self._build_chain_inputs(underlying, now)
        return hit

    def _build_chain_inputs(
        self, underlying: str, now: datetime, spot: float | None = None
    ) -> tuple[ChainInputs, date]:
        """The surface at `now`; with `spot`, as if the underlying traded there instead."""
        style = self._style(underlying)
        traded, stamp, i, in_session = self._price_and_stamp(underlying, now)
        spot = traded if spot is None else spot
        j = self._col[underlying]
        p = self.paths
        # Volatility known before this session opened (or at the last close, after hours).
        t_prev = i - 1 if in_session else i
        t_prev = max(t_prev, 0)
        ref = float(p.close[t_prev, j])
        adj = math.exp(-style.iv_spot_beta * math.log(spot / ref)) if in_session else 1.0
        atm = float(p.base_iv[t_prev, j]) * min(1.6, max(0.7, adj))
        today = listing_day(self.calendar, now)
        events = tuple(
            (when, sd) for when, sd in self._events_by_symbol.get(underlying, ()) if when > stamp
        )
        inputs = ChainInputs(
            style=style,
            now=stamp,
            today=today,
            spot=spot,
            atm_iv=atm,
            long_iv=float(p.long_run_iv[j]),
            stress=stress_factor(float(p.market_iv[t_prev])),
            events=events,
            seed=self.seed,
        )
        return inputs, today

    def option_chain_sync(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        inputs, today = self._chain_inputs(underlying)
        return self._chains.chain(underlying, inputs, today, min_expiry, max_expiry, right, strikes)

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        return self.option_chain_sync(underlying, min_expiry, max_expiry, right, strikes)

    async def prefetch_chains(self, reads: Sequence[ChainRead]) -> None:
        """Price what `reads` will need in one pass (see `engine.data.chain_reads`). A read
        that cannot be served is skipped here: the read itself reports why."""
        self._chains.prefetch_reads(reads, self._chain_inputs)

    def option_quote_sync(self, contract: OptionContract) -> OptionQuote:
        inputs, today = self._chain_inputs(contract.underlying)
        expiries = listed_expiries(inputs.style.daily_expiries, today, self.calendar)
        if contract.expiry not in expiries:
            raise DataUnavailable(
                f"sim: {contract.symbol}: expiry {contract.expiry} is not listed at "
                f"{inputs.now} (expired or not a listed expiry)"
            )
        return self._chains.quote(inputs, contract.expiry, float(contract.strike), contract.right)

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        return self.option_quote_sync(contract)

    def option_quotes_sync(
        self, contracts: Sequence[OptionContract]
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes of many contracts at once (marking a book): each (underlying, expiry) group is
        priced in one vectorised pass. Contracts that cannot be quoted (expired, unknown
        underlying) are left out of the result."""
        return self._chains.quotes_for(contracts, self._chain_inputs)

    async def option_quotes(
        self, contracts: Sequence[OptionContract]
    ) -> dict[OptionContract, OptionQuote]:
        return self.option_quotes_sync(contracts)

    def session_range_quotes(
        self, instruments: Sequence[Instrument], session: date
    ) -> list[RangePoint]:
        """What `instruments` could have traded at during `session`, which must be in its
        last minute now (see `engine.data.session_range`)."""
        now = self._now()
        und = underlying_of(instruments)
        j = self._require(und)
        i, k = self._position(now)
        if k is None or self.sessions[i] != session or k != self._minutes[i] - 1:
            raise DataUnavailable(
                f"sim: the range of {session} is known only in its last minute (now {now})"
            )
        p = self.paths
        bar = Bar(
            und,
            self._opens[i],
            float(p.open[i, j]),
            float(p.high[i, j]),
            float(p.low[i, j]),
            float(p.close[i, j]),
            float(p.volume[i, j]),
        )

        def option_quotes(
            asked: Asked, options: list[OptionContract]
        ) -> list[dict[OptionContract, OptionQuote]]:
            surfaces = [self._build_chain_inputs(und, m, spot=p)[0] for p, m in asked]
            return option_quotes_at(surfaces, options, self.calendar)

        return range_points(
            bar,
            instruments,
            self._opens[i],
            now,
            stamp_at=lambda m: self._price_and_stamp(und, m)[1],
            share_quote=lambda price, stamp: self._quote_at_price(und, price, stamp, i),
            option_quotes=option_quotes,
        )

    # -- earnings ----------------------------------------------------------------------------

    def earnings_events(self, start: date, end: date) -> list[EarningsEvent]:
        return self._earnings.between(start, end)

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        return self.earnings_events(start, end)


def _bars_valid(agg: BucketArrays) -> bool:
    """Every bucket passes `Bar.__post_init__`'s checks (NaN fails them here as there)."""
    return _ohlcv_valid(agg.open, agg.high, agg.low, agg.close, agg.volume)


def _ohlcv_valid(
    o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray
) -> bool:
    """Every row passes `Bar.__post_init__`'s checks (NaN fails them here as there)."""
    with np.errstate(invalid="ignore"):
        ok = (
            (o > 0)
            & (h > 0)
            & (lo > 0)
            & (c > 0)
            & (h < math.inf)
            & (v >= 0)
            & (v < math.inf)
            & (h >= o)
            & (h >= c)
            & (h >= lo)
            & (lo <= o)
            & (lo <= c)
        )
    return bool(ok.all())


_BAR_FIELDS = ("symbol", "start", "open", "high", "low", "close", "volume", "interval")
if tuple(f.name for f in fields(Bar)) != _BAR_FIELDS:  # pragma: no cover
    raise ImportError("Bar's fields changed: update _checked_bars")
_BAR_SLOTS = tuple(getattr(Bar, name).__set__ for name in _BAR_FIELDS)


def _checked_bars(
    symbol: str, starts: list[datetime], cols: list[list[Any]], interval: BarInterval
) -> list[Bar]:
    """`Bar(symbol, start, open, high, low, close, volume, interval)` per bucket, for buckets
    already known to pass its checks: setting the slots directly gives equal objects at a
    fraction of the frozen dataclass constructor's cost (a session of bars per symbol)."""
    new = object.__new__
    s_sym, s_start, s_o, s_h, s_l, s_c, s_v, s_i = _BAR_SLOTS
    out: list[Bar] = []
    append = out.append
    for start, o, h, lo, c, v in zip(starts, *cols, strict=True):
        b = new(Bar)
        s_sym(b, symbol)
        s_start(b, start)
        s_o(b, o)
        s_h(b, h)
        s_l(b, lo)
        s_c(b, c)
        s_v(b, v)
        s_i(b, interval)
        append(b)
    return out


def sim_start_time(calendar: MarketCalendar | None = None, start: date | None = None) -> datetime:
    """The open of the default (or given) start session, in UTC."""
    cal = calendar if calendar is not None else default_calendar()
    return cal.session_open(cal.session_on_or_after(start or DEFAULT_SIM_START)).astimezone(UTC)
