"""Fills from the trade-updates stream, and polling catch-up while the stream is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from alpaca_fake import FakeAlpaca, FakeTradeStream, fast_settings

from engine.broker.alpaca import AlpacaBroker
from engine.domain import Equity, Fill, OrderLeg, OrderRequest, OrderType, Side
from engine.secrets import AlpacaCredentials

D = Decimal


@pytest.fixture
async def ws() -> AsyncIterator[FakeTradeStream]:
    server = await FakeTradeStream().start()
    yield server
    await server.stop()


async def _next(it: AsyncIterator[Fill]) -> Fill:
    return await asyncio.wait_for(anext(it), 5.0)


async def _until(cond: Callable[[], bool]) -> None:
    """Poll a condition the broker exposes as plain state (no event to wait on)."""
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 5 s")


def buy(coid: str, qty: int) -> OrderRequest:
    return OrderRequest(
        coid,
        (OrderLeg(Equity("SPY"), Side.BUY),),
        qty,
        OrderType.LIMIT,
        D("500"),
        strategy="index_baseline",
    )


async def test_stream_when_fill_pushed_then_one_fill_with_execution_price(
    fake: FakeAlpaca, ws: FakeTradeStream, creds: AlpacaCredentials
) -> None:
    b = AlpacaBroker(
        creds,
        fast_settings(fake, use_stream=True, stream_url=ws.url, reconcile_seconds=30.0),
        stream_reconnect_min_s=0.05,
    )
    await b.start()
    fills = b.fills()
    try:
        await asyncio.wait_for(ws.listening.wait(), 5)
        await b.submit(buy("wsb-s1", 10))
        ws.push(fake.fill("wsb-s1", 4, "499.10"))
        f = await _next(fills)
        assert (f.fill_id, f.quantity, f.price, f.strategy) == (
            "wsb-s1:0:4",
            4,
            D("499.10"),
            "index_baseline",
        )
        assert b.stream_connected
    finally:
        await b.close()


async def test_stream_when_disconnected_then_polling_catches_up_and_reconnect_replay_adds_nothing(
    fake: FakeAlpaca, ws: FakeTradeStream, creds: AlpacaCredentials
) -> None:
    b = AlpacaBroker(
        creds,
        fast_settings(
            fake, use_stream=True, stream_url=ws.url, poll_seconds=0.05, reconcile_seconds=30.0
        ),
        stream_reconnect_min_s=0.05,
    )
    await b.start()
    fills = b.fills()
    try:
        await asyncio.wait_for(ws.listening.wait(), 5)
        await b.submit(buy("wsb-s2", 10))
        first = fake.fill("wsb-s2", 4, "499.00")
        ws.push(first)
        assert (await _next(fills)).quantity == 4

        ws.refuse = True
        ws.drop()
        await _until(lambda: not b.stream_connected)
        # Executions while the stream is down reach us only through REST polling.
        fake.fill("wsb-s2", 6, "498.00")
        caught = await _next(fills)
        assert (caught.fill_id, caught.quantity, caught.price) == ("wsb-s2:0:10", 6, D("498.00"))

        ws.refuse = False
        await _until(lambda: b.stream_connected)
        await asyncio.wait_for(ws.listening.wait(), 5)
        ws.push(first)  # a late replay of an execution already counted
        await asyncio.sleep(0.3)
        assert b.pending_fills() == 0
    finally:
        await b.close()
    assert fake.count("GET", "/v2/orders") >= 1


async def test_poll_when_no_stream_then_partial_fills_become_fills_once_each(
    fake: FakeAlpaca, creds: AlpacaCredentials
) -> None:
    b = AlpacaBroker(creds, fast_settings(fake, use_stream=False, poll_seconds=0.05))
    await b.start()
    fills = b.fills()
    try:
        await b.submit(buy("wsb-p", 10))
        fake.fill("wsb-p", 3, "500.00")
        fake.fill("wsb-p", 2, "499.00")  # two executions between polls merge into one fill
        f = await _next(fills)
        assert (f.quantity, f.price) == (5, D("499.600000"))
        fake.fill("wsb-p", 5, "498.00")
        g = await _next(fills)
        assert (g.fill_id, g.quantity, g.price) == ("wsb-p:0:10", 5, D("498.000000"))
        # Cash is exact whatever merged: 3*500 + 2*499 + 5*498.
        assert f.price * f.quantity + g.price * g.quantity == D("4988.00")
    finally:
        await b.close()
