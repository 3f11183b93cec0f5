"""Fills from order snapshots: combos, restarts and duplicates; open-order reconciliation."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from alpaca_fake import FakeAlpaca, fast_settings

from engine.broker.alpaca import AlpacaBroker, reconcile_orders
from engine.domain import (
    Equity,
    Fill,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderRequest,
    OrderType,
    Side,
)
from engine.secrets import AlpacaCredentials

D = Decimal
EXP = date(2025, 3, 21)
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def spread(coid: str) -> OrderRequest:
    c1 = OptionContract("AAPL", EXP, D("250"), OptionRight.CALL)
    c2 = OptionContract("AAPL", EXP, D("260"), OptionRight.CALL)
    return OrderRequest(
        coid, (OrderLeg(c1, Side.BUY, ratio=1), OrderLeg(c2, Side.SELL, ratio=1)), 2,
        OrderType.LIMIT, D("3.00"), strategy="debit_spreads",
    )  # fmt: skip


async def _drain(b: AlpacaBroker, it, n: int) -> list[Fill]:
    return [await asyncio.wait_for(anext(it), 5) for _ in range(n)]


async def test_mleg_when_filled_then_one_fill_per_leg_in_contracts(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fills = broker.fills()
    await broker.submit(spread("wsb-mleg"))
    fake.fill_mleg("wsb-mleg", 2, ["4.10", "1.15"])
    order = await broker.order("wsb-mleg")  # the engine's refresh path emits the fills too
    assert order is not None
    assert order.filled_quantity == 2
    assert order.avg_fill_price == D("2.95")  # net debit per unit, the engine's convention
    got = await _drain(broker, fills, 2)
    assert [(f.leg_index, f.side, f.quantity, f.price) for f in got] == [
        (0, Side.BUY, 2, D("4.100000")),
        (1, Side.SELL, 2, D("1.150000")),
    ]
    assert {f.strategy for f in got} == {"debit_spreads"}
    await broker.order("wsb-mleg")
    assert broker.pending_fills() == 0  # seen twice, emitted once


async def test_restart_when_store_has_first_fill_then_only_the_rest_is_emitted(
    fake: FakeAlpaca, creds: AlpacaCredentials
) -> None:
    req = OrderRequest(
        "wsb-rs", (OrderLeg(Equity("SPY"), Side.BUY),), 10, OrderType.LIMIT, D("500")
    )
    a = AlpacaBroker(creds, fast_settings(fake))
    await a.submit(req)
    fake.fill("wsb-rs", 4, "499")
    await a.order("wsb-rs")
    recorded = [f async for f in _take(a.fills(), 1)]
    await a.close()
    fake.fill("wsb-rs", 6, "498")  # happens while the desk is down

    b = AlpacaBroker(creds, fast_settings(fake))  # a new process
    b.seed_recorded_fills(recorded, ["wsb-rs"])
    try:
        await b.order("wsb-rs")
        (f,) = [f async for f in _take(b.fills(), 1)]
    finally:
        await b.close()
    assert (f.fill_id, f.quantity, f.price) == ("wsb-rs:0:10", 6, D("498.000000"))


async def _take(it, n: int):
    for _ in range(n):
        yield await asyncio.wait_for(anext(it), 5)


async def test_unknown_order_filled_before_start_then_baselined_not_replayed(
    fake: FakeAlpaca, creds: AlpacaCredentials
) -> None:
    # An order placed from the dashboard and filled before the desk started: already in
    # Alpaca's positions, so it must not come back as a new fill.
    a = AlpacaBroker(creds, fast_settings(fake))
    req = OrderRequest(
        "manual-1", (OrderLeg(Equity("SPY"), Side.BUY),), 5, OrderType.LIMIT, D("500")
    )
    await a.submit(req)
    fake.fill("manual-1", 5, "499")
    await a.close()
    b = AlpacaBroker(creds, fast_settings(fake))
    b._started_at = datetime(2099, 1, 1, tzinfo=UTC)  # everything at Alpaca is "before start"
    try:
        await b.catch_up()
        assert b.pending_fills() == 0
    finally:
        await b.close()


async def test_reconcile_orders_when_both_sides_differ_then_each_difference_named(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    def mk(c):
        return OrderRequest(c, (OrderLeg(Equity("SPY"), Side.BUY),), 1, OrderType.LIMIT, D("500"))

    stored_open = [await broker.submit(mk("wsb-store")), await broker.submit(mk("wsb-gone"))]
    await broker.submit(mk("wsb-elsewhere"))
    fake.fill("wsb-gone", 1, "499")
    broker_open = await broker.open_orders()
    now = {o.client_order_id: await broker.order(o.client_order_id) for o in stored_open}
    diffs = reconcile_orders(stored_open, broker_open, now)
    assert [(d.client_order_id, d.stored, d.broker) for d in diffs] == [
        ("wsb-elsewhere", "absent", "new"),
        ("wsb-gone", "new", "filled"),
    ]
