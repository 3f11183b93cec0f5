"""Rolling figures for the live dashboard: Sharpe and drawdown over a trailing window."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.returns import PERIODS_PER_YEAR, FloatArray


def rolling_sharpe(
    returns: ArrayLike, window: int = 63, periods: int = PERIODS_PER_YEAR
) -> FloatArray:
    """Sharpe over each trailing `window` of returns (NaN until the window fills or when flat)."""
    if window < 2:
        raise ValueError(f"window={window} must be >= 2")
    r = np.asarray(returns, dtype=np.float64)
    out = np.full(r.size, np.nan)
    if r.size < window:
        return out
    view = np.lib.stride_tricks.sliding_window_view(r, window)
    mean = view.mean(axis=1)
    sd = view.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = np.where(sd > 0, mean / sd * math.sqrt(periods), np.nan)
    out[window - 1 :] = vals
    return out


def rolling_drawdown(equity: ArrayLike, window: int = 63) -> FloatArray:
    """equity / max of the trailing `window` values (fewer at the start) - 1."""
    if window < 1:
        raise ValueError(f"window={window} must be >= 1")
    eq = np.asarray(equity, dtype=np.float64)
    if eq.size == 0:
        return np.empty(0)
    padded = np.concatenate([np.full(window - 1, eq[0]), eq])
    peaks = np.lib.stride_tricks.sliding_window_view(padded, window).max(axis=1)
    out: FloatArray = eq / peaks - 1.0
    return out
