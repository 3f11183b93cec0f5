"""LEAPS Tracker (spec §7): testable behaviour 1-4, every exit rule, data guards, state."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from strat_fixtures_b import NY, Market, context, contract, et, oq, position

from engine.domain import ExitReason, Fill, OptionRight, PositionEffect, ProposalIntent, Side
from engine.strategies.base import ParameterError
from engine.strategies.indicators import CrossKind, MACross
from engine.strategies.leaps_tracker import (
    LeapsScores,
    LeapsTracker,
    composite_score,
    score_history,
    timing_scores,
)

NOW = et(2024, 6, 12, 10, 30)
TODAY = NOW.astimezone(NY).date()
EXP_IN = TODAY + timedelta(days=400)  # inside 365-730
EXP_SHORT = TODAY + timedelta(days=200)  # inside W25's 180-540 only
EXP_FAR = TODAY + timedelta(days=800)  # beyond 730


def golden_series(n: int = 272) -> list[float]:
    """Slow decline then a steady +0.4%/day climb: SMA50 crosses above SMA200 ~bar 261."""
    down = list(np.linspace(120.0, 100.0, 220))
    up = [100.0 * 1.004**i for i in range(1, 120)]
    return [round(v, 4) for v in (down + up)[:n]]


def death_series(n: int = 274) -> list[float]:
    """Slow climb then a -0.4%/day slide: SMA50 crosses below SMA200 ~12 days before NOW."""
    up = list(np.linspace(100.0, 130.0, 220))
    dn = [130.0 * 0.996**i for i in range(1, 120)]
    return [round(v, 4) for v in (up + dn)[:n]]


def leaps_chain(m: Market, sym: str, spot: float, *, mids: dict[float, float] | None = None):
    quotes = []
    for exp in (EXP_SHORT, EXP_IN, EXP_FAR):
        for k in (125.0, 130.0, 135.0, 140.0, 145.0, 150.0):
            mid = (mids or {}).get(k, 20.0 - (k - 125.0) * 0.4)
            quotes.append(oq(contract(sym, exp, k), mid - 0.10, mid + 0.10, ts=m.now))
    return m.chain(sym, spot, quotes)


def only(strat: LeapsTracker, sym: str) -> LeapsTracker:
    return strat.__class__(
        strat.params.model_copy(update={"watchlist": (sym,)}), profile=strat.profile
    )


# -- scores -----------------------------------------------------------------------------------


def test_timing_when_golden_cross_10d_strength_20_bullish_then_entry_93_exit_15() -> None:
    # Spec §7 scenario 1.
    cross = MACross(CrossKind.GOLDEN, index=0, bars_ago=7, strength=20.0)
    assert timing_scores(cross, 10, price=110.0, sma50=105.0, sma200=100.0) == (93.0, 15.0)
    # Not bullish (price under SMA50): no +5/-5 tilt.
    assert timing_scores(cross, 10, price=104.0, sma50=105.0, sma200=100.0) == (88.0, 20.0)


def test_timing_table_rows_when_death_or_no_cross_then_spec_values() -> None:
    death = MACross(CrossKind.DEATH, 0, 0, 10.0)
    # death <= 30 d, bearish (price under both, SMA50 < SMA200): 15-10 -> 5, 90+10 -> 95 (capped)
    assert timing_scores(death, 12, price=90.0, sma50=95.0, sma200=100.0) == (5.0, 95.0)
    assert timing_scores(death, 60, price=97.0, sma50=95.0, sma200=100.0) == (25.0, 75.0)
    assert timing_scores(death, 100, price=97.0, sma50=95.0, sma200=100.0) == (40.0, 60.0)
    golden = MACross(CrossKind.GOLDEN, 0, 0, 50.0)
    assert timing_scores(golden, 45, price=99.0, sma50=101.0, sma200=100.0) == (80.0, 25.0)
    assert timing_scores(golden, 90, price=99.0, sma50=101.0, sma200=100.0) == (65.0, 35.0)
    assert timing_scores(None, None, price=110.0, sma50=105.0, sma200=100.0) == (70.0, 30.0)
    assert timing_scores(None, None, price=110.0, sma50=100.0, sma200=105.0) == (55.0, 45.0)
    assert timing_scores(None, None, price=101.0, sma50=105.0, sma200=100.0) == (35.0, 65.0)


def scores(composite_parts: tuple[float, float, float, float, float], exit_t: float = 15.0):
    t, mo, f, v, e = composite_parts
    return LeapsScores(t, mo, f, v, e, exit_t, None, None, None)


def test_composite_when_75_60_55_80_93_then_72_35_and_candidate() -> None:
    # Spec §7 scenario 2.
    assert composite_score(75, 60, 55, 80, 93) == pytest.approx(72.35)
    strat = LeapsTracker.from_profile("research_2024")
    assert strat.entry_gate(scores((75, 60, 55, 80, 93))) == ""


def test_gate_when_composite_below_60_or_timing_fails_then_rejected() -> None:
    strat = LeapsTracker.from_profile("research_2024")
    assert "composite 59.0 < 60" in strat.entry_gate(scores((60, 50, 50, 60, 75)))
    assert "entry timing 45.0 < 50" in strat.entry_gate(scores((100, 90, 90, 80, 45)))
    assert "exit timing 75.0 > 70" in strat.entry_gate(scores((100, 90, 90, 80, 65), 75.0))
    w25 = LeapsTracker.from_profile("wsb_2025")  # 40 / 30 / 85
    assert w25.entry_gate(scores((60, 50, 50, 60, 45), 75.0)) == ""


def test_score_history_when_golden_cross_then_cross_age_in_calendar_days() -> None:
    m = Market(NOW)
    bars = m.daily("NVDA", golden_series())
    s = score_history(bars, TODAY)
    assert s.cross is not None
    assert s.cross.kind is CrossKind.GOLDEN
    assert 260 <= s.cross.index <= 263
    assert s.cross_date == bars[s.cross.index].session_date
    assert s.cross_age_days == (TODAY - bars[s.cross.index].session_date).days == 15
    assert s.trend == 100.0
    assert s.valuation == 80.0


# -- entries ----------------------------------------------------------------------------------


async def test_entry_when_fresh_golden_cross_then_buy_call_115pct_otm_nearest_window_expiry() -> (
    None
):
    m = Market(NOW)
    closes = golden_series()
    m.daily("NVDA", closes)
    leaps_chain(m, "NVDA", spot=closes[-1])  # ~123.07 -> target strike 141.5 -> 140
    strat = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.intent is ProposalIntent.OPEN
    leg = p.legs[0]
    assert leg.side is Side.BUY
    assert leg.instrument == contract("NVDA", EXP_IN, 140.0)
    # R24 per-position cap 5% of $100k = $5,000; mid 14.00 -> $1,400/contract -> 3 (cap 3)
    assert p.limit_price == Decimal("14.00")
    assert p.quantity == 3
    assert p.max_loss == Decimal("4200.00")
    assert p.breakevens == (154.0,)
    assert "golden cross" in p.reason
    assert "composite" in p.reason
    assert "buy 3 × NVDA" in p.reason


async def test_entry_when_budget_small_then_contracts_from_budget_and_zero_skips() -> None:
    m = Market(NOW)
    closes = golden_series()
    m.daily("NVDA", closes)
    leaps_chain(m, "NVDA", spot=closes[-1], mids={140.0: 22.0})
    strat = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert [p.quantity for p in props] == [2]  # $5,000 // $2,200
    poor = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    assert await poor.on_bar(context(m, cash=20_000), {}) == []  # $1,000 < $2,200
    assert "buys no contract" in poor.skips.by_symbol["NVDA"]


async def test_entry_when_price_below_both_averages_then_no_trade() -> None:
    # Near miss: a declining series has no cross and bearish timing (entry 25 < 50).
    m = Market(NOW)
    closes = list(np.linspace(140.0, 100.0, 300))
    m.daily("NVDA", closes)
    leaps_chain(m, "NVDA", spot=100.0)
    strat = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert strat.skips.by_symbol["NVDA"] == "composite 45.4 < 60"
    assert strat.last_scores["NVDA"].entry_timing == 25.0  # 35 - 10 bearish: also < 50


async def test_entry_when_w25_then_meme_universe_and_shorter_expiry_window() -> None:
    m = Market(NOW)
    closes = golden_series()
    m.daily("TSLA", closes)
    leaps_chain(m, "TSLA", spot=closes[-1])
    strat = LeapsTracker.from_profile("wsb_2025")
    assert "TSLA" in strat.universe()
    assert "SPY" not in strat.universe()
    assert "CRWD" not in strat.universe()
    strat = only(strat, "TSLA")
    props = await strat.on_bar(context(m, cash=100_000, profile="wsb_2025"), {})
    assert props[0].legs[0].instrument.expiry == EXP_SHORT  # earliest in 180-540


async def test_entry_when_history_stale_or_short_then_skipped_with_reason() -> None:
    m = Market(NOW)
    m.daily("NVDA", golden_series(), end=et(2024, 6, 7).date())
    leaps_chain(m, "NVDA", spot=123.0)
    strat = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    assert await strat.on_bar(context(m), {}) == []
    assert "stale" in strat.skips.by_symbol["NVDA"]

    m2 = Market(NOW)
    m2.daily("NVDA", golden_series()[-200:])
    strat2 = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    assert await strat2.on_bar(context(m2), {}) == []
    assert "only 200 daily bars, need 250" in strat2.skips.by_symbol["NVDA"]


async def test_entry_when_chain_missing_then_no_trade() -> None:
    m = Market(NOW)
    m.daily("NVDA", golden_series())
    strat = only(LeapsTracker.from_profile("research_2024"), "NVDA")
    assert await strat.on_bar(context(m), {}) == []
    assert "no option chain" in strat.skips.by_symbol["NVDA"]


async def test_entry_when_leaps_cost_basis_reaches_allocation_then_no_new_entry() -> None:
    m = Market(NOW)
    closes = golden_series()
    m.daily("NVDA", closes)
    leaps_chain(m, "NVDA", spot=closes[-1])
    m.daily("AMD", golden_series())
    leaps_chain(m, "AMD", spot=closes[-1])
    held = position(contract("AMD", EXP_IN, 140.0), 8, 20.0, mark=14.0, opened_at=NOW)
    strat = LeapsTracker.from_profile("research_2024", {"watchlist": ("NVDA", "AMD")})
    # R24 total LEAPS allocation 15% of ~$100k; $16,000 already spent
    assert await strat.on_bar(context(m, cash=88_800, positions=[held]), {}) == []
    assert "total allocation" in strat.skips.by_symbol["*"]


# -- exits ------------------------------------------------------------------------------------


def held_leaps(qty: int = 4, entry: float = 10.0, opened_days_ago: int = 100, exp=EXP_IN):
    return position(
        contract("NVDA", exp, 140.0), qty, entry, opened_at=NOW - timedelta(days=opened_days_ago)
    )


def exit_market(mark: float, *, closes: list[float] | None = None, exp=EXP_IN) -> Market:
    m = Market(NOW)
    m.daily("NVDA", closes or golden_series())
    c = contract("NVDA", exp, 140.0)
    m.chain("NVDA", 123.0, [oq(c, mark - 0.05, mark + 0.05, ts=NOW)])
    return m


async def test_scale_out_when_4_contracts_at_105pct_then_sell_1_and_not_again_until_200() -> None:
    # Spec §7 scenario 3.
    m = exit_market(20.5)
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    pos = held_leaps()
    props = await strat.on_bar(context(m, positions=[pos]), {})
    assert len(props) == 1
    p = props[0]
    assert p.intent is ProposalIntent.CLOSE
    assert p.exit_reason is ExitReason.SCALE_OUT
    assert p.quantity == 1
    assert p.legs[0].side is Side.SELL
    assert p.legs[0].effect is PositionEffect.CLOSE
    assert "+105%" in p.reason
    assert "+100%" in p.reason
    fill = Fill("f1", "c", "b", pos.instrument, Side.SELL, 1, Decimal("20.50"), Decimal(0), NOW)
    await strat.on_fill(context(m, positions=[pos]), fill)
    after = held_leaps(qty=3)
    m.move_to(NOW + timedelta(hours=1))
    m.chain("NVDA", 123.0, [oq(pos.instrument, 20.45, 20.55, ts=m.now)])
    assert await strat.on_bar(context(m, positions=[after]), {}) == []
    m.chain("NVDA", 123.0, [oq(pos.instrument, 29.95, 30.05, ts=m.now)])  # +200%
    again = await strat.on_bar(context(m, positions=[after]), {})
    assert [(x.quantity, x.exit_reason) for x in again] == [(1, ExitReason.SCALE_OUT)]
    assert "+200%" in again[0].reason


async def test_scale_out_when_levels_restored_after_restart_then_no_repeat_sale() -> None:
    m = exit_market(20.5)
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    pos = held_leaps()
    await strat.on_bar(context(m, positions=[pos]), {})
    fill = Fill("f1", "c", "b", pos.instrument, Side.SELL, 1, Decimal("20.50"), Decimal(0), NOW)
    await strat.on_fill(context(m), fill)
    fresh = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    fresh.restore(strat.state())
    assert fresh.state() == strat.state()
    assert await fresh.on_bar(context(m, positions=[held_leaps(qty=3)]), {}) == []


async def test_scale_out_when_proposal_never_filled_then_proposed_again() -> None:
    m = exit_market(20.5)
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    assert len(await strat.on_bar(context(m, positions=[held_leaps()]), {})) == 1
    assert len(await strat.on_bar(context(m, positions=[held_leaps()]), {})) == 1


async def test_scale_out_when_gain_95pct_then_hold() -> None:
    m = exit_market(19.5)
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    assert await strat.on_bar(context(m, positions=[held_leaps()]), {}) == []


async def test_exit_when_death_cross_12d_old_not_at_entry_then_full_exit() -> None:
    # Spec §7 scenario 4: the cross happened after the position was opened.
    closes = death_series()
    m = exit_market(9.0, closes=closes)
    bars = m.data.daily_bars_sync("NVDA", TODAY, 400)
    cross_day = score_history(bars, TODAY).cross_date
    assert cross_day is not None
    assert (TODAY - cross_day).days == 12
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    props = await strat.on_bar(context(m, positions=[held_leaps(opened_days_ago=100)]), {})
    assert len(props) == 1
    p = props[0]
    assert p.exit_reason is ExitReason.SIGNAL
    assert p.quantity == 4
    assert "death cross" in p.reason
    assert "12 d ago" in p.reason


async def test_exit_when_death_cross_already_there_at_entry_then_hold() -> None:
    m = exit_market(9.0, closes=death_series())
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    assert await strat.on_bar(context(m, positions=[held_leaps(opened_days_ago=5)]), {}) == []


async def test_exit_when_death_cross_40d_old_then_hold() -> None:
    m = exit_market(9.0, closes=death_series(296))  # cross 29 sessions ≈ 40+ days ago
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    assert await strat.on_bar(context(m, positions=[held_leaps(opened_days_ago=100)]), {}) == []


async def test_exit_when_loss_past_stop_then_stop_per_profile() -> None:
    m = exit_market(4.9)  # -51%
    eng = only(LeapsTracker(LeapsTracker.params_model()), "ZZZZ")  # Eng stop 50%
    props = await eng.on_bar(context(m, positions=[held_leaps()]), {})
    assert [(p.exit_reason, p.quantity) for p in props] == [(ExitReason.STOP, 4)]
    assert "50% stop" in props[0].reason
    r24 = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")  # no stop
    assert await r24.on_bar(context(m, positions=[held_leaps()]), {}) == []
    m2 = exit_market(3.1)  # -69%: inside W25's 70% stop
    w25 = only(LeapsTracker.from_profile("wsb_2025"), "ZZZZ")
    assert await w25.on_bar(context(m2, positions=[held_leaps()]), {}) == []
    m3 = exit_market(2.9)  # -71%
    assert len(await w25.on_bar(context(m3, positions=[held_leaps()]), {})) == 1


async def test_exit_when_dte_at_90_then_time_exit_and_91_holds() -> None:
    exp90 = TODAY + timedelta(days=90)
    m = exit_market(11.0, exp=exp90)
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    props = await strat.on_bar(context(m, positions=[held_leaps(exp=exp90)]), {})
    assert [p.exit_reason for p in props] == [ExitReason.TIME]
    assert "90 DTE <= 90" in props[0].reason
    exp91 = TODAY + timedelta(days=91)
    m2 = exit_market(11.0, exp=exp91)
    assert await strat.on_bar(context(m2, positions=[held_leaps(exp=exp91)]), {}) == []


async def test_exit_when_no_quote_then_time_exit_still_priced_by_model_but_no_scale_out() -> None:
    exp90 = TODAY + timedelta(days=90)
    m = Market(NOW)
    m.daily("NVDA", golden_series())
    strat = only(LeapsTracker.from_profile("research_2024"), "ZZZZ")
    props = await strat.on_bar(context(m, positions=[held_leaps(exp=exp90)]), {})
    assert [p.exit_reason for p in props] == [ExitReason.TIME]
    assert props[0].limit_price is not None
    assert props[0].limit_price >= Decimal("5.00")
    # No quote and far from expiry: price-based rules are not evaluated on a model price.
    assert await strat.on_bar(context(m, positions=[held_leaps()]), {}) == []


def test_params_when_levels_not_increasing_or_out_of_range_then_error() -> None:
    with pytest.raises(ParameterError, match="strictly increasing"):
        LeapsTracker.from_profile("research_2024", {"profit_levels": (200.0, 100.0)})
    with pytest.raises(ParameterError, match="scale_out_fraction"):
        LeapsTracker.from_profile("research_2024", {"scale_out_fraction": 1.5})


def test_profiles_when_loaded_then_spec_values() -> None:
    r24 = LeapsTracker.from_profile("research_2024").params
    w25 = LeapsTracker.from_profile("wsb_2025").params
    assert r24.profit_levels == (100.0, 200.0, 300.0)
    assert w25.profit_levels == (50.0, 100.0, 300.0, 600.0)
    assert (r24.stop_loss, w25.stop_loss) == (1.0, 0.70)
    assert (w25.min_dte, w25.max_dte, w25.time_exit_dte) == (180, 540, 45)
    assert (r24.total_allocation, w25.total_allocation) == (0.15, 0.40)
    assert LeapsTracker.from_profile("research_2024").universe() >= {"NVDA", "CRWD", "TSLA"}
    assert OptionRight.CALL  # the only right LEAPS buys
