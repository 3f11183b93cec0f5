"""Risk-adjusted return ratios: Sharpe, Sortino, Calmar."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.returns import PERIODS_PER_YEAR


def _excess(returns: ArrayLike, rf: float, periods: int) -> np.ndarray:
    r = np.asarray(returns, dtype=np.float64)
    if rf:
        # An annual risk-free rate, compounded down to one period.
        r = r - ((1.0 + rf) ** (1.0 / periods) - 1.0)
    return r


def sharpe(returns: ArrayLike, rf: float = 0.0, periods: int = PERIODS_PER_YEAR) -> float:
    """Annualised mean excess return over its sample standard deviation (NaN if flat)."""
    r = _excess(returns, rf, periods)
    if r.size < 2:
        return math.nan
    sd = float(r.std(ddof=1))
    if sd == 0.0:
        return math.nan
    return float(r.mean() / sd * math.sqrt(periods))


def sortino(returns: ArrayLike, rf: float = 0.0, periods: int = PERIODS_PER_YEAR) -> float:
    """Annualised mean excess return over the downside deviation sqrt(sum(r<0 ^ 2) / n)."""
    r = _excess(returns, rf, periods)
    if r.size < 1:
        return math.nan
    neg = r[r < 0]
    downside = math.sqrt(float((neg**2).sum()) / r.size)
    if downside == 0.0:
        return math.nan
    return float(r.mean() / downside * math.sqrt(periods))


def calmar(cagr_value: float, max_drawdown: float) -> float:
    """CAGR over the depth of the maximum drawdown (a positive fraction); NaN without one."""
    if max_drawdown <= 0.0 or not math.isfinite(cagr_value):
        return math.nan
    return cagr_value / max_drawdown
