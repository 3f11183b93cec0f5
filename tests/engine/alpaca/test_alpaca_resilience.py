"""Rate limits, lost responses and timeouts: retries only where safe, never a second order."""

from __future__ import annotations

import random
from decimal import Decimal

from alpaca_fake import FakeAlpaca, Fault, fast_settings

from engine.broker.alpaca import AlpacaBroker, AlpacaSettings, Transport
from engine.domain import Equity, OrderLeg, OrderRequest, OrderStatus, OrderType, Side
from engine.secrets import AlpacaCredentials

RATE_LIMITED = Fault(429, {"code": 42910000, "message": "rate limit exceeded"})


def limit_buy(coid: str) -> OrderRequest:
    return OrderRequest(
        coid, (OrderLeg(Equity("SPY"), Side.BUY),), 5, OrderType.LIMIT, Decimal("500")
    )


async def test_get_when_429_then_backs_off_and_succeeds(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.fault("GET /v2/account", RATE_LIMITED)
    fake.fault("GET /v2/account", RATE_LIMITED)
    acct = await broker.account()
    assert acct.account_id == "PA3XYZ9876"
    assert fake.count("GET", "/v2/account") == 3
    assert broker.transport.retries == 2


def test_backoff_when_attempts_grow_then_exponential_with_jitter_and_capped() -> None:
    s = AlpacaSettings(backoff_base_s=1.0, backoff_max_s=8.0)
    t = Transport(s, rng=random.Random(1))
    delays = [t.backoff(a) for a in range(6)]
    caps = [1, 2, 4, 8, 8, 8]
    for d, cap in zip(delays, caps, strict=True):
        assert cap / 2 <= d <= cap  # equal jitter: half fixed, half random
    assert len({round(d, 6) for d in delays[3:]}) == 3  # jittered, not a fixed sleep
    assert t.backoff(0, retry_after=5.0) >= 5.0  # the server's Retry-After is honoured


async def test_submit_when_429_then_looks_up_and_resubmits_once_and_one_order_exists(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.fault("POST /v2/orders", RATE_LIMITED)
    order = await broker.submit(limit_buy("wsb-429"))
    assert order.status is OrderStatus.NEW
    assert fake.count("POST", "/v2/orders") == 2
    assert fake.count("GET", "/v2/orders:by_client_order_id") == 1
    assert len(fake.orders) == 1


async def test_submit_when_response_lost_after_order_created_then_found_by_client_id_no_resubmit(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.fault("POST /v2/orders", Fault(None, after_processing=True))  # connection dropped
    order = await broker.submit(limit_buy("wsb-lost"))
    created = fake.by_coid("wsb-lost")
    assert created is not None
    assert order.broker_order_id == created["id"]
    assert order.status is OrderStatus.NEW
    assert fake.count("POST", "/v2/orders") == 1  # never sent twice
    assert broker.submit_posts == 1


async def test_submit_when_response_times_out_then_found_by_client_id_no_resubmit(
    fake: FakeAlpaca, creds: AlpacaCredentials
) -> None:
    settings = fast_settings(fake, timeout_s=0.3)
    b = AlpacaBroker(creds, settings)
    fake.fault("POST /v2/orders", Fault(200, {}, after_processing=True, delay_s=1.0))
    try:
        order = await b.submit(limit_buy("wsb-slow"))
    finally:
        await b.close()
    assert order.broker_order_id == fake.by_coid("wsb-slow")["id"]  # type: ignore[index]
    assert fake.count("POST", "/v2/orders") == 1


async def test_submit_when_5xx_before_processing_then_absent_confirmed_and_resubmitted_once(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.fault("POST /v2/orders", Fault(500, {"message": "internal server error"}))
    order = await broker.submit(limit_buy("wsb-500"))
    assert order.status is OrderStatus.NEW
    assert fake.count("POST", "/v2/orders") == 2
    assert len(fake.orders) == 1


async def test_submit_when_alpaca_unreachable_for_lookups_then_new_unconfirmed_not_rejected(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.fault("POST /v2/orders", Fault(None, after_processing=True))
    for _ in range(4):
        fake.fault("GET /v2/orders:by_client_order_id", Fault(503, {"message": "unavailable"}))
    order = await broker.submit(limit_buy("wsb-dark"))
    # The order does exist at Alpaca: calling it rejected would invite a duplicate.
    assert order.status is OrderStatus.NEW
    assert order.broker_order_id == ""
    assert fake.count("POST", "/v2/orders") == 1
    later = await broker.order("wsb-dark")  # Alpaca answers again: the truth wins
    assert later is not None
    assert later.broker_order_id == fake.by_coid("wsb-dark")["id"]
