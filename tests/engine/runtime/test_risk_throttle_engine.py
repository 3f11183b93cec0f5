"""Spec §4 throttles and inputs through the real engine: the cancel throttle guards a
person's cancels (the kill switch is never throttled), and the monitor seeds the prior
closes the SSR rule reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from engine.domain import (
    Equity,
    OrderLeg,
    OrderType,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.risk.breakers import BreakerConfig
from engine.runtime.engine import RunBudget
from engine.runtime.risk_monitor import LiveRiskMonitor, MonitorConfig

QUIET = BreakerConfig(order_day_loss_pct=0.9, order_drawdown_pct=0.9, max_gross_pct=100.0)
_n = [0]


def _resting_buy(eng: Any, sym: str, price: float) -> TradeProposal:
    _n[0] += 1
    return TradeProposal(
        proposal_id=f"p-thr-{_n[0]}",
        strategy="manual",
        created_at=eng.clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity(sym), Side.BUY, 1, PositionEffect.OPEN),),
        quantity=1,
        reason="scripted resting bid",
        order_type=OrderType.LIMIT,
        limit_price=Decimal(str(round(price, 2))),
    )


async def test_cancel_when_throttle_full_then_denied_and_kill_switch_still_cancels(
    build: Any,
) -> None:
    emb = await build(strategies=[])
    eng = emb.engine
    await eng.start()
    await eng.advance(RunBudget(market_minutes=1))
    spy = eng._bars["SPY"].close
    for _ in range(2):
        ok, msg = await eng.submit_manual(_resting_buy(eng, "SPY", spy * 0.8))
        assert ok, msg
    await eng.advance(RunBudget(market_minutes=1))
    assert len(eng.open_orders) == 2
    first, second = sorted(eng.open_orders)
    ok, msg = await eng.cancel_order(first)
    assert ok, msg
    for _ in range(99):
        eng.risk.record_cancel()
    ok, msg = await eng.cancel_order(second)
    assert not ok
    assert "RATE_LIMIT: 100 cancels in the last second" in msg
    assert second in eng.open_orders
    ok, msg = await eng.kill_switch(flatten=False)
    assert ok, msg
    assert second not in eng.open_orders
    await eng.stop()


async def test_monitor_when_first_snapshot_then_prior_closes_seeded_for_ssr(build: Any) -> None:
    emb = await build(strategies=[])
    eng = emb.engine
    eng.monitor = LiveRiskMonitor(
        risk=eng.risk,
        store=emb.store,
        breakers=QUIET,
        config=MonitorConfig(monte_carlo_paths=0, garch=False),
        calendar=eng.calendar,
    )
    await eng.start()
    await eng.advance(RunBudget(market_minutes=1))
    now = eng.clock.now()
    prev = eng.calendar.previous_session(now.date())
    bars = await eng.market.daily_bars("AAPL", prev, 1)
    assert eng.risk.live.prior_close["AAPL"] == bars[-1].close
    assert bars[-1].start.date() == prev
    assert now - timedelta(days=5) < bars[-1].start
    await eng.stop()


async def test_day_notional_when_engine_restarts_then_count_survives_and_cap_applies(
    build: Any, tmp_path: Any
) -> None:
    db = tmp_path / "notional.sqlite"

    async def start() -> tuple[Any, Any]:
        emb = await build(strategies=[], db=db)
        eng = emb.engine
        eng.monitor = LiveRiskMonitor(
            risk=eng.risk,
            store=emb.store,
            breakers=QUIET,
            config=MonitorConfig(monte_carlo_paths=0, garch=False),
            calendar=eng.calendar,
        )
        await eng.start()
        await eng.advance(RunBudget(market_minutes=1))
        return emb, eng

    emb, eng = await start()
    spy = eng._bars["SPY"].close
    ok, msg = await eng.submit_manual(_resting_buy(eng, "SPY", spy * 1.001))
    assert ok, msg
    sent = eng.risk.day_notional.today(eng.clock.now())
    assert sent > 0
    await eng.advance(RunBudget(market_minutes=1))
    await eng.stop()
    await emb.store.close()

    _emb2, eng2 = await start()
    now = eng2.clock.now()
    assert eng2.risk.day_notional.today(now) == sent
    # A cap just above what was sent: the next order of the day is refused, naming it.
    eng2.risk.limits = type(eng2.risk.limits)(max_day_notional=sent + 1.0)
    ok, msg = await eng2.submit_manual(_resting_buy(eng2, "SPY", eng2._bars["SPY"].close))
    assert not ok
    assert "day_notional" in msg
    await eng2.stop()
