"""Pure NumPy technical indicators shared by the strategies.

Every function takes a 1-D sequence of floats, oldest first (closes, volumes), and never looks
at anything but what it is given, so a strategy cannot look ahead by accident. Rolling series
(`sma`, `ema`) return an array as long as the input, with NaN where the window is not yet full.
Scalar indicators describe the *last* point and raise `InsufficientData` (a `ValueError`)
when the series is too short: a strategy catches it and skips the symbol instead of trading on
a half-computed number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

FloatArray: TypeAlias = NDArray[np.float64]
Series: TypeAlias = Sequence[float] | FloatArray

TRADING_DAYS = 252


class InsufficientData(ValueError):
    """The series is shorter than the indicator needs (or contains NaN/inf)."""


def as_array(values: Series, *, name: str = "values") -> FloatArray:
    """A finite 1-D float64 copy of `values`; raises InsufficientData on NaN/inf."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise InsufficientData(f"{name} contains NaN or inf")
    return arr


def _need(arr: FloatArray, n: int, what: str) -> None:
    if n <= 0:
        raise ValueError(f"{what}: window {n} must be positive")
    if arr.size < n:
        raise InsufficientData(f"{what} needs {n} values, got {arr.size}")


# -- moving averages ------------------------------------------------------------------------


def sma(values: Series, window: int) -> FloatArray:
    """Simple moving average; element i is the mean of values[i-window+1 .. i] (NaN before)."""
    arr = as_array(values)
    if window <= 0:
        raise ValueError(f"sma: window {window} must be positive")
    out = np.full(arr.size, np.nan)
    if arr.size >= window:
        csum = np.concatenate(([0.0], np.cumsum(arr)))
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return out


def sma_last(values: Series, window: int) -> float:
    """The most recent simple moving average over `window` values."""
    arr = as_array(values)
    _need(arr, window, "sma")
    return float(arr[-window:].mean())


def ema(values: Series, span: int) -> FloatArray:
    """Exponential moving average, alpha = 2/(span+1), seeded with the first value
    (pandas `ewm(span=..., adjust=False)`)."""
    arr = as_array(values)
    if span <= 0:
        raise ValueError(f"ema: span {span} must be positive")
    out = np.empty(arr.size)
    if arr.size == 0:
        return out
    alpha = 2.0 / (span + 1.0)
    acc = float(arr[0])
    for i, v in enumerate(arr):
        acc = acc + alpha * (float(v) - acc) if i else acc
        out[i] = acc
    return out


# -- oscillators ----------------------------------------------------------------------------


def rsi(values: Series, period: int = 14, *, wilder: bool = False) -> float:
    """Relative strength index of the last point, 0-100.

    Default: average gain/loss as the plain mean of the last `period` changes (the rolling-mean
    form the upstream scanners use). `wilder=True` uses Wilder's smoothing over the whole
    series. No losses -> 100; no moves at all -> 50.
    """
    arr = as_array(values)
    _need(arr, period + 1, "rsi")
    diff = np.diff(arr)
    gains = np.clip(diff, 0.0, None)
    losses = np.clip(-diff, 0.0, None)
    if wilder:
        avg_gain = float(gains[:period].mean())
        avg_loss = float(losses[:period].mean())
        for g, lo in zip(gains[period:], losses[period:], strict=True):
            avg_gain = (avg_gain * (period - 1) + float(g)) / period
            avg_loss = (avg_loss * (period - 1) + float(lo)) / period
    else:
        avg_gain = float(gains[-period:].mean())
        avg_loss = float(losses[-period:].mean())
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def bollinger_position(values: Series, window: int = 20, num_std: float = 2.0) -> float:
    """Where the last value sits in its Bollinger band: 0 = lower band, 1 = upper band
    (can leave [0, 1]). Population standard deviation (ddof 0); a flat window gives 0.5."""
    arr = as_array(values)
    _need(arr, window, "bollinger_position")
    win = arr[-window:]
    mean = float(win.mean())
    sd = float(win.std())
    if sd == 0.0:
        return 0.5
    lower = mean - num_std * sd
    upper = mean + num_std * sd
    return (float(arr[-1]) - lower) / (upper - lower)


# -- returns and volatility -----------------------------------------------------------------


def simple_returns(values: Series) -> FloatArray:
    """values[i]/values[i-1] - 1, length n-1."""
    arr = as_array(values)
    if arr.size < 2:
        return np.empty(0)
    if np.any(arr[:-1] <= 0):
        raise InsufficientData("returns need positive prices")
    return np.asarray(arr[1:] / arr[:-1] - 1.0, dtype=np.float64)


def log_returns(values: Series) -> FloatArray:
    arr = as_array(values)
    if arr.size < 2:
        return np.empty(0)
    if np.any(arr <= 0):
        raise InsufficientData("log returns need positive prices")
    return np.asarray(np.diff(np.log(arr)), dtype=np.float64)


def pct_return(values: Series, n: int) -> float:
    """Return over the last `n` steps: values[-1]/values[-1-n] - 1."""
    arr = as_array(values)
    _need(arr, n + 1, "pct_return")
    base = float(arr[-1 - n])
    if base <= 0:
        raise InsufficientData(f"pct_return: base value {base} must be positive")
    return float(arr[-1]) / base - 1.0


def realized_vol(
    values: Series, window: int | None = None, *, periods_per_year: int = TRADING_DAYS
) -> float:
    """Annualised standard deviation (ddof 1) of log returns over the last `window` returns
    (all of them when None): sd × sqrt(periods_per_year)."""
    rets = log_returns(values)
    if window is not None:
        if window < 2:
            raise ValueError(f"realized_vol: window {window} must be >= 2")
        if rets.size < window:
            raise InsufficientData(f"realized_vol needs {window + 1} prices, got {rets.size + 1}")
        rets = rets[-window:]
    if rets.size < 2:
        raise InsufficientData("realized_vol needs at least 3 prices")
    return float(rets.std(ddof=1)) * math.sqrt(periods_per_year)


def rms_return(values: Series, window: int) -> float:
    """Root mean square of the last `window` simple returns (a zero-mean daily move size)."""
    rets = simple_returns(values)
    if rets.size < window:
        raise InsufficientData(f"rms_return needs {window + 1} prices, got {rets.size + 1}")
    tail = rets[-window:]
    return float(np.sqrt(np.mean(tail * tail)))


def volume_ratio(volumes: Series, window: int, *, include_last: bool = False) -> float:
    """Last volume / mean of the `window` volumes before it (or ending with it when
    `include_last`). A zero average gives inf for positive volume, 0 for none."""
    arr = as_array(volumes, name="volumes")
    need = window if include_last else window + 1
    _need(arr, need, "volume_ratio")
    base = arr[-window:] if include_last else arr[-window - 1 : -1]
    avg = float(base.mean())
    last = float(arr[-1])
    if avg <= 0.0:
        return math.inf if last > 0 else 0.0
    return last / avg


# -- moving-average crosses -----------------------------------------------------------------


class CrossKind(StrEnum):
    GOLDEN = "golden"  # fast SMA crossed above slow SMA
    DEATH = "death"  # fast SMA crossed below slow SMA


@dataclass(frozen=True, slots=True)
class MACross:
    """The most recent fast/slow SMA cross.

    `index` is the position in the input where the fast SMA first sat on the new side;
    `bars_ago` = len - 1 - index (0 = crossed on the last bar). `strength` is measured on the
    last bar: min(100, 1000 × |fast - slow| / slow).
    """

    kind: CrossKind
    index: int
    bars_ago: int
    strength: float


def cross_strength(fast: float, slow: float) -> float:
    return min(100.0, 1000.0 * abs(fast - slow) / slow) if slow > 0 else 0.0


def ma_cross(
    values: Series, fast: int = 50, slow: int = 200, lookback: int | None = 120
) -> MACross | None:
    """Most recent cross of SMA(fast) over SMA(slow) within the last `lookback` bars
    (None = anywhere). Golden at bar i: fast - slow <= 0 at i-1 and > 0 at i; death: >= 0
    then < 0 (the usual `shift()` definition, so leaving a tie counts as a cross)."""
    if fast >= slow:
        raise ValueError(f"ma_cross: fast window {fast} must be shorter than slow {slow}")
    arr = as_array(values)
    _need(arr, slow + 1, "ma_cross")
    diff = sma(arr, fast) - sma(arr, slow)
    n = arr.size
    first = slow  # first index whose predecessor has both SMAs
    if lookback is not None:
        first = max(first, n - lookback)
    strength = cross_strength(sma_last(arr, fast), sma_last(arr, slow))
    for i in range(n - 1, first - 1, -1):
        prev, cur = float(diff[i - 1]), float(diff[i])
        if prev <= 0.0 < cur:
            return MACross(CrossKind.GOLDEN, i, n - 1 - i, strength)
        if prev >= 0.0 > cur:
            return MACross(CrossKind.DEATH, i, n - 1 - i, strength)
    return None
