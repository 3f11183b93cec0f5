"""Index Baseline (spec §3): testable behaviour 1-4, exits, data guards, state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from strat_fixtures_b import Market, context, et, position, steady

from engine.domain import (
    Equity,
    ExitReason,
    Fill,
    OrderLeg,
    PositionEffect,
    ProposalIntent,
    Side,
)
from engine.strategies.base import ParameterError
from engine.strategies.index_baseline import (
    IndexBaseline,
    compare_to_benchmark,
    trade_cost,
)

NOW = et(2024, 6, 12, 10, 30)  # a Wednesday, after the 10:00 ET daily slot
SPY = Equity("SPY")


def market_with(prices: dict[str, float], *, leader: str = "SPY") -> Market:
    """Fresh quotes and 130 calm daily closes for each symbol; `leader` trends hardest."""
    m = Market(NOW)
    for sym, px in prices.items():
        drift = 0.0015 if sym == leader else 0.0002
        m.daily(sym, steady(px * 0.8, 130, daily=drift))
        m.quote(sym, px)
    return m


R24_PRICES = {"SPY": 500.0, "QQQ": 400.0, "IWM": 200.0, "VTI": 250.0, "ARKK": 50.0}


def buy_fill(sym: str, qty: int, price: float, ts) -> Fill:
    return Fill(
        f"f-{sym}-{ts:%Y%m%d}", "c", "b", Equity(sym), Side.BUY, qty, Decimal(str(price)),
        Decimal(0), ts, strategy="index_baseline",
    )  # fmt: skip


async def test_rebalance_when_spy_half_of_100k_and_target_60_then_buy_10k_spy() -> None:
    # Spec §3 scenario 1: equity $100k, SPY $50k, target 60%, threshold 3% -> buy $10k SPY.
    m = market_with(R24_PRICES)
    strat = IndexBaseline.from_profile("research_2024")
    ctx = context(
        m, cash=50_000, positions=[position(SPY, 100, 480.0, mark=500.0)],
        allocation_cap=0.60, open_risk=50_000,
    )  # fmt: skip
    props = await strat.on_bar(ctx, {})
    assert len(props) == 1
    p = props[0]
    assert p.intent is ProposalIntent.OPEN
    assert p.legs == (OrderLeg(SPY, Side.BUY),)
    assert p.quantity == 20  # $10,000 / $500
    assert p.limit_price == Decimal("500.00")
    assert p.max_loss == Decimal("10000.00")
    assert p.confidence == pytest.approx(1.0)  # min(1, 10 × 10%)
    assert "sleeve 50.0% of $100,000 vs target 60.0%" in p.reason
    assert "buy $10,000 SPY = 20 sh @ $500.00" in p.reason


async def test_rebalance_when_allocation_58_vs_60_then_no_trade() -> None:
    # Scenario 2 (near miss of 1): 2% drift is within the 3% threshold.
    m = market_with(R24_PRICES)
    strat = IndexBaseline.from_profile("research_2024")
    ctx = context(m, cash=42_000, positions=[position(SPY, 116, 480.0, mark=500.0)])
    assert await strat.on_bar(ctx, {}) == []
    assert any("allocation 58.0% vs target 60.0%" in n for n in strat.notes)


async def test_rebalance_when_required_trade_800_on_100k_then_no_trade_but_1200_trades() -> None:
    # Scenario 3: trades under 1% of equity are skipped (threshold lowered so drift passes).
    prices = {"SPY": 400.0}
    over = {"rebalance_threshold": 0.005, "benchmarks": ("SPY",)}
    m = market_with(prices)
    strat = IndexBaseline.from_profile("research_2024", over)
    ctx = context(m, cash=40_800, positions=[position(SPY, 148, 400.0, mark=400.0)])  # 59.2%
    assert await strat.on_bar(ctx, {}) == []
    assert any("buy $800 < minimum $1,000" in n for n in strat.notes)

    strat2 = IndexBaseline.from_profile("research_2024", over)
    ctx2 = context(m, cash=41_200, positions=[position(SPY, 147, 400.0, mark=400.0)])  # 58.8%
    props = await strat2.on_bar(ctx2, {})
    assert [(p.legs[0].symbol, p.quantity) for p in props] == [("SPY", 3)]  # $1,200 / $400


async def test_harvest_when_lot_down_6pct_and_threshold_5_then_sell_the_lot() -> None:
    # Scenario 4: lot at -6% with threshold -5% -> harvest signal.
    m = market_with({"SPY": 470.0, "VTI": 250.0})
    strat = IndexBaseline.from_profile(
        "research_2024",
        {"benchmarks": ("SPY", "VTI"), "momentum_factor": 0.0, "vol_target": None},
    )
    await strat.on_fill(context(m), buy_fill("SPY", 100, 500.0, NOW - timedelta(days=40)))
    ctx = context(m, cash=53_000, positions=[position(SPY, 100, 500.0, mark=470.0)])  # 47%
    props = await strat.on_bar(ctx, {})
    harvest = [p for p in props if p.intent is ProposalIntent.CLOSE]
    assert len(harvest) == 1
    h = harvest[0]
    assert h.legs == (OrderLeg(SPY, Side.SELL, effect=PositionEffect.CLOSE),)
    assert h.quantity == 100
    assert h.exit_reason is ExitReason.SIGNAL
    assert h.meta["kind"] == "tax_loss_harvest"
    assert "cost $500.00 now $470.00 (-6.0% <= -5.0%)" in h.reason
    assert "$3,000 loss" in h.reason
    # With SPY sold at a loss, the rebalance buy goes to the next benchmark (no wash sale):
    buys = [p for p in props if p.intent is ProposalIntent.OPEN]
    assert [b.legs[0].symbol for b in buys] == ["VTI"]
    assert "buying VTI instead (SPY is being sold at a loss)" in buys[0].reason
    # Target 60% of $100k = $60,000, but only today's free cash counts (the harvest proceeds
    # are not settled yet): $53,000 × 0.99 = $52,470 -> 209 sh of VTI at $250.
    assert buys[0].quantity == 209
    assert "capped by buying power $52,470" in buys[0].reason


async def test_harvest_when_lot_down_4pct_then_no_harvest() -> None:
    m = market_with({"SPY": 480.0})
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    )
    await strat.on_fill(context(m), buy_fill("SPY", 125, 500.0, NOW - timedelta(days=40)))
    ctx = context(m, cash=40_000, positions=[position(SPY, 125, 500.0, mark=480.0)])  # 60%
    assert await strat.on_bar(ctx, {}) == []


async def test_harvest_when_same_symbol_bought_within_30_days_then_blocked() -> None:
    m = market_with({"SPY": 470.0})
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    )
    await strat.on_fill(context(m), buy_fill("SPY", 100, 500.0, NOW - timedelta(days=60)))
    await strat.on_fill(context(m), buy_fill("SPY", 28, 500.0, NOW - timedelta(days=12)))
    ctx = context(m, cash=40_000, positions=[position(SPY, 128, 500.0, mark=470.0)])
    props = await strat.on_bar(ctx, {})
    assert not [p for p in props if p.intent is ProposalIntent.CLOSE]
    assert any("blocked" in n and "wash-sale" in n for n in strat.notes)


async def test_harvest_when_no_fill_history_then_uses_position_cost_basis() -> None:
    m = market_with({"SPY": 460.0})
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    )
    ctx = context(
        m, cash=40_000,
        positions=[position(SPY, 130, 500.0, mark=460.0, opened_at=NOW - timedelta(days=90))],
    )  # fmt: skip
    props = await strat.on_bar(ctx, {})
    assert [(p.meta["kind"], p.quantity) for p in props] == [("tax_loss_harvest", 130)]


async def test_rebalance_when_allocation_70_vs_60_then_sell_10k_spy() -> None:
    m = market_with({"SPY": 500.0})
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    )
    ctx = context(m, cash=30_000, positions=[position(SPY, 140, 480.0, mark=500.0)])
    props = await strat.on_bar(ctx, {})
    assert len(props) == 1
    s = props[0]
    assert s.intent is ProposalIntent.CLOSE
    assert s.exit_reason is ExitReason.REBALANCE
    assert s.legs == (OrderLeg(SPY, Side.SELL, effect=PositionEffect.CLOSE),)
    assert s.quantity == 20
    assert "drift +10.0%" in s.reason


async def test_vol_target_when_spy_vol_40pct_then_target_halved() -> None:
    # R24 vol target 20%: SPY realised vol ~40% scales the 60% target to ~30%.
    m = Market(NOW)
    closes = [400.0 * (1.025 if i % 2 else 1.0) for i in range(130)]  # ±2.5% daily swings
    m.daily("SPY", closes)
    m.quote("SPY", 500.0)
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0}
    )
    ctx = context(m, cash=100_000)
    props = await strat.on_bar(ctx, {})
    assert len(props) == 1
    assert "vol target 20%" in props[0].reason
    assert 50 <= props[0].quantity <= 70  # ~$30k / $500, not $60k


async def test_momentum_tilt_when_qqq_leads_then_20pct_of_buy_goes_to_qqq() -> None:
    m = market_with(R24_PRICES, leader="QQQ")
    strat = IndexBaseline.from_profile("research_2024")  # momentum factor 0.2
    ctx = context(m, cash=100_000)
    props = await strat.on_bar(ctx, {})
    by_sym = {p.legs[0].symbol: p for p in props}
    assert set(by_sym) == {"SPY", "QQQ"}
    assert by_sym["SPY"].quantity == 96  # $48,000 / $500
    assert by_sym["QQQ"].quantity == 30  # $12,000 / $400
    assert "6-month leader QQQ" in by_sym["QQQ"].reason


async def test_scan_when_before_10_et_or_already_ran_today_then_nothing() -> None:
    m = Market(et(2024, 6, 12, 9, 45))
    m.daily("SPY", steady(400, 130))
    m.quote("SPY", 500.0)
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0}
    )
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    m.move_to(et(2024, 6, 12, 10, 5))
    m.quote("SPY", 500.0)
    assert len(await strat.on_bar(context(m, cash=100_000), {})) == 1
    m.move_to(et(2024, 6, 12, 11, 0))
    m.quote("SPY", 500.0)
    assert await strat.on_bar(context(m, cash=100_000), {}) == []  # once per session


async def test_scan_when_spy_daily_bars_stale_then_no_trade_and_reason_recorded() -> None:
    m = Market(NOW)
    m.daily("SPY", steady(400, 130), end=et(2024, 6, 7).date())  # missing Mon/Tue
    m.quote("SPY", 500.0)
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0}
    )
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "stale daily history" in (strat.skips.by_symbol.get("SPY") or "")


async def test_scan_when_quote_missing_or_stale_then_no_trade() -> None:
    m = Market(NOW)
    m.daily("SPY", steady(400, 130))
    m.quote("SPY", 500.0, ts=NOW - timedelta(hours=2))
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    )
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "stale quote" in (strat.skips.by_symbol.get("SPY") or "")
    # A held benchmark with no data at all: the sleeve cannot be valued, so no trade.
    m.quote("SPY", 500.0)
    qqq = Equity("QQQ")
    strat2 = IndexBaseline.from_profile(
        "research_2024",
        {"benchmarks": ("SPY", "QQQ"), "momentum_factor": 0.0, "vol_target": None},
    )
    ctx = context(m, cash=90_000, positions=[position(qqq, 25, 400.0, mark=400.0)])
    assert await strat2.on_bar(ctx, {}) == []
    assert "unknown symbol" in (strat2.skips.by_symbol.get("QQQ") or "")


async def test_rebalance_when_benchmark_proposal_pending_then_no_second_buy() -> None:
    m = market_with({"SPY": 500.0})
    strat = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0}
    )
    first = await strat.on_bar(context(m, cash=100_000), {})
    strat2 = IndexBaseline.from_profile(
        "research_2024", {"benchmarks": ("SPY",), "momentum_factor": 0.0}
    )
    assert await strat2.on_bar(context(m, cash=100_000, pending=first), {}) == []


async def test_state_when_restored_then_lots_and_wash_sale_dates_survive() -> None:
    m = market_with({"SPY": 470.0})
    over = {"benchmarks": ("SPY",), "momentum_factor": 0.0, "vol_target": None}
    strat = IndexBaseline.from_profile("research_2024", over)
    await strat.on_fill(context(m), buy_fill("SPY", 100, 500.0, NOW - timedelta(days=60)))
    await strat.on_fill(context(m), buy_fill("SPY", 28, 500.0, NOW - timedelta(days=12)))
    saved = strat.state()
    again = IndexBaseline.from_profile("research_2024", over)
    again.restore(saved)
    assert again.state() == saved
    ctx = context(m, cash=40_000, positions=[position(SPY, 128, 500.0, mark=470.0)])
    props = await again.on_bar(ctx, {})
    assert not [p for p in props if p.intent is ProposalIntent.CLOSE]  # still wash-blocked


async def test_on_fill_when_sold_at_loss_then_lots_reduced_highest_cost_first() -> None:
    m = market_with({"SPY": 470.0})
    strat = IndexBaseline.from_profile("research_2024")
    await strat.on_fill(context(m), buy_fill("SPY", 10, 400.0, NOW - timedelta(days=90)))
    await strat.on_fill(context(m), buy_fill("SPY", 10, 520.0, NOW - timedelta(days=50)))
    sell = Fill("s1", "c", "b", SPY, Side.SELL, 10, Decimal("470"), Decimal(0), NOW)
    await strat.on_fill(context(m), sell)
    st = strat.state()
    assert st["lots"]["SPY"] == [[10, "400.0", (NOW - timedelta(days=90)).isoformat()]]
    assert st["last_loss_sale"]["SPY"] == NOW.isoformat()


def test_params_when_out_of_range_then_error_names_field_and_value() -> None:
    with pytest.raises(ParameterError, match=r"target_allocation=1\.5"):
        IndexBaseline.from_profile("research_2024", {"target_allocation": 1.5})
    with pytest.raises(ParameterError, match="benchmarks"):
        IndexBaseline.from_profile("research_2024", {"benchmarks": ("spy!",)})


def test_profiles_when_loaded_then_spec_values() -> None:
    r24 = IndexBaseline.from_profile("research_2024")
    w25 = IndexBaseline.from_profile("wsb_2025")
    eng = IndexBaseline(IndexBaseline.params_model())
    assert eng.universe() == frozenset({"SPY", "VTI", "QQQ", "IWM", "DIA"})
    assert r24.universe() == frozenset({"SPY", "QQQ", "IWM", "VTI", "ARKK"})
    assert w25.universe() == r24.universe() | {"SMH", "SOXX"}
    assert (r24.params.target_allocation, w25.params.target_allocation) == (0.60, 0.55)
    assert (r24.params.vol_target, w25.params.vol_target) == (0.20, 0.25)
    assert IndexBaseline.intraday is False


def test_compare_to_benchmark_when_strategy_flat_and_benchmark_up_then_negative_alpha() -> None:
    strat = [100.0, 100.0, 100.0, 100.0]
    bench = [100.0, 110.0, 99.0, 110.0]
    cmp = compare_to_benchmark("SPY", strat, bench, costs=1.0)
    assert cmp.benchmark_return == pytest.approx(0.10)
    assert cmp.benchmark_max_drawdown == pytest.approx(0.10)
    assert cmp.alpha == pytest.approx(-0.10 - 0.01)
    assert cmp.strategy_sharpe == 0.0
    assert compare_to_benchmark("SPY", strat, bench, costs=50.0).cost_drag == 0.05  # capped
    assert trade_cost(10_000) == pytest.approx(3.0)
