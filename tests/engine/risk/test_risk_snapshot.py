"""The full risk snapshot (all methods but Monte Carlo)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.risk import (
    InsufficientData,
    RiskPortfolio,
    RiskPosition,
    monte_carlo_var,
    risk_snapshot,
)
from engine.risk.portfolio_model import PositionKind
from engine.risk.var import historical_var_cvar


def _history(k: int, n: int = 600, seed: int = 9) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corr = np.full((k, k), 0.4) + 0.6 * np.eye(k)
    L = np.linalg.cholesky(corr * 1.5e-4)
    return (rng.standard_t(4, (n, k)) / np.sqrt(2.0)) @ L.T


def _book() -> RiskPortfolio:
    pos = [
        RiskPosition(symbol="SPY", underlying="SPY", quantity=100, spot=450.0, strategy="index_baseline"),
        RiskPosition(symbol="NVDA", underlying="NVDA", quantity=50, spot=500.0, sector="technology", beta=1.7),
        RiskPosition(
            symbol="NVDA C550", underlying="NVDA", quantity=-2, spot=500.0, kind=PositionKind.OPTION,
            multiplier=100, strike=550.0, expiry_years=30 / 365, is_call=True, iv=0.5, sector="technology",
        ),
        RiskPosition(
            symbol="SPY P420", underlying="SPY", quantity=3, spot=450.0, kind=PositionKind.OPTION,
            multiplier=100, strike=420.0, expiry_years=60 / 365, is_call=False, iv=0.2,
        ),
    ]  # fmt: skip
    return RiskPortfolio(tuple(pos), cash=30_000.0, rate=0.04)


def test_snapshot_when_book_then_envelope_is_max_of_hist_t_cf_and_dollars_scale() -> None:
    pf = _book()
    snap = risk_snapshot(pf, _history(2))
    assert snap.errors == {}
    assert snap.returns.size == 252
    for c in (0.95, 0.99):
        trio = [snap.methods[m][c].var for m in ("historical", "student_t", "cornish_fisher")]
        assert snap.var[c] == max(trio)
        assert snap.var_dollars[c] == pytest.approx(snap.var[c] * pf.value)
        assert snap.cvar[c] >= snap.methods["historical"][c].cvar
        assert set(snap.methods) == {"historical", "normal", "student_t", "cornish_fisher", "evt"}
    assert snap.lvar is not None
    assert snap.lvar.lvar > snap.var_dollars[0.99]
    assert len(snap.stress.results) == 6
    assert snap.stress.results[0].stressed_var == pytest.approx(snap.var[0.99] * 1.5)
    assert snap.backtest is not None
    assert snap.backtest.hits.size == 250
    assert snap.vol_garch is not None
    assert snap.greeks.total.delta == pytest.approx(sum(snap.greeks.per_position["delta"]))


def test_snapshot_when_single_stock_then_historical_var_is_weighted_price_return_quantile() -> None:
    pf = RiskPortfolio(
        (RiskPosition(symbol="A", underlying="A", quantity=100, spot=50.0),), cash=5_000.0
    )
    hist = _history(1, 300)
    snap = risk_snapshot(pf, hist, garch=False)
    port = 5_000.0 * (np.exp(hist[-252:, 0]) - 1.0) / 10_000.0
    v, cv = historical_var_cvar(port, 0.99)
    assert snap.methods["historical"][0.99].var == pytest.approx(v, rel=1e-12)
    assert snap.methods["historical"][0.99].cvar == pytest.approx(cv, rel=1e-12)
    assert snap.backtest is None  # 300 days < 250 + 250


def test_snapshot_when_monte_carlo_result_given_then_enters_envelope() -> None:
    pf = _book()
    hist = _history(2)
    mc = monte_carlo_var(pf, 0.99, returns=hist, n_scenarios=20_000)
    snap = risk_snapshot(pf, hist, monte_carlo={0.99: mc}, garch=False)
    assert snap.var[0.99] >= mc.var
    assert snap.var[0.99] == max(
        mc.var, *(snap.methods[m][0.99].var for m in ("historical", "student_t", "cornish_fisher"))
    )


def test_snapshot_when_history_short_then_refuses() -> None:
    with pytest.raises(InsufficientData):
        risk_snapshot(_book(), _history(2, 29))


def test_snapshot_when_history_has_wrong_columns_then_error() -> None:
    with pytest.raises(ValueError, match="T x 2"):
        risk_snapshot(_book(), _history(3))
