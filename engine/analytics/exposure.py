"""How much of the account was at work: exposure and turnover."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.returns import PERIODS_PER_YEAR


def exposure_stats(gross_exposure: ArrayLike, equity: ArrayLike) -> tuple[float, float]:
    """(share of periods with any position, mean gross exposure / equity)."""
    g = np.abs(np.asarray(gross_exposure, dtype=np.float64))
    eq = np.asarray(equity, dtype=np.float64)
    if g.shape != eq.shape:
        raise ValueError(f"gross_exposure {g.shape} and equity {eq.shape} must align")
    if g.size == 0:
        return 0.0, 0.0
    return float((g > 0).mean()), float((g / eq).mean())


def turnover(traded_notional: float, equity: ArrayLike, periods: int = PERIODS_PER_YEAR) -> float:
    """Annualised turnover: traded notional (buys + sells) / mean equity / years."""
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size < 2:
        return math.nan
    years = (eq.size - 1) / periods
    return float(traded_notional / eq.mean() / years)
