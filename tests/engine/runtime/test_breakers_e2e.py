"""Breakers and the kill switch end to end, through the real embedded engine (simulator,
paper broker, SQLite file) with the live risk monitor attached: a scripted loss trips a
breaker, new risk is denied naming it while closing still passes, the trip survives a
restart on the same database, a person's reset clears it, and the kill switch cancels a
resting order and flattens the book."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.domain import (
    Equity,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderStatus,
    OrderType,
    PositionEffect,
    ProposalIntent,
    Side,
    TimeInForce,
    TradeProposal,
)
from engine.risk.breakers import BreakerConfig
from engine.runtime.engine import RunBudget
from engine.runtime.risk_monitor import SETTING_MONITOR, LiveRiskMonitor, MonitorConfig
from engine.runtime.views import TradingState

FAST = MonitorConfig(monte_carlo_paths=0, garch=False, snapshot_every=timedelta(hours=2))


def _only(**kw: Any) -> BreakerConfig:
    """Every breaker out of the way except the ones a test sets."""
    base: dict[str, Any] = {
        "order_day_loss_pct": 0.9,
        "order_drawdown_pct": 0.9,
        "max_gross_pct": 100.0,
        "daily_loss_pct": 0.9,
        "drawdown_block_pct": 0.95,
        "drawdown_kill_pct": 0.99,
        "stale_data_seconds": 1e9,
    }
    base.update(kw)
    return BreakerConfig(**base)


async def _engine(
    build: Any, breakers: BreakerConfig, db: Path | None = None
) -> tuple[Any, Any, LiveRiskMonitor]:
    emb = await build(strategies=[], db=db)
    eng = emb.engine
    mon = LiveRiskMonitor(
        risk=eng.risk, store=emb.store, breakers=breakers, config=FAST, calendar=eng.calendar
    )
    eng.monitor = mon
    await eng.start()
    await eng.advance(RunBudget(market_minutes=1))  # open the session, first snapshot
    return emb, eng, mon


_n = [0]


def _proposal(
    leg: OrderLeg, qty: int, *, close: bool = False, limit: Decimal | None = None
) -> TradeProposal:
    _n[0] += 1
    return TradeProposal(
        proposal_id=f"p-test-{_n[0]}",
        strategy="manual",
        created_at=leg_time[0],
        intent=ProposalIntent.CLOSE if close else ProposalIntent.OPEN,
        legs=(leg,),
        quantity=qty,
        reason="scripted",
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=limit,
        time_in_force=TimeInForce.DAY,
    )


leg_time: list[Any] = [None]


async def _cheap_call(eng: Any) -> OptionContract:
    today = eng.clock.now().date()
    chain = await eng.market.option_chain(
        "SPY", today + timedelta(days=20), today + timedelta(days=45)
    )
    calls = [
        q
        for q in chain
        if q.contract.right is OptionRight.CALL and 0.5 <= q.ask <= 3.0 and q.bid > 0
    ]
    assert calls, "the simulator lists cheap SPY calls"
    return calls[0].contract


async def _buy_call(eng: Any) -> OptionContract:
    leg_time[0] = eng.clock.now()
    call = await _cheap_call(eng)
    ok, msg = await eng.submit_manual(_proposal(OrderLeg(call, Side.BUY), 1))
    assert ok, msg
    assert call.symbol in eng.ledger.positions
    return call


async def _buy_spy(eng: Any, qty: int = 1) -> tuple[bool, str, str]:
    leg_time[0] = eng.clock.now()
    p = _proposal(OrderLeg(Equity("SPY"), Side.BUY), qty)
    ok, msg = await eng.submit_manual(p)
    return ok, msg, p.proposal_id


async def test_breaker_when_scripted_loss_then_opening_denied_by_name_and_closing_passes(
    build: Any,
) -> None:
    # The day-loss limit at a hair: the commission of one contract is a loss that trips it.
    emb, eng, _mon = await _engine(build, _only(daily_loss_pct=1e-6))
    assert eng.tripped_breakers == []
    call = await _buy_call(eng)
    await eng.advance(RunBudget(market_minutes=1))
    assert "daily_loss" in eng.tripped_breakers
    assert eng.trading_state is TradingState.REDUCING
    assert any("breaker daily_loss tripped" in line for line in eng.log_lines)

    ok, msg, pid = await _buy_spy(eng)
    assert not ok
    assert "breakers: tripped: daily_loss" in msg
    stored = await emb.store.load_risk_decisions(pid)
    failed = {c.name: c for c in stored[0].checks if not c.passed}
    assert "daily_loss" in failed["breakers"].message  # the reason is stored with the decision

    leg_time[0] = eng.clock.now()
    close = _proposal(OrderLeg(call, Side.SELL, 1, PositionEffect.CLOSE), 1, close=True)
    ok, msg = await eng.submit_manual(close)
    assert ok, msg
    assert call.symbol not in eng.ledger.positions
    await eng.stop()


async def test_breaker_when_latched_then_survives_restart_until_a_person_resets_it(
    build: Any, tmp_path: Path
) -> None:
    db = tmp_path / "latched.sqlite"
    emb, eng, mon = await _engine(build, _only(drawdown_block_pct=1e-6), db)
    await _buy_call(eng)
    await eng.advance(RunBudget(market_minutes=1))
    assert "drawdown_block" in eng.tripped_breakers
    tripped_at = mon.board.tripped["drawdown_block"].at
    await eng.stop()
    await emb.store.close()  # the engine is stopped; the next process opens the same file

    # A new process on the same database, with the spec's real thresholds: the drawdown is
    # a few dollars, far under 30%, and the breaker still holds - it is latched.
    emb2, eng2, mon2 = await _engine(build, BreakerConfig(order_day_loss_pct=0.9), db)
    assert "drawdown_block" in eng2.tripped_breakers
    assert eng2.trading_state is TradingState.REDUCING
    assert mon2.board.tripped["drawdown_block"].at == tripped_at
    await eng2.advance(RunBudget(market_minutes=10))
    assert "drawdown_block" in eng2.tripped_breakers
    ok, msg, _ = await _buy_spy(eng2)
    assert not ok
    assert "drawdown_block" in msg

    ok, msg = await eng2.reset_breaker("drawdown_block", actor="risk officer")
    assert ok, msg
    await eng2.advance(RunBudget(market_minutes=1))
    assert eng2.tripped_breakers == []
    assert eng2.trading_state is TradingState.ACTIVE  # the monitor set REDUCING; it takes it back
    ok, msg, _ = await _buy_spy(eng2)
    assert ok, msg
    saved = await emb2.store.get_setting(SETTING_MONITOR)
    assert isinstance(saved, dict)
    assert saved["board"]["tripped"] == {}
    await eng2.stop()


async def test_cooldown_breaker_when_restarted_then_cooldown_continues_from_the_trip(
    build: Any, tmp_path: Path
) -> None:
    db = tmp_path / "cool.sqlite"
    emb, eng, mon = await _engine(build, _only(daily_loss_pct=1e-6), db)
    await _buy_call(eng)
    await eng.advance(RunBudget(market_minutes=1))
    at = mon.board.tripped["daily_loss"].at
    await eng.stop()
    await emb.store.close()  # the engine is stopped; the next process opens the same file
    _emb2, eng2, mon2 = await _engine(build, _only(daily_loss_pct=0.5), db)
    assert mon2.board.tripped["daily_loss"].at == at
    # Condition gone (50% limit now); still held until 30 minutes after the original trip.
    await eng2.advance(RunBudget(market_minutes=20))
    assert "daily_loss" in eng2.tripped_breakers
    await eng2.advance(RunBudget(market_minutes=15))
    assert "daily_loss" not in eng2.tripped_breakers
    await eng2.stop()


async def test_kill_switch_when_pressed_then_resting_order_canceled_book_flattened_halted(
    build: Any,
) -> None:
    emb, eng, _mon = await _engine(build, _only())
    await _buy_call(eng)
    ok, _, _ = await _buy_spy(eng, 3)
    assert ok
    spy_px = eng._bars["SPY"].close
    leg_time[0] = eng.clock.now()
    resting = _proposal(
        OrderLeg(Equity("SPY"), Side.BUY), 1, limit=Decimal(str(round(spy_px * 0.5, 2)))
    )
    ok, msg = await eng.submit_manual(resting)
    assert ok, msg
    assert len(eng.open_orders) == 1
    coid = next(iter(eng.open_orders))

    ok, msg = await eng.kill_switch(flatten=True, actor="test")
    assert ok, msg
    assert eng.trading_state is TradingState.HALTED
    assert eng.open_orders == {}
    orders = {o.client_order_id: o for o in await emb.store.load_orders()}
    assert orders[coid].status is OrderStatus.CANCELED
    await eng.advance(RunBudget(market_minutes=1))
    assert eng.ledger.positions == {}
    assert await emb.store.load_positions() == {}
    assert await emb.store.verify_ledger() == []
    ok, msg, _ = await _buy_spy(eng)
    assert not ok
    assert "HALTED" in msg
    await eng.stop()


async def test_drawdown_kill_when_tripped_by_monitor_then_orders_canceled_and_flattened(
    build: Any,
) -> None:
    _emb, eng, _mon = await _engine(
        build, _only(drawdown_block_pct=1e-6, drawdown_kill_pct=2e-6, flatten_on_kill=True)
    )
    await _buy_call(eng)
    spy_px = eng._bars["SPY"].close
    leg_time[0] = eng.clock.now()
    ok, _ = await eng.submit_manual(
        _proposal(OrderLeg(Equity("SPY"), Side.BUY), 1, limit=Decimal(str(round(spy_px * 0.5, 2))))
    )
    assert ok
    assert len(eng.open_orders) == 1
    await eng.advance(RunBudget(market_minutes=1))
    assert "drawdown_kill" in eng.tripped_breakers
    assert eng.trading_state is TradingState.HALTED
    assert eng.open_orders == {}
    await eng.advance(RunBudget(market_minutes=1))
    assert eng.ledger.positions == {}
    assert any("kill switch" in line for line in eng.log_lines)
    # The monitor never lifts HALTED: a person resets the breaker and resumes.
    ok, _ = await eng.reset_breaker("drawdown_kill")
    assert ok
    await eng.reset_breaker("drawdown_block")
    await eng.advance(RunBudget(market_minutes=1))
    assert eng.trading_state is TradingState.HALTED
    await eng.set_trading_state(TradingState.ACTIVE, "reviewed", actor="test")
    ok, msg, _ = await _buy_spy(eng)
    assert ok, msg
    await eng.stop()


async def test_stale_data_when_feed_goes_silent_then_trips_and_blocks_new_risk(
    build: Any, monkeypatch: Any
) -> None:
    _emb, eng, _mon = await _engine(build, _only(stale_data_seconds=30.0))
    monkeypatch.setattr(eng.feed, "minute_bars_at", lambda ts: {})
    await eng.advance(RunBudget(market_minutes=1))
    assert "stale_data" in eng.tripped_breakers
    ok, msg, _ = await _buy_spy(eng)
    assert not ok
    assert "stale_data" in msg
    await eng.stop()


async def test_error_rate_when_five_errors_in_a_minute_then_trips(build: Any) -> None:
    _emb, eng, mon = await _engine(build, _only())
    now = eng.clock.now()
    for i in range(5):
        mon.on_error(f"broker rejected order {i}", now)
    await eng.advance(RunBudget(market_minutes=1))
    assert "error_rate" in eng.tripped_breakers
    assert "order_errors" in eng.tripped_breakers  # five distinct errors in a row
    await eng.stop()
