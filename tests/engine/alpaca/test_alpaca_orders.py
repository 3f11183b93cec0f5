"""Submit, cancel, replace and rejections through alpaca-py against the fake Alpaca."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from alpaca_fake import FakeAlpaca

from engine.broker.alpaca import AlpacaBroker
from engine.broker.paper import OrderNotCancelable
from engine.domain import (
    Equity,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionEffect,
    Side,
    TimeInForce,
)

D = Decimal
EXP = date(2025, 3, 21)


def call(strike: str, root: str = "AAPL") -> OptionContract:
    return OptionContract(root, EXP, D(strike), OptionRight.CALL)


def stock_order(
    coid: str, qty: int = 10, limit: str | None = None, side: Side = Side.BUY
) -> OrderRequest:
    return OrderRequest(
        client_order_id=coid,
        legs=(OrderLeg(Equity("AAPL"), side),),
        quantity=qty,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        limit_price=D(limit) if limit else None,
        strategy="wsb_dip_bot",
    )


async def test_submit_market_equity_when_accepted_then_new_order_with_alpaca_id(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    order = await broker.submit(stock_order("wsb-a1"))
    assert order.status is OrderStatus.NEW
    assert order.broker_order_id == fake.by_coid("wsb-a1")["id"]  # type: ignore[index]
    body = fake.bodies[-1]
    assert body == {
        "symbol": "AAPL",
        "qty": 10,
        "side": "buy",
        "type": "market",
        "time_in_force": "day",
        "client_order_id": "wsb-a1",
    }


async def test_submit_when_same_client_order_id_again_then_same_order_and_one_post(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    first = await broker.submit(stock_order("wsb-dup"))
    again = await broker.submit(stock_order("wsb-dup"))
    assert again == first
    assert fake.count("POST", "/v2/orders") == 1


async def test_submit_when_restarted_broker_resubmits_known_id_then_no_second_order(
    fake: FakeAlpaca, creds
) -> None:
    from alpaca_fake import fast_settings

    a = AlpacaBroker(creds, fast_settings(fake))
    await a.submit(stock_order("wsb-restart"))
    await a.close()
    b = AlpacaBroker(creds, fast_settings(fake))  # a new process: nothing cached
    try:
        order = await b.submit(stock_order("wsb-restart"))
    finally:
        await b.close()
    # The second POST met Alpaca's 422 "client_order_id must be unique"; the lookup found it.
    assert order.broker_order_id == fake.by_coid("wsb-restart")["id"]  # type: ignore[index]
    assert order.status is OrderStatus.NEW
    assert len(fake.orders) == 1


async def test_submit_option_limit_when_closing_then_position_intent_and_rounded_price(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    req = OrderRequest(
        client_order_id="wsb-opt",
        legs=(OrderLeg(call("190"), Side.SELL, effect=PositionEffect.CLOSE),),
        quantity=2,
        order_type=OrderType.LIMIT,
        limit_price=D("1.234"),
    )
    order = await broker.submit(req)
    assert order.status is OrderStatus.NEW
    body = fake.bodies[-1]
    assert body["symbol"] == "AAPL250321C00190000"
    assert body["position_intent"] == "sell_to_close"
    assert body["limit_price"] == 1.24  # a sell never rounds below what was asked


async def test_submit_vertical_spread_when_combo_then_mleg_with_net_debit(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    req = OrderRequest(
        client_order_id="wsb-spread",
        legs=(OrderLeg(call("190"), Side.BUY), OrderLeg(call("200"), Side.SELL)),
        quantity=3,
        order_type=OrderType.LIMIT,
        limit_price=D("2.456"),
    )
    order = await broker.submit(req)
    assert order.status is OrderStatus.NEW
    body = fake.bodies[-1]
    assert body["order_class"] == "mleg"
    assert "symbol" not in body
    assert "side" not in body
    assert body["limit_price"] == 2.45  # a debit never rounds up
    assert body["legs"] == [
        {
            "symbol": "AAPL250321C00190000",
            "ratio_qty": 1.0,
            "side": "buy",
            "position_intent": "buy_to_open",
        },
        {
            "symbol": "AAPL250321C00200000",
            "ratio_qty": 1.0,
            "side": "sell",
            "position_intent": "sell_to_open",
        },
    ]


async def test_submit_when_insufficient_buying_power_then_rejected_order_with_alpaca_reason(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    order = await broker.submit(stock_order("wsb-big", qty=10_000, limit="200"))
    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "Alpaca rejected the order: insufficient buying power"
    assert fake.count("POST", "/v2/orders") == 1  # a refusal is final: no retry
    assert await broker.submit(stock_order("wsb-big", qty=10_000, limit="200")) == order


@pytest.mark.parametrize(
    ("legs", "tif", "expected"),
    [
        ((OrderLeg(call("5000", "SPX"), Side.BUY),), TimeInForce.DAY, "cash-settled index"),
        ((OrderLeg(call("190"), Side.BUY),), TimeInForce.GTC, "time_in_force=day only"),
        (
            (OrderLeg(Equity("AAPL"), Side.BUY, ratio=100), OrderLeg(call("190"), Side.SELL)),
            TimeInForce.DAY,
            "mixing stock and option legs",
        ),
    ],
)
async def test_submit_when_alpaca_cannot_take_it_then_rejected_without_a_request(
    broker: AlpacaBroker,
    fake: FakeAlpaca,
    legs: tuple[OrderLeg, ...],
    tif: TimeInForce,
    expected: str,
) -> None:
    req = OrderRequest("wsb-unsup", legs, 1, time_in_force=tif)
    order = await broker.submit(req)
    assert order.status is OrderStatus.REJECTED
    assert expected in (order.reject_reason or "")
    assert fake.count("POST", "/v2/orders") == 0


async def test_cancel_when_open_then_canceled_and_second_cancel_refused(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(stock_order("wsb-c", limit="150"))
    canceled = await broker.cancel("wsb-c")
    assert canceled.status is OrderStatus.CANCELED
    assert fake.count("DELETE", "/v2/orders/") == 1
    with pytest.raises(OrderNotCancelable):
        await broker.cancel("wsb-c")


async def test_replace_when_limit_changed_then_new_order_and_old_canceled_as_replaced(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(stock_order("wsb-r", limit="150"))
    new = await broker.replace("wsb-r", new_client_order_id="wsb-r-2", limit_price=D("151.5"))
    assert new.client_order_id == "wsb-r-2"
    assert new.request.limit_price == D("151.5")
    assert new.status is OrderStatus.NEW
    old = await broker.order("wsb-r")
    assert old is not None
    assert old.status is OrderStatus.CANCELED
    assert (old.reject_reason or "").startswith("replaced by ")


async def test_open_orders_when_one_filled_then_only_open_ones_with_fills_reported(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(stock_order("wsb-o1", limit="150"))
    await broker.submit(stock_order("wsb-o2", limit="150"))
    fake.fill("wsb-o1", 10, "149.5")
    fake.fill("wsb-o2", 4, "149.9")
    open_ = await broker.open_orders()
    assert [(o.client_order_id, o.status, o.filled_quantity) for o in open_] == [
        ("wsb-o2", OrderStatus.PARTIALLY_FILLED, 4)
    ]


async def test_order_when_unknown_client_id_then_none(broker: AlpacaBroker) -> None:
    assert await broker.order("wsb-nope") is None
