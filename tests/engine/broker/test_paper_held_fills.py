"""Held fills (replays): the broker keeps its fills for `take_fills` instead of the stream."""

from __future__ import annotations

from decimal import Decimal

from paper_desk import AAPL, make_desk, order

from engine.domain import OrderStatus, Side


async def test_hold_fills_when_orders_fill_then_taken_in_order_once_and_counted_pending():
    desk = make_desk()
    desk.quote("AAPL", 249.90, 250.00)
    desk.broker.hold_fills()
    first = await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="a"))
    second = await desk.broker.submit(order((AAPL, Side.BUY), qty=5, key="b"))
    assert first.status is OrderStatus.FILLED
    assert second.status is OrderStatus.FILLED
    assert desk.broker.pending_fills() == 2  # the engine waits on this count before reading
    fills = desk.broker.take_fills()
    assert [(f.client_order_id, f.quantity) for f in fills] == [
        (first.client_order_id, 10),
        (second.client_order_id, 5),
    ]
    assert desk.broker.pending_fills() == 0
    assert desk.broker.take_fills() == []  # each fill is handed out once
    assert desk.broker.cash < Decimal(100_000)


async def test_take_fills_when_not_holding_then_stream_keeps_them():
    desk = make_desk()
    desk.quote("AAPL", 249.90, 250.00)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10))
    assert desk.broker.take_fills() == []
    assert desk.broker.pending_fills() == 1  # waiting on fills() for the first subscriber
