"""Where today's volatility sits in its own history: rolling realised vol, IV rank, IV percentile.

The spec's strategies rank implied volatility against a one-year history; with no stored IV
history they use rolling 20-day realised volatility as that history (spec §4, §6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from engine.strategies.indicators import InsufficientData

TRADING_DAYS = 252


def rolling_realized_vol(
    closes: Sequence[float] | NDArray[np.float64],
    window: int = 20,
    *,
    periods_per_year: int = TRADING_DAYS,
) -> NDArray[np.float64]:
    """Annualised sd (ddof 1) of log returns over every complete `window` of returns, oldest
    first: len(closes) - window values. Raises InsufficientData when there is not one window."""
    arr = np.asarray(closes, dtype=np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InsufficientData("rolling_realized_vol needs finite positive closes")
    if window < 2:
        raise ValueError(f"rolling_realized_vol: window {window} must be >= 2")
    rets = np.diff(np.log(arr))
    if rets.size < window:
        raise InsufficientData(f"rolling_realized_vol needs {window + 1} closes, got {arr.size}")
    views = np.lib.stride_tricks.sliding_window_view(rets, window)
    out: NDArray[np.float64] = views.std(axis=1, ddof=1) * math.sqrt(periods_per_year)
    return out


def iv_rank(current: float, history: Sequence[float] | NDArray[np.float64]) -> float:
    """(current - min) / (max - min) × 100, clipped to [0, 100]; a flat history gives 50."""
    return iv_rank_in(current, *iv_rank_bounds(history))


def iv_rank_bounds(history: Sequence[float] | NDArray[np.float64]) -> tuple[float, float]:
    """(min, max) of the history, for ranking many values against one history."""
    hist = np.asarray(history, dtype=np.float64)
    if hist.size == 0:
        raise InsufficientData("iv_rank needs a history")
    return float(hist.min()), float(hist.max())


def iv_rank_in(current: float, lo: float, hi: float) -> float:
    """`iv_rank` against a history whose (min, max) is (lo, hi)."""
    if hi - lo <= 1e-12:
        return 50.0
    return float(min(100.0, max(0.0, (current - lo) / (hi - lo) * 100.0)))


def iv_percentile(current: float, history: Sequence[float] | NDArray[np.float64]) -> float:
    """Share of the history strictly below `current`, in percent (0-100)."""
    hist = np.asarray(history, dtype=np.float64)
    if hist.size == 0:
        raise InsufficientData("iv_percentile needs a history")
    return float(np.count_nonzero(hist < current) / hist.size * 100.0)
