"""The live risk picture reaches a remote client through a real socket: the control server
encodes `RiskUpdated` like any event and the client decodes it to the same value."""

from __future__ import annotations

import asyncio

from control_helpers import until

from engine.domain import EngineEvent
from engine.domain.events import RiskUpdated
from engine.runtime.engine import RunBudget
from wsb_tui.remote import Endpoint, RemoteEngineClient


async def test_remote_client_when_engine_ticks_then_receives_decoded_risk_event(serve) -> None:
    served = await serve()
    eng = served.engine
    local = eng.subscribe()
    client = await RemoteEngineClient(
        Endpoint(socket_path=served.socket_path), client_name="risk-gauges", heartbeat_s=0
    ).connect()
    seen: list[EngineEvent] = []

    async def pump() -> None:
        async for ev in client.events():
            seen.append(ev)

    task = asyncio.create_task(pump())
    try:
        await until(lambda: served.server.client_count == 1)
        await eng.advance(RunBudget(market_minutes=6))  # past the 5-minute heartbeat
        await until(lambda: any(isinstance(e, RiskUpdated) for e in seen))
        sent: list[RiskUpdated] = []
        while local.pending():
            ev = await local.get()
            if isinstance(ev, RiskUpdated):
                sent.append(ev)
        assert sent
        await until(lambda: [e for e in seen if isinstance(e, RiskUpdated)][-1] == sent[-1])
        got = [e for e in seen if isinstance(e, RiskUpdated)][-1]
        # The whole value survived the wire: state, budgets and the snapshot's figures.
        assert got.trading_state == eng.trading_state.value
        assert got.var99_budget > 0
        assert got.equity > 0
        assert got.var99 == sent[-1].var99
    finally:
        task.cancel()
        await client.close()
