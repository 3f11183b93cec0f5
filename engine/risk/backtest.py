"""VaR backtesting (spec §3): exceptions, Kupiec POF, Christoffersen, Basel traffic light.

An exception is a realised return strictly below -VaR.  Likelihood ratios use 0 ln 0 = 0;
p-values are chi-square survival functions (1 dof for POF and independence, 2 for conditional
coverage).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from engine.risk.var import QUANTILE_METHODS, InsufficientData, QuantileMethod, tail_probability

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "BASEL_YELLOW_MULTIPLIERS",
    "CHI2_1_95",
    "CHI2_2_95",
    "ChristoffersenResult",
    "KupiecResult",
    "RollingBacktest",
    "TrafficLight",
    "TrafficLightZone",
    "christoffersen",
    "exceptions",
    "kupiec_pof",
    "rolling_backtest",
    "rolling_historical_var",
    "traffic_light",
]

CHI2_1_95 = 3.841458820694124  # chi2(1) 95 % quantile
CHI2_2_95 = 5.991464547107979  # chi2(2) 95 % quantile


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def _check_counts(exceptions: int, T: int) -> None:
    if isinstance(T, bool) or int(T) != T or T < 1:
        raise ValueError(f"T={T!r} must be a positive whole number of observations")
    if isinstance(exceptions, bool) or int(exceptions) != exceptions or not 0 <= exceptions <= T:
        raise ValueError(f"exceptions={exceptions!r} must be a whole number in [0, T={T}]")


@dataclass(frozen=True, slots=True)
class KupiecResult:
    exceptions: int
    T: int
    p: float
    lr: float
    p_value: float
    reject: bool  # at 95 % (LR > 3.841)


def kupiec_pof(exceptions: int, T: int, confidence: float = 0.99) -> KupiecResult:
    """Kupiec proportion-of-failures test.

    LR = -2[(T-x) ln(1-p) + x ln p - (T-x) ln(1-x/T) - x ln(x/T)], p = 1 - confidence.
    """
    _check_counts(exceptions, T)
    x, n = int(exceptions), int(T)
    p = tail_probability(confidence)
    pi = x / n
    lr = -2.0 * (_xlogy(n - x, 1.0 - p) + _xlogy(x, p) - _xlogy(n - x, 1.0 - pi) - _xlogy(x, pi))
    lr = max(lr, 0.0)
    return KupiecResult(x, n, p, lr, float(stats.chi2.sf(lr, 1)), lr > CHI2_1_95)


@dataclass(frozen=True, slots=True)
class ChristoffersenResult:
    """Transition counts n_ij (i = yesterday, j = today; 1 = exception) and the LR tests."""

    n00: int
    n01: int
    n10: int
    n11: int
    lr_pof: float
    lr_ind: float
    lr_cc: float
    p_value_ind: float
    p_value_cc: float
    reject_ind: bool  # LR_ind > 3.841
    reject_cc: bool  # LR_cc > 5.991


def christoffersen(hits: ArrayLike, confidence: float = 0.99) -> ChristoffersenResult:
    """Christoffersen (1998) independence and conditional coverage tests on a 0/1 hit series.

    LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10
    pi11^n11], pi01 = n01/(n00+n01), pi11 = n11/(n10+n11), pi = (n01+n11)/(n00+n01+n10+n11);
    LR_cc = LR_pof (on all T observations) + LR_ind.
    """
    h = np.asarray(hits)
    if h.ndim != 1 or h.size < 2:
        raise ValueError(f"hits must be a 1-d 0/1 series of at least 2 days, got shape {h.shape}")
    if not np.all((h == 0) | (h == 1)):
        raise ValueError("hits must contain only 0/1 (or False/True)")
    b = h.astype(bool)
    prev, cur = b[:-1], b[1:]
    n00 = int(np.sum(~prev & ~cur))
    n01 = int(np.sum(~prev & cur))
    n10 = int(np.sum(prev & ~cur))
    n11 = int(np.sum(prev & cur))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    l0 = _xlogy(n00 + n10, 1.0 - pi) + _xlogy(n01 + n11, pi)
    l1 = _xlogy(n00, 1.0 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1.0 - pi11) + _xlogy(n11, pi11)
    lr_ind = max(-2.0 * (l0 - l1), 0.0)
    pof = kupiec_pof(int(b.sum()), int(b.size), confidence)
    lr_cc = pof.lr + lr_ind
    return ChristoffersenResult(
        n00,
        n01,
        n10,
        n11,
        pof.lr,
        lr_ind,
        lr_cc,
        float(stats.chi2.sf(lr_ind, 1)),
        float(stats.chi2.sf(lr_cc, 2)),
        lr_ind > CHI2_1_95,
        lr_cc > CHI2_2_95,
    )


class TrafficLightZone(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


#: Basel plus-factors for 5..9 exceptions in 250 days at 99 % (3 + plus factor).
BASEL_YELLOW_MULTIPLIERS = (3.40, 3.50, 3.65, 3.75, 3.85)


@dataclass(frozen=True, slots=True)
class TrafficLight:
    zone: TrafficLightZone
    exceptions: int
    T: int
    multiplier: float
    cumulative_probability: float  # P(X <= exceptions) under a correct model
    block_new_risk: bool  # red: until a model review


def traffic_light(exceptions: int, T: int = 250, confidence: float = 0.99) -> TrafficLight:
    """Basel traffic light.  Zones by the binomial(T, p) cumulative probability of the count:
    green below 95 %, red from 99.99 % (for T = 250 at 99 %: green 0-4, yellow 5-9, red >= 10).

    Multiplier 3.0 green, 3.40/3.50/3.65/3.75/3.85 for the 1st..5th yellow count, 4.0 red; red
    blocks new risk until the model is reviewed.
    """
    _check_counts(exceptions, T)
    p = tail_probability(confidence)
    x = int(exceptions)
    cum = float(stats.binom.cdf(x, int(T), p))
    if cum < 0.95:
        zone, mult = TrafficLightZone.GREEN, 3.0
    elif cum < 0.9999:
        zone = TrafficLightZone.YELLOW
        # The first yellow count is the smallest whose cumulative probability reaches 95 %.
        first_yellow = int(stats.binom.ppf(0.95, int(T), p))
        step = min(max(x - first_yellow, 0), len(BASEL_YELLOW_MULTIPLIERS) - 1)
        mult = BASEL_YELLOW_MULTIPLIERS[step]
    else:
        zone, mult = TrafficLightZone.RED, 4.0
    return TrafficLight(zone, x, int(T), mult, cum, zone is TrafficLightZone.RED)


def exceptions(returns: ArrayLike, var: ArrayLike) -> BoolArray:
    """Exception flags: return < -VaR (strict).  `var` scalar or one value per return."""
    r = np.asarray(returns, dtype=np.float64)
    v = np.broadcast_to(np.asarray(var, dtype=np.float64), r.shape)
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v))):
        raise ValueError("returns and VaR must be finite")
    return np.asarray(r < -v)


def rolling_historical_var(
    returns: ArrayLike,
    confidence: float = 0.99,
    *,
    window: int = 250,
    quantile_method: QuantileMethod = "linear",
) -> FloatArray:
    """VaR_t for t = window..n-1 from the `window` returns before t (not including t)."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"returns must be 1-d, got shape {r.shape}")
    if window < 30:
        raise ValueError(f"window={window!r} must be >= 30")
    if r.size <= window:
        raise InsufficientData(
            f"{r.size} returns: a rolling backtest with window {window} needs more than {window}"
        )
    if quantile_method not in QUANTILE_METHODS:
        raise ValueError(f"quantile_method={quantile_method!r} is not a numpy quantile method")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite (no NaN/inf)")
    p = tail_probability(confidence)
    win = sliding_window_view(r[:-1], window)
    return -np.quantile(win, p, axis=1, method=quantile_method)


@dataclass(frozen=True, slots=True)
class RollingBacktest:
    var: FloatArray  # VaR applied to each tested day
    hits: BoolArray  # exception flags of the tested days
    exception_index: tuple[int, ...]  # positions in the input series
    kupiec: KupiecResult
    christoffersen: ChristoffersenResult
    traffic_light: TrafficLight

    @property
    def exceptions(self) -> int:
        return int(self.hits.sum())


def rolling_backtest(
    returns: ArrayLike,
    confidence: float = 0.99,
    *,
    window: int = 250,
    test_days: int = 250,
) -> RollingBacktest:
    """Spec §3: each of the last `test_days` returns against the historical (linear) VaR of
    the `window` returns before it; Kupiec, Christoffersen and the traffic light on the hits.
    """
    r = np.asarray(returns, dtype=np.float64)
    if r.size < window + test_days:
        raise InsufficientData(
            f"{r.size} returns: need window {window} + test {test_days} = {window + test_days}"
        )
    tail = r[r.size - window - test_days :]
    var = rolling_historical_var(tail, confidence, window=window)
    tested = tail[window:]
    hits = exceptions(tested, var)
    offset = r.size - test_days
    idx = tuple(int(i) + offset for i in np.flatnonzero(hits))
    x = int(hits.sum())
    return RollingBacktest(
        var,
        hits,
        idx,
        kupiec_pof(x, test_days, confidence),
        christoffersen(hits, confidence),
        traffic_light(x, test_days, confidence),
    )
