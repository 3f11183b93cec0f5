"""PaperBroker.replace: limit and quantity changes, partial fills kept, refusals, idempotency."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from paper_desk import AAPL, make_desk, order

from engine.broker import PaperBrokerConfig, UnknownOrder
from engine.broker.replacement import (
    REPLACED_BY,
    OrderNotReplaceable,
    replacement_client_order_id,
)
from engine.domain import Order, OrderStatus, Position, Side

D = Decimal
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


async def _resting_buy(desk: object, qty: int = 10, limit: str = "99.00") -> Order:
    broker = desk.broker  # type: ignore[attr-defined]
    placed: Order = await broker.submit(order((AAPL, Side.BUY), qty=qty, limit=limit))
    assert placed.status is OrderStatus.NEW
    return placed


async def test_replace_when_limit_changed_then_new_order_rests_and_old_canceled_as_replaced() -> (
    None
):
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    old = await _resting_buy(desk)
    assert desk.broker.open_order_holds() == D("990.00")
    new = await desk.broker.replace(old.client_order_id, limit_price=D("99.50"))
    assert new.client_order_id == replacement_client_order_id(old.client_order_id, 1)
    assert (new.status, new.request.quantity, new.request.limit_price) == (
        OrderStatus.NEW,
        10,
        D("99.50"),
    )
    gone = await desk.broker.order(old.client_order_id)
    assert gone is not None
    assert gone.status is OrderStatus.CANCELED
    assert gone.reject_reason == f"{REPLACED_BY}{new.client_order_id}"
    assert [o.client_order_id for o in await desk.broker.open_orders()] == [new.client_order_id]
    # The old hold is released, the new one taken: never both.
    assert desk.broker.open_order_holds() == D("995.00")


async def test_replace_when_quantity_lowered_then_replacement_for_new_quantity_and_hold_shrinks() -> (
    None
):
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    old = await _resting_buy(desk)
    new = await desk.broker.replace(old.client_order_id, quantity=4)
    assert (new.request.quantity, new.request.limit_price) == (4, D("99.00"))
    assert desk.broker.open_order_holds() == D("396.00")


async def test_replace_when_new_limit_marketable_then_replacement_fills_at_once() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    stream = desk.broker.fills()
    old = await _resting_buy(desk)
    new = await desk.broker.replace(old.client_order_id, limit_price=D("100.05"))
    assert (new.status, new.filled_quantity, new.avg_fill_price) == (
        OrderStatus.FILLED,
        10,
        D("100.02"),
    )
    fill = await asyncio.wait_for(stream.__anext__(), timeout=1)
    assert fill.client_order_id == new.client_order_id
    assert await desk.broker.open_orders() == []


async def test_replace_when_partially_filled_then_old_keeps_fills_and_new_trades_the_rest() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02, ask_size=3)
    old = await desk.broker.submit(order((AAPL, Side.BUY), qty=10, limit="100.05"))
    assert (old.status, old.filled_quantity) == (OrderStatus.PARTIALLY_FILLED, 3)
    desk.quote("AAPL", 100.08, 100.10, ask_size=3)  # moved away: nothing more fills
    with pytest.raises(OrderNotReplaceable, match="must exceed the 3 already filled"):
        await desk.broker.replace(old.client_order_id, quantity=3)
    new = await desk.broker.replace(old.client_order_id, quantity=8, limit_price=D("100.06"))
    gone = await desk.broker.order(old.client_order_id)
    assert gone is not None
    assert (gone.status, gone.filled_quantity, gone.avg_fill_price) == (
        OrderStatus.CANCELED,
        3,
        D("100.02"),
    )
    # 8 in total, 3 already bought: the replacement buys the other 5.
    assert (new.status, new.request.quantity, new.filled_quantity) == (OrderStatus.NEW, 5, 0)
    (pos,) = await desk.broker.positions()
    assert pos.quantity == 3
    assert desk.broker.open_order_holds() == D("500.30")


async def test_replace_when_selling_held_shares_then_old_commitment_not_counted_twice() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    desk.broker.restore(D("0"), [Position(AAPL, 10, D("90"))])
    sell = await desk.broker.submit(order((AAPL, Side.SELL), qty=10, limit="105.00"))
    assert sell.status is OrderStatus.NEW
    new = await desk.broker.replace(sell.client_order_id, limit_price=D("104.00"))
    assert new.status is OrderStatus.NEW
    assert new.request.quantity == 10


async def test_replace_when_order_filled_canceled_or_unknown_then_clear_error() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    filled = await desk.broker.submit(order((AAPL, Side.BUY), qty=1, limit="100.05"))
    assert filled.status is OrderStatus.FILLED
    with pytest.raises(OrderNotReplaceable, match="is filled and cannot be replaced"):
        await desk.broker.replace(filled.client_order_id, limit_price=D("100"))
    resting = await _resting_buy(desk)
    await desk.broker.cancel(resting.client_order_id)
    with pytest.raises(OrderNotReplaceable, match="is canceled"):
        await desk.broker.replace(resting.client_order_id, limit_price=D("99.5"))
    with pytest.raises(UnknownOrder):
        await desk.broker.replace("wsb-nope", limit_price=D("99.5"))


async def test_replace_when_market_order_or_nothing_changes_then_refused() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    market = order((AAPL, Side.BUY), qty=2)
    now = desk.now
    # A market order is open only between a restart and the next open update.
    desk.broker.restore(D("100000"), [], [Order(market, "paper-m", OrderStatus.NEW, now, now)])
    with pytest.raises(OrderNotReplaceable, match="market order: only limit orders"):
        await desk.broker.replace(market.client_order_id, limit_price=D("100"))
    resting = await _resting_buy(desk)
    with pytest.raises(OrderNotReplaceable, match="nothing to change"):
        await desk.broker.replace(resting.client_order_id)
    with pytest.raises(OrderNotReplaceable, match="unchanged"):
        await desk.broker.replace(resting.client_order_id, quantity=10, limit_price=D("99.00"))
    assert [o.client_order_id for o in await desk.broker.open_orders()] == [
        market.client_order_id,
        resting.client_order_id,
    ]


async def test_replace_when_retried_with_same_id_then_first_answer_and_one_order() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    old = await _resting_buy(desk)
    updates = desk.broker.order_updates()
    new_id = replacement_client_order_id(old.client_order_id, 1)
    first, again, *_ = await asyncio.gather(
        *(
            desk.broker.replace(
                old.client_order_id, limit_price=D("99.50"), new_client_order_id=new_id
            )
            for _ in range(4)
        )
    )
    assert again is first
    later = await desk.broker.replace(
        old.client_order_id, limit_price=D("99.50"), new_client_order_id=new_id
    )
    assert later is first
    assert [o.client_order_id for o in await desk.broker.open_orders()] == [new_id]
    seen = [await asyncio.wait_for(updates.__anext__(), timeout=1) for _ in range(2)]
    assert [(o.client_order_id, o.status) for o in seen] == [
        (old.client_order_id, OrderStatus.CANCELED),
        (new_id, OrderStatus.NEW),
    ]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(updates.__anext__(), timeout=0.05)


async def test_replace_when_refused_then_old_order_stands_and_next_attempt_gets_next_id() -> None:
    desk = make_desk(cash="1000", config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.02)
    old = await _resting_buy(desk, qty=5, limit="99.00")
    refused = await desk.broker.replace(old.client_order_id, quantity=50)
    assert refused.status is OrderStatus.REJECTED
    assert refused.client_order_id == replacement_client_order_id(old.client_order_id, 1)
    assert "insufficient buying power" in (refused.reject_reason or "")
    still = await desk.broker.order(old.client_order_id)
    assert still is not None
    assert still.status is OrderStatus.NEW
    assert desk.broker.open_order_holds() == D("495.00")
    second = await desk.broker.replace(old.client_order_id, quantity=6)
    assert second.client_order_id == replacement_client_order_id(old.client_order_id, 2)
    assert second.status is OrderStatus.NEW
