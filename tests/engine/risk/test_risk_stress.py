"""Stress scenarios (spec §2) on hand-computed portfolios, and historical stress replay."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from engine.risk import (
    SCENARIOS,
    ComplianceLevel,
    RiskPortfolio,
    RiskPosition,
    historical_stress,
    run_all_stress,
    run_stress,
)
from engine.risk.cli_var import PriceHistory
from engine.risk.portfolio_model import AssetClass, PositionKind
from engine.risk.stress import compliance_level, recovery_days, worst_windows


def _bs(S: float, K: float, T: float, r: float, sigma: float, call: bool) -> float:
    """Textbook Black-Scholes (no dividends) with math.erf: an independent hand calculator."""

    def N(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    if call:
        return S * N(d1) - K * math.exp(-r * T) * N(d2)
    return K * math.exp(-r * T) * N(-d2) - S * N(-d1)


def _stock(sym: str, qty: float, spot: float, beta: float = 1.0, **kw: object) -> RiskPosition:
    return RiskPosition(symbol=sym, underlying=sym, quantity=qty, spot=spot, beta=beta, **kw)  # type: ignore[arg-type]


def _stock_book() -> RiskPortfolio:
    return RiskPortfolio(
        (
            _stock("AAPL", 100, 150.0, beta=1.2, sector="technology"),
            _stock("KO", 200, 60.0, beta=0.6, sector="consumer staples"),
        ),
        cash=50_000.0,
    )


def test_stress_when_stock_only_then_market_pnl_is_beta_times_shock_times_value() -> None:
    res = run_stress(_stock_book(), "2008_financial_crisis", include_liquidity=False)
    # AAPL 1.2 x -50 % x $15,000 + KO 0.6 x -50 % x $12,000
    assert res.market_pnl == pytest.approx(-9000.0 - 3600.0, abs=1e-9)
    assert res.pnl == res.market_pnl
    assert res.pnl_by_position.tolist() == pytest.approx([-9000.0, -3600.0])
    assert res.worst_position == "AAPL"


def test_stress_when_liquidity_shock_then_always_a_loss_of_beta_shock_one_percent() -> None:
    res = run_stress(_stock_book(), "2008_financial_crisis")
    # 'other' strategies: liquidity sensitivity 0.5 x |-80 %| x 1 % x $27,000 gross
    assert res.liquidity_cost == pytest.approx(0.5 * 0.8 * 0.01 * 27_000.0)
    assert res.pnl == pytest.approx(-12_600.0 - 108.0)
    value = 50_000.0 + 15_000.0 + 12_000.0
    assert res.pnl_pct == pytest.approx(res.pnl / value)
    assert res.drawdown == pytest.approx(-res.pnl / value)


def test_stress_when_ai_bubble_then_only_tech_moves_and_rotation_costs() -> None:
    res = run_stress(_stock_book(), "ai_bubble")
    assert res.pnl_by_position[0] == pytest.approx(
        1.2 * -0.60 * 15_000.0 - 0.5 * 0.5 * 0.01 * 15_000.0
    )
    # KO: no broad equity shock in this scenario; only the sector-rotation charge.
    assert res.pnl_by_position[1] == pytest.approx(-0.5 * 0.5 * 0.01 * 12_000.0)
    assert res.rotation_cost == pytest.approx(0.5 * 0.5 * 0.01 * 27_000.0)


def test_stress_when_crypto_underlying_then_proposed_crypto_shock_per_scenario() -> None:
    pf = RiskPortfolio((_stock("BTCUSD", 1, 30_000.0, asset_class=AssetClass.CRYPTO),))
    expected = (-0.65, -0.30, -0.50, -0.25, -0.35, -0.45)
    for sc, shock in zip(SCENARIOS, expected, strict=True):
        res = run_stress(pf, sc, include_liquidity=False)
        assert res.market_pnl == pytest.approx(30_000.0 * shock), sc.key


def test_stress_when_options_then_full_repricing_matches_hand_black_scholes() -> None:
    # European on purpose: the hand formula is Black-Scholes (American: test_american_repricing).
    S, r = 420.0, 0.03
    call = RiskPosition(
        symbol="SPY C400", underlying="SPY", quantity=2, spot=S, kind=PositionKind.OPTION,
        multiplier=100, strike=400.0, expiry_years=0.25, is_call=True, iv=0.20, american=False,
    )  # fmt: skip
    put = RiskPosition(
        symbol="SPY P380", underlying="SPY", quantity=-1, spot=S, kind=PositionKind.OPTION,
        multiplier=100, strike=380.0, expiry_years=0.25, is_call=False, iv=0.25, american=False,
    )  # fmt: skip
    pf = RiskPortfolio((call, put), cash=100_000.0, rate=r)
    res = run_stress(pf, "flash_crash_2010", include_liquidity=False)
    # Flash crash: spot -20 % (beta 1), implied vols x (1 + 300 %), rates unchanged.
    S1 = S * 0.8
    c0, c1 = _bs(S, 400, 0.25, r, 0.20, True), _bs(S1, 400, 0.25, r, 0.80, True)
    p0, p1 = _bs(S, 380, 0.25, r, 0.25, False), _bs(S1, 380, 0.25, r, 1.00, False)
    assert res.pnl_by_position[0] == pytest.approx(2 * 100 * (c1 - c0), rel=1e-10)
    assert res.pnl_by_position[1] == pytest.approx(-1 * 100 * (p1 - p0), rel=1e-10)
    # A vol spike raises the long call's value above a pure delta move: re-pricing, not delta.
    assert res.pnl_by_position[0] > 2 * 100 * (_bs(S1, 400, 0.25, r, 0.20, True) - c0)
    # Rate shock: +300 bp goes into the re-pricing too.
    rs = run_stress(pf, "rate_shock", include_liquidity=False)
    S2 = S * 0.8
    c2 = _bs(S2, 400, 0.25, r + 0.03, 0.20 * 2.5, True)
    assert rs.pnl_by_position[0] == pytest.approx(2 * 100 * (c2 - c0), rel=1e-10)


def test_stress_when_spec_example_1_index_baseline_2008_then_fail_with_1095_days() -> None:
    pf = RiskPortfolio(
        (_stock("SPY", 150, 400.0, beta=1.0, strategy="index_baseline"),), cash=40_000.0
    )
    res = run_stress(pf, "2008_financial_crisis")
    assert res.pnl_pct == pytest.approx(-0.30, abs=0.002)
    assert res.drawdown > 0.25
    assert res.recovery_days == 730 * 1.5
    assert not res.passed


def test_stress_when_spec_example_2_rate_shock_20pct_drawdown_then_pass_180_days() -> None:
    pf = RiskPortfolio((_stock("SPY", 250, 400.0, beta=1.0),), cash=0.0)
    res = run_stress(pf, "rate_shock")
    assert res.drawdown == pytest.approx(0.20)
    assert res.recovery_days == 180
    assert res.passed


def test_recovery_when_drawdown_over_50_then_doubled() -> None:
    assert recovery_days(730, 0.51) == 1460
    assert recovery_days(730, 0.26) == 1095
    assert recovery_days(730, 0.25) == 730


@pytest.mark.parametrize(
    ("passed", "level"),
    [
        (6, ComplianceLevel.COMPLIANT),
        (5, ComplianceLevel.COMPLIANT),
        (4, ComplianceLevel.PARTIALLY_COMPLIANT),
        (3, ComplianceLevel.NON_COMPLIANT),
    ],
)
def test_compliance_when_spec_example_3_pass_counts_then_levels(
    passed: int, level: ComplianceLevel
) -> None:
    assert compliance_level(passed, 6) is level


def test_run_all_stress_when_levered_book_then_report_score_and_advice() -> None:
    pf = RiskPortfolio(
        (_stock("NVDA", 100, 400.0, beta=1.6, sector="technology", strategy="wsb_dip_bot"),),
        cash=10_000.0,
    )
    rep = run_all_stress(pf)
    assert len(rep.results) == 6
    assert rep.passed == sum(r.passed for r in rep.results)
    assert rep.compliance is compliance_level(rep.passed, 6)
    probs = np.array([s.probability for s in SCENARIOS])
    losses = np.array([abs(r.pnl_pct) for r in rep.results])
    assert rep.score == pytest.approx(min(100.0, 1000.0 * float(probs @ losses / probs.sum())))
    assert any("cut position sizes" in a for a in rep.advice)
    assert any("wsb_dip_bot loses" in a for a in rep.advice)


def test_run_stress_when_unknown_scenario_then_error_lists_keys() -> None:
    with pytest.raises(ValueError, match="2008_financial_crisis"):
        run_stress(_stock_book(), "alien_invasion")


def test_stressed_var_when_var99_given_then_scaled_by_one_plus_equity_shock() -> None:
    res = run_stress(_stock_book(), "covid_19", var99=0.03)
    assert res.stressed_var == pytest.approx(0.03 * 1.35)


# --------------------------------------------------------------------------------------------
# historical replay


def test_worst_windows_when_gspc_2008_and_2020_then_october_2008_and_march_2020(
    gspc: PriceHistory,
) -> None:
    w08 = worst_windows(
        gspc.dates, gspc.adj_close, 20, start=date(2008, 1, 1), end=date(2008, 12, 31)
    )
    w20 = worst_windows(
        gspc.dates, gspc.adj_close, 20, start=date(2020, 1, 1), end=date(2020, 12, 31)
    )
    (s08, e08, r08), (s20, e20, r20) = w08[0], w20[0]
    assert (gspc.dates[s08], gspc.dates[e08]) == (date(2008, 9, 12), date(2008, 10, 10))
    assert (gspc.dates[s20], gspc.dates[e20]) == (date(2020, 2, 21), date(2020, 3, 20))
    assert r08 == pytest.approx(gspc.adj_close[e08] / gspc.adj_close[s08] - 1)
    assert r08 < -0.25
    assert r20 < -0.30
    two = worst_windows(
        gspc.dates, gspc.adj_close, 20, start=date(2008, 1, 1), end=date(2008, 12, 31), n=2
    )
    assert abs(two[1][0] - two[0][0]) >= 20  # non-overlapping
    assert two[1][2] >= two[0][2]


def test_historical_stress_when_stock_only_then_path_is_beta_times_index_path(
    gspc: PriceHistory,
) -> None:
    pf = _stock_book()
    res = historical_stress(pf, gspc.dates, gspc.adj_close, window_days=20)
    assert [r.start.year for r in res] == [2008, 2020]
    for r in res:
        assert len(r.dates) == 21
        assert r.pnl_path[0] == 0.0
        expected = (1.2 * 15_000.0 + 0.6 * 12_000.0) * r.index_path
        np.testing.assert_allclose(r.pnl_path, expected, rtol=1e-12, atol=1e-9)
        assert r.final_pnl == pytest.approx(expected[-1])
        assert r.worst_pnl == pytest.approx(expected.min())
        assert r.max_drawdown > 0


def test_historical_stress_when_options_then_repriced_with_time_decay_on_spy(
    spy: PriceHistory,
) -> None:
    S = 100.0
    put = RiskPosition(
        symbol="X P95", underlying="X", quantity=10, spot=S, kind=PositionKind.OPTION,
        multiplier=100, strike=95.0, expiry_years=0.5, is_call=False, iv=0.30, beta=1.5,
        american=False,  # checked against hand Black-Scholes; American: test_american_repricing
    )  # fmt: skip
    pf = RiskPortfolio((put,), cash=10_000.0, rate=0.02)
    (r08,) = historical_stress(
        pf, spy.dates, spy.adj_close, periods=[(date(2008, 1, 1), date(2008, 12, 31))]
    )
    base = _bs(S, 95, 0.5, 0.02, 0.30, False)
    for t, d in enumerate(r08.dates):
        elapsed = (d - r08.start).days / 365.0
        St = S * max(1 + 1.5 * r08.index_path[t], 0.01)
        hand = 10 * 100 * (_bs(St, 95, 0.5 - elapsed, 0.02, 0.30, False) - base)
        assert r08.pnl_path[t] == pytest.approx(hand, rel=1e-9, abs=1e-7)
    assert r08.final_pnl > 0  # long puts gain in the October 2008 fall


def test_historical_stress_when_vol_index_given_then_vols_scale_with_it(
    gspc: PriceHistory,
) -> None:
    put = RiskPosition(
        symbol="X P95", underlying="X", quantity=1, spot=100.0, kind=PositionKind.OPTION,
        multiplier=100, strike=95.0, expiry_years=0.5, is_call=False, iv=0.30,
    )  # fmt: skip
    pf = RiskPortfolio((put,), cash=1_000.0)
    flat_vix = np.full(gspc.adj_close.size, 20.0)
    doubling = flat_vix.copy()
    periods = [(date(2020, 1, 1), date(2020, 12, 31))]
    (a,) = historical_stress(pf, gspc.dates, gspc.adj_close, periods=periods, vol_index=flat_vix)
    (b,) = historical_stress(pf, gspc.dates, gspc.adj_close, periods=periods)
    np.testing.assert_allclose(a.pnl_path, b.pnl_path, rtol=1e-12)
    i0 = gspc.dates.index(a.start)
    doubling[i0 + 1 :] = 40.0
    (c,) = historical_stress(pf, gspc.dates, gspc.adj_close, periods=periods, vol_index=doubling)
    assert c.final_pnl > b.final_pnl
