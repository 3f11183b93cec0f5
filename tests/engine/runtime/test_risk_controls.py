"""The live risk monitor inside the real engine: the snapshot is computed on its cadence,
stored, shown as gauges and fed to the pre-trade VaR budget; missing data fails closed; the
PDT rule counts real fills."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.data.protocol import DataUnavailable
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
from engine.risk.pretrade import RiskLimits
from engine.runtime.engine import RunBudget
from engine.runtime.risk_monitor import LiveRiskMonitor, MonitorConfig

QUIET = BreakerConfig(order_day_loss_pct=0.9, order_drawdown_pct=0.9, max_gross_pct=100.0)
_n = [0]


def _stock(
    eng: Any, sym: str, qty: int, side: Side = Side.BUY, *, close: bool = False
) -> TradeProposal:
    _n[0] += 1
    effect = PositionEffect.CLOSE if close else PositionEffect.OPEN
    return TradeProposal(
        proposal_id=f"p-ctl-{_n[0]}",
        strategy="manual",
        created_at=eng.clock.now(),
        intent=ProposalIntent.CLOSE if close else ProposalIntent.OPEN,
        legs=(OrderLeg(Equity(sym), side, 1, effect),),
        quantity=qty,
        reason="scripted",
        order_type=OrderType.MARKET,
    )


async def _engine(
    build: Any,
    config: MonitorConfig | None = None,
    before_start: Any = None,
    **sections: Any,
) -> tuple[Any, Any, LiveRiskMonitor]:
    emb = await build(strategies=[], **sections)
    eng = emb.engine
    if before_start is not None:
        before_start(eng)
    mon = LiveRiskMonitor(
        risk=eng.risk,
        store=emb.store,
        breakers=QUIET,
        config=config or MonitorConfig(monte_carlo_paths=0, garch=False),
        calendar=eng.calendar,
    )
    eng.monitor = mon
    await eng.start()
    return emb, eng, mon


async def test_monitor_when_running_then_snapshots_on_cadence_stored_and_shown(build: Any) -> None:
    emb, eng, mon = await _engine(build)
    await eng.advance(RunBudget(market_minutes=1))
    ok, msg = await eng.submit_manual(_stock(eng, "SPY", 40))
    assert ok, msg
    await eng.advance(RunBudget(market_minutes=31))
    # Minute 1, then every 15 minutes: 1 + 2.
    assert mon.snapshots == 3
    rows = await emb.store.risk_snapshots()
    assert len(rows) == 3
    last = rows[-1]
    rep = mon.report()
    assert rep is not None
    assert rep.positions == 1
    assert last.var == rep.var_at(0.99)
    assert last.details["book"]["spots"]["SPY"] > 0
    assert len(rep.stress) == 6
    assert eng.var99_pct == rep.var_at(0.99)
    names = {g.name for g in eng.risk_summary().gauges}
    assert {"VaR99 1d", "CVaR99 1d", "LVaR99 1d", "net delta", "theta", "VIX"} <= names
    var_g = next(g for g in eng.risk_summary().gauges if g.name == "VaR99 1d")
    assert var_g.value == rep.var_dollars(0.99)
    # SPY is the only name: its delta is the book's.
    assert rep.greeks_by_underlying[0].key == "SPY"
    assert eng.risk.live.vix == eng._bars["VIX"].close
    await eng.stop()


async def test_var_budget_when_trade_would_breach_it_then_engine_denies_with_marginal(
    build: Any,
) -> None:
    _emb, eng, _mon = await _engine(build)
    await eng.advance(RunBudget(market_minutes=1))
    # A VaR budget of a hair: any stock purchase breaches it; the reason shows the marginal.
    eng.risk.limits = RiskLimits(var99_limit_pct=0.0005)
    ok, msg = await eng.submit_manual(_stock(eng, "SPY", 40))
    assert not ok
    assert "var_budget: VaR99 0.00% -> " in msg
    assert "marginal +" in msg
    eng.risk.limits = RiskLimits()
    ok, msg = await eng.submit_manual(_stock(eng, "SPY", 40))
    assert ok, msg
    await eng.stop()


async def test_snapshot_when_history_unavailable_then_new_risk_blocked_with_reason(
    build: Any, monkeypatch: Any
) -> None:
    async def no_history(symbol: str, end: Any, count: int) -> Any:
        raise DataUnavailable(f"no history for {symbol}")

    # The engine snapshots risk as it starts, so the history is gone before that.
    _emb, eng, mon = await _engine(
        build, before_start=lambda e: monkeypatch.setattr(e.market, "daily_bars", no_history)
    )
    await eng.advance(RunBudget(market_minutes=1))
    assert mon.report() is None
    assert "InsufficientData" in mon.last_error
    ok, msg = await eng.submit_manual(_stock(eng, "SPY", 1))
    assert not ok
    assert "VaR model not ready" in msg
    assert "fail closed" in msg
    await eng.stop()


async def test_pdt_when_small_account_made_three_day_trades_then_fourth_close_denied(
    build: Any,
) -> None:
    emb, eng, _mon = await _engine(build, broker={"initial_cash": 20_000.0})
    await eng.advance(RunBudget(market_minutes=1))
    for _ in range(3):
        ok, msg = await eng.submit_manual(_stock(eng, "IWM", 2))
        assert ok, msg
        ok, msg = await eng.submit_manual(_stock(eng, "IWM", 2, Side.SELL, close=True))
        assert ok, msg
    assert eng.risk.live.day_trades.count(eng.clock.now().date()) == 3
    ok, msg = await eng.submit_manual(_stock(eng, "IWM", 2))
    assert ok, msg
    ok, msg = await eng.submit_manual(_stock(eng, "IWM", 2, Side.SELL, close=True))
    assert not ok
    assert "pdt: PDT: would be day trade 4" in msg
    # The count is persisted with the monitor's state: a restart keeps it.
    await eng.advance(RunBudget(market_minutes=1))
    saved = await emb.store.get_setting("risk_monitor")
    assert isinstance(saved, dict)
    assert len(saved["day_trades"]) == 3
    await eng.stop()


async def test_monitor_when_ticking_then_breakers_run_every_tick_and_snapshot_only_on_cadence(
    build: Any,
) -> None:
    cfg = MonitorConfig(monte_carlo_paths=0, garch=False, snapshot_every=timedelta(minutes=30))
    _emb, eng, mon = await _engine(build, cfg)
    # The engine snapshots as it starts (14:30); the next is due 30 minutes later, at the
    # 30th tick (15:00), and none in between although breakers run on every tick.
    assert mon.snapshots == 1
    await eng.advance(RunBudget(market_minutes=29))
    assert mon.snapshots == 1
    await eng.advance(RunBudget(market_minutes=1))
    assert mon.snapshots == 2
    await eng.stop()
