"""The runtime publishes the live risk picture as a `RiskUpdated` event on the bus: coalesced
for slow readers, figures equal to the stored snapshot, and it survives the wire codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.domain import (
    Equity,
    OrderLeg,
    OrderType,
    Portfolio,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.domain.events import PortfolioSnapshot, RiskUpdated
from engine.risk.breakers import BreakerConfig
from engine.runtime.bus import EventBus
from engine.runtime.engine import RunBudget
from engine.runtime.risk_monitor import LiveRiskMonitor, MonitorConfig
from engine.store.codec import event_from_json, event_to_json

QUIET = BreakerConfig(order_day_loss_pct=0.9, order_drawdown_pct=0.9, max_gross_pct=100.0)


async def _engine(build: Any) -> tuple[Any, Any, LiveRiskMonitor]:
    emb = await build(strategies=[])
    eng = emb.engine
    mon = LiveRiskMonitor(
        risk=eng.risk,
        store=emb.store,
        breakers=QUIET,
        config=MonitorConfig(monte_carlo_paths=0, garch=False),
        calendar=eng.calendar,
    )
    eng.monitor = mon
    await eng.start()
    return emb, eng, mon


def _buy_spy(eng: Any, qty: int) -> TradeProposal:
    return TradeProposal(
        proposal_id="p-risk-event-1",
        strategy="manual",
        created_at=eng.clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY, 1, PositionEffect.OPEN),),
        quantity=qty,
        reason="scripted",
        order_type=OrderType.MARKET,
    )


async def test_risk_event_when_engine_ticks_then_published_with_stored_snapshot_figures(
    build: Any,
) -> None:
    emb, eng, mon = await _engine(build)
    await eng.advance(RunBudget(market_minutes=1))
    ok, msg = await eng.submit_manual(_buy_spy(eng, 40))
    assert ok, msg
    sub = eng.subscribe()
    await eng.advance(RunBudget(market_minutes=16))  # crosses the 15-minute snapshot
    events = []
    while sub.pending():
        ev = await sub.get()
        assert ev is not None
        events.append(ev)
    risk = [e for e in events if isinstance(e, RiskUpdated)]
    # Coalesced: 16 ticks published, the unread subscriber holds only the newest.
    assert len(risk) == 1
    ev = risk[0]
    # Told at the snapshot; later ticks moved nothing enough to be told again.
    assert ev.ts >= ev.snapshot_at
    rep = mon.report()
    assert rep is not None
    rows = await emb.store.risk_snapshots()
    assert rows
    assert rows[-1].var == rep.var_at(0.99)
    assert ev.var99 == rep.var_dollars(0.99)
    assert ev.var99 is not None
    assert ev.var99 > 0
    assert ev.cvar99 == rep.cvar_dollars(0.99)
    assert ev.snapshot_at == rep.ts == rows[-1].ts
    port = eng.snapshot().portfolio
    assert ev.var99_budget == eng.risk.limits.var99_limit_pct * ev.equity
    assert abs(ev.equity - port.equity) / port.equity < 0.001
    assert abs(ev.gross_exposure - port.gross_exposure) / port.equity < 0.001
    assert ev.net_delta == rep.greeks_total.delta
    assert ev.net_delta > 0
    assert ev.trading_state == "ACTIVE"
    assert ev.breakers == ()
    assert ev.drawdown_limit == QUIET.order_drawdown_pct
    assert ev.error == ""
    await eng.stop()


async def test_risk_event_when_breaker_trips_then_event_carries_state_and_breaker(
    build: Any,
) -> None:
    _emb, eng, _mon = await _engine(build)
    await eng.advance(RunBudget(market_minutes=1))
    sub = eng.subscribe()
    for i in range(5):
        eng._record_error(f"order {i} rejected")
    await eng.advance(RunBudget(market_minutes=1))
    last = None
    while sub.pending():
        ev = await sub.get()
        if isinstance(ev, RiskUpdated):
            last = ev
    assert last is not None
    assert "error_rate" in last.breakers
    assert last.trading_state == "REDUCING"
    await eng.stop()


def test_bus_when_risk_events_queue_then_only_newest_kept_behind_other_snapshots() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=10)
    t0 = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
    for i in range(5):
        bus.publish(_event(t0 + timedelta(minutes=i), var=1000.0 + i))
    assert sub.pending() == 1
    got = sub._latest["risk"]
    assert isinstance(got, RiskUpdated)
    assert got.var99 == 1004.0
    # A portfolio snapshot coalesces under its own key: both survive.

    bus.publish(
        PortfolioSnapshot(
            ts=t0, portfolio=Portfolio(ts=t0, cash=__import__("decimal").Decimal("1"))
        )
    )
    assert sub.pending() == 2


def _event(ts: Any, var: float | None) -> RiskUpdated:
    return RiskUpdated(
        ts=ts,
        equity=100_000.0,
        var99=var,
        var99_budget=5_000.0,
        cvar99=None if var is None else var * 1.3,
        cvar99_budget=7_000.0,
        drawdown=0.02,
        drawdown_limit=0.10,
        day_loss=0.01,
        day_loss_limit=0.06,
        gross_exposure=80_000.0,
        net_delta=12_345.0,
        net_vega=-50.5,
        trading_state="REDUCING",
        breakers=("daily_loss", "vix_critical"),
        size_multiplier=0.25,
        vix=36.0,
        snapshot_at=ts,
    )


def test_codec_when_risk_event_encoded_then_decodes_to_equal_event() -> None:
    ev = _event(datetime(2026, 1, 6, 15, 0, tzinfo=UTC), var=4321.5)
    body = event_to_json(ev)
    assert body["kind"] == "risk_updated"
    assert event_from_json(body) == ev
    empty = _event(datetime(2026, 1, 6, 15, 0, tzinfo=UTC), var=None)
    assert event_from_json(event_to_json(empty)) == empty


def test_monitor_event_when_nothing_moves_then_quiet_until_heartbeat_or_change() -> None:
    from engine.risk.pretrade import PreTradeRisk
    from engine.runtime.views import TradingState

    mon = LiveRiskMonitor(
        risk=PreTradeRisk(), config=MonitorConfig(event_every=timedelta(minutes=5))
    )
    t0 = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
    port = Portfolio(ts=t0, cash=Decimal("100000"), start_of_day_equity=Decimal("100000"))
    first = mon.risk_event(t0, port, TradingState.ACTIVE, ())
    assert first is not None
    assert first.var99 is None  # no snapshot yet
    assert first.error == ""
    assert mon.risk_event(t0 + timedelta(minutes=1), port, TradingState.ACTIVE, ()) is None
    # A breaker or a state change is told at once.
    tripped = mon.risk_event(
        t0 + timedelta(minutes=2), port, TradingState.REDUCING, ("daily_loss",)
    )
    assert tripped is not None
    assert tripped.breakers == ("daily_loss",)
    # A 0.1 % move of equity is told; less is not.
    small = Portfolio(ts=t0, cash=Decimal("99950"), start_of_day_equity=Decimal("100000"))
    assert (
        mon.risk_event(t0 + timedelta(minutes=3), small, TradingState.REDUCING, ("daily_loss",))
        is None
    )
    moved = Portfolio(ts=t0, cash=Decimal("99800"), start_of_day_equity=Decimal("100000"))
    ev = mon.risk_event(t0 + timedelta(minutes=4), moved, TradingState.REDUCING, ("daily_loss",))
    assert ev is not None
    assert ev.day_loss == pytest.approx(0.002)
    # Nothing moves, but the heartbeat is due 5 minutes after the last one told.
    assert (
        mon.risk_event(t0 + timedelta(minutes=8), moved, TradingState.REDUCING, ("daily_loss",))
        is None
    )
    assert (
        mon.risk_event(t0 + timedelta(minutes=9), moved, TradingState.REDUCING, ("daily_loss",))
        is not None
    )
