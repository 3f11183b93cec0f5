"""Monte Carlo VaR: t copula, closed-form t CDF, full option re-pricing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from engine.risk import InsufficientData, RiskPortfolio, RiskPosition, monte_carlo_var
from engine.risk.montecarlo import psd_cholesky, simulate_returns, t_cdf, t_copula_normal_scores
from engine.risk.portfolio_model import PositionKind
from engine.risk.repricing import check_grid_error, scenario_pnl

X = np.concatenate([np.linspace(-60, 60, 24001), [0.0, -0.0, 1e-300, -1e-300]])


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5])
def test_t_cdf_when_closed_form_integer_df_then_matches_scipy_stdtr(df: int) -> None:
    got = t_cdf(X, df)
    ref = special.stdtr(df, X)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-16)
    # The lower tail keeps relative precision far out (no 1/2 - x cancellation).
    far = np.array([-50.0, -200.0])
    np.testing.assert_allclose(t_cdf(far, df), special.stdtr(df, far), rtol=1e-6)


@pytest.mark.parametrize("df", [5.5, 6, 30])
def test_t_cdf_when_other_df_then_falls_back_to_stdtr(df: float) -> None:
    np.testing.assert_array_equal(t_cdf(X, df), special.stdtr(df, X))


def test_normal_scores_when_upper_tail_then_symmetric_and_accurate() -> None:
    x = np.array([-30.0, -3.0, -0.5, 0.0, 0.5, 3.0, 30.0])
    z = t_copula_normal_scores(x, 5)
    np.testing.assert_allclose(z, -z[::-1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(z[:4], special.ndtri(special.stdtr(5, x[:4])), rtol=1e-9)


def test_psd_cholesky_when_matrix_not_psd_then_repaired_factor() -> None:
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < 0
    L = psd_cholesky(bad)
    rep = L @ L.T
    assert np.linalg.eigvalsh(rep).min() > -1e-12
    w, v = np.linalg.eigh(bad)
    clipped = (v * np.maximum(w, 0)) @ v.T
    np.testing.assert_allclose(rep, clipped + 1e-12 * np.eye(3), atol=1e-9)


def _linear_book() -> tuple[RiskPortfolio, np.ndarray]:
    spots = [100.0, 50.0, 200.0, 80.0, 30.0]
    qty = [300.0, -200.0, 100.0, 250.0, 1000.0]
    pos = tuple(
        RiskPosition(symbol=f"S{i}", underlying=f"S{i}", quantity=q, spot=s)
        for i, (q, s) in enumerate(zip(qty, spots, strict=True))
    )
    vols = np.array([0.01, 0.02, 0.015, 0.012, 0.03])
    corr = np.full((5, 5), 0.4) + 0.6 * np.eye(5)
    corr[1, 3] = corr[3, 1] = -0.2
    return RiskPortfolio(pos, cash=10_000.0), corr * np.outer(vols, vols)


def test_mc_var_when_linear_gaussian_copula_then_converges_to_analytic_normal() -> None:
    pf, cov = _linear_book()
    expo = pf.arrays.value
    sd = math.sqrt(float(expo @ cov @ expo))
    z = stats.norm.ppf(0.01)
    analytic_var = -z * sd
    analytic_es = sd * stats.norm.pdf(z) / 0.01
    res = monte_carlo_var(pf, 0.99, cov=cov, df=None, kind="simple", n_scenarios=200_000)
    # Standard error of the 1 % sample quantile: sqrt(p(1-p)/n) / density at the quantile.
    se = math.sqrt(0.01 * 0.99 / 200_000) / (stats.norm.pdf(z) / sd)
    assert abs(res.var_dollars - analytic_var) < 4 * se
    assert res.cvar_dollars == pytest.approx(analytic_es, rel=0.02)
    assert res.var == pytest.approx(res.var_dollars / pf.value)
    assert res.repricing == "exact"  # no options: nothing to grid


def test_mc_var_when_t_copula_then_more_joint_tail_losses_than_gaussian_same_marginals() -> None:
    cov = np.array([[1.0, 0.5], [0.5, 1.0]]) * 1e-4
    g = simulate_returns(cov, 100_000, df=None)
    t = simulate_returns(cov, 100_000, df=3.0)
    # Same normal marginals ...
    for sims in (g, t):
        assert sims[:, 0].std() == pytest.approx(0.01, rel=0.02)
        assert abs(stats.kurtosis(sims[:, 0])) < 0.1
    # ... but the t copula puts more mass in joint extreme losses (tail dependence).
    q = np.quantile(g[:, 0], 0.005)
    joint_g = np.mean((g[:, 0] < q) & (g[:, 1] < q))
    joint_t = np.mean((t[:, 0] < q) & (t[:, 1] < q))
    assert joint_t > 1.5 * joint_g


def test_simulate_when_longer_run_then_prefix_identical_so_chunking_is_invisible() -> None:
    cov = np.diag([1e-4, 4e-4, 9e-4])
    a = simulate_returns(cov, 10_000, df=5.0, seed=7)
    b = simulate_returns(cov, 30_000, df=5.0, seed=7)
    np.testing.assert_array_equal(a, b[:10_000])
    c = simulate_returns(cov, 10_000, df=5.0, seed=8)
    assert not np.array_equal(a, c)


def test_simulate_when_marginals_t_then_variance_matches_cov() -> None:
    cov = np.diag([1e-4, 4e-4])
    s = simulate_returns(cov, 200_000, df=5.0, marginals="t")
    np.testing.assert_allclose(s.std(axis=0), [0.01, 0.02], rtol=0.03)
    assert stats.kurtosis(s[:, 0]) > 2  # t_5 has excess kurtosis 6


def test_simulate_when_empirical_marginals_then_values_within_history() -> None:
    rng = np.random.default_rng(4)
    hist = rng.standard_t(3, (500, 2)) * 0.01
    s = simulate_returns(np.cov(hist, rowvar=False), 20_000, marginals="empirical", history=hist)
    assert s.min(axis=0).tolist() >= hist.min(axis=0).tolist()
    assert s.max(axis=0).tolist() <= hist.max(axis=0).tolist()
    np.testing.assert_allclose(np.median(s, axis=0), np.median(hist, axis=0), atol=0.002)


def _option_book(n_und: int = 6, per: int = 8, *, short_dated: bool = False) -> RiskPortfolio:
    rng = np.random.default_rng(21)
    pos: list[RiskPosition] = []
    for j in range(n_und):
        s = float(rng.uniform(20, 400))
        pos.append(RiskPosition(symbol=f"U{j}", underlying=f"U{j}", quantity=50.0, spot=s))
        for i in range(per):
            days = 1.0 if (short_dated and i == 0) else float(rng.uniform(5, 400))
            pos.append(
                RiskPosition(
                    symbol=f"U{j}O{i}",
                    underlying=f"U{j}",
                    quantity=float(rng.integers(-5, 6) or 2),
                    spot=s,
                    kind=PositionKind.OPTION,
                    multiplier=100.0,
                    strike=float(s * rng.uniform(0.7, 1.3)),
                    expiry_years=days / 365.0,
                    is_call=bool(i % 2),
                    iv=float(rng.uniform(0.15, 0.9)),
                )
            )
    return RiskPortfolio(tuple(pos), cash=50_000.0, rate=0.03)


@pytest.mark.parametrize("short_dated", [False, True])
def test_repricing_when_grid_then_equals_exact_bs_repricing(short_dated: bool) -> None:
    pf = _option_book(short_dated=short_dated)
    k = len(pf.underlyings)
    sims = simulate_returns(np.eye(k) * 4e-4, 5_000, df=5.0)
    exact = scenario_pnl(pf, sims, method="exact")
    grid = scenario_pnl(pf, sims, method="grid")
    gross = float(np.abs(pf.arrays.value).sum())
    assert np.max(np.abs(grid - exact)) < 1e-9 * gross
    assert check_grid_error(pf, sims) < 1e-9 * gross


def test_repricing_when_spot_unchanged_then_pnl_is_one_day_theta_decay() -> None:
    pf = _option_book(2, 3)
    zero = np.zeros((1, len(pf.underlyings)))
    aged = scenario_pnl(pf, zero, horizon_days=1)
    assert scenario_pnl(pf, zero, age_options=False)[0] == pytest.approx(0.0, abs=1e-8)
    from engine.risk import portfolio_greeks

    theta_per_day = portfolio_greeks(pf).total.theta
    # one trading day = 365/252 calendar days of decay
    assert aged[0] == pytest.approx(theta_per_day * 365.0 / 252.0, rel=0.02)


def test_mc_var_when_options_then_grid_and_exact_give_the_same_var() -> None:
    pf = _option_book()
    k = len(pf.underlyings)
    cov = (np.full((k, k), 0.3) + 0.7 * np.eye(k)) * 4e-4
    a = monte_carlo_var(pf, 0.99, cov=cov, n_scenarios=20_000, repricing="exact")
    b = monte_carlo_var(pf, 0.99, cov=cov, n_scenarios=20_000, repricing="grid")
    assert b.var_dollars == pytest.approx(a.var_dollars, rel=1e-9)
    assert b.cvar_dollars == pytest.approx(a.cvar_dollars, rel=1e-9)
    assert b.reprice_check_error is not None
    assert b.reprice_check_error < 1e-6
    assert a.cvar_dollars > a.var_dollars > 0


def test_mc_var_when_history_given_then_uses_its_covariance_and_is_seeded() -> None:
    pf, cov = _linear_book()
    rng = np.random.default_rng(3)
    hist = rng.multivariate_normal(np.zeros(5), cov, size=750)
    a = monte_carlo_var(pf, 0.99, returns=hist, n_scenarios=20_000)
    b = monte_carlo_var(pf, 0.99, returns=hist, n_scenarios=20_000)
    assert a.var_dollars == b.var_dollars
    c = monte_carlo_var(pf, 0.99, returns=hist, n_scenarios=20_000, marginals="empirical")
    assert c.var_dollars == pytest.approx(a.var_dollars, rel=0.15)
    ten = monte_carlo_var(pf, 0.99, returns=hist, n_scenarios=20_000, horizon_days=10)
    assert ten.var_dollars == pytest.approx(a.var_dollars * math.sqrt(10), rel=0.1)


def test_mc_var_when_inputs_missing_or_short_then_clear_errors() -> None:
    pf, cov = _linear_book()
    with pytest.raises(ValueError, match="or their covariance"):
        monte_carlo_var(pf)
    with pytest.raises(ValueError, match="5 x 5"):
        monte_carlo_var(pf, cov=np.eye(4))
    with pytest.raises(InsufficientData, match="29 days"):
        monte_carlo_var(pf, returns=np.zeros((29, 5)))
    with pytest.raises(ValueError, match="df="):
        monte_carlo_var(pf, cov=cov, df=2.0)
