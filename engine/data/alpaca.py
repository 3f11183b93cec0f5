"""`AlpacaData`: `MarketData` over Alpaca's market data API through alpaca-py's data clients.

* daily and intraday stock bars (`StockHistoricalDataClient.get_stock_bars`), split- and
  dividend-adjusted (``adjustment=all``: returns are right, and the latest bars equal the raw
  prices the market trades at); a session still in progress is never returned;
* latest quotes from stock snapshots (quote and last trade in one call);
* option chains from the option chain snapshots (`OptionHistoricalDataClient.get_option_chain`)
  with Alpaca's greeks and implied volatility; where Alpaca sends none (illiquid or stale
  contracts) they are computed here with `engine.pricing` from the mid;
* open interest from the trading API's option contracts (once per underlying and day);
* earnings: Alpaca has no calendar; an optional secondary source (yfinance) answers.

Rows that must not be traded on (NaN, <= 0, crossed) are dropped and logged, never passed on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from engine.broker.alpaca.settings import AlpacaSettings
from engine.broker.alpaca.transport import AlpacaError, FailureKind, Transport, configure_client
from engine.data.calendar import MarketCalendar, default_calendar
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
    is_occ_symbol,
)
from engine.secrets import AlpacaCredentials, register_secrets

if TYPE_CHECKING:
    from engine.runtime.clock import Clock

log = logging.getLogger(__name__)

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_RATE = 0.04  # risk-free rate for greeks Alpaca does not send


def _f(raw: object) -> float:
    """A JSON number as float; NaN for anything else (rejected by the domain checks)."""
    if isinstance(raw, bool):
        return math.nan
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return math.nan
    return math.nan


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _size(raw: object) -> int:
    v = _f(raw)
    return int(v) if math.isfinite(v) and v >= 0 else 0


def _ts(raw: object, where: str) -> datetime:
    if not isinstance(raw, str):
        raise BadMarketData(f"{where}: timestamp {raw!r} is missing")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadMarketData(f"{where}: timestamp {raw!r} is not RFC 3339") from None
    if value.tzinfo is None:
        raise BadMarketData(f"{where}: timestamp {raw!r} has no timezone")
    return value.astimezone(UTC)


def _timeframe(interval: BarInterval) -> Any:
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    table = {
        BarInterval.MINUTE: (1, TimeFrameUnit.Minute),
        BarInterval.FIVE_MINUTES: (5, TimeFrameUnit.Minute),
        BarInterval.FIFTEEN_MINUTES: (15, TimeFrameUnit.Minute),
        BarInterval.HOUR: (1, TimeFrameUnit.Hour),
        BarInterval.DAY: (1, TimeFrameUnit.Day),
    }
    amount, unit = table[interval]
    return TimeFrame(amount, unit)


class AlpacaData:
    """Market data from Alpaca. Answers for the wall clock (or the clock it is given)."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        settings: AlpacaSettings | None = None,
        *,
        symbols: Sequence[str] | None = None,
        clock: Clock | None = None,
        calendar: MarketCalendar | None = None,
        transport: Transport | None = None,
        earnings: MarketData | None = None,
        rate: float = DEFAULT_RATE,
        with_open_interest: bool = True,
    ) -> None:
        from alpaca.data.historical.option import OptionHistoricalDataClient
        from alpaca.data.historical.stock import StockHistoricalDataClient

        from engine.runtime.clock import WallClock

        self.settings = settings if settings is not None else AlpacaSettings()
        register_secrets(*credentials.secrets())
        self._clock: Clock = clock if clock is not None else WallClock()
        self._calendar = calendar if calendar is not None else default_calendar()
        self.transport = transport if transport is not None else Transport(self.settings)
        key, secret = credentials.key_id.reveal(), credentials.secret_key.reveal()
        url = self.settings.effective_data_url
        self._stocks = configure_client(
            StockHistoricalDataClient(key, secret, raw_data=True, url_override=url), self.settings
        )
        self._options = configure_client(
            OptionHistoricalDataClient(key, secret, raw_data=True, url_override=url),
            self.settings,
        )
        self._trading: Any = None
        if with_open_interest:
            from engine.broker.alpaca.broker import make_trading_client

            self._trading = make_trading_client(credentials, self.settings)
        if symbols is None:
            from engine.data.simulator import DEFAULT_UNIVERSE

            symbols = DEFAULT_UNIVERSE
        self._symbols = tuple(symbols)
        self._earnings = earnings
        self._rate = rate
        self._oi: dict[tuple[str, date], dict[str, int]] = {}

    @property
    def name(self) -> str:
        return "alpaca"

    def symbols(self) -> Sequence[str]:
        return self._symbols

    # -- bars -----------------------------------------------------------------------------

    async def _bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> list[Mapping[str, Any]]:
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import StockBarsRequest

        req = StockBarsRequest(
            symbol_or_symbols=[symbol],
            timeframe=_timeframe(interval),
            start=start,
            end=end,
            adjustment=Adjustment.ALL,
            feed=DataFeed(self.settings.feed),
        )
        raw = await self._get(f"bars {symbol}", lambda: self._stocks.get_stock_bars(req))
        rows = raw.get(symbol, []) if isinstance(raw, Mapping) else []
        return [r for r in rows if isinstance(r, Mapping)]

    def _bar(self, symbol: str, row: Mapping[str, Any], interval: BarInterval) -> Bar | None:
        where = f"alpaca bar {symbol}"
        try:
            start = _ts(row.get("t"), where)
            if interval is BarInterval.DAY:
                # Daily bars are stamped at midnight New York; ours start at the session open.
                session = start.astimezone(NEW_YORK).date()
                if not self._calendar.is_session(session):
                    raise BadMarketData(f"{where}: {session} is not a trading session")
                start = self._calendar.session_open(session)
            return Bar(
                symbol,
                start,
                _f(row.get("o")),
                _f(row.get("h")),
                _f(row.get("l")),
                _f(row.get("c")),
                _f(row.get("v")),
                interval,
            )
        except (BadMarketData, ValueError) as exc:
            log.warning("alpaca: bad bar rejected: %s", exc)
            return None

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        if count <= 0:
            return []
        now = self._clock.now()
        last = self._calendar.session_on_or_before(end)
        sessions = self._calendar.sessions_ending(last, count)
        start = datetime.combine(sessions[0], time(0), tzinfo=NEW_YORK).astimezone(UTC)
        stop = datetime.combine(last + timedelta(days=1), time(0), tzinfo=NEW_YORK)
        rows = await self._bars(symbol, BarInterval.DAY, start, stop.astimezone(UTC))
        out: list[Bar] = []
        for row in rows:
            bar = self._bar(symbol, row, BarInterval.DAY)
            if bar is None or bar.session_date > end:
                continue
            if self._calendar.session_close(bar.session_date) > now:
                continue  # the session is still in progress: not a completed bar
            out.append(bar)
        if not out:
            raise DataUnavailable(f"alpaca: no daily bars for {symbol} up to {end}")
        return out[-count:]

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        if interval is BarInterval.DAY:
            raise ValueError("interval=1d: use daily_bars for daily bars")
        now = self._clock.now()
        rows = await self._bars(symbol, interval, start, end)
        out = []
        for row in rows:
            bar = self._bar(symbol, row, interval)
            if bar is not None and start <= bar.start < end and bar.end <= now:
                out.append(bar)
        return out

    async def minute_bars_batch(
        self, symbols: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[Bar]]:
        """Completed 1-minute bars in [start, end) for many symbols in one request (the
        engine's minute refresh: one call per minute instead of one per symbol)."""
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import StockBarsRequest

        now = self._clock.now()
        req = StockBarsRequest(
            symbol_or_symbols=list(symbols),
            timeframe=_timeframe(BarInterval.MINUTE),
            start=start,
            end=end,
            adjustment=Adjustment.ALL,
            feed=DataFeed(self.settings.feed),
        )
        raw = await self._get("minute bars", lambda: self._stocks.get_stock_bars(req))
        out: dict[str, list[Bar]] = {}
        for sym in symbols:
            rows = raw.get(sym, []) if isinstance(raw, Mapping) else []
            bars = [self._bar(sym, r, BarInterval.MINUTE) for r in rows if isinstance(r, Mapping)]
            out[sym] = [
                b for b in bars if b is not None and start <= b.start < end and b.end <= now
            ]
        return out

    # -- quotes ---------------------------------------------------------------------------

    async def _stock_snapshot(self, symbol: str) -> Mapping[str, Any]:
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import StockSnapshotRequest

        req = StockSnapshotRequest(symbol_or_symbols=[symbol], feed=DataFeed(self.settings.feed))
        raw = await self._get(f"snapshot {symbol}", lambda: self._stocks.get_stock_snapshot(req))
        snap = raw.get(symbol) if isinstance(raw, Mapping) else None
        if not isinstance(snap, Mapping):
            raise DataUnavailable(f"alpaca: no snapshot for {symbol}")
        return snap

    async def latest_quote(self, symbol: str) -> Quote:
        snap = await self._stock_snapshot(symbol)
        q = snap.get("latestQuote")
        t = snap.get("latestTrade")
        if not isinstance(q, Mapping):
            raise DataUnavailable(f"alpaca: no quote for {symbol}")
        last = _f(t.get("p")) if isinstance(t, Mapping) else math.nan
        bid, ask = _f(q.get("bp")), _f(q.get("ap"))
        if not math.isfinite(last) or last <= 0:
            last = 0.5 * (bid + ask)
        try:
            return Quote(
                symbol,
                _ts(q.get("t"), f"alpaca quote {symbol}"),
                bid,
                ask,
                last,
                _f(q.get("bs")),
                _f(q.get("as")),
            )
        except BadMarketData as exc:
            log.warning("alpaca: bad quote rejected: %s", exc)
            raise

    # -- options --------------------------------------------------------------------------

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        from alpaca.data.enums import OptionsFeed
        from alpaca.data.requests import OptionChainRequest
        from alpaca.trading.enums import ContractType

        spot_quote = await self.latest_quote(underlying)
        req = OptionChainRequest(
            underlying_symbol=underlying,
            feed=OptionsFeed(self.settings.options_feed),
            expiration_date_gte=min_expiry,
            expiration_date_lte=max_expiry,
            type=None
            if right is None
            else (ContractType.CALL if right is OptionRight.CALL else ContractType.PUT),
            strike_price_gte=None if strikes is None else strikes[0],
            strike_price_lte=None if strikes is None else strikes[1],
        )
        raw = await self._get(
            f"option chain {underlying}",
            lambda: self._options.get_option_chain(req),
            deadline_s=self.settings.timeout_s * 10,
        )
        oi = await self._open_interest(underlying, min_expiry, max_expiry)
        now = self._clock.now()
        spot = spot_quote.last
        rows: list[OptionQuote] = []
        bad = 0
        for sym, snap in raw.items() if isinstance(raw, Mapping) else []:
            if not isinstance(snap, Mapping) or not is_occ_symbol(sym):
                continue
            contract = OptionContract.from_symbol(sym)
            if contract.underlying != underlying or not min_expiry <= contract.expiry <= max_expiry:
                continue
            if right is not None and contract.right is not right:
                continue
            if strikes is not None and not strikes[0] <= float(contract.strike) <= strikes[1]:
                continue
            row = self._option_row(contract, snap, spot, now, oi.get(sym, 0))
            if row is None:
                bad += 1
            else:
                rows.append(row)
        if bad:
            log.info(
                "alpaca: %s chain: %d contract(s) without a usable quote dropped", underlying, bad
            )
        rows.sort(key=lambda q: (q.contract.expiry, q.contract.right.value, q.contract.strike))
        return OptionChain(underlying, now, spot, tuple(rows))

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        from alpaca.data.enums import OptionsFeed
        from alpaca.data.requests import OptionSnapshotRequest

        req = OptionSnapshotRequest(
            symbol_or_symbols=[contract.symbol], feed=OptionsFeed(self.settings.options_feed)
        )
        raw = await self._get(
            f"option snapshot {contract.symbol}", lambda: self._options.get_option_snapshot(req)
        )
        snap = raw.get(contract.symbol) if isinstance(raw, Mapping) else None
        if not isinstance(snap, Mapping):
            raise DataUnavailable(f"alpaca: no snapshot for {contract.symbol}")
        spot = math.nan
        if snap.get("greeks") is None or snap.get("impliedVolatility") is None:
            spot = (await self.latest_quote(contract.underlying)).last
        row = self._option_row(contract, snap, spot, self._clock.now(), 0)
        if row is None:
            raise BadMarketData(f"alpaca: {contract.symbol} has no usable quote")
        return row

    def _option_row(
        self,
        contract: OptionContract,
        snap: Mapping[str, Any],
        spot: float,
        now: datetime,
        open_interest: int,
    ) -> OptionQuote | None:
        q = snap.get("latestQuote")
        if not isinstance(q, Mapping):
            return None
        t = snap.get("latestTrade")
        bar = snap.get("dailyBar")
        last = _f(t.get("p")) if isinstance(t, Mapping) else 0.0
        volume = _f(bar.get("v")) if isinstance(bar, Mapping) else 0.0
        greeks = snap.get("greeks")
        iv_raw = snap.get("impliedVolatility")
        iv = _f(iv_raw) if iv_raw is not None else None
        delta = gamma = theta = vega = None
        if isinstance(greeks, Mapping):
            delta, gamma = _f(greeks.get("delta")), _f(greeks.get("gamma"))
            theta, vega = _f(greeks.get("theta")), _f(greeks.get("vega"))
        bid, ask = _f(q.get("bp")), _f(q.get("ap"))
        try:
            quote_ts = _ts(q.get("t"), f"alpaca option quote {contract.symbol}")
            row = OptionQuote(
                contract,
                quote_ts,
                bid,
                ask,
                last if math.isfinite(last) and last >= 0 else 0.0,
                int(volume) if math.isfinite(volume) and volume >= 0 else 0,
                open_interest,
                iv=iv if iv is not None and math.isfinite(iv) and iv > 0 else None,
                delta=_finite(delta),
                gamma=_finite(gamma),
                theta=_finite(theta),
                vega=_finite(vega),
                bid_size=_size(q.get("bs")),
                ask_size=_size(q.get("as")),
            )
        except BadMarketData as exc:
            log.warning("alpaca: bad option quote rejected: %s", exc)
            return None
        if row.delta is None or row.iv is None:
            row = self._with_computed_greeks(row, spot, now)
        return row

    def _with_computed_greeks(self, row: OptionQuote, spot: float, now: datetime) -> OptionQuote:
        """IV from the mid and BSM greeks (our units: theta per day, vega per vol point)."""
        from dataclasses import replace

        from engine.pricing import black_scholes, implied_vol_scalar

        c = row.contract
        years = max((c.expiry - now.date()).days, 0) / 365.0 + 1.0 / (365.0 * 24.0)
        if not (math.isfinite(spot) and spot > 0) or row.mid <= 0:
            return row
        iv = row.iv
        if iv is None:
            iv = implied_vol_scalar(
                row.mid, spot, float(c.strike), years, self._rate, 0.0, c.is_call
            )
        if iv is None:
            return row
        g = black_scholes(spot, float(c.strike), years, self._rate, 0.0, iv, c.is_call)
        return replace(
            row,
            iv=iv,
            delta=float(g.delta),
            gamma=float(g.gamma),
            theta=float(g.theta) / 365.0,
            vega=float(g.vega) / 100.0,
        )

    async def _open_interest(self, underlying: str, lo: date, hi: date) -> dict[str, int]:
        if self._trading is None:
            return {}
        today = self._clock.now().date()
        key = (underlying, today)
        if key in self._oi:
            return self._oi[key]
        from alpaca.trading.requests import GetOptionContractsRequest

        out: dict[str, int] = {}
        token: str | None = None
        for _ in range(50):  # pages of up to 10,000 contracts
            req = GetOptionContractsRequest(
                underlying_symbols=[underlying],
                expiration_date_gte=lo,
                expiration_date_lte=hi,
                limit=10_000,
                page_token=token,
            )
            try:
                raw = await self._get(
                    f"option contracts {underlying}",
                    lambda r=req: self._trading.get_option_contracts(r),
                )
            except (AlpacaError, DataUnavailable) as exc:
                log.info("alpaca: no open interest for %s: %s", underlying, exc)
                return out
            for c in raw.get("option_contracts") or [] if isinstance(raw, Mapping) else []:
                if isinstance(c, Mapping) and isinstance(c.get("symbol"), str):
                    v = _f(c.get("open_interest"))
                    out[c["symbol"]] = int(v) if math.isfinite(v) and v >= 0 else 0
            token = raw.get("next_page_token") if isinstance(raw, Mapping) else None
            if not token:
                break
        self._oi[key] = out
        return out

    # -- earnings -------------------------------------------------------------------------

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        if self._earnings is None:
            return []
        return await self._earnings.earnings_calendar(start, end)

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP sessions (idempotent); the object must not be used afterwards."""
        for client in (self._stocks, self._options, self._trading):
            session = getattr(client, "_session", None)
            if session is not None:
                session.close()

    async def _get(self, what: str, fn: Any, *, deadline_s: float | None = None) -> Any:
        try:
            return await self.transport.call(what, fn, idempotent=True, deadline_s=deadline_s)
        except AlpacaError as err:
            if err.kind in (FailureKind.NOT_FOUND, FailureKind.REJECTED):
                raise DataUnavailable(str(err)) from None
            raise
