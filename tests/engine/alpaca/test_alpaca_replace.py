"""AlpacaBroker.replace through alpaca-py's TradingClient against the loopback fake Alpaca:
PATCH /v2/orders/{id}, the old order replaced, the new one tracked, lost responses answered
by a lookup (never a second PATCH), refusals leave the old order open."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from alpaca_fake import FakeAlpaca, Fault

from engine.broker.alpaca import AlpacaBroker
from engine.broker.replacement import OrderNotReplaceable, replacement_client_order_id
from engine.domain import Equity, OrderLeg, OrderRequest, OrderStatus, OrderType, Side

D = Decimal


def limit_buy(coid: str, qty: int = 10, limit: str = "150") -> OrderRequest:
    return OrderRequest(
        client_order_id=coid,
        legs=(OrderLeg(Equity("AAPL"), Side.BUY),),
        quantity=qty,
        order_type=OrderType.LIMIT,
        limit_price=D(limit),
        strategy="wsb_dip_bot",
    )


def _patch_route(fake: FakeAlpaca, coid: str) -> str:
    placed = fake.by_coid(coid)
    assert placed is not None
    return f"PATCH /v2/orders/{placed['id']}"


async def test_replace_when_limit_changed_then_old_replaced_and_new_order_tracked(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(limit_buy("wsb-r1"))
    old_id = fake.by_coid("wsb-r1")["id"]  # type: ignore[index]
    new = await broker.replace("wsb-r1", limit_price=D("151.5"))
    new_coid = replacement_client_order_id("wsb-r1", 1)
    assert fake.replace_bodies == [{"qty": 10, "limit_price": 151.5, "client_order_id": new_coid}]
    assert (new.client_order_id, new.status, new.request.limit_price) == (
        new_coid,
        OrderStatus.NEW,
        D("151.5"),
    )
    at_alpaca = fake.by_coid(new_coid)
    assert at_alpaca is not None
    assert new.broker_order_id == at_alpaca["id"]
    assert at_alpaca["replaces"] == old_id
    assert fake.orders[old_id]["status"] == "replaced"
    assert fake.orders[old_id]["replaced_by"] == at_alpaca["id"]
    old = await broker.order("wsb-r1")
    assert old is not None
    assert old.status is OrderStatus.CANCELED
    assert old.reject_reason == f"replaced by {at_alpaca['id']}"
    assert [o.client_order_id for o in await broker.open_orders()] == [new_coid]
    # The replacement is ours: its fill carries our request's strategy.
    stream = broker.fills()
    fake.fill(new_coid, 10, "151.2")
    assert await broker.catch_up() == 1
    fill = await asyncio.wait_for(stream.__anext__(), timeout=2)
    assert (fill.client_order_id, fill.quantity, fill.price, fill.strategy) == (
        new_coid,
        10,
        D("151.2"),
        "wsb_dip_bot",
    )
    assert broker.replace_patches == 1


async def test_replace_when_response_lost_then_found_by_client_id_and_no_second_patch(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(limit_buy("wsb-r2"))
    fake.fault(_patch_route(fake, "wsb-r2"), Fault(None, after_processing=True))
    new = await broker.replace("wsb-r2", quantity=12)
    new_coid = replacement_client_order_id("wsb-r2", 1)
    at_alpaca = fake.by_coid(new_coid)
    assert at_alpaca is not None
    assert (new.client_order_id, new.broker_order_id, new.request.quantity) == (
        new_coid,
        at_alpaca["id"],
        12,
    )
    assert fake.count("PATCH", "/v2/orders/") == 1
    assert broker.replace_patches == 1
    assert fake.count("GET", "/v2/orders:by_client_order_id") >= 1
    assert sum(1 for o in fake.orders.values() if o["replaces"]) == 1
    # Retried with the same id: the known replacement, still no second PATCH.
    again = await broker.replace("wsb-r2", quantity=12, new_client_order_id=new_coid)
    assert again.broker_order_id == new.broker_order_id
    # Retried without an id: the old order is replaced now, so it is refused, not re-sent.
    with pytest.raises(OrderNotReplaceable, match="canceled"):
        await broker.replace("wsb-r2", quantity=12)
    assert fake.count("PATCH", "/v2/orders/") == 1


async def test_replace_when_partially_filled_then_patch_asks_for_the_rest_only(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(limit_buy("wsb-r3"))
    fake.fill("wsb-r3", 4, "149.9")
    new = await broker.replace("wsb-r3", quantity=8, limit_price=D("150.1"))
    assert fake.replace_bodies[-1]["qty"] == 4
    assert new.request.quantity == 4
    old = await broker.order("wsb-r3")
    assert old is not None
    assert (old.status, old.filled_quantity) == (OrderStatus.CANCELED, 4)


async def test_replace_when_alpaca_refuses_then_rejected_under_new_id_and_old_still_open(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(limit_buy("wsb-r4"))
    route = _patch_route(fake, "wsb-r4")
    fake.fault(route, Fault(422, {"code": 42210000, "message": "order is not replaceable"}))
    refused = await broker.replace("wsb-r4", limit_price=D("149"))
    assert refused.status is OrderStatus.REJECTED
    assert refused.client_order_id == replacement_client_order_id("wsb-r4", 1)
    assert "order is not replaceable" in (refused.reject_reason or "")
    old = await broker.order("wsb-r4")
    assert old is not None
    assert old.status is OrderStatus.NEW
    # The next attempt takes the next id and goes through.
    new = await broker.replace("wsb-r4", limit_price=D("149"))
    assert new.client_order_id == replacement_client_order_id("wsb-r4", 2)
    assert new.status is OrderStatus.NEW
    assert fake.count("PATCH", "/v2/orders/") == 2


async def test_replace_when_filled_or_market_then_refused_without_a_patch(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    await broker.submit(limit_buy("wsb-r5", qty=2))
    fake.fill("wsb-r5", 2, "149.5")
    with pytest.raises(OrderNotReplaceable, match="filled"):
        await broker.replace("wsb-r5", limit_price=D("149"))
    market = OrderRequest("wsb-r6", (OrderLeg(Equity("AAPL"), Side.BUY),), 3)
    await broker.submit(market)
    with pytest.raises(OrderNotReplaceable, match="market order"):
        await broker.replace("wsb-r6", quantity=4)
    assert fake.count("PATCH", "/v2/orders/") == 0
