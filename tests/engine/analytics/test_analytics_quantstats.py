"""Analytics against an independent implementation: quantstats (skipped if not installed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.analytics import (
    alpha_beta,
    annual_volatility,
    cagr,
    calmar,
    drawdown_stats,
    sharpe,
    simple_returns,
    sortino,
)

qs = pytest.importorskip("quantstats")


@pytest.fixture
def series() -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series]:
    rng = np.random.default_rng(11)
    n = 500
    bench_r = rng.normal(0.0004, 0.011, n)
    strat_r = 0.6 * bench_r + rng.normal(0.0002, 0.007, n)
    equity = 100_000.0 * np.cumprod(np.concatenate([[1.0], 1.0 + strat_r]))
    idx = pd.bdate_range("2020-01-02", periods=n)
    return equity, bench_r, pd.Series(strat_r, index=idx), pd.Series(bench_r, index=idx)


def test_ratios_when_compared_with_quantstats_then_equal(series):
    equity, _, qr, _ = series
    r = simple_returns(equity)
    np.testing.assert_allclose(r, qr.to_numpy(), rtol=1e-9)
    assert sharpe(r) == pytest.approx(qs.stats.sharpe(qr), rel=1e-9)
    assert sortino(r) == pytest.approx(qs.stats.sortino(qr), rel=1e-9)
    assert annual_volatility(r) == pytest.approx(qs.stats.volatility(qr), rel=1e-9)
    assert cagr(equity) == pytest.approx(qs.stats.cagr(qr), rel=1e-9)


def test_drawdown_and_calmar_when_compared_with_quantstats_then_equal(series):
    equity, _, qr, _ = series
    dd = drawdown_stats(equity)
    assert -dd.max_drawdown == pytest.approx(qs.stats.max_drawdown(qr), rel=1e-9)
    assert calmar(cagr(equity), dd.max_drawdown) == pytest.approx(qs.stats.calmar(qr), rel=1e-9)


def test_alpha_beta_when_compared_with_quantstats_greeks_then_equal(series):
    _, bench_r, qr, qb = series
    alpha, beta = alpha_beta(qr.to_numpy(), bench_r)
    greeks = qs.stats.greeks(qr, qb)
    assert beta == pytest.approx(greeks["beta"], rel=1e-9)
    assert alpha == pytest.approx(greeks["alpha"], rel=1e-9)
