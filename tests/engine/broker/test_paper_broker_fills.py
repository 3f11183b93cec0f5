"""Paper broker execution: market and limit fills, combos, partial fills, cancels."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from paper_desk import AAPL, OPEN_TS, call, make_desk, order, put, take

from engine.broker import OrderNotCancelable, PaperBrokerConfig, UnknownOrder
from engine.domain import OrderLeg, OrderStatus, Side, TimeInForce

D = Decimal
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


async def test_market_buy_equity_when_open_then_fills_at_ask_plus_slippage_with_commission() -> (
    None
):
    desk = make_desk(
        config=PaperBrokerConfig(equity_slippage_bps=D(2), commission_per_share=D("0.005"))
    )
    desk.quote("AAPL", 249.90, 250.00)
    stream = desk.broker.fills()
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=100))
    assert result.status is OrderStatus.FILLED
    (fill,) = await take(stream, 1)
    assert (fill.price, fill.quantity, fill.commission) == (D("250.05"), 100, D("0.500"))
    assert result.avg_fill_price == D("250.05")
    assert desk.broker.cash == D(100_000) - D("25005.00") - D("0.5")
    (pos,) = await desk.broker.positions()
    assert (pos.symbol, pos.quantity, pos.avg_price) == ("AAPL", 100, D("250.05"))


async def test_market_sell_equity_when_held_then_fills_at_bid_minus_slippage() -> None:
    desk = make_desk(config=PaperBrokerConfig(equity_slippage_bps=D(2)))
    desk.quote("AAPL", 249.90, 250.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="in"))
    sold = await desk.broker.submit(order((AAPL, Side.SELL), qty=10, key="out"))
    _, fill = await take(stream, 2)
    # 2 bps of the 250.00 reference is 0.05 below the 249.90 bid.
    assert (sold.status, fill.price, fill.side) == (OrderStatus.FILLED, D("249.85"), Side.SELL)
    assert await desk.broker.positions() == []


async def test_market_buy_option_when_open_then_ask_plus_spread_fraction_and_per_contract_fee() -> (
    None
):
    desk = make_desk()  # defaults: 0.1 of the half-spread, $0.65 per contract
    c = call("170")
    desk.option(c, 2.00, 2.20)
    stream = desk.broker.fills()
    result = await desk.broker.submit(order((c, Side.BUY), qty=3))
    (fill,) = await take(stream, 1)
    assert (result.status, fill.price, fill.commission) == (
        OrderStatus.FILLED,
        D("2.21"),
        D("1.95"),
    )
    assert fill.cash_delta == D("-664.95")
    assert desk.broker.cash == D(100_000) - D("664.95")


async def test_limit_buy_when_marketable_then_fills_at_ask_not_at_limit() -> None:
    desk = make_desk()
    desk.quote("AAPL", 99.98, 100.02)
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=5, limit="101.00"))
    assert (result.status, result.avg_fill_price) == (OrderStatus.FILLED, D("100.02"))


async def test_limit_buy_when_below_ask_then_rests_and_fills_on_a_later_tick_as_maker() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10)
    stream = desk.broker.fills()
    req = order((AAPL, Side.BUY), qty=5, limit="99.50")
    resting = await desk.broker.submit(req)
    assert resting.status is OrderStatus.NEW
    assert [o.client_order_id for o in await desk.broker.open_orders()] == [req.client_order_id]

    await desk.advance(OPEN_TS + timedelta(minutes=1))  # unchanged quote: still resting
    assert (await desk.broker.order(req.client_order_id)).status is OrderStatus.NEW  # type: ignore[union-attr]

    desk.clock.jump_to(OPEN_TS + timedelta(minutes=2))
    desk.quote("AAPL", 99.30, 99.40)
    await desk.broker.on_market(desk.now)
    (fill,) = await take(stream, 1)
    # The market traded down through 99.50 while the order rested: it fills at its limit,
    # not at the 99.40 the ask had reached by the next update.
    assert (fill.price, fill.liquidity) == (D("99.50"), "maker")
    assert (await desk.broker.order(req.client_order_id)).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert await desk.broker.open_orders() == []


async def test_limit_when_only_part_displayed_then_partial_fill_then_rest_on_later_tick() -> None:
    desk = make_desk(config=NO_FEES)
    c = call("170")
    desk.option(c, 2.00, 2.10, ask_size=3)
    stream = desk.broker.fills()
    req = order((c, Side.BUY), qty=5, limit="2.20")
    first = await desk.broker.submit(req)
    assert (first.status, first.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 3)

    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.option(c, 2.05, 2.20, ask_size=10)
    await desk.broker.on_market(desk.now)
    fills = await take(stream, 2)
    assert [(f.quantity, f.price) for f in fills] == [(3, D("2.10")), (2, D("2.20"))]
    assert [f.fill_id for f in fills] == [
        f"{req.client_order_id}:0:3",
        f"{req.client_order_id}:0:5",
    ]
    done = await desk.broker.order(req.client_order_id)
    assert done is not None
    assert (done.status, done.filled_quantity) == (OrderStatus.FILLED, 5)
    assert done.avg_fill_price == D("2.1400")  # (3 x 2.10 + 2 x 2.20) / 5


async def test_ioc_limit_when_partially_displayed_then_fills_shown_size_and_cancels_rest() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02, ask_size=40)
    result = await desk.broker.submit(
        order((AAPL, Side.BUY), qty=100, limit="100.05", tif=TimeInForce.IOC)
    )
    assert (result.status, result.filled_quantity) == (OrderStatus.CANCELED, 40)
    assert result.reject_reason is not None
    assert "IOC" in result.reject_reason
    assert await desk.broker.open_orders() == []


async def test_combo_market_when_debit_spread_then_both_legs_fill_and_net_is_debit() -> None:
    desk = make_desk(config=NO_FEES)
    long_c, short_c = call("170"), call("180")
    desk.option(long_c, 5.00, 5.20)
    desk.option(short_c, 1.50, 1.60)
    stream = desk.broker.fills()
    result = await desk.broker.submit(order((long_c, Side.BUY), (short_c, Side.SELL), qty=2))
    fills = await take(stream, 2)
    assert [(f.leg_index, f.side, f.price, f.quantity) for f in fills] == [
        (0, Side.BUY, D("5.20"), 2),
        (1, Side.SELL, D("1.50"), 2),
    ]
    assert (result.status, result.avg_fill_price) == (OrderStatus.FILLED, D("3.7000"))
    assert desk.broker.cash == D(100_000) - D(740)
    assert (await desk.broker.account()).reserved_collateral == 0  # a debit spread reserves nothing


async def test_combo_limit_when_credit_spread_net_crosses_then_fills_at_quotes() -> None:
    desk = make_desk(config=NO_FEES)
    short_p, long_p = put("150"), put("145")
    desk.option(short_p, 2.50, 2.60)
    desk.option(long_p, 1.20, 1.30)
    # Net at the quotes: -2.50 + 1.30 = -1.20, a credit better than the -1.00 asked.
    result = await desk.broker.submit(
        order((short_p, Side.SELL), (long_p, Side.BUY), qty=1, limit="-1.00")
    )
    assert (result.status, result.avg_fill_price) == (OrderStatus.FILLED, D("-1.2000"))
    account = await desk.broker.account()
    assert desk.broker.cash == D(100_000) + D(120)
    assert account.reserved_collateral == D(500)  # width 5 x 100
    assert account.buying_power == D(100_000) + D(120) - D(500)


async def test_combo_limit_when_net_not_good_enough_then_rests_without_any_leg_filled() -> None:
    desk = make_desk(config=NO_FEES)
    short_p, long_p = put("150"), put("145")
    desk.option(short_p, 2.50, 2.60)
    desk.option(long_p, 1.20, 1.30)
    result = await desk.broker.submit(
        order((short_p, Side.SELL), (long_p, Side.BUY), qty=1, limit="-1.50")
    )
    assert (result.status, result.filled_quantity) == (OrderStatus.NEW, 0)
    assert await desk.broker.positions() == []


async def test_combo_when_one_leg_unquotable_then_whole_combo_rejected_nothing_filled() -> None:
    desk = make_desk()
    listed, missing = call("170"), call("999")
    desk.option(listed, 5.00, 5.20)
    result = await desk.broker.submit(order((listed, Side.BUY), (missing, Side.SELL), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert result.reject_reason is not None
    assert result.reject_reason.startswith(f"no quote for {missing.symbol}")
    assert await desk.broker.positions() == []
    assert desk.broker.cash == D(100_000)


async def test_combo_limit_when_sizes_thin_then_partial_in_whole_combo_units() -> None:
    desk = make_desk(config=NO_FEES)
    long_c, short_c = call("170"), call("180")
    desk.option(long_c, 5.00, 5.20, ask_size=5)
    desk.option(short_c, 1.50, 1.60, bid_size=10)
    req = order(
        OrderLeg(long_c, Side.BUY, ratio=2), OrderLeg(short_c, Side.SELL), qty=5, limit="9.00"
    )
    result = await desk.broker.submit(req)
    # The long leg shows 5 contracts at ratio 2: two whole combo units, the rest rests.
    assert (result.status, result.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 2)
    qty = {p.symbol: p.quantity for p in await desk.broker.positions()}
    assert qty == {long_c.symbol: 4, short_c.symbol: -2}
    assert result.avg_fill_price == D("8.9000")  # 2 x 5.20 - 1.50


async def test_cancel_when_resting_then_canceled_and_hold_released() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.10)
    req = order((AAPL, Side.BUY), qty=100, limit="90.00")
    await desk.broker.submit(req)
    held = await desk.broker.account()
    assert held.buying_power == D(100_000) - D(9_000)
    canceled = await desk.broker.cancel(req.client_order_id)
    assert canceled.status is OrderStatus.CANCELED
    assert await desk.broker.open_orders() == []
    assert (await desk.broker.account()).buying_power == D(100_000)
    # A canceled order never fills, even when the market comes to it.
    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.quote("AAPL", 89.00, 89.50)
    await desk.broker.on_market(desk.now)
    assert await desk.broker.positions() == []


async def test_cancel_when_filled_then_refused_clearly() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10)
    req = order((AAPL, Side.BUY), qty=1)
    await desk.broker.submit(req)
    with pytest.raises(OrderNotCancelable, match="is filled and cannot be canceled"):
        await desk.broker.cancel(req.client_order_id)
    with pytest.raises(UnknownOrder, match="nope"):
        await desk.broker.cancel("nope")


async def test_day_order_when_session_closes_then_expired_and_gtc_keeps_resting() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10)
    day = order((AAPL, Side.BUY), qty=1, limit="90.00", key="day")
    gtc = order((AAPL, Side.BUY), qty=1, limit="90.00", tif=TimeInForce.GTC, key="gtc")
    await desk.broker.submit(day)
    await desk.broker.submit(gtc)
    await desk.advance(OPEN_TS.replace(hour=20, minute=1))
    expired = await desk.broker.order(day.client_order_id)
    assert expired is not None
    assert expired.status is OrderStatus.EXPIRED
    assert [o.client_order_id for o in await desk.broker.open_orders()] == [gtc.client_order_id]


async def test_limit_when_market_closed_then_accepted_and_fills_at_next_open() -> None:
    desk = make_desk(start=OPEN_TS.replace(hour=22))
    desk.quote("AAPL", 100.00, 100.10)
    req = order((AAPL, Side.BUY), qty=2, limit="100.50")
    resting = await desk.broker.submit(req)
    assert resting.status is OrderStatus.NEW
    await desk.advance(OPEN_TS.replace(hour=23))  # still closed: nothing fills
    assert await desk.broker.positions() == []
    monday_open = OPEN_TS.replace(day=18, hour=13, minute=31)
    desk.clock.jump_to(monday_open)
    desk.quote("AAPL", 100.20, 100.30)
    await desk.broker.on_market(desk.now)
    filled = await desk.broker.order(req.client_order_id)
    assert filled is not None
    assert (filled.status, filled.avg_fill_price) == (OrderStatus.FILLED, D("100.30"))


async def test_single_leg_sell_when_limit_written_as_net_credit_then_read_as_price() -> None:
    desk = make_desk(config=NO_FEES)
    p = put("150")
    desk.option(p, 2.00, 2.10)
    # Proposals write credits as negative nets; for one leg the sign carries no meaning.
    as_credit = await desk.broker.submit(order((p, Side.SELL), qty=1, limit="-1.95", key="neg"))
    as_price = await desk.broker.submit(order((p, Side.SELL), qty=1, limit="2.05", key="pos"))
    assert (as_credit.status, as_credit.avg_fill_price) == (OrderStatus.FILLED, D("2.00"))
    assert as_price.status is OrderStatus.NEW  # 2.05 is above the 2.00 bid: rests
