"""EWMA and GARCH(1,1) volatility forecasts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.risk import fit_garch11, vol_forecast
from engine.risk.volatility import ewma_covariance, ewma_variance_path, ewma_volatility

# `arch` 8.0.0 (arch_model(100 r, mean=..., vol='GARCH', p=1, q=1, dist='normal'),
# fit(options={'ftol': 1e-12})) on the reference windows' simple returns; params and the
# 1..5-day variance forecasts converted back from percent units, loglik to return units.
ARCH = {
    ("last_500", "constant"): {
        "mu": 0.0007594824786819647, "omega": 4.012048322499613e-06,
        "alpha": 0.1281307104599395, "beta": 0.8451946034218376, "loglik": 1570.6396553291215,
        "fc": [0.0003001406660426778, 0.0002961465563071746, 0.0002922589881951877,
               0.0002884751197423513, 0.0002847921847928069],
    },
    ("last_500", "zero"): {
        "mu": 0.0, "omega": 3.66374660452312e-06,
        "alpha": 0.12180549782405482, "beta": 0.8537604506558502, "loglik": 1568.9357519531047,
        "fc": [0.00029082554867089543, 0.000287383248835834, 0.00028402505833229004,
               0.000280748922028524, 0.000277552835007991],
    },
    ("gfc_500", "constant"): {
        "mu": 0.0005498440099387406, "omega": 3.0047844105460547e-06,
        "alpha": 0.1058091856134221, "beta": 0.889243591693267, "loglik": 1330.7583465923858,
        "fc": [6.649830773461965e-05, 6.917411020807422e-05, 7.183667489080932e-05,
               7.448606727312357e-05, 7.712235252132055e-05],
    },
    ("gfc_500", "zero"): {
        "mu": 0.0, "omega": 2.9718501085864338e-06,
        "alpha": 0.10592339688509539, "beta": 0.8893164783073418, "loglik": 1330.3498627367298,
        "fc": [6.619214443178971e-05, 6.884891167160061e-05, 7.149303236776536e-05,
               7.41245667194101e-05, 7.674357463910563e-05],
    },
}  # fmt: skip


@pytest.mark.parametrize(("window", "mean"), list(ARCH))
def test_garch_when_fitted_then_matches_arch_package(
    var_ref: dict[str, Any], window: str, mean: str
) -> None:
    r = np.array(var_ref["windows"][window]["returns"]["simple"])
    exp = ARCH[(window, mean)]
    fit = fit_garch11(r, mean=mean)  # type: ignore[arg-type]
    assert fit.converged
    assert fit.loglik >= exp["loglik"] - 1e-6
    assert fit.alpha == pytest.approx(exp["alpha"], rel=1e-3)
    assert fit.beta == pytest.approx(exp["beta"], rel=1e-3)
    assert fit.omega == pytest.approx(exp["omega"], rel=5e-3)
    assert fit.mu == pytest.approx(exp["mu"], rel=5e-3, abs=1e-12)
    assert fit.variance_forecast(5) == pytest.approx(exp["fc"], rel=1e-5)
    assert fit.volatility(5) == pytest.approx(math.sqrt(sum(exp["fc"])), rel=1e-5)


def test_garch_when_forecast_long_horizon_then_converges_to_long_run_variance(
    var_ref: dict[str, Any],
) -> None:
    fit = fit_garch11(np.array(var_ref["windows"]["last_500"]["returns"]["simple"]))
    fc = fit.variance_forecast(2000)
    assert fc[-1] == pytest.approx(fit.long_run_variance, rel=1e-6)
    assert fit.persistence < 1


def test_ewma_when_recursion_by_hand_then_matches() -> None:
    r = np.array([0.01, -0.02, 0.015] + [0.0] * 40)
    path = ewma_variance_path(r, 0.94)
    s0 = float(np.mean(r * r))
    assert path[0] == pytest.approx(s0)
    s1 = 0.94 * s0 + 0.06 * 0.01**2
    s2 = 0.94 * s1 + 0.06 * 0.02**2
    assert path[1] == pytest.approx(s1, rel=1e-12)
    assert path[2] == pytest.approx(s2, rel=1e-12)
    assert path.size == r.size + 1
    assert ewma_volatility(r) == pytest.approx(math.sqrt(path[-1]))


def test_ewma_when_lambda_out_of_range_then_error() -> None:
    with pytest.raises(ValueError, match="lam"):
        ewma_volatility(np.zeros(50) + 0.01, lam=1.0)


def test_ewma_covariance_when_single_column_then_weighted_second_moment() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(0, 0.01, (100, 2))
    cov = ewma_covariance(r, 0.97)
    w = 0.97 ** np.arange(99, -1, -1)
    w /= w.sum()
    assert cov[0, 1] == pytest.approx(float(np.sum(w * r[:, 0] * r[:, 1])), rel=1e-12)
    assert cov[1, 0] == cov[0, 1]


def test_vol_forecast_when_methods_then_sample_ewma_garch_differ_sensibly(
    var_ref: dict[str, Any],
) -> None:
    r = np.array(var_ref["windows"]["last_500"]["returns"]["simple"])
    assert vol_forecast(r, "sample") == pytest.approx(r.std(ddof=1))
    g = vol_forecast(r, "garch")
    assert g == pytest.approx(math.sqrt(ARCH[("last_500", "constant")]["fc"][0]), rel=1e-5)  # type: ignore[index]
    assert 0.005 < vol_forecast(r, "ewma") < 0.03
    with pytest.raises(ValueError, match="vol method"):
        vol_forecast(r, "bogus")  # type: ignore[arg-type]
