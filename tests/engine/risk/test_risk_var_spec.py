"""Spec §1 testable behaviours and the VaR entry points' conventions and errors."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from engine.risk import (
    InsufficientData,
    expected_shortfall,
    lvar_additive,
    lvar_multiplicative,
    tail_probability,
    value_at_risk,
    var_cvar,
)
from engine.risk.var import (
    cornish_fisher_z,
    evt_var_cvar,
    fit_gpd,
    historical_var_cvar,
    monte_carlo_returns_var_cvar,
    normal_var_cvar_from_moments,
    student_t_var_cvar,
)


def _returns(n: int = 252, seed: int = 3, df: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.01 * rng.standard_t(df, n)


def test_normal_var_when_spec_example_1_then_4_65_percent() -> None:
    var, es = normal_var_cvar_from_moments(0.0, 0.02, 0.99)
    assert round(var, 4) == 0.0465
    # Spec fix (b): ES = -mu + sigma phi(z)/(1-alpha): factor 2.665 at 99 %, 2.063 at 95 %.
    assert es / 0.02 == pytest.approx(2.665, abs=5e-4)
    assert normal_var_cvar_from_moments(0.0, 1.0, 0.95)[1] == pytest.approx(2.063, abs=5e-4)


def test_cornish_fisher_when_spec_example_1_skew_kurt_then_z_3_301_and_var_6_60() -> None:
    z = stats.norm.ppf(0.01)
    zcf = cornish_fisher_z(z, -0.5, 3.0)
    assert round(zcf, 3) == -3.301
    assert round(-(0.0 + 0.02 * zcf), 4) == 0.0660


def test_student_t_when_spec_fix_a_then_scaled_quantiles_2_606_and_1_561() -> None:
    r = _returns()
    for c, q in ((0.99, 2.606), (0.95, 1.561)):
        _, _, d = student_t_var_cvar(r, c, df=5, scaling="moments")
        assert -d["scaled_quantile"] == pytest.approx(q, abs=5e-4)


def test_historical_var_when_252_points_then_equals_minus_5pct_quantile_and_cvar_ge_var() -> None:
    r = _returns(252)
    res = var_cvar(r, 0.95, "historical")
    assert res.var == pytest.approx(-np.quantile(r, 0.05), rel=1e-12)
    assert res.cvar >= res.var
    assert res.n_obs == 252


@pytest.mark.parametrize(
    "method", ["historical", "normal", "student_t", "cornish_fisher", "evt", "monte_carlo"]
)
def test_var_when_29_observations_then_refused_with_insufficient_data(method: str) -> None:
    with pytest.raises(InsufficientData, match="29 observations"):
        value_at_risk(_returns(29), 0.99, method=method)
    # 30 is enough.
    assert value_at_risk(_returns(30), 0.99, method=method) > 0


def test_lvar_when_spec_example_3_then_upstream_3004_50_and_additive_3100() -> None:
    assert lvar_multiplicative(3000.0) == pytest.approx(3004.50, abs=1e-9)
    # $100k gross stock book: 10 bps spread (half counted) + 5 bps slippage = 10 bps.
    assert lvar_additive(3000.0, [60_000.0, -40_000.0]) == pytest.approx(3100.0, abs=1e-9)


def test_tail_probability_when_decimal_confidence_then_exact() -> None:
    assert tail_probability(0.95) == 0.05
    assert tail_probability(0.99) == 0.01
    assert tail_probability(0.999) == 0.001
    assert 1 - 0.95 != 0.05  # the trap this avoids


@pytest.mark.parametrize("bad", [0.0, 1.0, 1.5, -0.1, math.nan, "x"])
def test_tail_probability_when_confidence_outside_0_1_then_error_names_value(bad: Any) -> None:
    with pytest.raises(ValueError, match="confidence"):
        tail_probability(bad)


def test_var_when_returns_contain_nan_then_error_names_index() -> None:
    r = _returns(100)
    r[17] = np.nan
    with pytest.raises(ValueError, match=r"returns\[17\]"):
        value_at_risk(r, 0.99)


def test_var_when_horizon_days_then_scaled_by_sqrt_h() -> None:
    r = _returns()
    one = var_cvar(r, 0.99, "normal")
    ten = var_cvar(r, 0.99, "normal", horizon_days=10)
    assert ten.var == pytest.approx(one.var * math.sqrt(10), rel=1e-12)
    assert ten.cvar == pytest.approx(one.cvar * math.sqrt(10), rel=1e-12)
    with pytest.raises(ValueError, match="horizon_days"):
        value_at_risk(r, 0.99, horizon_days=0)


def test_var_when_unknown_method_then_error_lists_methods() -> None:
    with pytest.raises(ValueError, match="historical, normal"):
        value_at_risk(_returns(), 0.99, method="magic")


def test_expected_shortfall_when_any_method_then_at_least_var() -> None:
    r = _returns()
    for m in ("historical", "normal", "student_t", "cornish_fisher", "evt", "monte_carlo"):
        assert expected_shortfall(r, 0.99, method=m) >= value_at_risk(r, 0.99, method=m)


def test_historical_when_decay_is_one_then_equal_weight_inverted_cdf_and_worst_k() -> None:
    r = _returns(500)
    v, c = historical_var_cvar(r, 0.99, decay=1.0)
    assert v == pytest.approx(-np.quantile(r, 0.01, method="inverted_cdf"), rel=1e-12)
    assert c == pytest.approx(-np.sort(r)[:5].mean(), rel=1e-12)


def test_historical_when_decay_then_recent_losses_weigh_more() -> None:
    r = np.full(300, 0.001)
    r[:10] = -0.05  # old losses
    r[-3:] = -0.02  # recent, smaller losses
    eq, _ = historical_var_cvar(r, 0.99, decay=1.0)
    ew, _ = historical_var_cvar(r, 0.99, decay=0.94)
    assert eq == pytest.approx(0.05)
    # With lambda = 0.94 the ten old days carry almost no weight; the recent ones set the VaR.
    assert ew == pytest.approx(0.02)


def test_normal_var_when_vol_forecast_given_then_uses_that_sigma() -> None:
    r = _returns()
    res = var_cvar(r, 0.99, "normal", vol=0.03)
    assert res.var == pytest.approx(-(r.mean() + stats.norm.ppf(0.01) * 0.03), rel=1e-12)
    ewma = var_cvar(r, 0.99, "normal", vol="ewma")
    assert ewma.details["vol"] == "ewma"
    assert ewma.details["sigma"] > 0
    with pytest.raises(ValueError, match="vol applies"):
        var_cvar(r, 0.99, "historical", vol="ewma")


def test_monte_carlo_returns_when_seeded_then_reproducible_and_near_analytic_t() -> None:
    r = _returns(500)
    a = monte_carlo_returns_var_cvar(r, 0.99)
    b = monte_carlo_returns_var_cvar(r, 0.99)
    assert a == b
    analytic, _, _ = student_t_var_cvar(r, 0.99, df=5, scaling="moments")
    # 100,000 paths: the 1 % quantile's standard error is ~1 %; allow 4 of them.
    assert a[0] == pytest.approx(analytic, rel=0.04)


# --------------------------------------------------------------------------------------------
# EVT


def test_gpd_fit_when_compared_with_scipy_then_loglik_at_least_as_high() -> None:
    rng = np.random.default_rng(11)
    for xi in (-0.3, 0.0, 0.25, 0.6):
        y = stats.genpareto.rvs(xi, scale=0.01, size=60, random_state=rng)
        fit = fit_gpd(y)
        c, _, scale = stats.genpareto.fit(y, floc=0)
        ll_scipy = stats.genpareto.logpdf(y, c, 0, scale).sum()
        ll_ours = stats.genpareto.logpdf(y, fit.xi, 0, fit.beta).sum()
        assert ll_ours == pytest.approx(fit.loglik, rel=1e-9)
        assert ll_ours >= ll_scipy - 1e-7


def test_evt_when_enough_tail_then_spec_fix_c_formula_holds() -> None:
    r = _returns(1000, seed=5, df=3.0)
    var, es, d = evt_var_cvar(r, 0.99)
    assert d["fallback"] is False
    losses = -r[r < 0]
    u = np.quantile(losses, 0.90)
    assert d["threshold"] == pytest.approx(u)
    nu = int((losses > u).sum())
    assert d["n_excesses"] == nu
    xi, beta = d["xi"], d["beta"]
    expected = u + beta / xi * (((r.size / nu) * 0.01) ** (-xi) - 1.0)
    assert var == pytest.approx(expected, rel=1e-12)
    assert es == pytest.approx((var + beta - xi * u) / (1 - xi), rel=1e-12)
    assert es > var > u


def test_evt_when_fewer_than_10_losses_then_falls_back_to_historical() -> None:
    r = np.full(100, 0.002)
    r[:9] = -np.linspace(0.01, 0.05, 9)
    var, es, d = evt_var_cvar(r, 0.99)
    assert d["fallback"] is True
    assert "9 losses" in str(d["reason"])
    assert (var, es) == historical_var_cvar(r, 0.99)


def test_evt_when_fewer_than_5_excesses_then_falls_back_to_historical() -> None:
    r = np.full(100, 0.002)
    r[:30] = -0.01  # 30 equal losses: nothing exceeds their 90th percentile
    r[0] = -0.05
    var, _, d = evt_var_cvar(r, 0.99)
    assert d["fallback"] is True
    assert "excesses" in str(d["reason"])
    assert var == historical_var_cvar(r, 0.99)[0]


def test_evt_when_confidence_not_beyond_threshold_then_falls_back(var_ref: dict[str, Any]) -> None:
    r = np.array(var_ref["windows"]["last_500"]["returns"]["simple"])
    _, _, d95 = evt_var_cvar(r, 0.95)
    assert d95["fallback"] is True
    assert "threshold rate" in str(d95["reason"])
    v99, _, d99 = evt_var_cvar(r, 0.99)
    assert d99["fallback"] is False
    # The GPD tail sits between the empirical 99 % quantiles either side.
    h = var_ref["windows"]["last_500"]["results"]["simple"]["levels"]["0.99"]["historical"]
    assert 0.8 * h["var_numpy_quantile"]["linear"] < v99 < 1.2 * h["var_numpy_quantile"]["lower"]


def test_reference_input_file_when_hashed_then_matches_recorded_sha256(
    var_ref: dict[str, Any], prices_dir: Path
) -> None:
    digest = hashlib.sha256((prices_dir / "SPY.csv").read_bytes()).hexdigest()
    assert digest == var_ref["input"]["sha256"]
