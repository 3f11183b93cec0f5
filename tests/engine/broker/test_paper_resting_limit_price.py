"""A limit order that rested through trading fills at its limit, not at a later, better quote.

Found auditing a lotto_scanner minute backtest (2020, research_2024): its exits are sell limits
at the mid; on the simulator's jumpy 0DTE quotes a sell resting at $0.04 was filled at a $3.05
bid a few minutes later (fill META201127P02320000, +$3,010 on 10 contracts). Over the year such
"improvements" of resting orders were $69.7k of the +$205k. A resting order is the best price
on its side once the market reaches it, so it trades there; only an order meeting the market
at an open (after a closed market) or arriving at a quote gets the quote.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from paper_desk import OPEN_TS, call, make_desk, order, put, take

from engine.broker import PaperBrokerConfig
from engine.broker.fill_model import net_per_unit, prices_at_limit
from engine.domain import OrderLeg, OrderStatus, Side, TimeInForce

D = Decimal
APRIL = date(2024, 4, 19)
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


async def test_resting_sell_when_bid_jumps_through_limit_then_fills_at_limit_not_bid() -> None:
    desk = make_desk(cash="100000", config=NO_FEES)
    c = put("150")
    desk.option(c, 0.03, 0.05)
    bought = await desk.broker.submit(order((c, Side.BUY), qty=10, limit="0.05", key="open"))
    assert bought.status is OrderStatus.FILLED
    stream = desk.broker.fills()
    await take(stream, 1)
    sell = order((c, Side.SELL), qty=10, limit="0.04", key="close")
    desk.option(c, 0.01, 0.07)
    assert (await desk.broker.submit(sell)).status is OrderStatus.NEW  # bid 0.01 < 0.04: rests

    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.option(c, 3.05, 3.20)  # the market went through 0.04 on its way up
    await desk.broker.on_market(desk.now)

    (fill,) = await take(stream, 1)
    assert (fill.price, fill.quantity, fill.liquidity) == (D("0.04"), 10, "maker")
    assert desk.broker.cash == D(100_000) - D(50) + D(40)


async def test_limit_when_placed_while_closed_then_next_open_fills_at_the_opening_quote() -> None:
    # No trading between the order and the open: the open is the first price it could meet.
    desk = make_desk(config=NO_FEES, start=OPEN_TS.replace(hour=22))
    c = call("170", expiry=APRIL)
    desk.option(c, 1.00, 1.10)
    req = order((c, Side.BUY), qty=2, limit="0.90")
    assert (await desk.broker.submit(req)).status is OrderStatus.NEW
    monday_open = OPEN_TS.replace(day=18, hour=13, minute=31)
    desk.clock.jump_to(monday_open)
    desk.option(c, 0.70, 0.75)
    await desk.broker.on_market(desk.now)
    filled = await desk.broker.order(req.client_order_id)
    assert filled is not None
    assert (filled.status, filled.avg_fill_price) == (OrderStatus.FILLED, D("0.7500"))


async def test_resting_buy_when_placed_before_a_closed_night_then_open_gap_fills_at_quote() -> None:
    # Checked during Friday's session, crossed at Monday's open: the gap is the market's.
    desk = make_desk(config=NO_FEES)
    c = call("170", expiry=APRIL)
    desk.option(c, 1.00, 1.10)
    req = order((c, Side.BUY), qty=1, limit="0.90", tif=TimeInForce.GTC)
    assert (await desk.broker.submit(req)).status is OrderStatus.NEW
    await desk.advance(OPEN_TS + timedelta(minutes=5))  # still resting on Friday
    monday = OPEN_TS.replace(day=18, hour=13, minute=31)
    desk.clock.jump_to(monday)
    desk.option(c, 0.60, 0.65)
    await desk.broker.on_market(desk.now)
    filled = await desk.broker.order(req.client_order_id)
    assert filled is not None
    assert (filled.status, filled.avg_fill_price) == (OrderStatus.FILLED, D("0.6500"))


async def test_resting_credit_spread_close_when_crossed_then_net_is_the_limit() -> None:
    desk = make_desk(config=NO_FEES)
    short_p, long_p = put("150"), put("145")
    desk.option(short_p, 2.50, 2.60)
    desk.option(long_p, 1.20, 1.30)
    opened = await desk.broker.submit(
        order((short_p, Side.SELL), (long_p, Side.BUY), qty=1, limit="-1.20", key="open")
    )
    assert opened.status is OrderStatus.FILLED
    # Buy the spread back for at most 1.00 net; at the quotes it costs 2.60 - 1.20 = 1.40.
    close = order((short_p, Side.BUY), (long_p, Side.SELL), qty=1, limit="1.00", key="close")
    assert (await desk.broker.submit(close)).status is OrderStatus.NEW
    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.option(short_p, 0.50, 0.60)
    desk.option(long_p, 0.30, 0.35)  # net 0.60 - 0.30 = 0.30: far through the 1.00 limit
    await desk.broker.on_market(desk.now)
    done = await desk.broker.order(close.client_order_id)
    assert done is not None
    assert (done.status, done.avg_fill_price) == (OrderStatus.FILLED, D("1.0000"))
    assert desk.broker.cash == D(100_000) + D(120) - D(100)


def test_prices_at_limit_when_quote_better_then_net_equals_limit_and_never_worse() -> None:
    short_p, long_p = put("150"), put("145")
    credit = order((short_p, Side.SELL), (long_p, Side.BUY), qty=1, limit="-1.00")
    got = prices_at_limit(credit, [D("2.50"), D("1.30")])  # net -1.20, 0.20 better
    assert net_per_unit(credit, got) == D("-1.00")
    assert got == [D("2.50"), D("1.50")]  # the buy leg pays the improvement back
    sells = order((short_p, Side.SELL), (long_p, Side.SELL), qty=1, limit="-1.00")
    got = prices_at_limit(sells, [D("0.80"), D("0.40")])
    assert net_per_unit(sells, got) == D("-1.00")
    assert all(p >= 0 for p in got)
    worse = order((short_p, Side.SELL), qty=1, limit="2.60")
    assert prices_at_limit(worse, [D("2.50")]) == [D("2.50")]  # not better: unchanged
    ratio = order(
        OrderLeg(short_p, Side.SELL), OrderLeg(long_p, Side.BUY, ratio=3), qty=1, limit="-1.00"
    )
    got = prices_at_limit(ratio, [D("4.00"), D("0.90")])  # net -1.30
    assert D("-1.01") < net_per_unit(ratio, got) <= D("-1.00")
