"""One path for every trade, end to end on the real embedded engine (simulator, paper
broker, SQLite file): bar -> strategy proposal -> risk -> gate -> order -> fill -> stored
position -> published event."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

from engine.domain import (
    Bar,
    EngineEvent,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    ProposalCreated,
    ProposalDecided,
    ProposalState,
    TradeProposal,
)
from engine.runtime.engine import RunBudget
from engine.runtime.views import StrategyRunState
from engine.strategies.base import Strategy, StrategyContext, StrategyParams
from engine.strategies.index_baseline import IndexBaseline


async def _until_waiting(eng: Any, limit: int = 180) -> None:
    """Step the market a minute at a time until a proposal waits for a person."""
    for _ in range(limit):
        if eng.snapshot().pending:
            return
        await eng.advance(RunBudget(market_minutes=1))
    raise AssertionError("no proposal reached the confirmation gate")


def _drain(sub: Any) -> list[EngineEvent]:
    out = []
    while sub.pending():
        out.append(sub._queue.popleft() if sub._queue else sub._latest.popitem(last=False)[1])
    return out


async def test_run_one_session_when_gate_auto_then_bar_becomes_stored_position_and_events(build):
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")])
    eng, store = emb.engine, emb.store
    sub = eng.subscribe()
    await eng.start()
    await eng.advance(RunBudget(sessions=1))

    proposals = await store.load_proposals()
    mine = [r for r in proposals if r.proposal.strategy == "index_baseline"]
    assert mine, "the index sleeve proposes its first allocation on day one"
    submitted = [r for r in mine if r.state is ProposalState.SUBMITTED]
    assert submitted, [(r.state, r.note) for r in mine]
    decisions = await store.load_risk_decisions(submitted[0].proposal.proposal_id)
    assert decisions
    assert decisions[0].approved
    assert {c.name for c in decisions[0].checks} >= {
        "buying_power",
        "position_size",
        "market_hours",
    }

    fills = await store.load_fills()
    assert fills
    assert all(f.strategy == "index_baseline" for f in fills)
    positions = await store.load_positions()
    bought = {f.symbol for f in fills}
    assert bought <= set(positions)
    assert await store.verify_ledger() == []
    for sym in bought:
        assert positions[sym].quantity == sum(f.signed_quantity for f in fills if f.symbol == sym)

    events = _drain(sub)
    kinds = [type(e) for e in events]
    created = kinds.index(ProposalCreated)
    decided = kinds.index(ProposalDecided)
    filled = kinds.index(OrderFilled)
    assert created < decided < filled
    assert any(isinstance(e, OrderUpdated) for e in events)
    # The event published for the fill carries the position the store now holds.
    ev = next(e for e in events if isinstance(e, OrderFilled))
    assert positions[ev.fill.symbol].quantity >= ev.position.quantity > 0
    await eng.stop()


async def test_proposal_when_gate_confirm_then_waits_and_confirm_fills_it(build):
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")], gate="confirm")
    eng, store = emb.engine, emb.store
    await eng.start()
    await _until_waiting(eng)
    waiting = eng.snapshot().pending
    assert len(waiting) >= 1
    pid = waiting[0].proposal.proposal_id
    assert await store.load_fills() == []  # nothing executes before a person says yes

    # The person edits the limit to a marketable price; risk re-checks it, then it fills.
    symbol = waiting[0].proposal.legs[0].symbol
    ask = (await eng.market.latest_quote(symbol)).ask
    limit = Decimal(str(round(ask * 1.002, 2)))
    ok, msg = await eng.confirm(pid, limit_price=limit, actor="test")
    assert ok, msg
    orders = await store.load_orders()
    assert len(orders) == 1
    assert orders[0].request.proposal_id == pid
    assert orders[0].request.limit_price == limit
    fills = await store.load_fills()
    assert fills
    assert fills[0].symbol == symbol
    assert fills[0].price <= limit
    rec = await store.load_proposal(pid)
    assert rec is not None
    assert rec.state is ProposalState.SUBMITTED
    await eng.stop()


async def test_reject_when_waiting_then_state_rejected_and_no_order(build):
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")], gate="confirm")
    eng, store = emb.engine, emb.store
    await eng.start()
    await _until_waiting(eng)
    pid = eng.snapshot().pending[0].proposal.proposal_id
    ok, _ = await eng.reject(pid, "not today", actor="test")
    assert ok
    rec = await store.load_proposal(pid)
    assert rec is not None
    assert rec.state is ProposalState.REJECTED
    assert await store.load_orders() == []
    ok2, msg2 = await eng.confirm(pid, actor="test")
    assert not ok2
    assert "not waiting" in msg2
    await eng.stop()


async def test_edit_when_quantity_too_large_then_risk_recheck_denies(build):
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")], gate="confirm")
    eng, store = emb.engine, emb.store
    await eng.start()
    await _until_waiting(eng)
    w = eng.snapshot().pending[0]
    ok, msg = await eng.confirm(
        w.proposal.proposal_id, quantity=w.proposal.quantity * 50, actor="t"
    )
    assert not ok
    assert "denied by risk" in msg
    assert await store.load_fills() == []
    await eng.stop()


async def test_confirm_when_proposal_expired_then_refused(build):
    emb = await build(
        strategies=[IndexBaseline.from_profile("research_2024")],
        gate="confirm",
        engine={"confirm_timeout_s": 120},
    )
    eng, store = emb.engine, emb.store
    await eng.start()
    await _until_waiting(eng)
    pid = eng.snapshot().pending[0].proposal.proposal_id
    await eng.advance(RunBudget(market_minutes=3))
    assert eng.snapshot().pending == ()
    rec = await store.load_proposal(pid)
    assert rec is not None
    assert rec.state is ProposalState.EXPIRED
    ok, _ = await eng.confirm(pid)
    assert not ok
    await eng.stop()


async def test_confirm_when_deadline_passed_between_ticks_then_refused_and_expired(build):
    # A wall-paced clock runs no ticks overnight: the deadline passes with nobody sweeping.
    emb = await build(
        strategies=[IndexBaseline.from_profile("research_2024")],
        gate="confirm",
        engine={"confirm_timeout_s": 120},
    )
    eng, store = emb.engine, emb.store
    await eng.start()
    await _until_waiting(eng)
    (w,) = eng.snapshot().pending[:1]
    eng.clock.jump_to(w.expires_at + timedelta(seconds=1))
    ok, msg = await eng.confirm(w.proposal.proposal_id, actor="test")
    assert not ok
    assert "expired" in msg
    assert await store.load_orders() == []
    rec = await store.load_proposal(w.proposal.proposal_id)
    assert rec is not None
    assert rec.state is ProposalState.EXPIRED
    await eng.stop()


class _BoomParams(StrategyParams):
    pass


class _Boom(Strategy):
    name: ClassVar[str] = "boom"
    title: ClassVar[str] = "Boom"
    params_model: ClassVar[type[StrategyParams]] = _BoomParams

    def universe(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        raise RuntimeError("strategy bug")


async def test_strategy_raises_when_running_then_isolated_and_others_keep_trading(build):
    emb = await build(
        strategies=[_Boom(_BoomParams()), IndexBaseline.from_profile("research_2024")]
    )
    eng, store = emb.engine, emb.store
    await eng.start()
    await eng.advance(RunBudget(sessions=1))
    slot = eng.manager.get("boom")
    assert slot.state is StrategyRunState.ERRORED
    assert "strategy bug" in slot.error
    assert eng.manager.get("index_baseline").state is StrategyRunState.RUNNING
    assert await store.load_fills(), "the healthy strategy still traded"
    assert any("isolated" in line for line in eng.log_lines)
    await eng.stop()


async def test_restart_when_same_db_then_state_rebuilt_and_clock_resumes(build, tmp_path):
    db = tmp_path / "restart.sqlite"
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")], db=db)
    await emb.engine.run(RunBudget(sessions=1))
    first_positions = {s: p.quantity for s, p in (await emb.store.load_positions()).items()}
    stopped_at = emb.engine.clock.now()
    await emb.close()

    emb2 = await build(strategies=[IndexBaseline.from_profile("research_2024")], db=db)
    await emb2.engine.start()
    assert emb2.engine.clock.now() >= stopped_at
    assert {s: p.quantity for s, p in emb2.engine.ledger.positions.items()} == first_positions
    assert {p.symbol: p.quantity for p in await emb2.engine.broker.positions()} == first_positions
    await emb2.engine.advance(RunBudget(sessions=1))
    orders = await emb2.store.load_orders()
    ids = [o.client_order_id for o in orders]
    assert len(ids) == len(set(ids))
    assert all(
        o.status is not OrderStatus.NEW for o in orders if o.request.order_type.value == "market"
    )
    assert await emb2.store.verify_ledger() == []
    await emb2.engine.stop()


async def test_stop_when_clock_is_pacing_a_long_wait_then_run_returns_at_once(build):
    # At 0.01x a market minute takes 100 real minutes: a quitting desk must not wait it out.
    emb = await build(strategies=[IndexBaseline.from_profile("research_2024")])
    eng = emb.engine
    eng.clock.set_speed(0.01)
    run = asyncio.create_task(eng.run())
    await asyncio.sleep(0.3)
    assert not run.done()  # it is waiting on the paced clock
    eng.request_stop()
    await asyncio.wait_for(run, timeout=10)
    assert not eng._started  # stopped cleanly through run()'s finally


async def test_events_when_nobody_subscribes_then_counted_as_when_someone_does(build, tmp_path):
    # With no subscriber the engine counts events instead of building them: the count is
    # the one a listened-to engine publishes, and a subscriber gets every kind.
    published = []
    for listened in (True, False):
        emb = await build(
            strategies=[IndexBaseline.from_profile("research_2024")],
            db=tmp_path / f"events-{listened}.sqlite",
        )
        eng = emb.engine
        sub = eng.subscribe() if listened else None
        await eng.start()
        await eng.advance(RunBudget(sessions=1))
        published.append(eng.bus.published)
        if sub is not None:
            kinds = {type(e).__name__ for e in _drain(sub)}
            assert {"LogLine", "PortfolioSnapshot", "ProposalStateChanged"} <= kinds
            assert {"ProposalCreated", "ProposalDecided", "OrderFilled"} <= kinds
        await eng.stop()
    assert published[0] == published[1] > 0
