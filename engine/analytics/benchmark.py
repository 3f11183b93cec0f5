"""Alpha and beta against a benchmark's returns over the same periods."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.returns import PERIODS_PER_YEAR


def alpha_beta(
    returns: ArrayLike, benchmark_returns: ArrayLike, periods: int = PERIODS_PER_YEAR
) -> tuple[float, float]:
    """(annualised alpha, beta) by least squares: beta = cov(r, b) / var(b), alpha =
    (mean(r) - beta * mean(b)) * periods. Periods where either side is NaN are dropped;
    (NaN, NaN) when fewer than two remain or the benchmark does not move."""
    r = np.asarray(returns, dtype=np.float64)
    b = np.asarray(benchmark_returns, dtype=np.float64)
    if r.shape != b.shape:
        raise ValueError(f"returns {r.shape} and benchmark_returns {b.shape} must align")
    ok = np.isfinite(r) & np.isfinite(b)
    r, b = r[ok], b[ok]
    if r.size < 2:
        return math.nan, math.nan
    cov = np.cov(r, b)
    if cov[1, 1] == 0.0:
        return math.nan, math.nan
    beta = float(cov[0, 1] / cov[1, 1])
    alpha = float((r.mean() - beta * b.mean()) * periods)
    return alpha, beta
