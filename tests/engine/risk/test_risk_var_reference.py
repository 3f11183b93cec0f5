"""VaR/CVaR against shared/reference/var_reference.json (independent numpy/scipy values).

Every window (last_500, gfc_500, covid_500) x returns (simple, log) x level (95 %, 99 %).
Tolerances from the reference README: 1e-9 relative for the deterministic formulas, 1e-4 for
Student-t VaR/CVaR and 1e-3 for the fitted df.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.risk import kupiec_pof, rolling_backtest, value_at_risk, var_cvar
from engine.risk.backtest import exceptions
from engine.risk.cli_var import PriceHistory
from engine.risk.var import (
    QUANTILE_METHODS,
    cornish_fisher_var_cvar,
    fit_student_t,
    historical_var_cvar,
    normal_var_cvar,
    student_t_var_cvar,
    t_location_scale_var_cvar,
)

WINDOWS = ("last_500", "gfc_500", "covid_500")
KINDS = ("simple", "log")
LEVELS = ("0.95", "0.99")
CASES = [(w, k, lv) for w in WINDOWS for k in KINDS for lv in LEVELS]
EXACT = 1e-9


def _case(
    ref: dict[str, Any], window: str, kind: str, level: str
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    win = ref["windows"][window]
    r = np.array(win["returns"][kind], dtype=np.float64)
    res = win["results"][kind]
    return r, res, res["levels"][level]


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_historical_var_when_numpy_method_then_matches_reference(
    var_ref: dict[str, Any], window: str, kind: str, level: str, method: str
) -> None:
    r, _, lv = _case(var_ref, window, kind, level)
    var, cvar = historical_var_cvar(r, float(level), quantile_method=method)  # type: ignore[arg-type]
    h = lv["historical"]
    assert var == pytest.approx(h["var_numpy_quantile"][method], rel=EXACT)
    assert cvar == pytest.approx(h["cvar_mean_le_var_by_method"][method], rel=EXACT)


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_historical_cvar_when_worst_k_rule_then_matches_mean_of_k_worst(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    r, _, lv = _case(var_ref, window, kind, level)
    h = lv["historical"]
    _, cvar = historical_var_cvar(r, float(level), cvar_rule="worst_k")
    assert cvar == pytest.approx(h["cvar_mean_worst_k"], rel=EXACT)
    # lower / inverted_cdf are the k-th worst return; 'higher' the (k+1)-th.
    assert historical_var_cvar(r, float(level), quantile_method="lower")[0] == pytest.approx(
        h["kth_worst_return_as_var"], rel=EXACT
    )
    assert historical_var_cvar(r, float(level), quantile_method="higher")[0] == pytest.approx(
        h["k_plus_1th_worst_return_as_var"], rel=EXACT
    )


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_historical_var_when_confidence_is_decimal_literal_then_no_float_jump(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    """The values numpy gives for p = 1 - c in binary float must NOT be what we return."""
    r, _, lv = _case(var_ref, window, kind, level)
    shifted = lv["historical"]["var_if_p_computed_as_1_minus_conf_in_float"]
    assert shifted, "the reference lists the methods that jump"
    for method, wrong in shifted.items():
        got = historical_var_cvar(r, float(level), quantile_method=method)[0]
        assert got == pytest.approx(lv["historical"]["var_numpy_quantile"][method], rel=EXACT)
        assert got != pytest.approx(wrong, rel=1e-6)


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_normal_var_when_mean_sd_variants_then_match_reference(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    r, _, lv = _case(var_ref, window, kind, level)
    n = lv["normal"]
    c = float(level)
    v, cv = normal_var_cvar(r, c)
    assert v == pytest.approx(n["var_mean_ddof1"], rel=EXACT)
    assert cv == pytest.approx(n["cvar_mean_ddof1"], rel=EXACT)
    v, cv = normal_var_cvar(r, c, zero_mean=True)
    assert v == pytest.approx(n["var_zero_mean_ddof1"], rel=EXACT)
    assert cv == pytest.approx(n["cvar_zero_mean_ddof1"], rel=EXACT)
    assert normal_var_cvar(r, c, ddof=0)[0] == pytest.approx(n["var_mean_ddof0"], rel=EXACT)
    assert value_at_risk(r, c, method="normal") == pytest.approx(n["var_mean_ddof1"], rel=EXACT)


@pytest.mark.parametrize(("window", "kind"), [(w, k) for w in WINDOWS for k in KINDS])
def test_student_t_fit_when_mle_then_reaches_refined_loglik(
    var_ref: dict[str, Any], window: str, kind: str
) -> None:
    r = np.array(var_ref["windows"][window]["returns"][kind])
    ref = var_ref["windows"][window]["results"][kind]["student_t_fit"]["refined_mle"]
    fit = fit_student_t(r)
    assert fit.converged
    assert fit.loglik >= ref["loglik"] - 1e-6
    assert fit.df == pytest.approx(ref["df"], rel=1e-3)
    assert fit.loc == pytest.approx(ref["loc"], rel=1e-3)
    assert fit.scale == pytest.approx(ref["scale"], rel=1e-3)


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_student_t_var_when_fitted_then_matches_refined_and_scipy_fit(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    r, res, lv = _case(var_ref, window, kind, level)
    t = lv["student_t"]
    v, cv, details = student_t_var_cvar(r, float(level))
    assert v == pytest.approx(t["refined_mle"]["var"], rel=1e-4)
    assert cv == pytest.approx(t["refined_mle"]["cvar"], rel=1e-4)
    assert v == pytest.approx(t["scipy_t_fit"]["var"], rel=1e-4)
    assert details["df"] == pytest.approx(res["student_t_fit"]["scipy_t_fit"]["df"], rel=1e-3)
    # The closed forms themselves, fed the reference's own fitted parameters, are exact.
    sp = res["student_t_fit"]["scipy_t_fit"]
    v2, cv2 = t_location_scale_var_cvar(sp["df"], sp["loc"], sp["scale"], float(level))
    assert v2 == pytest.approx(t["scipy_t_fit"]["var"], rel=1e-12)
    assert cv2 == pytest.approx(t["scipy_t_fit"]["cvar"], rel=1e-12)


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_student_t_var_when_moment_scaled_then_matches_fixed_df5_and_fitted_df(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    r, res, lv = _case(var_ref, window, kind, level)
    t = lv["student_t"]
    v, _, d = student_t_var_cvar(r, float(level), df=5, scaling="moments")
    assert v == pytest.approx(t["moment_scaled_mean_ddof1_fixed_df5"]["var"], rel=EXACT)
    assert d["scaled_quantile"] == pytest.approx(
        t["moment_scaled_mean_ddof1_fixed_df5"]["scaled_quantile"], rel=1e-12
    )
    ref_var = t["moment_scaled_mean_ddof1_with_scipy_df"]["var"]
    df = res["student_t_fit"]["scipy_t_fit"]["df"]
    if ref_var is None:
        assert df <= 2
        with pytest.raises(ValueError, match="df > 2"):
            student_t_var_cvar(r, float(level), scaling="moments")
    else:
        v = student_t_var_cvar(r, float(level), df=df, scaling="moments")[0]
        assert v == pytest.approx(ref_var, rel=EXACT)
        # With our own fitted df (not scipy's) it agrees to the df tolerance.
        assert student_t_var_cvar(r, float(level), scaling="moments")[0] == pytest.approx(
            ref_var, rel=1e-4
        )


@pytest.mark.parametrize(("window", "kind", "level"), CASES)
def test_cornish_fisher_var_when_biased_unbiased_zero_mean_then_match_reference(
    var_ref: dict[str, Any], window: str, kind: str, level: str
) -> None:
    r, res, lv = _case(var_ref, window, kind, level)
    cf = lv["cornish_fisher"]
    c = float(level)
    v, _, d = cornish_fisher_var_cvar(r, c)
    assert v == pytest.approx(cf["var_mean_ddof1_biased_moments"], rel=EXACT)
    assert d["z_cf"] == pytest.approx(cf["z_cf_biased_moments"], rel=EXACT)
    assert d["skew"] == pytest.approx(res["stats"]["skew_biased_g1"], rel=EXACT)
    assert d["excess_kurtosis"] == pytest.approx(
        res["stats"]["excess_kurtosis_biased_g2"], rel=EXACT
    )
    v, _, d = cornish_fisher_var_cvar(r, c, moments="unbiased")
    assert v == pytest.approx(cf["var_mean_ddof1_unbiased_moments"], rel=EXACT)
    assert d["z_cf"] == pytest.approx(cf["z_cf_unbiased_moments"], rel=EXACT)
    v, _, _ = cornish_fisher_var_cvar(r, c, zero_mean=True)
    assert v == pytest.approx(cf["var_zero_mean_ddof1_biased_moments"], rel=EXACT)


def test_kupiec_when_reference_examples_then_lr_and_pvalue_match(var_ref: dict[str, Any]) -> None:
    examples = var_ref["kupiec_examples"]
    assert len(examples) >= 20
    for ex in examples:
        res = kupiec_pof(ex["exceptions"], ex["T"], 1.0 - ex["p"])
        assert res.lr == pytest.approx(ex["lr_pof"], rel=1e-9, abs=1e-12)
        assert res.p_value == pytest.approx(ex["p_value"], rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("kind", "level"), [(k, lv) for k in KINDS for lv in LEVELS])
def test_backtest_example_when_var_estimated_once_then_exceptions_and_kupiec_match(
    var_ref: dict[str, Any], spy: PriceHistory, kind: str, level: str
) -> None:
    ex = var_ref["backtest_example"]
    # The estimation window starts before the JSON's windows: rebuild it from the price file.
    r_all = spy.returns(kind)  # type: ignore[arg-type]
    d_all = np.array(spy.dates[1:], dtype="datetime64[D]")

    def between(a: str, b: str) -> np.ndarray:
        return r_all[(d_all >= np.datetime64(a)) & (d_all <= np.datetime64(b))]

    est = between(ex["estimation_first_return_date"], ex["estimation_last_return_date"])
    test = between(ex["test_first_return_date"], ex["test_last_return_date"])
    assert (est.size, test.size) == (500, 250)
    res = ex["results"][kind][level]
    var = value_at_risk(est, float(level), method="historical")
    assert var == pytest.approx(res["var_hist_linear"], rel=EXACT)
    hits = exceptions(test, var)
    assert int(hits.sum()) == res["exceptions"]
    k = kupiec_pof(int(hits.sum()), test.size, float(level))
    assert k.lr == pytest.approx(res["kupiec_lr"], rel=1e-9)
    assert k.p_value == pytest.approx(res["kupiec_pvalue"], rel=1e-9)


@pytest.mark.parametrize(("kind", "level"), [(k, lv) for k in KINDS for lv in LEVELS])
def test_rolling_backtest_when_250_day_window_then_exceptions_dates_kupiec_match(
    var_ref: dict[str, Any], kind: str, level: str
) -> None:
    rb = var_ref["rolling_backtest_250"]
    r = np.array(var_ref["windows"]["last_500"]["returns"][kind])
    dates = var_ref["windows"]["last_500"]["returns"]["dates"]
    assert dates[0] == rb["first_estimation_return_date"]
    res = rolling_backtest(r, float(level), window=250, test_days=250)
    exp = rb["results"][kind][level]
    assert res.exceptions == exp["exceptions"]
    assert [dates[i] for i in res.exception_index] == exp["exception_dates"]
    assert res.kupiec.lr == pytest.approx(exp["kupiec_lr"], rel=1e-9)
    assert res.kupiec.p_value == pytest.approx(exp["kupiec_pvalue"], rel=1e-9)


@pytest.mark.parametrize("window", WINDOWS)
def test_var_cvar_when_dispatching_methods_then_same_as_direct_functions(
    var_ref: dict[str, Any], window: str
) -> None:
    r, _, lv = _case(var_ref, window, "simple", "0.99")
    assert var_cvar(r, 0.99, "historical").var == pytest.approx(
        lv["historical"]["var_numpy_quantile"]["linear"], rel=EXACT
    )
    assert var_cvar(r, 0.99, "cornish_fisher").var == pytest.approx(
        lv["cornish_fisher"]["var_mean_ddof1_biased_moments"], rel=EXACT
    )
    t = var_cvar(r, 0.99, "student_t")
    assert t.var == pytest.approx(lv["student_t"]["refined_mle"]["var"], rel=1e-4)
    assert math.isfinite(t.cvar)
    assert t.details["df"] == pytest.approx(
        var_ref["windows"][window]["results"]["simple"]["student_t_fit"]["refined_mle"]["df"],
        rel=1e-3,
    )
