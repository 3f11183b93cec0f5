"""`session_range_quotes` (simulator and CSV replay): the prices a session certainly traded at,
quoted as the market itself would have quoted them there, and only once the range is known."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from manual_clock import ManualClock

from engine.backtest.sources import HistoricalMarket
from engine.data import CsvReplayMarket, DataUnavailable, default_calendar
from engine.data.session_range import RangePoint
from engine.data.simulator import SimulatedMarket
from engine.domain import Equity, OptionContract, OptionQuote, OptionRight, Quote

CAL = default_calendar()
SIM_DAY = date(2026, 1, 14)
CSV_DAY = date(2015, 6, 10)

Setup = tuple[Any, ManualClock, date]


def _sim(_: Path) -> Setup:
    clock = ManualClock(CAL.session_open(SIM_DAY))
    market = SimulatedMarket(
        clock,
        seed=3,
        history_days=20,
        horizon_days=20,
        universe=["AAPL", "SPY"],
        closing_auction=True,
    )
    return market, clock, SIM_DAY


def _csv(prices_dir: Path, cls: type[CsvReplayMarket] = CsvReplayMarket) -> Setup:
    clock = ManualClock(CAL.session_open(CSV_DAY))
    market = cls(prices_dir, clock, symbols=["AAPL", "SPY"], closing_auction=True)
    return market, clock, CSV_DAY


@pytest.fixture(params=["sim", "csv", "historical"])
def make_setup(request: pytest.FixtureRequest) -> Callable[[], Setup]:
    if request.param == "sim":
        return lambda: _sim(Path())
    prices_dir: Path = request.getfixturevalue("prices_dir")
    # The backtest's CSV source adds inferred earnings to the surface: what-if quotes too.
    cls = HistoricalMarket if request.param == "historical" else CsvReplayMarket
    return lambda: _csv(prices_dir, cls)


def _near_calls(market: Any, day: date, n: int) -> list[OptionContract]:
    chain = market.option_chain_sync("AAPL", day + timedelta(days=14), day + timedelta(days=45))
    expiry = chain.expiries[0]
    calls = sorted(
        chain.for_expiry(expiry, OptionRight.CALL),
        key=lambda q: abs(float(q.contract.strike) - chain.spot),
    )
    return sorted(q.contract for q in calls[:n])


def _last_minute(clock: ManualClock, day: date) -> None:
    clock.set(CAL.session_close(day) - timedelta(seconds=1))


def _quote_fields(q: Quote | OptionQuote) -> tuple[float, float]:
    return q.bid, q.ask


def test_session_range_when_at_last_minute_then_open_low_high_of_the_daily_bar(
    make_setup: Callable[[], Setup],
) -> None:
    market, clock, day = make_setup()
    _last_minute(clock, day)
    bar = market.daily_bars_at(day)["AAPL"]
    points = market.session_range_quotes([Equity("AAPL")], day)
    assert [(p.price, p.opening) for p in points] == [
        (bar.open, True),
        (bar.low, False),
        (bar.high, False),
    ]
    assert [len(p.rows) for p in points] == [1, 2, 2]  # the open once; extremes at two moments
    for p in points:
        for (q,) in p.rows:
            assert q.bid <= p.price <= q.ask


def test_session_range_when_opening_row_then_equals_the_markets_own_quotes_at_the_open(
    make_setup: Callable[[], Setup],
) -> None:
    market, clock, day = make_setup()
    calls = _near_calls(market, day, 1)
    own_option = market.option_quote_sync(calls[0])
    own_stock = market.latest_quote_sync("AAPL")
    _last_minute(clock, day)
    fresh, fresh_clock, _ = make_setup()  # nothing cached: the what-if path prices it anew
    _last_minute(fresh_clock, day)
    (opening, *_) = fresh.session_range_quotes([calls[0], Equity("AAPL")], day)
    option_q, stock_q = opening.rows[0]
    assert _quote_fields(option_q) == _quote_fields(own_option)
    assert option_q.iv == own_option.iv
    assert _quote_fields(stock_q) == _quote_fields(own_stock)


def test_session_range_when_call_then_worth_more_at_the_high_than_at_the_low(
    make_setup: Callable[[], Setup],
) -> None:
    market, clock, day = make_setup()
    calls = _near_calls(market, day, 1)
    _last_minute(clock, day)
    points = {p.price: p for p in market.session_range_quotes(calls, day)}
    bar = market.daily_bars_at(day)["AAPL"]
    assert bar.high > bar.low
    low, high = points[bar.low], points[bar.high]
    for at_low, at_high in zip(low.rows, high.rows, strict=True):
        assert at_high[0].bid >= at_low[0].bid
        assert at_high[0].ask > at_low[0].ask


def test_session_range_when_combo_then_strikes_inside_the_range_are_prices_too(
    make_setup: Callable[[], Setup],
) -> None:
    market, clock, day = make_setup()
    _last_minute(clock, day)
    bar = market.daily_bars_at(day)["SPY"]
    clock.set(CAL.session_open(day))
    chain = market.option_chain_sync("SPY", day + timedelta(days=14), day + timedelta(days=45))
    strikes = sorted({q.contract.strike for q in chain.quotes})
    inside = [k for k in strikes if bar.low < float(k) < bar.high]
    outside = [k for k in strikes if float(k) > bar.high]
    assert inside, f"SPY lists $1 strikes: some must lie inside {bar.low}..{bar.high}"
    expiry = chain.expiries[0]
    legs = [
        OptionContract("SPY", expiry, inside[0], OptionRight.CALL),
        OptionContract("SPY", expiry, outside[0], OptionRight.CALL),
    ]
    _last_minute(clock, day)
    points = market.session_range_quotes(legs, day)
    prices = [p.price for p in points]
    assert float(inside[0]) in prices
    assert float(outside[0]) not in prices  # outside the range: never traded there
    single = market.session_range_quotes(legs[:1], day)
    assert float(inside[0]) not in [p.price for p in single]  # one option is monotone


def test_session_range_when_asked_before_the_last_minute_then_refused(
    make_setup: Callable[[], Setup],
) -> None:
    market, clock, day = make_setup()
    clock.set(CAL.session_close(day) - timedelta(minutes=2))
    with pytest.raises(DataUnavailable, match="last minute"):
        market.session_range_quotes([Equity("AAPL")], day)
    _last_minute(clock, day)
    with pytest.raises(DataUnavailable, match="last minute"):
        market.session_range_quotes([Equity("AAPL")], CAL.previous_session(day))


def test_session_range_when_two_underlyings_then_refused(prices_dir: Path) -> None:
    market, clock, day = _csv(prices_dir)
    _last_minute(clock, day)
    with pytest.raises(DataUnavailable, match="one underlying"):
        market.session_range_quotes([Equity("AAPL"), Equity("SPY")], day)


def test_range_point_rows_are_instrument_ordered() -> None:
    market, clock, day = _sim(Path())
    calls = _near_calls(market, day, 1)
    _last_minute(clock, day)
    points: list[RangePoint] = market.session_range_quotes([Equity("AAPL"), calls[0]], day)
    for p in points:
        for row in p.rows:
            assert isinstance(row[0], Quote)
            assert isinstance(row[1], OptionQuote)
            assert row[1].contract == calls[0]
            assert isinstance(row[1].ts, datetime)
