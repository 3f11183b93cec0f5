"""Orders: client_order_id is unique, state only moves forward, open orders reload."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from store_fixtures import AAPL_P170, SPY, T0, raw_query

from engine.domain import (
    IllegalOrderTransition,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionEffect,
    Side,
    TimeInForce,
)
from engine.store import Store


def _request(coid: str = "wsb-1") -> OrderRequest:
    return OrderRequest(
        client_order_id=coid,
        legs=(
            OrderLeg(AAPL_P170, Side.SELL),
            OrderLeg(SPY, Side.BUY, ratio=2, effect=PositionEffect.CLOSE),
        ),
        quantity=4,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("-1.25"),
        time_in_force=TimeInForce.GTC,
        strategy="wheel",
        proposal_id="p-1",
    )


def _order(status: OrderStatus, filled: int = 0, *, coid: str = "wsb-1", minutes: int = 0) -> Order:
    return Order(
        request=_request(coid),
        broker_order_id="b-1",
        status=status,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=minutes),
        filled_quantity=filled,
        avg_fill_price=Decimal("-1.20") if filled else None,
    )


async def test_upsert_order_when_new_then_request_round_trips_exactly(store: Store) -> None:
    order = _order(OrderStatus.NEW)
    assert await store.upsert_order(order) is True
    assert await store.load_order("wsb-1") == order
    assert await store.client_order_ids() == {"wsb-1"}


async def test_upsert_order_when_advancing_then_written_and_open_orders_track_it(
    store: Store,
) -> None:
    await store.upsert_order(_order(OrderStatus.NEW))
    assert [o.client_order_id for o in await store.load_open_orders()] == ["wsb-1"]
    assert await store.upsert_order(_order(OrderStatus.PARTIALLY_FILLED, 1, minutes=1))
    assert await store.upsert_order(_order(OrderStatus.PARTIALLY_FILLED, 3, minutes=2))
    assert await store.upsert_order(_order(OrderStatus.FILLED, 4, minutes=3))
    stored = await store.load_order("wsb-1")
    assert stored is not None
    assert (stored.status, stored.filled_quantity, stored.avg_fill_price) == (
        OrderStatus.FILLED,
        4,
        Decimal("-1.20"),
    )
    assert await store.load_open_orders() == []


async def test_upsert_order_when_update_is_stale_or_repeated_then_ignored(store: Store) -> None:
    await store.upsert_order(_order(OrderStatus.PARTIALLY_FILLED, 3, minutes=2))
    assert await store.upsert_order(_order(OrderStatus.NEW)) is False
    assert await store.upsert_order(_order(OrderStatus.PARTIALLY_FILLED, 1, minutes=1)) is False
    assert await store.upsert_order(_order(OrderStatus.PARTIALLY_FILLED, 3, minutes=5)) is False
    stored = await store.load_order("wsb-1")
    assert stored is not None
    assert (stored.status, stored.filled_quantity) == (
        OrderStatus.PARTIALLY_FILLED,
        3,
    )


async def test_upsert_order_when_broker_id_arrives_after_intent_then_updated(store: Store) -> None:
    intent = Order(_request(), "", OrderStatus.NEW, T0, T0)
    await store.upsert_order(intent)
    assert await store.upsert_order(_order(OrderStatus.NEW)) is True
    stored = await store.load_order("wsb-1")
    assert stored is not None
    assert stored.broker_order_id == "b-1"


@pytest.mark.parametrize(
    ("first", "then"),
    [
        (_order(OrderStatus.FILLED, 4), _order(OrderStatus.CANCELED, 4)),
        (_order(OrderStatus.FILLED, 4), _order(OrderStatus.FILLED, 2)),
        (_order(OrderStatus.PARTIALLY_FILLED, 3), _order(OrderStatus.CANCELED, 1)),
    ],
)
async def test_upsert_order_when_update_rewrites_history_then_raises_and_keeps_row(
    store: Store, first: Order, then: Order
) -> None:
    await store.upsert_order(first)
    with pytest.raises(IllegalOrderTransition):
        await store.upsert_order(then)
    assert await store.load_order("wsb-1") == first


async def test_orders_when_many_then_client_order_id_unique_and_created_order_kept(
    store: Store, db_path: Path
) -> None:
    for i in range(3):
        await store.upsert_order(_order(OrderStatus.NEW, coid=f"wsb-{i}"))
        await store.upsert_order(_order(OrderStatus.NEW, coid=f"wsb-{i}"))
    assert raw_query(db_path, "SELECT count(*), count(DISTINCT client_order_id) FROM orders") == [
        (3, 3)
    ]
    assert [o.client_order_id for o in await store.load_orders(since=T0)] == [
        "wsb-0",
        "wsb-1",
        "wsb-2",
    ]
    assert await store.load_orders(since=T0 + timedelta(days=1)) == []
