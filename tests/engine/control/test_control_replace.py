"""replace_order over the control socket: a trader's modify reaches the engine and is audited;
a monitor's is refused before the engine hears of it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.broker.replacement import replacement_client_order_id
from engine.domain import (
    Equity,
    OrderLeg,
    OrderType,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.runtime.control import Role
from engine.runtime.engine import Engine, RunBudget
from wsb_tui.remote import Endpoint, RemoteEngineClient


async def _attach(served: Any, name: str, **kw: Any) -> RemoteEngineClient:
    client = RemoteEngineClient(
        Endpoint(socket_path=served.socket_path), client_name=name, heartbeat_s=0, **kw
    )
    return await client.connect()


async def _resting_bid(eng: Engine) -> tuple[str, float]:
    await eng.advance(RunBudget(market_minutes=1))
    spy = eng._bars["SPY"].close
    ok, msg = await eng.submit_manual(
        TradeProposal(
            proposal_id="p-ctl-mod",
            strategy="manual",
            created_at=eng.clock.now(),
            intent=ProposalIntent.OPEN,
            legs=(OrderLeg(Equity("SPY"), Side.BUY, 1, PositionEffect.OPEN),),
            quantity=1,
            reason="resting bid to modify",
            order_type=OrderType.LIMIT,
            limit_price=Decimal(str(round(spy * 0.8, 2))),
        )
    )
    assert ok, msg
    (coid,) = eng.open_orders
    return coid, spy


async def test_replace_order_when_monitor_then_refused_and_when_trader_then_engine_replaces(
    serve: Any,
) -> None:
    served = await serve(strategies=[], gate="auto")
    eng, store = served.engine, served.emb.store
    coid, spy = await _resting_bid(eng)
    new_limit = Decimal(str(round(spy * 0.75, 2)))

    watcher = await _attach(served, "watcher", role=Role.MONITOR)
    refused = await watcher.replace_order(coid, limit_price=new_limit)
    assert not refused.ok
    assert "monitor" in refused.message
    assert "trader" in refused.message
    assert list(eng.open_orders) == [coid]

    trader = await _attach(served, "desk")
    bad = await trader.replace_order("wsb-nope", quantity=2)
    assert not bad.ok
    assert "not open" in bad.message
    done = await trader.replace_order(coid, quantity=2, limit_price=new_limit)
    assert done.ok, done.message
    new_coid = replacement_client_order_id(coid, 1)
    assert list(eng.open_orders) == [new_coid]
    replaced = eng.open_orders[new_coid].request
    assert (replaced.quantity, replaced.limit_price) == (2, new_limit)
    # The engine's own log names the remote client as the actor.
    assert any(f"modified by {trader.client_id}" in line for line in eng.log_lines)

    rows = await store.recent_commands()
    assert [(r.command, r.role, r.result, r.client_id) for r in rows] == [
        ("replace_order", "monitor", "refused", watcher.client_id),
        ("replace_order", "trader", "failed", trader.client_id),
        ("replace_order", "trader", "ok", trader.client_id),
    ]
    await watcher.close()
    await trader.close()
