"""`YFinanceHistory`: Yahoo Finance history (via yfinance) behind an on-disk SQLite cache.

The cache lives in the user cache directory (``$WSB_CACHE_DIR`` overrides it), one SQLite file,
so a second run reads locally. What it fetched is remembered as covered ranges per symbol and
interval: a holiday or a missing day inside a covered range is not fetched again.

Yahoo's quirks, handled in `frame_rows`:

* `yf.download` returns MultiIndex columns ``(Price, Ticker)`` (``Adj Close``, ``Close``,
  ``Dividends``, ``High``, ``Low``, ``Open``, ``Stock Splits``, ``Volume``); one ticker or many;
* the index is tz-naive dates for daily data by default and tz-aware (America/New_York) for
  intraday data; both are converted to UTC bar starts (daily bars start at the session open);
* rows of NaN (halted days, the current session before it trades) and non-positive prices are
  dropped and logged; missing sessions are simply absent, never forward-filled;
* ``Close`` is split-adjusted but not dividend-adjusted; ``Adj Close`` is both. Bars for
  returns (`daily_bars`, the `MarketData` view) scale OHLC by ``Adj Close / Close``. Bars for
  comparing with option strikes (`raw_daily_bars`) undo the splits after each date, giving the
  prices that actually traded that day.

Quotes and chains from Yahoo are delayed and have no real book: `latest_quote` is the last
complete 1-minute bar with bid = ask = last, and is meant for a failover secondary only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import platformdirs

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    BarInterval,
    EarningsEvent,
    EarningsTiming,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
    is_occ_symbol,
)

if TYPE_CHECKING:
    import pandas as pd

    from engine.runtime.clock import Clock

log = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
CACHE_ENV = "WSB_CACHE_DIR"
_YF_INTERVAL = {
    BarInterval.MINUTE: "1m",
    BarInterval.FIVE_MINUTES: "5m",
    BarInterval.FIFTEEN_MINUTES: "15m",
    BarInterval.HOUR: "60m",
    BarInterval.DAY: "1d",
}
_FIELDS = ("Open", "High", "Low", "Close", "Adj Close", "Volume", "Dividends", "Stock Splits")


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    return Path(override) if override else platformdirs.user_cache_path("wsb-tui") / "yfinance"


class YahooSource(Protocol):
    """What `YFinanceHistory` needs from Yahoo (the real one wraps yfinance)."""

    def download(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> pd.DataFrame: ...

    def option_expiries(self, symbol: str) -> Sequence[str]: ...

    def option_chain(self, symbol: str, expiry: str) -> tuple[pd.DataFrame, pd.DataFrame]: ...

    def earnings_dates(self, symbol: str) -> pd.DataFrame | None: ...


class YFinanceClient:
    """The real Yahoo: yfinance, imported on first use."""

    def __init__(self, timeout_s: float = 20.0) -> None:
        self.timeout_s = timeout_s

    def download(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> pd.DataFrame:
        import yfinance as yf

        df = yf.download(
            list(symbols),
            start=start,
            end=end,
            interval=interval,
            auto_adjust=False,
            actions=True,
            progress=False,
            threads=False,
            group_by="column",
            multi_level_index=True,
            timeout=self.timeout_s,
        )
        if df is None:
            raise DataUnavailable(f"yfinance: no data for {', '.join(symbols)}")
        return df

    def option_expiries(self, symbol: str) -> Sequence[str]:
        import yfinance as yf

        return tuple(yf.Ticker(symbol).options)

    def option_chain(self, symbol: str, expiry: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        import yfinance as yf

        chain = yf.Ticker(symbol).option_chain(expiry)
        return chain.calls, chain.puts

    def earnings_dates(self, symbol: str) -> pd.DataFrame | None:
        import yfinance as yf

        result: pd.DataFrame | None = yf.Ticker(symbol).get_earnings_dates(limit=12)
        return result


@dataclass(frozen=True, slots=True)
class CachedRow:
    """One cached bar as Yahoo gave it (split-adjusted Close, raw actions)."""

    symbol: str
    interval: str
    start: datetime
    open: float
    high: float
    low: float
    close: float
    adj_close: float
    volume: float
    dividend: float
    split: float  # 0 = none, else the ratio (2.0 for a 2-for-1)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    symbol: str
    interval: str
    first: datetime
    last: datetime
    rows: int
    fetched_at: datetime | None


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def frame_rows(
    df: pd.DataFrame,
    interval: BarInterval,
    calendar: MarketCalendar,
    symbols: Sequence[str] | None = None,
) -> tuple[list[CachedRow], int]:
    """yfinance frame -> cache rows (UTC starts), and how many rows were dropped as bad."""
    import pandas as pd

    if df is None or len(df) == 0:
        return [], 0
    cols = df.columns
    if isinstance(cols, pd.MultiIndex):
        names = list(cols.names)
        price_level = names.index("Price") if "Price" in names else 0
        ticker_level = 1 - price_level
        tickers = list(dict.fromkeys(cols.get_level_values(ticker_level)))
    else:
        if not symbols or len(symbols) != 1:
            raise ValueError("a single-level yfinance frame needs exactly one symbol")
        tickers = [symbols[0]]
    out: list[CachedRow] = []
    dropped = 0
    for ticker in tickers:
        multi = isinstance(cols, pd.MultiIndex)
        sub = df.xs(ticker, axis=1, level=ticker_level) if multi else df
        for ts, row in sub.iterrows():
            start = _row_start(pd.Timestamp(ts), interval, calendar)
            if start is None:
                dropped += 1
                continue
            vals = {f: _num(row.get(f)) if f in row.index else math.nan for f in _FIELDS}
            o, h, lo, c = vals["Open"], vals["High"], vals["Low"], vals["Close"]
            adj = vals["Adj Close"] if math.isfinite(vals["Adj Close"]) else c
            vol = vals["Volume"] if math.isfinite(vals["Volume"]) else 0.0
            try:
                Bar(str(ticker), start, o, h, lo, c, vol, interval)
                if not (math.isfinite(adj) and adj > 0):
                    raise BadMarketData(f"adj close {adj!r}")
            except BadMarketData as exc:
                dropped += 1
                log.debug("yfinance %s %s: row dropped: %s", ticker, start, exc)
                continue
            div = vals["Dividends"] if math.isfinite(vals["Dividends"]) else 0.0
            split = vals["Stock Splits"] if math.isfinite(vals["Stock Splits"]) else 0.0
            out.append(
                CachedRow(str(ticker), interval.value, start, o, h, lo, c, adj, vol, div, split)
            )
    if dropped:
        log.warning("yfinance: %d bad or empty row(s) dropped (NaN, <= 0, bad date)", dropped)
    return out, dropped


def _row_start(
    ts: pd.Timestamp, interval: BarInterval, calendar: MarketCalendar
) -> datetime | None:
    if interval is BarInterval.DAY:
        # Daily rows are dates (naive, or midnight in the exchange's zone): the bar starts at
        # that session's open.
        d = ts.tz_convert(NEW_YORK).date() if ts.tzinfo is not None else ts.date()
        if not calendar.is_session(d):
            return None
        return calendar.session_open(d)
    if ts.tzinfo is None:
        # Intraday without a zone: yfinance's exchange-time wall clock.
        ts = ts.tz_localize(NEW_YORK)
    out: datetime = ts.tz_convert(UTC).to_pydatetime()
    return out


class _Cache:
    """The SQLite file. Used from worker threads, one connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as c:
            c.executescript(
                """
                CREATE TABLE IF NOT EXISTS bars (
                    symbol TEXT NOT NULL, interval TEXT NOT NULL, start INTEGER NOT NULL,
                    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL,
                    close REAL NOT NULL, adj_close REAL NOT NULL, volume REAL NOT NULL,
                    dividend REAL NOT NULL, split REAL NOT NULL,
                    PRIMARY KEY (symbol, interval, start)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS coverage (
                    symbol TEXT NOT NULL, interval TEXT NOT NULL,
                    start INTEGER NOT NULL, end INTEGER NOT NULL, fetched_at INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS earnings (
                    symbol TEXT NOT NULL, day TEXT NOT NULL, timing TEXT NOT NULL,
                    PRIMARY KEY (symbol, day)
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS earnings_fetched (
                    symbol TEXT PRIMARY KEY, fetched_at INTEGER NOT NULL
                );
                """
            )

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def put(self, rows: Iterable[CachedRow]) -> int:
        data = [
            (
                r.symbol, r.interval, int(r.start.timestamp()), r.open, r.high, r.low,
                r.close, r.adj_close, r.volume, r.dividend, r.split,
            )
            for r in rows
        ]  # fmt: skip
        with self._conn() as c:
            c.executemany("INSERT OR REPLACE INTO bars VALUES (?,?,?,?,?,?,?,?,?,?,?)", data)
        return len(data)

    def cover(
        self, symbol: str, interval: str, start: datetime, end: datetime, now: datetime
    ) -> None:
        s, e = int(start.timestamp()), int(end.timestamp())
        with self._conn() as c:
            rows = c.execute(
                "SELECT start, end FROM coverage WHERE symbol=? AND interval=? AND "
                "start <= ? AND end >= ?",
                (symbol, interval, e, s),
            ).fetchall()
            for rs, re_ in rows:
                s, e = min(s, rs), max(e, re_)
            c.execute(
                "DELETE FROM coverage WHERE symbol=? AND interval=? AND start <= ? AND end >= ?",
                (symbol, interval, e, s),
            )
            c.execute(
                "INSERT INTO coverage VALUES (?,?,?,?,?)",
                (symbol, interval, s, e, int(now.timestamp())),
            )

    def covered(self, symbol: str, interval: str, start: datetime, end: datetime) -> bool:
        with self._conn() as c:
            row = c.execute(
                "SELECT 1 FROM coverage WHERE symbol=? AND interval=? AND start <= ? AND end >= ?",
                (symbol, interval, int(start.timestamp()), int(end.timestamp())),
            ).fetchone()
        return row is not None

    def get(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[CachedRow]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT * FROM bars WHERE symbol=? AND interval=? AND start >= ? AND start < ? "
                "ORDER BY start",
                (symbol, interval, int(start.timestamp()), int(end.timestamp())),
            ).fetchall()
        return [_row(r) for r in rows]

    def splits_after(self, symbol: str, start: datetime) -> list[tuple[datetime, float]]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT start, split FROM bars WHERE symbol=? AND interval='1d' AND start > ? "
                "AND split > 0 ORDER BY start",
                (symbol, int(start.timestamp())),
            ).fetchall()
        return [(datetime.fromtimestamp(s, UTC), float(r)) for s, r in rows]

    def summary(self) -> list[CacheEntry]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT b.symbol, b.interval, MIN(b.start), MAX(b.start), COUNT(*), "
                "(SELECT MAX(fetched_at) FROM coverage v WHERE v.symbol=b.symbol "
                "AND v.interval=b.interval) FROM bars b GROUP BY b.symbol, b.interval "
                "ORDER BY b.symbol, b.interval"
            ).fetchall()
        return [
            CacheEntry(
                sym, iv, datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC), n,
                datetime.fromtimestamp(f, UTC) if f is not None else None,
            )
            for sym, iv, lo, hi, n, f in rows
        ]  # fmt: skip

    def put_earnings(self, symbol: str, events: Iterable[EarningsEvent], now: datetime) -> None:
        with self._conn() as c:
            c.executemany(
                "INSERT OR REPLACE INTO earnings VALUES (?,?,?)",
                [(symbol, e.date.isoformat(), e.timing.value) for e in events],
            )
            c.execute(
                "INSERT OR REPLACE INTO earnings_fetched VALUES (?,?)",
                (symbol, int(now.timestamp())),
            )

    def earnings_fetched_at(self, symbol: str) -> datetime | None:
        with self._conn() as c:
            row = c.execute(
                "SELECT fetched_at FROM earnings_fetched WHERE symbol=?", (symbol,)
            ).fetchone()
        return datetime.fromtimestamp(row[0], UTC) if row else None

    def get_earnings(self, start: date, end: date) -> list[EarningsEvent]:
        with self._conn() as c:
            rows = c.execute(
                "SELECT symbol, day, timing FROM earnings WHERE day >= ? AND day <= ? "
                "ORDER BY day, symbol",
                (start.isoformat(), end.isoformat()),
            ).fetchall()
        return [EarningsEvent(s, date.fromisoformat(d), EarningsTiming(t)) for s, d, t in rows]


def _row(r: Sequence[Any]) -> CachedRow:
    return CachedRow(
        r[0], r[1], datetime.fromtimestamp(r[2], UTC), r[3], r[4], r[5], r[6], r[7], r[8],
        r[9], r[10],
    )  # fmt: skip


def adjusted_bar(row: CachedRow) -> Bar:
    """Split- and dividend-adjusted: for returns and indicators."""
    k = row.adj_close / row.close
    return Bar(
        row.symbol, row.start, row.open * k, row.high * k, row.low * k, row.adj_close,
        row.volume, BarInterval(row.interval),
    )  # fmt: skip


class YFinanceHistory:
    """`MarketData` history from Yahoo with a local cache; quotes/chains best effort."""

    def __init__(
        self,
        *,
        source: YahooSource | None = None,
        cache_dir: Path | None = None,
        clock: Clock | None = None,
        calendar: MarketCalendar | None = None,
        symbols: Sequence[str] | None = None,
        earnings_max_age: timedelta = timedelta(days=7),
    ) -> None:
        from engine.runtime.clock import WallClock

        self._source: YahooSource = source if source is not None else YFinanceClient()
        self.cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._cache = _Cache(self.cache_dir / "history.sqlite")
        self._clock: Clock = clock if clock is not None else WallClock()
        self._calendar = calendar if calendar is not None else default_calendar()
        if symbols is None:
            from engine.data.simulator import DEFAULT_UNIVERSE

            symbols = DEFAULT_UNIVERSE
        self._symbols = tuple(symbols)
        self._earnings_max_age = earnings_max_age
        self.downloads = 0  # how many times Yahoo was asked (tests, health)

    @property
    def name(self) -> str:
        return "yfinance"

    def symbols(self) -> Sequence[str]:
        return self._symbols

    # -- fetching into the cache ----------------------------------------------------------

    def _completed_until(self, interval: BarInterval) -> datetime:
        """End (exclusive) of what may be cached: nothing from an unfinished session/bar."""
        now = self._clock.now()
        if interval is BarInterval.DAY:
            session = self._calendar.session_on_or_before(now.date())
            if self._calendar.session_close(session) > now:
                session = self._calendar.previous_session(session)
            return self._calendar.session_open(session) + timedelta(hours=12)
        return now.replace(second=0, microsecond=0) - interval.duration

    def _fetch_sync(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: BarInterval
    ) -> dict[str, int]:
        end = min(end, self._completed_until(interval))
        if end <= start:
            return dict.fromkeys(symbols, 0)
        # Yahoo's end is exclusive and by day for daily data: ask one day more.
        fetch_end = end + timedelta(days=1) if interval is BarInterval.DAY else end
        self.downloads += 1
        df = self._source.download(symbols, start, fetch_end, _YF_INTERVAL[interval])
        rows, _ = frame_rows(df, interval, self._calendar, symbols)
        rows = [r for r in rows if start <= r.start < end]
        self._cache.put(rows)
        now = self._clock.now()
        for sym in symbols:
            self._cache.cover(sym, interval.value, start, end, now)
        counts = dict.fromkeys(symbols, 0)
        for r in rows:
            counts[r.symbol] = counts.get(r.symbol, 0) + 1
        return counts

    async def fetch(
        self,
        symbols: Sequence[str],
        start: date,
        end: date,
        interval: BarInterval = BarInterval.DAY,
    ) -> dict[str, int]:
        """Download [start, end] into the cache (`wsb data fetch`); rows stored per symbol."""
        if end < start:
            raise ValueError(f"end={end} is before start={start}")
        s = datetime.combine(start, time(0), tzinfo=NEW_YORK).astimezone(UTC)
        e = datetime.combine(end + timedelta(days=1), time(0), tzinfo=NEW_YORK).astimezone(UTC)
        return await asyncio.to_thread(self._fetch_sync, list(symbols), s, e, interval)

    def cache_summary(self) -> list[CacheEntry]:
        return self._cache.summary()

    async def _rows(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> list[CachedRow]:
        end = min(end, self._completed_until(interval))
        if end <= start:
            return []
        if not await asyncio.to_thread(self._cache.covered, symbol, interval.value, start, end):
            await asyncio.to_thread(self._fetch_sync, [symbol], start, end, interval)
        return await asyncio.to_thread(self._cache.get, symbol, interval.value, start, end)

    # -- MarketData -----------------------------------------------------------------------

    def _daily_window(self, end: date, count: int) -> tuple[datetime, datetime]:
        last = self._calendar.session_on_or_before(end)
        sessions = self._calendar.sessions_ending(last, count)
        start = self._calendar.session_open(sessions[0])
        return start, self._calendar.session_open(last) + timedelta(hours=12)

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        """Adjusted daily bars (split and dividend): use these for returns and indicators."""
        if count <= 0:
            return []
        start, stop = self._daily_window(end, count)
        rows = await self._rows(symbol, BarInterval.DAY, start, stop)
        if not rows:
            raise DataUnavailable(f"yfinance: no daily bars for {symbol} up to {end}")
        return [adjusted_bar(r) for r in rows][-count:]

    async def raw_daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        """Prices as traded on each day (splits undone): compare these with option strikes of
        that day. Exact when the cache reaches the present (later splits are known)."""
        start, stop = self._daily_window(end, count)
        rows = await self._rows(symbol, BarInterval.DAY, start, stop)
        splits = await asyncio.to_thread(self._cache.splits_after, symbol, start)
        out = []
        for r in rows:
            k = 1.0
            for when, ratio in splits:
                if when > r.start:
                    k *= ratio
            out.append(
                Bar(r.symbol, r.start, r.open * k, r.high * k, r.low * k, r.close * k,
                    r.volume / k, BarInterval.DAY)
            )  # fmt: skip
        return out[-count:]

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        if interval is BarInterval.DAY:
            raise ValueError("interval=1d: use daily_bars for daily bars")
        rows = await self._rows(symbol, interval, start, end)
        return [
            Bar(r.symbol, r.start, r.open, r.high, r.low, r.close, r.volume, interval) for r in rows
        ]

    async def latest_quote(self, symbol: str) -> Quote:
        now = self._clock.now()
        start = now - timedelta(minutes=30)
        rows = await self._rows(symbol, BarInterval.MINUTE, start, now)
        if not rows:
            raise DataUnavailable(f"yfinance: no recent minute bar for {symbol}")
        r = rows[-1]
        return Quote(symbol, r.start + BarInterval.MINUTE.duration, r.close, r.close, r.close)

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        return await asyncio.to_thread(
            self._chain_sync, underlying, min_expiry, max_expiry, right, strikes
        )

    def _chain_sync(
        self,
        underlying: str,
        lo: date,
        hi: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        now = self._clock.now()
        expiries = [
            e for e in self._source.option_expiries(underlying) if lo <= date.fromisoformat(e) <= hi
        ]
        rows: list[OptionQuote] = []
        for e in expiries:
            calls, puts = self._source.option_chain(underlying, e)
            for side, frame in ((OptionRight.CALL, calls), (OptionRight.PUT, puts)):
                if right is None or right is side:
                    rows.extend(
                        q
                        for q in chain_rows(frame, underlying, now)
                        if strikes is None or strikes[0] <= float(q.contract.strike) <= strikes[1]
                    )
        spot = self._spot(underlying)
        return OptionChain(underlying, now, spot, tuple(rows))

    def _spot(self, symbol: str) -> float:
        now = self._clock.now()
        rows = self._cache.get(symbol, "1d", now - timedelta(days=10), now)
        if rows:
            return rows[-1].close
        raise DataUnavailable(f"yfinance: no spot for {symbol} (fetch its daily bars first)")

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        chain = await self.option_chain(contract.underlying, contract.expiry, contract.expiry)
        row = chain.find(contract)
        if row is None:
            raise DataUnavailable(f"yfinance: {contract.symbol} not in the chain")
        return row

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        now = self._clock.now()
        for sym in self._symbols:
            fetched = await asyncio.to_thread(self._cache.earnings_fetched_at, sym)
            if fetched is None or now - fetched > self._earnings_max_age:
                try:
                    events = await asyncio.to_thread(self._earnings_sync, sym)
                except Exception as exc:  # one symbol's failure must not hide the others
                    log.info("yfinance: no earnings dates for %s: %s", sym, exc)
                    continue
                await asyncio.to_thread(self._cache.put_earnings, sym, events, now)
        return await asyncio.to_thread(self._cache.get_earnings, start, end)

    def _earnings_sync(self, symbol: str) -> list[EarningsEvent]:
        df = self._source.earnings_dates(symbol)
        return earnings_rows(df, symbol)


def chain_rows(frame: pd.DataFrame, underlying: str, now: datetime) -> list[OptionQuote]:
    """yfinance's calls/puts frame -> OptionQuotes; bad rows dropped."""
    out: list[OptionQuote] = []
    if frame is None or len(frame) == 0:
        return out
    for _, r in frame.iterrows():
        sym = str(r.get("contractSymbol", ""))
        if not is_occ_symbol(sym):
            continue
        contract = OptionContract.from_symbol(sym)
        if contract.underlying != underlying:
            continue
        bid, ask, last = _num(r.get("bid")), _num(r.get("ask")), _num(r.get("lastPrice"))
        vol, oi, iv = (
            _num(r.get("volume")),
            _num(r.get("openInterest")),
            _num(r.get("impliedVolatility")),
        )
        try:
            out.append(
                OptionQuote(
                    contract,
                    now,
                    bid if math.isfinite(bid) else math.nan,
                    ask if math.isfinite(ask) else math.nan,
                    last if math.isfinite(last) and last >= 0 else 0.0,
                    int(vol) if math.isfinite(vol) and vol >= 0 else 0,
                    int(oi) if math.isfinite(oi) and oi >= 0 else 0,
                    iv=iv if math.isfinite(iv) and iv > 0.001 else None,
                )
            )
        except BadMarketData as exc:
            log.debug("yfinance chain row dropped: %s", exc)
    return out


def earnings_rows(df: pd.DataFrame | None, symbol: str) -> list[EarningsEvent]:
    """`get_earnings_dates` frame (tz-aware "Earnings Date" index) -> events with timing."""
    import pandas as pd

    if df is None or len(df) == 0:
        return []
    out: dict[date, EarningsEvent] = {}
    for ts in df.index:
        t = pd.Timestamp(ts)
        local = t.tz_convert(NEW_YORK) if t.tzinfo is not None else t.tz_localize(NEW_YORK)
        if local.hour < 9 or (local.hour == 9 and local.minute < 30):
            timing = EarningsTiming.BEFORE_OPEN
        elif local.hour >= 16:
            timing = EarningsTiming.AFTER_CLOSE
        else:
            timing = EarningsTiming.UNKNOWN
        out[local.date()] = EarningsEvent(symbol, local.date(), timing)
    return [out[d] for d in sorted(out)]
