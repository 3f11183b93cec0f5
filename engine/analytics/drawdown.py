"""Drawdowns of an equity curve: depth, longest time under water, recovery of the deepest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.returns import FloatArray, as_curve


def drawdown_series(equity: ArrayLike) -> FloatArray:
    """equity / running peak - 1: 0 at a new high, negative under water."""
    eq = as_curve(equity)
    if eq.size == 0:
        return np.empty(0)
    out: FloatArray = eq / np.maximum.accumulate(eq) - 1.0
    return out


@dataclass(frozen=True, slots=True)
class DrawdownStats:
    """Figures in sessions (periods). `max_drawdown` is a positive fraction (0.2 = -20%).

    * `max_duration`: longest stretch of periods spent below a previous peak (recovered or not).
    * `peak_index` / `trough_index`: where the deepest drawdown started and bottomed.
    * `recovery_periods`: periods from that trough back to the old peak; None if never recovered.
    """

    max_drawdown: float
    max_duration: int
    peak_index: int
    trough_index: int
    recovery_periods: int | None


def drawdown_stats(equity: ArrayLike) -> DrawdownStats:
    eq = as_curve(equity)
    if eq.size == 0:
        return DrawdownStats(0.0, 0, 0, 0, None)
    dd = drawdown_series(eq)
    trough = int(np.argmin(dd))
    depth = max(0.0, float(-dd[trough]))
    peak = int(np.argmax(eq[: trough + 1])) if trough > 0 else 0
    recovery: int | None = None
    if depth > 0.0:
        later = np.flatnonzero(eq[trough:] >= eq[peak])
        recovery = int(later[0]) if later.size else None
    # Longest run of consecutive periods under water.
    under = dd < 0.0
    longest = run = 0
    for flag in under.tolist():
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return DrawdownStats(depth, longest, peak, trough, recovery)
