"""Several clients on a real socket around a real embedded engine: the same proposal, one
confirm, the same fill; an abrupt disconnect; a re-attach with a consistent snapshot."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from control_helpers import Raw, until, until_waiting

from engine.domain import (
    EngineEvent,
    LogLine,
    OrderFilled,
    OrderUpdated,
    PortfolioSnapshot,
    ProposalState,
    ProposalStateChanged,
)
from engine.runtime.bus import EventsDropped
from engine.runtime.control import Role
from engine.runtime.control.server import ControlServer
from engine.runtime.engine import RunBudget
from wsb_tui.remote import Endpoint, RemoteEngineClient, RemoteError


class Seen:
    """Collects a client's event stream in the background."""

    def __init__(self, client: RemoteEngineClient) -> None:
        self.events: list[EngineEvent] = []
        self.task = asyncio.create_task(self._run(client))

    async def _run(self, client: RemoteEngineClient) -> None:
        # Like the desk: a stream ends when the connection breaks; ask again to resume.
        while not client.closed:
            async for ev in client.events():
                self.events.append(ev)
            await asyncio.sleep(0.01)

    def awaiting(self, pid: str) -> bool:
        return any(
            isinstance(e, ProposalStateChanged)
            and e.proposal_id == pid
            and e.state is ProposalState.AWAITING_CONFIRMATION
            for e in self.events
        )

    def coid_of(self, pid: str) -> str | None:
        for e in self.events:
            if isinstance(e, OrderUpdated) and e.order.request.proposal_id == pid:
                return e.order.client_order_id
        return None

    def fills_of(self, pid: str) -> list[OrderFilled]:
        coid = self.coid_of(pid)
        return [
            e for e in self.events if isinstance(e, OrderFilled) and e.fill.client_order_id == coid
        ]

    def last_portfolio_ts(self) -> Any:
        ts = [e.ts for e in self.events if isinstance(e, PortfolioSnapshot)]
        return ts[-1] if ts else None


async def attach(served: Any, name: str, **kw: Any) -> RemoteEngineClient:
    client = RemoteEngineClient(
        Endpoint(socket_path=served.socket_path), client_name=name, heartbeat_s=0, **kw
    )
    return await client.connect()


async def test_two_clients_when_one_confirms_then_both_see_proposal_and_fill_and_reattach_is_consistent(
    serve,
):
    served = await serve()
    eng, store = served.engine, served.emb.store
    alice = await attach(served, "alice")
    bob = await attach(served, "bob", reconnect=False)
    seen_a, seen_b = Seen(alice), Seen(bob)
    await until(lambda: served.server.client_count == 2)

    pid = await until_waiting(served)
    await until(lambda: seen_a.awaiting(pid) and seen_b.awaiting(pid))
    snap_a, snap_b = await alice.snapshot(), await bob.snapshot()
    assert [p.proposal.proposal_id for p in snap_a.pending] == [
        p.proposal.proposal_id for p in snap_b.pending
    ]
    assert pid in {p.proposal.proposal_id for p in snap_a.pending}

    # Alice edits the limit to a marketable price (risk re-checks it) and confirms.
    waiting = next(p for p in snap_a.pending if p.proposal.proposal_id == pid)
    assert waiting.proposal.limit_price is not None
    limit = (waiting.proposal.limit_price * Decimal("1.003")).quantize(Decimal("0.01"))
    result = await alice.confirm(pid, limit_price=limit)
    assert result.ok, result.message

    await until(lambda: bool(seen_a.fills_of(pid)) and bool(seen_b.fills_of(pid)))
    fill_a, fill_b = seen_a.fills_of(pid)[0], seen_b.fills_of(pid)[0]
    assert fill_a == fill_b
    assert fill_a.fill.price <= limit
    confirmed = [
        e
        for e in seen_b.events
        if isinstance(e, ProposalStateChanged)
        and e.proposal_id == pid
        and e.state is ProposalState.CONFIRMED
    ]
    assert confirmed
    assert confirmed[0].actor == alice.client_id

    audit = [c for c in await store.recent_commands() if c.command == "confirm"]
    assert len(audit) == 1
    assert (audit[0].client_id, audit[0].role, audit[0].result) == (alice.client_id, "trader", "ok")
    assert audit[0].args["proposal_id"] == pid
    assert audit[0].args["limit_price"] == str(limit)
    assert audit[0].completed_at is not None

    # Bob vanishes without a goodbye; the engine and alice carry on.
    assert bob._conn is not None
    bob._conn.abort()
    await until(lambda: served.server.client_count == 1)
    before_ticks, before_ts = eng.ticks, seen_a.last_portfolio_ts()
    await eng.advance(RunBudget(market_minutes=5))
    assert eng.ticks == before_ticks + 5
    await until(
        lambda: seen_a.last_portfolio_ts() is not None and seen_a.last_portfolio_ts() > before_ts
    )
    assert (await alice.snapshot()).ts == eng.clock.now()

    # A client that re-attaches gets exactly the engine's state.
    carol = await attach(served, "carol")
    assert carol.last_snapshot == eng.snapshot()
    snap_c = await carol.snapshot()
    assert snap_c == eng.snapshot()
    assert fill_a.fill in snap_c.recent_fills
    assert snap_c.portfolio.positions[fill_a.fill.symbol].quantity >= fill_a.fill.quantity
    assert {c.client_id for c in served.server.clients()} == {alice.client_id, carol.client_id}

    for c in (alice, bob, carol):
        await c.close()
    for s in (seen_a, seen_b):
        await asyncio.wait_for(s.task, 5)  # closing a client ends its event stream
    assert served.engine._started, "detaching never stops the engine"


async def test_monitor_role_when_confirm_then_refused_recorded_and_proposal_still_waits(serve):
    served = await serve()
    eng, store = served.engine, served.emb.store
    watcher = await attach(served, "watcher", role=Role.MONITOR)
    pid = await until_waiting(served)
    res = await watcher.confirm(pid)
    assert not res.ok
    assert "monitor" in res.message
    assert "trader" in res.message
    assert pid in {p.proposal.proposal_id for p in eng.snapshot().pending}
    rows = await store.recent_commands()
    assert [(r.command, r.role, r.result, r.client_id) for r in rows] == [
        ("confirm", "monitor", "refused", watcher.client_id)
    ]
    # Reads still work for a monitor.
    assert (await watcher.snapshot()).ts == eng.clock.now()
    await watcher.close()


async def test_commands_when_sent_remotely_then_each_runs_and_is_audited(serve):
    served = await serve()
    eng, store = served.engine, served.emb.store
    c = await attach(served, "desk")
    await eng.advance(RunBudget(market_minutes=2))
    assert (await c.pause_strategy("index_baseline")).ok
    assert eng.manager.get("index_baseline").state.value == "paused"
    assert (await c.resume_strategy("index_baseline")).ok
    assert (await c.set_profile("index_baseline", "wsb_2025")).ok
    assert eng.manager.get("index_baseline").profile == "wsb_2025"
    bad = await c.pause_strategy("no_such_strategy")
    assert not bad.ok
    assert "no_such_strategy" in bad.message
    assert not (await c.set_trading_state("SIDEWAYS")).ok
    assert (await c.set_trading_state("reducing", "lunch")).ok
    assert eng.trading_state.value == "REDUCING"
    assert not (await c.reset_breaker("drawdown")).ok  # not tripped
    assert not (await c.cancel_order("wsb-nope")).ok
    assert not (await c.reject("p-unknown")).ok
    assert (await c.stop_strategy("index_baseline")).ok
    kill = await c.kill_switch(flatten=False)
    assert kill.ok
    assert "halted" in kill.message
    assert eng.trading_state.value == "HALTED"
    rows = await store.recent_commands()
    assert [(r.command, r.result) for r in rows] == [
        ("pause_strategy", "ok"),
        ("resume_strategy", "ok"),
        ("set_profile", "ok"),
        ("pause_strategy", "failed"),
        ("set_trading_state", "failed"),
        ("set_trading_state", "ok"),
        ("reset_breaker", "failed"),
        ("cancel_order", "failed"),
        ("reject", "failed"),
        ("stop_strategy", "ok"),
        ("kill_switch", "ok"),
    ]
    assert {r.client_id for r in rows} == {c.client_id}
    assert all(r.completed_at is not None for r in rows)
    # Reads beyond the snapshot: a chain and daily bars come back as domain values.
    bars = await c.daily_bars("SPY", 5)
    assert len(bars) == 5
    assert all(b.symbol == "SPY" for b in bars)
    today = eng.clock.now().date()
    chain = await c.option_chain("SPY", today, today.replace(year=today.year + 1))
    assert chain.underlying == "SPY"
    assert len(chain) > 0
    await c.close()


async def test_server_restart_when_client_attached_then_it_reconnects_and_resyncs(serve, short_dir):
    served = await serve()
    eng = served.engine
    c = RemoteEngineClient(
        Endpoint(socket_path=served.socket_path),
        client_name="roamer",
        heartbeat_s=0,
        backoff_initial=0.05,
        backoff_max=0.2,
    )
    await c.connect()
    seen = Seen(c)
    await served.server.close()
    await until(lambda: not c.connected)
    with pytest.raises(ConnectionError):
        await c.snapshot()
    offline = await c.pause_strategy("index_baseline")
    assert not offline.ok
    assert "not connected" in offline.message
    await eng.advance(RunBudget(market_minutes=3))  # the engine runs on without a server

    again = ControlServer(eng, socket_path=served.socket_path)
    await again.start()
    try:
        await c.wait_connected(5)
        assert c.reconnects == 1
        assert c.client_id.endswith(":roamer")
        assert c.last_snapshot == eng.snapshot()
        assert await c.snapshot() == eng.snapshot()
        await until(lambda: any(isinstance(e, EventsDropped) for e in seen.events))
        logs = [e.message for e in seen.events if isinstance(e, LogLine)]
        assert any("lost the engine" in m for m in logs)
        assert any("reconnected" in m for m in logs)
        # The stream carries on after the re-sync.
        n = len(seen.events)
        await eng.advance(RunBudget(market_minutes=2))
        await until(lambda: any(isinstance(e, PortfolioSnapshot) for e in seen.events[n:]))
    finally:
        await c.close()
        await again.close()


async def test_hello_when_other_protocol_version_then_clear_error_and_closed(serve):
    served = await serve()
    raw = await Raw.unix(served.socket_path)
    reply = await raw.hello(protocol=2)
    assert reply is not None
    assert reply["type"] == "error"
    assert reply["error"] == "version_mismatch"
    assert "version 1" in reply["message"]
    assert "version 2" in reply["message"]
    assert await raw.closed()
    raw.close()
    # The client library turns it into a fatal error (no reconnect loop).
    err = RemoteError(reply["error"], reply["message"])
    assert err.fatal


async def test_engine_stop_when_clients_attached_then_they_see_engine_stopped_and_are_released(
    serve,
):
    served = await serve()
    c = await attach(served, "late", reconnect=False)
    seen = Seen(c)
    await served.engine.advance(RunBudget(market_minutes=1))
    await served.engine.stop("maintenance")
    await served.server.close()
    await until(lambda: any(e.kind == "engine_stopped" for e in seen.events))
    stopped = next(e for e in seen.events if e.kind == "engine_stopped")
    assert stopped.reason == "maintenance"
    await until(lambda: not c.connected)
    assert served.server.client_count == 0
    assert not served.socket_path.exists()
    await c.close()
    await asyncio.wait_for(seen.task, 5)
