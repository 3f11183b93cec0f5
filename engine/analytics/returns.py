"""Returns of an equity curve: simple daily returns, total return, CAGR, volatility."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

PERIODS_PER_YEAR = 252

FloatArray = NDArray[np.float64]


def as_curve(equity: ArrayLike, *, name: str = "equity") -> FloatArray:
    """A 1-D float64 array of finite, positive values (an equity or price curve)."""
    arr = np.asarray(equity, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and (not np.isfinite(arr).all() or (arr <= 0).any()):
        bad = int(np.flatnonzero(~np.isfinite(arr) | (arr <= 0))[0])
        raise ValueError(f"{name}[{bad}]={float(arr[bad])!r}: values must be finite and > 0")
    return arr


def simple_returns(equity: ArrayLike) -> FloatArray:
    """r[t] = equity[t] / equity[t-1] - 1 (one shorter than the curve)."""
    eq = as_curve(equity)
    if eq.size < 2:
        return np.empty(0)
    out: FloatArray = eq[1:] / eq[:-1] - 1.0
    return out


def total_return(equity: ArrayLike) -> float:
    eq = as_curve(equity)
    if eq.size < 1:
        return 0.0
    return float(eq[-1] / eq[0] - 1.0)


def cagr(equity: ArrayLike, periods: int = PERIODS_PER_YEAR) -> float:
    """Compound annual growth over len(equity) - 1 periods of 1/periods years each."""
    eq = as_curve(equity)
    n = eq.size - 1
    if n < 1:
        return 0.0
    years = n / periods
    return float((eq[-1] / eq[0]) ** (1.0 / years) - 1.0)


def annual_volatility(returns: ArrayLike, periods: int = PERIODS_PER_YEAR) -> float:
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 2:
        return math.nan
    return float(r.std(ddof=1) * math.sqrt(periods))


def monthly_returns(sessions: Sequence[date], equity: ArrayLike) -> dict[tuple[int, int], float]:
    """{(year, month): return} from the closing `equity` of each session in `sessions`; the
    curve's first value is the starting equity before `sessions[0]` (len(equity) = n + 1)."""
    eq = as_curve(equity)
    if eq.size != len(sessions) + 1:
        raise ValueError(
            f"equity has {eq.size} values for {len(sessions)} sessions: expected sessions + 1"
        )
    out: dict[tuple[int, int], float] = {}
    base = float(eq[0])
    last_key: tuple[int, int] | None = None
    last_value = base
    for day, value in zip(sessions, eq[1:].tolist(), strict=True):
        key = (day.year, day.month)
        if last_key is not None and key != last_key:
            base = last_value
        out[key] = value / base - 1.0
        last_key, last_value = key, value
    return out
