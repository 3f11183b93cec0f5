"""The paper broker on the embedded simulated market: a week of trading through an expiry.

The ledger must stay the sum of its fills: cash = initial cash + the fills' cash deltas, every
position = the fills' signed quantities, nothing left of an expired option, no client order
id twice.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from engine.broker import PaperBroker
from engine.data.calendar import default_calendar
from engine.data.simulator import SimulatedMarket, sim_start_time
from engine.domain import (
    Equity,
    Fill,
    OptionQuote,
    OptionRight,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    make_client_order_id,
)
from engine.runtime.clock import SimulatedClock


def _nearest(quotes: tuple[OptionQuote, ...], target: float) -> OptionQuote:
    return min(quotes, key=lambda q: (abs(float(q.contract.strike) - target), q.contract.strike))


async def test_week_on_simulator_when_trading_through_expiry_then_ledger_is_sum_of_fills() -> None:
    cal = default_calendar()
    clock = SimulatedClock(sim_start_time(cal) + timedelta(minutes=30))
    market = SimulatedMarket(
        clock, seed=11, history_days=30, horizon_days=12, universe=["SPY", "AAPL", "SPX"]
    )
    broker = PaperBroker(market, clock, initial_cash=Decimal(250_000))
    stream = broker.fills()
    today = clock.now().date()

    chain_aapl = await market.option_chain("AAPL", today, today + timedelta(days=10))
    expiry = min(e for e in chain_aapl.expiries if e > today)
    spot = chain_aapl.spot
    csp = _nearest(chain_aapl.for_expiry(expiry, OptionRight.PUT), spot * 1.01)  # likely ITM
    long_call = _nearest(chain_aapl.for_expiry(expiry, OptionRight.CALL), spot * 0.99)
    chain_spx = await market.option_chain("SPX", today, today + timedelta(days=10))
    spx_expiry = min(e for e in chain_spx.expiries if e > today)
    spx_call = _nearest(chain_spx.for_expiry(spx_expiry, OptionRight.CALL), chain_spx.spot)

    def req(key: str, *legs: OrderLeg, qty: int = 1) -> OrderRequest:
        return OrderRequest(make_client_order_id("sim", key), tuple(legs), qty, strategy="sim")

    submitted = [
        await broker.submit(req("spy", OrderLeg(Equity("SPY"), Side.BUY), qty=50)),
        await broker.submit(req("csp", OrderLeg(csp.contract, Side.SELL))),
        await broker.submit(req("call", OrderLeg(long_call.contract, Side.BUY))),
        await broker.submit(req("spx", OrderLeg(spx_call.contract, Side.BUY))),
    ]
    assert [o.status for o in submitted] == [OrderStatus.FILLED] * 4, [
        o.reject_reason for o in submitted
    ]
    resting = await broker.submit(
        OrderRequest(
            make_client_order_id("sim", "rest"),
            (OrderLeg(Equity("AAPL"), Side.BUY),),
            10,
            OrderType.LIMIT,
            Decimal(str(round(spot * 0.995, 2))),
            strategy="sim",
        )
    )
    assert resting.status is OrderStatus.NEW

    # Walk the market every 30 minutes through both expiries.
    last = max(expiry, spx_expiry)
    session = today
    while session <= last:
        t = max(cal.session_open(session), clock.now())
        while t <= cal.session_close(session):
            clock.jump_to(t)
            await broker.on_market(t)
            t += timedelta(minutes=30)
        clock.jump_to(cal.session_close(session) + timedelta(minutes=1))
        await broker.on_market(clock.now())
        session = cal.next_session(session)

    positions = {p.symbol: p for p in await broker.positions()}
    assert not any(p.instrument.is_option for p in positions.values())

    fills: list[Fill] = []
    while True:
        try:
            fills.append(await asyncio.wait_for(stream.__anext__(), timeout=0.05))
        except TimeoutError:
            break
    assert len({f.fill_id for f in fills}) == len(fills)
    assert broker.cash == Decimal(250_000) + sum((f.cash_delta for f in fills), Decimal(0))
    net: dict[str, int] = defaultdict(int)
    for f in fills:
        net[f.symbol] += f.signed_quantity
    assert {s: q for s, q in net.items() if q} == {s: p.quantity for s, p in positions.items()}
    coids = [o.client_order_id for o in [*submitted, resting]]
    assert len(set(coids)) == len(coids)
    settled = [f for f in fills if f.client_order_id.startswith("expiry-")]
    assert {f.symbol for f in settled} >= {csp.contract.symbol, spx_call.contract.symbol}
    assert all(f.strategy == "sim" for f in settled)
    account = await broker.account()
    assert account.reserved_collateral == 0  # nothing short is left
