"""Idempotent submits, the fill stream (exactly once, in order), replay-stable ids, restore."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from paper_desk import AAPL, AFTER_CLOSE_TS, EXPIRY, OPEN_TS, call, make_desk, order, put, take

from engine.broker import Broker, PaperBrokerConfig
from engine.domain import Fill, OrderStatus, Position, Side, TimeInForce

D = Decimal


async def test_paper_broker_when_checked_then_implements_broker_protocol() -> None:
    desk = make_desk()
    assert isinstance(desk.broker, Broker)
    assert desk.broker.name == "paper"


async def test_submit_when_same_client_id_resubmitted_then_existing_order_and_no_second_fill() -> (
    None
):
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    stream = desk.broker.fills()
    req = order((AAPL, Side.BUY), qty=10)
    first = await desk.broker.submit(req)
    cash_after_first = desk.broker.cash
    again = await desk.broker.submit(req)
    assert again is first
    assert desk.broker.cash == cash_after_first
    (pos,) = await desk.broker.positions()
    assert pos.quantity == 10
    (fill,) = await take(stream, 1)
    assert fill.client_order_id == req.client_order_id
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream.__anext__(), timeout=0.05)


async def test_submit_when_rejected_id_resubmitted_then_same_rejection_not_a_retry() -> None:
    desk = make_desk()
    req = order((AAPL, Side.BUY), qty=1)
    rejected = await desk.broker.submit(req)  # no quote yet
    desk.quote("AAPL", 100.00, 100.02)
    again = await desk.broker.submit(req)
    assert again is rejected
    assert again.status is OrderStatus.REJECTED
    assert await desk.broker.positions() == []


async def test_submit_when_same_id_concurrently_then_one_order_one_fill() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    stream = desk.broker.fills()
    req = order((AAPL, Side.BUY), qty=7)
    results = await asyncio.gather(*(desk.broker.submit(req) for _ in range(8)))
    assert all(r is results[0] for r in results)
    assert results[0].status is OrderStatus.FILLED
    (pos,) = await desk.broker.positions()
    assert pos.quantity == 7
    await take(stream, 1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream.__anext__(), timeout=0.05)


async def test_submit_when_different_ids_concurrently_then_cash_never_double_spent() -> None:
    desk = make_desk(cash="1000", config=PaperBrokerConfig(equity_slippage_bps=D(0)))
    desk.quote("AAPL", 100.00, 100.00)
    reqs = [order((AAPL, Side.BUY), qty=6, key=f"k{i}") for i in range(3)]
    results = await asyncio.gather(*(desk.broker.submit(r) for r in reqs))
    assert [r.status for r in results].count(OrderStatus.FILLED) == 1
    assert desk.broker.cash == D(400)


async def test_fills_when_two_subscribers_then_each_gets_every_fill_once_in_order() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    c = call("110")
    desk.option(c, 1.00, 1.10)
    a, b = desk.broker.fills(), desk.broker.fills()
    await desk.broker.submit(order((AAPL, Side.BUY), qty=1, key="1"))
    await desk.broker.submit(order((c, Side.BUY), qty=2, key="2"))
    await desk.broker.submit(order((AAPL, Side.BUY), qty=3, key="3"))
    got_a = [f.quantity for f in await take(a, 3)]
    got_b = [f.quantity for f in await take(b, 3)]
    assert got_a == got_b == [1, 2, 3]
    desk.broker.close()
    assert [f async for f in a] == []


async def test_fills_when_made_before_anyone_subscribed_then_first_subscriber_gets_them() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=1, key="early"))
    late = desk.broker.fills()
    await desk.broker.submit(order((AAPL, Side.BUY), qty=2, key="later"))
    assert [f.quantity for f in await take(late, 2)] == [1, 2]


async def test_order_updates_when_resting_order_fills_then_each_transition_published() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10, ask_size=3)
    updates = desk.broker.order_updates()
    req = order((AAPL, Side.BUY), qty=5, limit="100.10")
    await desk.broker.submit(req)
    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.quote("AAPL", 100.00, 100.10, ask_size=100)
    await desk.broker.on_market(desk.now)
    seen = [(o.status, o.filled_quantity) for o in [await updates.__anext__() for _ in range(3)]]
    assert seen == [
        (OrderStatus.NEW, 0),
        (OrderStatus.PARTIALLY_FILLED, 3),
        (OrderStatus.FILLED, 5),
    ]


async def _session(fills: list[Fill]) -> list[Fill]:
    desk = make_desk()
    stream = desk.broker.fills()
    desk.quote("AAPL", 100.00, 100.10, ask_size=4)
    c = call("110")
    desk.option(c, 1.00, 1.10, ask_size=2)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10, limit="100.10", key="s"))
    await desk.broker.submit(order((c, Side.BUY), qty=3, limit="1.10", key="o"))
    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.quote("AAPL", 100.00, 100.10, ask_size=100)
    desk.option(c, 1.00, 1.10, ask_size=100)
    await desk.broker.on_market(desk.now)
    fills.extend(await take(stream, 4))
    return fills


async def test_fill_ids_when_same_session_replayed_then_identical_fills() -> None:
    first = await _session([])
    second = await _session([])
    assert [f.fill_id for f in first] == [f.fill_id for f in second]
    assert first == second
    assert len({f.fill_id for f in first}) == 4


async def test_restore_when_rebuilt_from_store_then_state_orders_and_ids_carry_over() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10)
    p = put("90")
    desk.option(p, 1.00, 1.10)
    filled = await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="filled"))
    resting = await desk.broker.submit(
        order((AAPL, Side.BUY), qty=5, limit="99.00", tif=TimeInForce.GTC, key="rest")
    )
    await desk.broker.submit(order((p, Side.SELL), qty=1, key="csp"))
    positions = list(await desk.broker.positions())
    cash = desk.broker.cash

    fresh = make_desk()
    fresh.quote("AAPL", 100.00, 100.10)
    fresh.option(p, 1.00, 1.10)
    fresh.broker.restore(
        cash,
        positions,
        [resting],
        [filled.client_order_id, resting.client_order_id, "wsb-gone"],
        known_orders=[filled],
    )
    account = await fresh.broker.account()
    assert account.cash == cash
    assert account.reserved_collateral == D(9_000) + D(495)  # the put + the resting buy
    assert [o.client_order_id for o in await fresh.broker.open_orders()] == [
        resting.client_order_id
    ]
    assert await fresh.broker.submit(filled.request) is filled
    unknown = replace(order((AAPL, Side.BUY), qty=1), client_order_id="wsb-gone")
    refused = await fresh.broker.submit(unknown)
    assert refused.status is OrderStatus.REJECTED
    assert "submitted before the restart" in (refused.reject_reason or "")
    assert (await fresh.broker.order("wsb-gone")) is None

    stream = fresh.broker.fills()
    fresh.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    fresh.quote("AAPL", 98.90, 99.00)
    await fresh.broker.on_market(fresh.now)
    (fill,) = await take(stream, 1)
    assert (fill.fill_id, fill.price) == (f"{resting.client_order_id}:0:5", D("99.00"))
    qty = {pos.symbol: pos.quantity for pos in await fresh.broker.positions()}
    assert qty == {"AAPL": 15, p.symbol: -1}


async def test_restore_when_open_orders_holds_a_filled_order_then_error_names_it() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.10)
    filled = await desk.broker.submit(order((AAPL, Side.BUY), qty=1))
    with pytest.raises(ValueError, match=f"{filled.client_order_id} in status filled"):
        make_desk().broker.restore(D(0), [], [filled], [])


async def test_restore_when_position_duplicated_then_error() -> None:
    pos = Position(AAPL, 10, D(100))
    with pytest.raises(ValueError, match="AAPL appears twice"):
        make_desk().broker.restore(D(0), [pos, pos], [], [])


async def test_pending_fills_when_published_then_counted_until_taken() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=1, key="before"))
    assert desk.broker.pending_fills() == 1  # waiting for the first subscriber
    stream = desk.broker.fills()
    await desk.broker.submit(order((AAPL, Side.BUY), qty=1, key="after"))
    assert desk.broker.pending_fills() == 2
    await take(stream, 2)
    assert desk.broker.pending_fills() == 0


async def test_restore_when_strategy_map_given_then_expiry_fills_attributed() -> None:
    desk = make_desk()
    p = put("150")
    desk.broker.restore(
        D(20_000), [Position(p, -1, D("2.00"))], [], [], position_strategies={p.symbol: "wheel"}
    )
    stream = desk.broker.fills()
    desk.daily_close("AAPL", EXPIRY, 140.0)
    await desk.advance(AFTER_CLOSE_TS)
    fills = await take(stream, 2)
    assert {f.strategy for f in fills} == {"wheel"}
    assert desk.broker.cash == D(5_000)
