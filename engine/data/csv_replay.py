"""`CsvReplayMarket`: daily history from CSV files served through `MarketData`.

File format (shared/data/prices/*.csv): one file per symbol named ``SYMBOL.csv`` with the
header ``date,open,high,low,close,adj_close,volume``, one row per session, oldest first.

* Validation: a row with a missing field, an unparsable number or date, a NaN/infinite or
  non-positive price, a negative volume, a high/low that does not contain open/close, a date out
  of order or repeated, or a date that is not a trading session is rejected, logged at WARNING
  with file and line (``engine.data.csv_replay`` logger), and never served.
* Prices are split- and dividend-adjusted: every OHLC value is multiplied by
  ``adj_close / close`` of its row, so returns, moving averages and option strikes all live on
  one consistent adjusted scale (the served close equals ``adj_close``). Volume is served as
  given (the files' volumes are already split-adjusted).
* No look-ahead: a daily bar is served once its session has closed by the clock.
* Intraday bars are synthesised with the simulator's generator (simulator/intraday.py): minute
  bars that aggregate exactly to each daily bar, with a U-shaped volume profile, seeded per
  (seed, symbol, session). During a session the quote is the last completed synthetic minute's
  close (at the bell, the open); outside sessions it is the last close; bid/ask are a small
  spread around it. With ``closing_auction=True`` (the daily-step backtest) the session's last
  minute trades at its close, as in `SimulatedMarket`.
* Option chains are priced with the simulator's chain builder: ATM implied volatility from the
  underlying's trailing 20-session realised volatility (x 1.1), reverting toward its 1-year
  realised volatility for longer expiries, with the same skew/smile, spreads and ticks. As
  on the simulator, chain reads can be announced (`prefetch_chains`) and a book of contracts
  quoted at once (`option_quotes`), each priced in one vectorised pass.
* The earnings calendar is empty (the files carry no earnings dates).
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.chain_reads import ChainRead
from engine.data.protocol import DataUnavailable
from engine.data.session_range import Asked, RangePoint, range_points, underlying_of
from engine.data.simulator.intraday import MinuteArrays, aggregate_minutes, minute_path
from engine.data.simulator.options import (
    ChainCache,
    ChainInputs,
    OptionStyle,
    listed_expiries,
    listing_day,
    option_quotes_at,
)
from engine.data.simulator.paths import realised_vol
from engine.data.simulator.seeding import derived_rng
from engine.data.simulator.session_cache import SessionLRU
from engine.data.simulator.universe import (
    KNOWN_SPECS,
    DailyExpiries,
    Kind,
    SymbolSpec,
    TickRule,
    default_spec,
)
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

log = logging.getLogger(__name__)

HEADER = ("date", "open", "high", "low", "close", "adj_close", "volume")
_MINUTE = timedelta(minutes=1)
_IV_PREMIUM = 1.1
_INDEX_FILES = {"GSPC": 10.0, "SPX": 5.0, "VIX": 1.0, "NDX": 10.0, "RUT": 5.0}
# Minute paths kept: the session in progress (or last opened) and the five before it, the
# most the strategies read intraday bars over (swing_trading, momentum_weeklies), as the
# simulator keeps its bars (simulator/market.py). Intraday bars here are aggregated from the
# paths on every read, so the paths play the part of the simulator's bar cache. A path is a
# pure function of (seed, symbol, session): anything dropped is rebuilt identically.
_SESSIONS_KEPT = 6
_MINUTE_CACHE = _SESSIONS_KEPT  # per symbol (a backstop for reads of many old sessions)


@dataclass(eq=False)
class _Series:
    symbol: str
    dates: list[date]
    opens: list[datetime]
    closes: list[datetime]
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray
    minutes: list[int]
    rv20: np.ndarray
    rv252: np.ndarray
    bars: list[Bar] | None = field(default=None)


def _spec_for_file(symbol: str) -> SymbolSpec:
    if symbol in KNOWN_SPECS:
        return KNOWN_SPECS[symbol]
    if symbol in _INDEX_FILES:
        return SymbolSpec(
            symbol,
            Kind.INDEX,
            "broad",
            100.0,
            liquidity=1.0,
            daily_expiries=DailyExpiries.EVERY_SESSION,
            tick_rule=TickRule.INDEX,
            strike_increment=_INDEX_FILES[symbol],
            has_options=symbol != "VIX",
        )
    return default_spec(symbol)


def read_price_file(path: Path) -> PriceRows:
    """Valid rows of one price file; every rejected row is logged with file and line.

    Parsing and the checks are vectorised (pandas/numpy); only rejected rows are examined one
    by one to word the reason."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    header = tuple(str(h).strip().lower() for h in frame.columns)
    if header != HEADER:
        raise ValueError(f"{path}: header {','.join(header)!r} must be {','.join(HEADER)!r}")
    parsed = pd.to_datetime(frame["date"].str.strip(), format="%Y-%m-%d", errors="coerce")
    has_day = parsed.notna().to_numpy()
    ordinal = np.where(
        has_day, parsed.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64), 0
    )
    values = np.column_stack(
        [pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64) for c in HEADER[1:]]
    )
    o, h, lo, c, _adj, vol = values.T
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values).all(axis=1) & has_day
        ok &= (values[:, :5] > 0).all(axis=1) & (vol >= 0)
        ok &= (h >= np.maximum(np.maximum(o, c), lo)) & (lo <= np.minimum(o, c))
    # A valid row must also come strictly after every earlier valid row.
    prior_max = np.maximum.accumulate(np.where(ok, ordinal, np.iinfo(np.int64).min))
    prior_max = np.concatenate([[np.iinfo(np.int64).min], prior_max[:-1]])
    ordered = ordinal > prior_max
    keep = ok & ordered
    for k in np.flatnonzero(~keep).tolist():
        day = _EPOCH + timedelta(days=int(ordinal[k])) if has_day[k] else None
        prev = _EPOCH + timedelta(days=int(prior_max[k])) if k and prior_max[k] > 0 else None
        reason = _row_problem(day, values[k].tolist(), prev, str(frame["date"].iloc[k]))
        raw = ",".join(str(x) for x in frame.iloc[k].tolist())
        log.warning("%s:%d: rejected row %s: %s", path, k + 2, raw, reason)
    kept_ord = ordinal[keep].tolist()
    return PriceRows(
        lines=(np.flatnonzero(keep) + 2),
        dates=[_EPOCH + timedelta(days=d) for d in kept_ord],
        values=values[keep],
    )


_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True, eq=False)
class PriceRows:
    """The accepted rows of a price file: line numbers, dates and the six numeric columns."""

    lines: np.ndarray
    dates: list[date]
    values: np.ndarray


def _row_problem(day: date | None, values: list[float], prev: date | None, raw_day: str) -> str:
    if day is None:
        return f"date={raw_day!r} is not a YYYY-MM-DD date"
    names = HEADER[1:]
    for name, v in zip(names, values, strict=True):
        if not math.isfinite(v):
            return f"{name}={v!r} is missing or not a finite number"
    for name, v in zip(names[:5], values[:5], strict=True):
        if v <= 0:
            return f"{name}={v!r} must be a positive price"
    o, h, lo, c, _adj, vol = values
    if vol < 0:
        return f"volume={vol!r} must be >= 0"
    if h < max(o, c, lo) or lo > min(o, c):
        return f"high/low {h}/{lo} do not contain open/close {o}/{c}"
    return f"date {day} is not after the previous row's {prev}"


@lru_cache(maxsize=4)
def _calendar_from(first: date) -> MarketCalendar:
    """An XNYS calendar reaching back to `first` (the shared default starts in 1999)."""
    return MarketCalendar("XNYS", first=date(first.year, 1, 1))


class CsvReplayMarket:
    """Replays daily CSV history (see the module docstring) against the given clock."""

    def __init__(
        self,
        directory: Path,
        clock: Clock,
        *,
        symbols: Sequence[str] | None = None,
        calendar: MarketCalendar | None = None,
        seed: int = 7,
        closing_auction: bool = False,
    ) -> None:
        directory = Path(directory)
        if not directory.is_dir():
            raise ValueError(f"directory {directory} does not exist or is not a folder")
        files = {p.stem.upper(): p for p in sorted(directory.glob("*.csv"))}
        if symbols is not None:
            missing = [s for s in symbols if s not in files]
            if missing:
                raise ValueError(
                    f"symbols {missing} have no file in {directory} (found: {sorted(files)})"
                )
            files = {s: files[s] for s in symbols}
        if not files:
            raise ValueError(f"no *.csv price files in {directory}")
        self._clock = clock
        self.seed = seed
        # See `SimulatedMarket`: the last minute trades at the close (daily steps only).
        self.closing_auction = closing_auction
        raw = {sym: read_price_file(path) for sym, path in files.items()}
        first = min((rows.dates[0] for rows in raw.values() if rows.dates), default=None)
        if first is None:
            raise ValueError(f"no valid rows in the price files of {directory}")
        if calendar is not None:
            cal = calendar
        else:
            cal = default_calendar()
            if first < cal.first_session:
                cal = _calendar_from(first)
        self.calendar = cal
        self._series: dict[str, _Series] = {}
        for sym, rows in raw.items():
            session = np.array([cal.is_session(d) for d in rows.dates], dtype=bool)
            for k in np.flatnonzero(~session).tolist():
                log.warning(
                    "%s:%d: rejected row: date %s is not a %s trading session",
                    files[sym],
                    int(rows.lines[k]),
                    rows.dates[k],
                    cal.name,
                )
            if session.any():
                dates = [d for d, ok in zip(rows.dates, session.tolist(), strict=True) if ok]
                self._series[sym] = self._build_series(sym, dates, rows.values[session])
            else:
                log.warning("%s: no valid rows; %s is not served", files[sym], sym)
        self._specs = {s: _spec_for_file(s) for s in self._series}
        self._styles = {s: OptionStyle.for_spec(sp) for s, sp in self._specs.items()}
        # Keyed by (symbol, row of its file), tagged with the session's date ordinal (rows
        # of different files are different sessions; dates are comparable across them).
        self._minute_cache: SessionLRU[tuple[str, int], MinuteArrays] = SessionLRU(
            max(64, _MINUTE_CACHE * len(self._series))
        )
        self._window_start: date | None = None  # oldest session kept (_trim_minute_cache)
        # Given every underlying's inputs, the cache prices a single quote together with the
        # contracts of other names asked for at the same instant, as the simulator's does.
        self._chains = ChainCache(self.calendar, inputs_for=lambda u: self._chain_inputs(u)[0])
        self._rows_by_session: dict[date, list[tuple[_Series, int]]] | None = None

    def _build_series(self, symbol: str, dates: list[date], arr: np.ndarray) -> _Series:
        cal = self.calendar
        factor = arr[:, 4] / arr[:, 3]
        o, h, lo, c = (arr[:, k] * factor for k in range(4))
        # Multiplying by the same positive factor keeps high >= open/close >= low, but the
        # adjusted close must be exactly adj_close.
        c = arr[:, 4].copy()
        h = np.maximum(h, np.maximum(o, c))
        lo = np.minimum(lo, np.minimum(o, c))
        rv20 = realised_vol(c[:, None], 20)[:, 0]
        rv252 = realised_vol(c[:, None], 252)[:, 0]
        return _Series(
            symbol=symbol,
            dates=dates,
            opens=[cal.session_open(d) for d in dates],
            closes=[cal.session_close(d) for d in dates],
            o=o,
            h=h,
            low=lo,
            c=c,
            v=arr[:, 5],
            minutes=[cal.session_minutes(d) for d in dates],
            rv20=rv20,
            rv252=rv252,
        )

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "csv"

    def symbols(self) -> Sequence[str]:
        return sorted(self._series)

    def instrument(self, symbol: str) -> Equity:
        self._get(symbol)
        return Equity(symbol, is_index=self._specs[symbol].is_index)

    def first_session(self, symbol: str) -> date:
        return self._get(symbol).dates[0]

    def last_session(self, symbol: str) -> date:
        return self._get(symbol).dates[-1]

    def start_time(self, warmup: int = 300) -> datetime:
        """The open of the first session by which every symbol has `warmup` sessions of
        history (a good starting point for a replay clock)."""
        start = max(s.dates[min(warmup, len(s.dates) - 1)] for s in self._series.values())
        return self.calendar.session_open(self.calendar.session_on_or_after(start))

    def _get(self, symbol: str) -> _Series:
        try:
            return self._series[symbol]
        except KeyError:
            raise DataUnavailable(f"csv: unknown symbol {symbol!r}") from None

    # -- daily -------------------------------------------------------------------------------

    def _bars(self, s: _Series) -> list[Bar]:
        if s.bars is None:
            cols = (s.o, s.h, s.low, s.c, s.v)
            s.bars = [
                Bar(s.symbol, start, o, h, lo, c, v)
                for start, o, h, lo, c, v in zip(s.opens, *(a.tolist() for a in cols), strict=True)
            ]
        return s.bars

    def daily_bars_sync(self, symbol: str, end: date, count: int) -> list[Bar]:
        s = self._get(symbol)
        if count <= 0:
            return []
        last = bisect.bisect_right(s.closes, self._clock.now()) - 1
        hi = min(last, bisect.bisect_right(s.dates, end) - 1)
        if hi < 0:
            return []
        return self._bars(s)[max(0, hi - count + 1) : hi + 1]

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        return self.daily_bars_sync(symbol, end, count)

    def daily_bars_at(self, session: date) -> dict[str, Bar]:
        """Every symbol's daily bar of `session` (symbols without a row that day are absent):
        the engine's daily step (`DailyFeed`).

        Served from the start of the session's final minute on: the daily step ticks at
        close - 1 s so strategies trade at the closing quote (market-on-close). Asking any
        earlier would look ahead and raises ValueError."""
        if not self.calendar.is_session(session):
            raise DataUnavailable(f"csv: {session} is not a {self.calendar.name} session")
        now = self._clock.now()
        close = self.calendar.session_close(session)
        if now < close - _MINUTE:
            raise ValueError(
                f"daily_bars_at({session}) at {now}: the bar completes at {close}; "
                "serving it before the session's last minute would look ahead"
            )
        if self._rows_by_session is None:
            rows: dict[date, list[tuple[_Series, int]]] = {}
            for s in self._series.values():
                for i, d in enumerate(s.dates):
                    rows.setdefault(d, []).append((s, i))
            self._rows_by_session = rows
        return {s.symbol: self._bars(s)[i] for s, i in self._rows_by_session.get(session, ())}

    # -- intraday ----------------------------------------------------------------------------

    def _minute_arrays(self, s: _Series, t: int) -> MinuteArrays:
        key = (s.symbol, t)
        cached = self._minute_cache.get(key)
        if cached is not None:
            return cached
        self._trim_minute_cache()
        rng = derived_rng(self.seed, s.symbol, s.dates[t].isoformat(), "minutes")
        arrs = minute_path(
            float(s.o[t]),
            float(s.h[t]),
            float(s.low[t]),
            float(s.c[t]),
            float(s.v[t]),
            s.minutes[t],
            rng,
        )
        self._minute_cache.put(key, s.dates[t].toordinal(), arrs)
        return arrs

    def _trim_minute_cache(self) -> None:
        """Drop minute paths of sessions older than the kept window, which follows the clock
        (the session in progress or last opened); called before a path is added, so a long
        replay holds a fixed number of sessions however long it runs."""
        cal = self.calendar
        now = self._clock.now()
        try:
            current = cal.session_on_or_before(now.date())
            if cal.session_open(current) > now:
                current = cal.previous_session(current)
        except ValueError:
            return  # before the calendar's first session: nothing old to drop
        start = cal.sessions_ending(current, _SESSIONS_KEPT)[0]
        if self._window_start is not None and start <= self._window_start:
            return
        self._window_start = start
        self._minute_cache.drop_before(start.toordinal())

    def cache_sizes(self) -> dict[str, int]:
        """Entries held by the replay's caches (for tests and diagnostics)."""
        return {"minute_paths": len(self._minute_cache), **self._chains.sizes()}

    def cache_window(self) -> date | None:
        """The oldest session with a cached minute path (None when empty)."""
        held = self._minute_cache.sessions()
        return date.fromordinal(min(held)) if held else None

    def intraday_bars_sync(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> list[Bar]:
        s = self._get(symbol)
        if interval is BarInterval.DAY:
            raise ValueError("intraday_bars: interval '1d' is not intraday; use daily_bars")
        now = self._clock.now()
        end = min(end, now)
        lo = bisect.bisect_right(s.closes, start)
        hi = bisect.bisect_left(s.opens, end)
        out: list[Bar] = []
        for t in range(lo, hi):
            open_ = s.opens[t]
            agg = aggregate_minutes(self._minute_arrays(s, t), interval)
            cols = (agg.open, agg.high, agg.low, agg.close, agg.volume)
            for s_min, e_min, o, h, low, c, v in zip(
                agg.start.tolist(), agg.end.tolist(), *(a.tolist() for a in cols), strict=True
            ):
                bar_start = open_ + s_min * _MINUTE
                if bar_start < start or bar_start >= end:
                    continue
                if open_ + e_min * _MINUTE > now:
                    break
                out.append(Bar(symbol, bar_start, o, h, low, c, v, interval))
        return out

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        return self.intraday_bars_sync(symbol, interval, start, end)

    # -- quotes ------------------------------------------------------------------------------

    def _price(self, s: _Series, at: datetime | None = None) -> tuple[float, datetime, int, bool]:
        """(price, stamp, session index, in_session) at the clock's now (or earlier `at`)."""
        now = self._clock.now() if at is None else at
        i = bisect.bisect_right(s.opens, now) - 1
        if i >= 0 and now < s.closes[i]:
            k = int((now - s.opens[i]) // _MINUTE)
            stamp = s.opens[i] + k * _MINUTE
            if k == 0:
                return float(s.o[i]), stamp, i, True
            if self.closing_auction and now >= s.closes[i] - _MINUTE:
                return float(s.c[i]), stamp, i, True
            return float(self._minute_arrays(s, i).close[k - 1]), stamp, i, True
        last = bisect.bisect_right(s.closes, now) - 1
        if last < 0:
            raise DataUnavailable(f"csv: no {s.symbol} data at or before {now}")
        return float(s.c[last]), s.closes[last], last, False

    def latest_quote_sync(self, symbol: str) -> Quote:
        s = self._get(symbol)
        price, stamp, _, _ = self._price(s)
        return self._quote_at_price(symbol, price, stamp)

    def _quote_at_price(self, symbol: str, price: float, stamp: datetime) -> Quote:
        if self._specs[symbol].is_index:
            return Quote(symbol, stamp, price, price, price)
        half = max(0.005, price * 0.0002)
        bid = max(0.01, math.floor((price - half) * 100.0 + 1e-9) / 100.0)
        ask = max(bid + 0.01, math.ceil((price + half) * 100.0 - 1e-9) / 100.0)
        return Quote(symbol, stamp, bid, round(ask, 2), price, 500.0, 500.0)

    async def latest_quote(self, symbol: str) -> Quote:
        return self.latest_quote_sync(symbol)

    def marks_at_now(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for sym, s in self._series.items():
            try:
                out[sym] = self._price(s)[0]
            except DataUnavailable:
                continue
        return out

    # -- options -----------------------------------------------------------------------------

    def _chain_inputs(
        self, underlying: str, at: datetime | None = None, spot: float | None = None
    ) -> tuple[ChainInputs, date]:
        """The surface now (or at an earlier `at`); with `spot`, as if the underlying traded
        there instead."""
        s = self._get(underlying)
        style = self._styles[underlying]
        if not self._specs[underlying].has_options:
            raise DataUnavailable(f"csv: no options are listed on {underlying}")
        traded, stamp, i, in_session = self._price(s, at)
        spot = traded if spot is None else spot
        t_prev = max(i - 1 if in_session else i, 0)
        rv20 = float(s.rv20[t_prev]) if math.isfinite(s.rv20[t_prev]) else 0.25
        rv252 = float(s.rv252[t_prev]) if math.isfinite(s.rv252[t_prev]) else rv20
        atm = min(3.0, max(0.08, _IV_PREMIUM * rv20))
        if in_session:
            move = math.log(spot / float(s.c[t_prev]))
            atm *= min(1.6, max(0.7, math.exp(-style.iv_spot_beta * move)))
        long_iv = min(3.0, max(0.08, _IV_PREMIUM * rv252))
        today = listing_day(self.calendar, self._clock.now() if at is None else at)
        inputs = ChainInputs(
            style=style,
            now=stamp,
            today=today,
            spot=spot,
            atm_iv=atm,
            long_iv=long_iv,
            stress=min(3.0, max(1.0, rv20 / max(rv252, 1e-6))),
            events=(),
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
        """Price what `reads` will need in one pass (see `engine.data.chain_reads`); the
        reads that follow return what they would have without it."""
        self._chains.prefetch_reads(reads, self._chain_inputs)

    def option_quote_sync(self, contract: OptionContract) -> OptionQuote:
        inputs, today = self._chain_inputs(contract.underlying)
        if contract.expiry not in listed_expiries(
            inputs.style.daily_expiries, today, self.calendar
        ):
            raise DataUnavailable(
                f"csv: {contract.symbol}: expiry {contract.expiry} is not listed at {inputs.now}"
            )
        return self._chains.quote(inputs, contract.expiry, float(contract.strike), contract.right)

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        return self.option_quote_sync(contract)

    def option_quotes_sync(
        self, contracts: Sequence[OptionContract]
    ) -> dict[OptionContract, OptionQuote]:
        """Quotes of many contracts at once (marking a book; see `engine.data.batch_quotes`),
        priced together. Contracts that cannot be quoted (expired or unlisted expiry, unknown
        underlying) are left out, as `option_quote` raising for them would leave them out."""
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
        now = self._clock.now()
        und = underlying_of(instruments)
        s = self._get(und)
        i = bisect.bisect_right(s.opens, now) - 1
        if i < 0 or s.dates[i] != session or not s.closes[i] - _MINUTE <= now < s.closes[i]:
            raise DataUnavailable(
                f"csv: the range of {session} is known only in its last minute (now {now})"
            )
        bar = self._bars(s)[i]

        def option_quotes(
            asked: Asked, options: list[OptionContract]
        ) -> list[dict[OptionContract, OptionQuote]]:
            surfaces = [self._chain_inputs(und, m, spot=p)[0] for p, m in asked]
            return option_quotes_at(surfaces, options, self.calendar)

        return range_points(
            bar,
            instruments,
            s.opens[i],
            now,
            stamp_at=lambda m: self._price(s, m)[1],
            share_quote=lambda price, stamp: self._quote_at_price(und, price, stamp),
            option_quotes=option_quotes,
        )

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        return []
