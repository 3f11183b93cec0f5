"""Engine.replace_order through a real embedded engine (simulator, paper broker, SQLite): the
modify throttle, the risk re-check of a change that adds risk, the store and the events."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.broker.replacement import REPLACED_BY, replacement_client_order_id
from engine.domain import (
    Equity,
    OrderLeg,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.runtime.engine import Engine, RunBudget
from engine.runtime.views import TradingState

_n = [0]


def _resting_buy(eng: Engine, price: float, qty: int = 1) -> TradeProposal:
    _n[0] += 1
    return TradeProposal(
        proposal_id=f"p-mod-{_n[0]}",
        strategy="manual",
        created_at=eng.clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY, 1, PositionEffect.OPEN),),
        quantity=qty,
        reason="scripted resting bid",
        order_type=OrderType.LIMIT,
        limit_price=Decimal(str(round(price, 2))),
    )


async def _engine_with_resting_bid(build: Any, **kw: Any) -> tuple[Any, Engine, str, float]:
    emb = await build(strategies=[], **kw)
    eng: Engine = emb.engine
    await eng.start()
    await eng.advance(RunBudget(market_minutes=1))
    spy = eng._bars["SPY"].close
    ok, msg = await eng.submit_manual(_resting_buy(eng, spy * 0.8))
    assert ok, msg
    await eng.advance(RunBudget(market_minutes=1))
    (coid,) = eng.open_orders
    return emb, eng, coid, spy


def _limit(price: float) -> Decimal:
    return Decimal(str(round(price, 2)))


async def test_replace_when_limit_raised_then_new_order_open_old_replaced_and_both_published(
    build: Any,
) -> None:
    _emb, eng, coid, spy = await _engine_with_resting_bid(build)
    sub = eng.subscribe()
    ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * 0.85), actor="desk")
    assert ok, msg
    new_coid = replacement_client_order_id(coid, 1)
    assert new_coid in msg
    assert list(eng.open_orders) == [new_coid]
    assert eng.open_orders[new_coid].request.limit_price == _limit(spy * 0.85)
    updates = []
    while sub.pending():
        ev = await sub.get()
        if isinstance(ev, OrderUpdated):
            updates.append((ev.order.client_order_id, ev.order.status))
    sub.close()
    assert (new_coid, OrderStatus.NEW) in updates
    assert (coid, OrderStatus.CANCELED) in updates
    assert any(f"modified by desk: now {new_coid}" in line for line in eng.log_lines)
    await eng.stop()


async def test_replace_when_modify_limit_reached_then_next_refused_and_order_untouched(
    build: Any,
) -> None:
    _emb, eng, coid, spy = await _engine_with_resting_bid(
        build, risk={"max_modifies_per_second": 3}
    )
    # Market time stands still between commands: every modify is in the same second.
    for i in range(3):
        ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * (0.79 - i * 0.01)))
        assert ok, msg
        (coid,) = eng.open_orders
    ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * 0.70))
    assert not ok
    assert "RATE_LIMIT: 3 modifies in the last second" in msg
    assert list(eng.open_orders) == [coid]
    assert eng.open_orders[coid].request.limit_price == _limit(spy * 0.77)
    await eng.advance(RunBudget(market_minutes=1))  # a second later the window is clear
    ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * 0.70))
    assert ok, msg
    await eng.stop()


async def test_replace_when_halted_then_size_increase_refused_and_decrease_allowed(
    build: Any,
) -> None:
    _emb, eng, coid, spy = await _engine_with_resting_bid(build)
    await eng.set_trading_state(TradingState.HALTED, "test")
    ok, msg = await eng.replace_order(coid, quantity=2)
    assert not ok
    assert "trading is HALTED" in msg
    ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * 0.9))  # pays more
    assert not ok
    assert "trading is HALTED" in msg
    assert list(eng.open_orders) == [coid]
    # A less aggressive limit adds no risk: it goes through while halted.
    ok, msg = await eng.replace_order(coid, limit_price=_limit(spy * 0.7))
    assert ok, msg
    (new_coid,) = eng.open_orders
    assert eng.open_orders[new_coid].request.limit_price == _limit(spy * 0.7)
    await eng.stop()


async def test_replace_when_increase_breaks_order_notional_then_denied_by_proposal_check(
    build: Any,
) -> None:
    emb = await build(strategies=[])
    eng: Engine = emb.engine
    await eng.start()
    await eng.advance(RunBudget(market_minutes=1))
    spy = eng._bars["SPY"].close
    eng.risk.limits = type(eng.risk.limits)(max_order_notional=spy * 2.5)
    ok, msg = await eng.submit_manual(_resting_buy(eng, spy * 0.8, qty=2))
    assert ok, msg
    (coid,) = eng.open_orders
    ok, msg = await eng.replace_order(coid, quantity=3)
    assert not ok
    assert "order_notional" in msg
    ok, msg = await eng.replace_order(coid, quantity=1)
    assert ok, msg
    await eng.stop()


async def test_replace_when_order_not_open_or_market_then_refused_with_reason(
    build: Any,
) -> None:
    _emb, eng, coid, _spy = await _engine_with_resting_bid(build)
    ok, msg = await eng.replace_order("wsb-nope", quantity=2)
    assert (ok, msg) == (False, "order wsb-nope is not open")
    ok, msg = await eng.replace_order(coid)
    assert not ok
    assert "nothing to change" in msg
    await eng.stop()


async def test_replace_when_engine_restarts_then_store_has_both_orders_and_new_one_rests(
    build: Any, tmp_path: Path
) -> None:
    db = tmp_path / "replace.sqlite"
    emb, eng, coid, spy = await _engine_with_resting_bid(build, db=db)
    ok, msg = await eng.replace_order(coid, quantity=3, limit_price=_limit(spy * 0.75))
    assert ok, msg
    new_coid = replacement_client_order_id(coid, 1)
    await eng.stop()
    await emb.store.close()

    emb2 = await build(strategies=[], db=db)
    eng2: Engine = emb2.engine
    await eng2.start()
    old = await emb2.store.load_order(coid)
    new = await emb2.store.load_order(new_coid)
    assert old is not None
    assert new is not None
    assert old.status is OrderStatus.CANCELED
    assert old.reject_reason == f"{REPLACED_BY}{new_coid}"
    assert (new.status, new.request.quantity, new.request.limit_price) == (
        OrderStatus.NEW,
        3,
        _limit(spy * 0.75),
    )
    assert new.request.proposal_id == old.request.proposal_id
    assert list(eng2.open_orders) == [new_coid]
    assert [o.client_order_id for o in await eng2.broker.open_orders()] == [new_coid]
    # After the restart the next modify continues the chain from the stored order.
    ok, msg = await eng2.replace_order(new_coid, quantity=2)
    assert ok, msg
    assert list(eng2.open_orders) == [replacement_client_order_id(new_coid, 1)]
    await eng2.stop()
