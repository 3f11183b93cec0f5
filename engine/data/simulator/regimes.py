"""Volatility regimes: a three-state Markov chain (calm, high-vol, crisis) over sessions.

Each regime sets the market's drift, the level its implied volatility reverts to, and how often
the market jumps. The chain is sticky (calm lasts ~3 months on average, a crisis ~2-3 weeks).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Regime(IntEnum):
    CALM = 0
    HIGH_VOL = 1
    CRISIS = 2

    @property
    def label(self) -> str:
        return ("calm", "high-vol", "crisis")[self.value]


# Row = today's regime, column = tomorrow's.
TRANSITIONS = np.array(
    [
        [0.985, 0.013, 0.002],
        [0.040, 0.950, 0.010],
        [0.000, 0.080, 0.920],
    ]
)
MARKET_DRIFT = np.array([0.14, -0.05, -0.50])  # annual, arithmetic
IV_TARGET = np.array([0.13, 0.22, 0.42])  # market 30-day implied vol each regime reverts to
JUMPS_PER_YEAR = np.array([1.0, 4.0, 12.0])
REALISED_FLOOR = np.array([0.0, 0.16, 0.38])  # minimum annual market volatility


def regime_path(uniforms: np.ndarray, start: Regime = Regime.CALM) -> np.ndarray:
    """Regime of each session from one uniform draw per session (the first is `start`)."""
    cum = np.cumsum(TRANSITIONS, axis=1)
    out = np.empty(uniforms.shape[0], dtype=np.int8)
    state = int(start)
    rows = [list(r) for r in cum]
    for t, u in enumerate(uniforms.tolist()):
        if t > 0:
            row = rows[state]
            state = 0 if u < row[0] else (1 if u < row[1] else 2)
        out[t] = state
    return out
