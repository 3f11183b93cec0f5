"""`AlpacaData` through alpaca-py's data clients against Alpaca-shaped market data payloads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alpaca_fake import FakeAlpaca, fast_settings

from engine.data.alpaca import AlpacaData
from engine.data.protocol import DataUnavailable
from engine.domain import BadMarketData, BarInterval, OptionContract, OptionRight
from engine.runtime.clock import SimulatedClock
from engine.secrets import AlpacaCredentials

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # Monday 10:00 New York: session in progress


def bar(t: str, o: float, h: float, lo: float, c: float | None, v: int) -> dict[str, Any]:
    return {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": v, "n": 1200, "vw": o}


def stock_bars(query: dict[str, list[str]]) -> dict[str, Any]:
    assert query["adjustment"] == ["all"]
    assert query["feed"] == ["iex"]
    if query["timeframe"] == ["1Day"]:
        rows = [
            bar("2025-02-26T05:00:00Z", 240.0, 242.0, 238.5, 241.2, 51_000_000),
            bar("2025-02-27T05:00:00Z", 241.0, 243.0, 236.0, 237.3, 48_000_000),
            bar("2025-02-28T05:00:00Z", 237.0, 241.8, 235.9, None, 60_000_000),  # NaN close
            bar("2025-03-03T05:00:00Z", 241.5, 244.0, 240.0, 243.0, 9_000_000),  # in progress
        ]
    else:
        rows = [
            bar("2025-03-03T14:57:00Z", 243.0, 243.2, 242.9, 243.1, 10_000),
            bar("2025-03-03T14:58:00Z", 243.1, 243.3, 243.0, 243.2, 12_000),
            bar("2025-03-03T14:59:00Z", 243.2, 243.4, 243.1, 243.3, 9_000),
            bar("2025-03-03T15:00:00Z", 243.3, 243.5, 243.2, 243.4, 1_000),  # not complete
        ]
    return {"bars": {"AAPL": rows}, "next_page_token": None}


def stock_snapshots(query: dict[str, list[str]]) -> dict[str, Any]:
    sym = query["symbols"][0]
    bid = {"AAPL": 243.1, "BAD": 244.0}[sym]
    return {
        sym: {
            "latestTrade": {
                "c": ["@"],
                "i": 52983525029461,
                "p": 243.15,
                "s": 100,
                "t": "2025-03-03T14:59:59.98Z",
                "x": "V",
                "z": "C",
            },
            "latestQuote": {
                "ap": 243.2,
                "as": 3,
                "ax": "V",
                "bp": bid,
                "bs": 2,
                "bx": "V",
                "c": ["R"],
                "t": "2025-03-03T14:59:59.99Z",
                "z": "C",
            },
            "minuteBar": bar("2025-03-03T14:59:00Z", 243.2, 243.4, 243.1, 243.3, 9_000),
            "dailyBar": bar("2025-03-03T05:00:00Z", 241.5, 244.0, 240.0, 243.0, 9_000_000),
            "prevDailyBar": bar("2025-02-28T05:00:00Z", 237.0, 241.8, 235.9, 241.8, 60_000_000),
        }
    }


def _quote(bp: float, ap: float) -> dict[str, Any]:
    return {
        "ap": ap,
        "as": 12,
        "ax": "C",
        "bp": bp,
        "bs": 30,
        "bx": "X",
        "c": "A",
        "t": "2025-03-03T14:59:58.259610112Z",
    }


def option_chain(query: dict[str, list[str]]) -> dict[str, Any]:
    assert query["__path__"] == ["/v1beta1/options/snapshots/AAPL"]
    assert query["feed"] == ["indicative"]
    snaps = _chain_snapshots()
    if "type" in query:  # Alpaca's own filter: C or P in the OCC symbol
        letter = {"call": "C", "put": "P"}[query["type"][0]]
        snaps = {k: v for k, v in snaps.items() if k[10] == letter}
    return {"next_page_token": None, "snapshots": snaps}


def _chain_snapshots() -> dict[str, Any]:
    return {
        "AAPL250321C00250000": {
            "greeks": {"delta": 0.35, "gamma": 0.03, "rho": 0.05, "theta": -0.12, "vega": 0.25},
            "impliedVolatility": 0.28,
            "latestQuote": _quote(3.10, 3.25),
            "latestTrade": {"c": "I", "p": 3.2, "s": 1, "t": "2025-03-03T14:50:00Z", "x": "N"},
            "dailyBar": bar("2025-03-03T05:00:00Z", 3.0, 3.3, 2.9, 3.2, 850),
        },
        "AAPL250321P00230000": {  # no greeks from Alpaca: computed by engine.pricing
            "latestQuote": _quote(2.40, 2.55),
        },
        "AAPL250321C00400000": {"latestQuote": _quote(0.0, 0.0)},  # nothing quoted
        "AAPL250321P00200000": {"latestQuote": _quote(1.50, 1.20)},  # crossed
    }


def option_contracts(query: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "option_contracts": [
            {
                "id": "00000000-0000-0000-0000-000000000001",
                "symbol": "AAPL250321C00250000",
                "name": "AAPL Mar 21 2025 250 Call",
                "status": "active",
                "tradable": True,
                "expiration_date": "2025-03-21",
                "root_symbol": "AAPL",
                "underlying_symbol": "AAPL",
                "underlying_asset_id": "00000000-0000-0000-0000-000000000000",
                "type": "call",
                "style": "american",
                "strike_price": "250",
                "size": "100",
                "open_interest": "12873",
                "open_interest_date": "2025-02-28",
                "close_price": "3.05",
                "close_price_date": "2025-02-28",
            },
        ],
        "next_page_token": None,
    }


@pytest.fixture
async def data(fake: FakeAlpaca, creds: AlpacaCredentials) -> AsyncIterator[AlpacaData]:
    fake.data = {
        "/v2/stocks/bars": stock_bars,
        "/v2/stocks/snapshots": stock_snapshots,
        "/v1beta1/options/snapshots/": option_chain,
        "/v2/options/contracts": option_contracts,
    }
    return AlpacaData(creds, fast_settings(fake), clock=SimulatedClock(NOW), symbols=["AAPL"])


async def test_daily_bars_when_session_in_progress_and_nan_row_then_only_complete_valid_bars(
    data: AlpacaData, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        bars = await data.daily_bars("AAPL", date(2025, 3, 3), 10)
    assert [b.session_date for b in bars] == [date(2025, 2, 26), date(2025, 2, 27)]
    assert bars[0].start == datetime(2025, 2, 26, 14, 30, tzinfo=UTC)  # the session open
    assert (bars[1].open, bars[1].close, bars[1].volume) == (241.0, 237.3, 48_000_000)
    assert "bad bar rejected" in caplog.text


async def test_intraday_bars_when_last_minute_not_finished_then_excluded(data: AlpacaData) -> None:
    bars = await data.intraday_bars(
        "AAPL", BarInterval.MINUTE, datetime(2025, 3, 3, 14, 58, tzinfo=UTC), NOW
    )
    assert [b.start.minute for b in bars] == [58, 59]


async def test_latest_quote_when_snapshot_then_bid_ask_last(data: AlpacaData) -> None:
    q = await data.latest_quote("AAPL")
    assert (q.bid, q.ask, q.last, q.bid_size, q.ask_size) == (243.1, 243.2, 243.15, 2, 3)


async def test_latest_quote_when_crossed_then_bad_market_data(data: AlpacaData) -> None:
    with pytest.raises(BadMarketData, match="crossed"):
        await data.latest_quote("BAD")


async def test_option_chain_when_mixed_rows_then_alpaca_greeks_computed_greeks_and_bad_rows_dropped(
    data: AlpacaData, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        chain = await data.option_chain("AAPL", date(2025, 3, 1), date(2025, 4, 30))
    assert chain.spot == 243.15
    assert [q.symbol for q in chain] == ["AAPL250321C00250000", "AAPL250321P00230000"]
    call = chain.quotes[0]
    assert (call.iv, call.delta, call.theta, call.vega) == (0.28, 0.35, -0.12, 0.25)
    assert (call.volume, call.open_interest, call.last) == (850, 12873, 3.2)
    put = chain.quotes[1]
    assert put.contract == OptionContract(
        "AAPL", date(2025, 3, 21), Decimal("230"), OptionRight.PUT
    )
    assert put.iv is not None
    assert 0.05 < put.iv < 2.0
    assert put.delta is not None
    assert -0.5 < put.delta < 0
    assert put.theta is not None
    assert put.theta < 0
    assert "crossed" in caplog.text


async def test_option_chain_when_one_right_asked_then_type_sent_and_only_that_side(
    data: AlpacaData, fake: FakeAlpaca
) -> None:
    seen: list[dict[str, list[str]]] = []

    def recording(query: dict[str, list[str]]) -> dict[str, Any]:
        seen.append(query)
        return option_chain(query)

    fake.data["/v1beta1/options/snapshots/"] = recording
    puts = await data.option_chain("AAPL", date(2025, 3, 1), date(2025, 4, 30), OptionRight.PUT)
    assert seen[-1]["type"] == ["put"]
    assert [q.symbol for q in puts] == ["AAPL250321P00230000"]
    both = await data.option_chain("AAPL", date(2025, 3, 1), date(2025, 4, 30))
    assert "type" not in seen[-1]
    assert [q.symbol for q in both] == ["AAPL250321C00250000", "AAPL250321P00230000"]


async def test_earnings_when_no_secondary_source_then_empty_not_invented(data: AlpacaData) -> None:
    assert await data.earnings_calendar(date(2025, 3, 1), date(2025, 3, 31)) == []


async def test_daily_bars_when_unknown_symbol_then_data_unavailable(
    data: AlpacaData, fake: FakeAlpaca
) -> None:
    fake.data["/v2/stocks/bars"] = lambda q: {"bars": {}, "next_page_token": None}
    with pytest.raises(DataUnavailable):
        await data.daily_bars("ZZZZ", date(2025, 3, 3), 5)


async def test_failover_refresh_when_alpaca_primary_then_one_batch_request_per_minute(
    data: AlpacaData, fake: FakeAlpaca
) -> None:
    from engine.data.failover import FailoverFeed

    clock = SimulatedClock(datetime(2025, 3, 3, 15, 0, tzinfo=UTC))
    data._clock = clock  # the same clock as the feed
    feed = FailoverFeed([data], clock=clock)
    before = fake.count("GET", "/v2/stocks/bars")
    assert await feed.refresh(clock.now(), ["AAPL", "MSFT"]) == 1
    assert fake.count("GET", "/v2/stocks/bars") == before + 1
    assert feed.minute_bars_at(clock.now())["AAPL"].close == 243.3
