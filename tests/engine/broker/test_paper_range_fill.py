"""Limit orders resting through a session fill from its range (daily-step backtests).

The rules (`engine.broker.range_fill`) on hand-built ranges, then the paper broker on the
simulated market: an order the session's range reached fills at its limit, one the open went
through fills at the opening quote, and without `session_range_fills` neither fills.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from engine.broker import PaperBroker, PaperBrokerConfig
from engine.broker.fill_model import leg_quote, net_per_unit, quote_price
from engine.broker.range_fill import at_limit, marketable, range_fill_quotes
from engine.data.calendar import default_calendar
from engine.data.session_range import RangePoint
from engine.data.simulator import SimulatedMarket
from engine.domain import (
    Equity,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    make_client_order_id,
)
from engine.runtime.clock import ReplayClock

D = Decimal
CAL = default_calendar()
TS = datetime(2024, 3, 14, 14, 0, tzinfo=UTC)
XYZ = Equity("XYZ")
LONG = OptionContract("XYZ", date(2024, 4, 19), D(100), OptionRight.CALL)
SHORT = OptionContract("XYZ", date(2024, 4, 19), D(110), OptionRight.CALL)
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


def limit(*legs: tuple[object, Side], price: str, qty: int = 1) -> OrderRequest:
    built = tuple(OrderLeg(inst, side) for inst, side in legs)  # type: ignore[arg-type]
    return OrderRequest(
        client_order_id=make_client_order_id("range", repr(built), price, qty),
        legs=built,
        quantity=qty,
        order_type=OrderType.LIMIT,
        limit_price=D(price),
        time_in_force=TimeInForce.GTC,
        strategy="test",
    )


def stock(bid: float, ask: float) -> Quote:
    return Quote("XYZ", TS, bid, ask, (bid + ask) / 2, 500.0, 500.0)


def option(contract: OptionContract, bid: float, ask: float) -> OptionQuote:
    return OptionQuote(contract, TS, bid, ask, (bid + ask) / 2, 10, 100, bid_size=20, ask_size=20)


def test_range_fill_when_high_reaches_sell_limit_at_both_moments_then_fills_at_the_limit() -> None:
    sell = limit((XYZ, Side.SELL), price="101.00")
    points = [
        RangePoint(100.5, True, ((stock(100.45, 100.55),),)),
        RangePoint(99.0, False, ((stock(98.95, 99.05),), (stock(98.95, 99.05),))),
        RangePoint(101.6, False, ((stock(101.55, 101.65),), (stock(101.50, 101.60),))),
    ]
    quotes = range_fill_quotes(sell, points)
    assert quotes is not None
    assert quote_price(XYZ, Side.SELL, quotes[0]) == D("101.00")  # the limit, no better


def test_range_fill_when_open_gaps_through_buy_limit_then_fills_at_the_opening_ask() -> None:
    buy = limit((XYZ, Side.BUY), price="100.00")
    points = [
        RangePoint(98.5, True, ((stock(98.45, 98.55),),)),
        RangePoint(97.0, False, ((stock(96.95, 97.05),), (stock(96.95, 97.05),))),
    ]
    quotes = range_fill_quotes(buy, points)
    assert quotes is not None
    assert quote_price(XYZ, Side.BUY, quotes[0]) == D("98.55")


def test_range_fill_when_marketable_at_only_one_moment_then_no_fill() -> None:
    # The option was worth the limit early in the day but not by the close: when the high
    # printed is unknown, so the order is not counted as filled.
    sell = limit((LONG, Side.SELL), price="5.00")
    points = [
        RangePoint(100.0, True, ((option(LONG, 4.60, 4.70),),)),
        RangePoint(103.0, False, ((option(LONG, 5.10, 5.20),), (option(LONG, 4.90, 5.00),))),
    ]
    assert range_fill_quotes(sell, points) is None


def test_range_fill_when_market_order_or_never_reached_then_none() -> None:
    points = [RangePoint(100.0, True, ((stock(99.95, 100.05),),))]
    market = OrderRequest(
        client_order_id="m", legs=(OrderLeg(XYZ, Side.BUY),), quantity=1, strategy="test"
    )
    assert range_fill_quotes(market, points) is None
    assert range_fill_quotes(limit((XYZ, Side.BUY), price="99.00"), points) is None


def test_at_limit_when_combo_credit_close_then_net_is_exactly_the_limit() -> None:
    # Closing a call debit spread for a credit of at least 1.50: sell the long, buy the short.
    close = limit((LONG, Side.SELL), (SHORT, Side.BUY), price="-1.50")
    row = [leg_quote(option(LONG, 3.00, 3.10)), leg_quote(option(SHORT, 1.15, 1.20))]
    assert marketable(close, row)
    moved = at_limit(close, row)
    prices = [
        quote_price(leg.instrument, leg.side, q) for leg, q in zip(close.legs, moved, strict=True)
    ]
    assert net_per_unit(close, prices) == D("-1.50")
    assert prices == [D("3.00"), D("1.50")]  # the bought leg paid the slack


def test_range_fill_when_combo_reached_then_both_legs_fill_at_the_net_limit() -> None:
    close = limit((LONG, Side.SELL), (SHORT, Side.BUY), price="-1.50")
    points = [
        RangePoint(104.0, True, ((option(LONG, 1.00, 1.10), option(SHORT, 0.20, 0.25)),)),
        RangePoint(
            108.0,
            False,
            (
                (option(LONG, 3.20, 3.30), option(SHORT, 1.30, 1.35)),
                (option(LONG, 3.00, 3.10), option(SHORT, 1.15, 1.20)),
            ),
        ),
    ]
    quotes = range_fill_quotes(close, points)
    assert quotes is not None
    prices = [
        quote_price(leg.instrument, leg.side, q) for leg, q in zip(close.legs, quotes, strict=True)
    ]
    assert net_per_unit(close, prices) == D("-1.50")


# -- the paper broker on the simulated market ------------------------------------------------


def _sim(clock: ReplayClock) -> SimulatedMarket:
    return SimulatedMarket(
        clock, seed=5, history_days=20, horizon_days=120, universe=["AAPL"], closing_auction=True
    )


def _broker(market: SimulatedMarket, clock: ReplayClock, *, range_fills: bool) -> PaperBroker:
    return PaperBroker(
        market,
        clock,
        config=NO_FEES,
        initial_cash=D(100_000),
        calendar=CAL,
        session_range_fills=range_fills,
    )


def _dip_day(market: SimulatedMarket) -> tuple[date, float]:
    """A session whose low sat well below both its open and the previous close and its close,
    and a buy limit in between: reached during the day, never at a quote the old model saw."""
    p = market.paths
    j = list(market.symbols()).index("AAPL")
    sessions = market.sessions
    for t in range(25, len(sessions) - 5):
        low, open_, close, prev = (
            float(p.low[t, j]),
            float(p.open[t, j]),
            float(p.close[t, j]),
            float(p.close[t - 1, j]),
        )
        floor = min(open_, close, prev)
        if floor - low > 0.006 * floor:
            return sessions[t], round(low + 0.4 * (floor - low), 2)
    raise AssertionError("no session with a deep enough dip")


@pytest.mark.parametrize("range_fills", [True, False])
async def test_broker_when_session_low_reaches_resting_buy_then_filled_at_limit_only_with_ranges(
    range_fills: bool,
) -> None:
    clock = ReplayClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    market = _sim(clock)
    day, price = _dip_day(market)
    before = CAL.previous_session(day)
    clock.jump_to(CAL.session_close(before) - timedelta(seconds=1))
    broker = _broker(market, clock, range_fills=range_fills)
    buy = limit((Equity("AAPL"), Side.BUY), price=f"{price:.2f}", qty=10)
    placed = await broker.submit(buy)
    assert placed.status is OrderStatus.NEW  # below the close: it rests
    clock.jump_to(CAL.session_close(day) - timedelta(seconds=1))
    await broker.on_market(clock.now())
    order = await broker.order(buy.client_order_id)
    assert order is not None
    if range_fills:
        assert order.status is OrderStatus.FILLED
        assert order.avg_fill_price == D(f"{price:.2f}")
    else:
        assert order.status is OrderStatus.NEW  # the closing quote never came down to it


async def test_broker_when_option_exit_reached_at_the_high_then_filled_at_its_limit() -> None:
    clock = ReplayClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    market = _sim(clock)
    p = market.paths
    j = list(market.symbols()).index("AAPL")
    # A session that opened at or below the previous close, rallied well above it and then
    # gave the rally back by its close.
    t = next(
        t
        for t in range(25, len(market.sessions) - 5)
        if float(p.high[t, j]) > 1.012 * max(float(p.close[t - 1, j]), float(p.close[t, j]))
        and float(p.open[t, j]) <= float(p.close[t - 1, j])
    )
    day = market.sessions[t]
    before = market.sessions[t - 1]
    clock.jump_to(CAL.session_close(before) - timedelta(seconds=1))
    broker = _broker(market, clock, range_fills=True)
    chain = market.option_chain_sync("AAPL", day + timedelta(days=20), day + timedelta(days=50))
    expiry = chain.expiries[0]
    strikes = np.array(
        [float(q.contract.strike) for q in chain.for_expiry(expiry, OptionRight.CALL)]
    )
    k = float(strikes[np.argmin(np.abs(strikes - chain.spot))])
    call = next(
        q.contract
        for q in chain.for_expiry(expiry, OptionRight.CALL)
        if float(q.contract.strike) == k
    )
    bought = await broker.submit(
        OrderRequest(
            client_order_id="buy-call", legs=(OrderLeg(call, Side.BUY),), quantity=1, strategy="t"
        )
    )
    assert bought.status is OrderStatus.FILLED
    own = market.option_quote_sync(call)
    target = D(f"{own.bid + 0.5 * (own.ask - own.bid) + 0.05:.2f}")  # above mid: rests
    exit_ = limit((call, Side.SELL), price=str(target))
    assert (await broker.submit(exit_)).status is OrderStatus.NEW
    clock.jump_to(CAL.session_close(day) - timedelta(seconds=1))
    await broker.on_market(clock.now())
    order = await broker.order(exit_.client_order_id)
    assert order is not None
    assert order.status is OrderStatus.FILLED
    assert order.avg_fill_price == target
