"""Historical volatility estimators from OHLC bars, IV rank/percentile and expected move.

All estimators take 1-d arrays of prices (oldest first), use natural-log returns and return
ANNUALISED volatility as a decimal (0.2 = 20 %), scaled by ``periods_per_year`` (252 trading
days for daily bars).  With ``window=None`` they return one float for the whole sample; with
``window=w`` a float64 array of the same length as the input whose element ``i`` uses the ``w``
periods ending at bar ``i`` (NaN until enough bars exist).  Non-positive or NaN prices make the
affected windows NaN (garbage in is never turned into a number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from engine.pricing._arrays import FloatArray, as_float_array

__all__ = [
    "ExpectedMove",
    "close_to_close_vol",
    "expected_move",
    "garman_klass_vol",
    "iv_percentile",
    "iv_rank",
    "parkinson_vol",
    "rogers_satchell_vol",
    "yang_zhang_vol",
]

TRADING_DAYS = 252.0
_LN2 = math.log(2.0)


def _log(x: ArrayLike) -> FloatArray:
    a = as_float_array(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0.0, np.log(np.where(a > 0.0, a, 1.0)), np.nan)


def _rolling_mean(x: FloatArray, window: int | None, pad: int) -> float | FloatArray:
    """Mean over everything (window None) or trailing windows, left-padded by ``pad`` NaNs."""
    if window is None:
        return float(np.mean(x)) if x.size else math.nan
    _check_window(window, 1)
    out = np.full(x.size + pad, np.nan)
    if x.size >= window:
        out[pad + window - 1 :] = sliding_window_view(x, window).mean(axis=-1)
    return out


def _rolling_var(x: FloatArray, window: int | None, pad: int) -> float | FloatArray:
    """Sample variance (ddof = 1), whole sample or trailing windows."""
    if window is None:
        return float(np.var(x, ddof=1)) if x.size >= 2 else math.nan
    _check_window(window, 2)
    out = np.full(x.size + pad, np.nan)
    if x.size >= window:
        out[pad + window - 1 :] = sliding_window_view(x, window).var(axis=-1, ddof=1)
    return out


def _check_window(window: int, minimum: int) -> None:
    if window < minimum:
        msg = f"window must be >= {minimum}, got {window}"
        raise ValueError(msg)


def _annualise(var: float | FloatArray, periods_per_year: float) -> float | FloatArray:
    if isinstance(var, float):
        return math.sqrt(var * periods_per_year) if var >= 0.0 else math.nan
    with np.errstate(invalid="ignore"):
        return np.sqrt(var * periods_per_year)


@overload
def close_to_close_vol(
    close: ArrayLike, *, window: None = None, periods_per_year: float = TRADING_DAYS
) -> float: ...
@overload
def close_to_close_vol(
    close: ArrayLike, *, window: int, periods_per_year: float = TRADING_DAYS
) -> FloatArray: ...
def close_to_close_vol(
    close: ArrayLike, *, window: int | None = None, periods_per_year: float = TRADING_DAYS
) -> float | FloatArray:
    """Sample standard deviation (ddof = 1) of log close-to-close returns, annualised.

    ``window`` counts returns (so it needs ``window + 1`` closes).
    """
    r = np.diff(_log(close))
    return _annualise(_rolling_var(r, window, pad=1), periods_per_year)


@overload
def parkinson_vol(
    high: ArrayLike, low: ArrayLike, *, window: None = None, periods_per_year: float = ...
) -> float: ...
@overload
def parkinson_vol(
    high: ArrayLike, low: ArrayLike, *, window: int, periods_per_year: float = ...
) -> FloatArray: ...
def parkinson_vol(
    high: ArrayLike,
    low: ArrayLike,
    *,
    window: int | None = None,
    periods_per_year: float = TRADING_DAYS,
) -> float | FloatArray:
    """Parkinson (1980) range estimator: var = mean(ln(H/L)^2) / (4 ln 2), annualised."""
    hl = _log(high) - _log(low)
    return _annualise(_rolling_mean(hl * hl / (4.0 * _LN2), window, pad=0), periods_per_year)


@overload
def garman_klass_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: None = None,
    periods_per_year: float = ...,
) -> float: ...
@overload
def garman_klass_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int,
    periods_per_year: float = ...,
) -> FloatArray: ...
def garman_klass_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int | None = None,
    periods_per_year: float = TRADING_DAYS,
) -> float | FloatArray:
    """Garman-Klass (1980): var = mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2), annualised.

    Ignores overnight gaps (use Yang-Zhang when opens gap away from prior closes).
    """
    hl = _log(high) - _log(low)
    co = _log(close) - _log(open_)
    per_bar = 0.5 * hl * hl - (2.0 * _LN2 - 1.0) * co * co
    return _annualise(_rolling_mean(per_bar, window, pad=0), periods_per_year)


def _rs_terms(open_: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> FloatArray:
    lo, lh, ll, lc = _log(open_), _log(high), _log(low), _log(close)
    return (lh - lc) * (lh - lo) + (ll - lc) * (ll - lo)


@overload
def rogers_satchell_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: None = None,
    periods_per_year: float = ...,
) -> float: ...
@overload
def rogers_satchell_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int,
    periods_per_year: float = ...,
) -> FloatArray: ...
def rogers_satchell_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int | None = None,
    periods_per_year: float = TRADING_DAYS,
) -> float | FloatArray:
    """Rogers-Satchell (1991), drift-independent: mean(ln(H/C) ln(H/O) + ln(L/C) ln(L/O))."""
    per_bar = _rs_terms(open_, high, low, close)
    return _annualise(_rolling_mean(per_bar, window, pad=0), periods_per_year)


@overload
def yang_zhang_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: None = None,
    periods_per_year: float = ...,
) -> float: ...
@overload
def yang_zhang_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int,
    periods_per_year: float = ...,
) -> FloatArray: ...
def yang_zhang_vol(
    open_: ArrayLike,
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    *,
    window: int | None = None,
    periods_per_year: float = TRADING_DAYS,
) -> float | FloatArray:
    """Yang-Zhang (2000): var = var_overnight + k var_open_to_close + (1 - k) RS.

    Overnight returns ln(O_t / C_{t-1}) and open-to-close ln(C_t / O_t) use sample variances
    (ddof = 1); RS is the Rogers-Satchell mean; k = 0.34 / (1.34 + (n + 1) / (n - 1)) with n
    periods.  The first bar only supplies C_0, so n periods need n + 1 bars.
    """
    lo, lc = _log(open_), _log(close)
    overnight = lo[1:] - lc[:-1]
    open_close = (lc - lo)[1:]
    rs = _rs_terms(open_, high, low, close)[1:]
    n = overnight.size if window is None else window
    if n < 2:
        msg = "Yang-Zhang needs at least 3 bars (2 periods)"
        raise ValueError(msg)
    k = 0.34 / (1.34 + (n + 1) / (n - 1))
    v_o = _rolling_var(overnight, window, pad=1)
    v_c = _rolling_var(open_close, window, pad=1)
    v_rs = _rolling_mean(rs, window, pad=1)
    if isinstance(v_o, float) and isinstance(v_c, float) and isinstance(v_rs, float):
        return _annualise(v_o + k * v_c + (1.0 - k) * v_rs, periods_per_year)
    return _annualise(
        np.asarray(v_o) + k * np.asarray(v_c) + (1.0 - k) * np.asarray(v_rs), periods_per_year
    )


def _clean(series: ArrayLike) -> FloatArray:
    s = as_float_array(series).reshape(-1)
    return s[np.isfinite(s)]


def iv_rank(series: ArrayLike, current: float) -> float:
    """IV rank in PERCENT (0-100): where ``current`` sits between the lookback min and max,
    100 * (current - min) / (max - min).  NaNs in ``series`` are ignored; NaN when the series
    is empty or flat.  Not clipped: a new high gives > 100 (when current is not in series)."""
    s = _clean(series)
    if s.size == 0 or not math.isfinite(current):
        return math.nan
    lo, hi = float(s.min()), float(s.max())
    if hi <= lo:
        return math.nan
    return 100.0 * (current - lo) / (hi - lo)


def iv_percentile(series: ArrayLike, current: float) -> float:
    """IV percentile in PERCENT (0-100): share of lookback observations strictly below
    ``current``.  NaNs ignored; NaN for an empty series."""
    s = _clean(series)
    if s.size == 0 or not math.isfinite(current):
        return math.nan
    return 100.0 * float(np.count_nonzero(s < current)) / s.size


@dataclass(frozen=True, slots=True, eq=False)
class ExpectedMove:
    """Market-implied move to the straddle's expiry (currency and fraction of spot).

    ``amount`` = the ATM straddle mid: the risk-neutral mean ABSOLUTE move (about
    0.8 sigma sqrt(T) S); ``one_sd`` = amount * sqrt(pi / 2), the one-standard-deviation move
    under a normal approximation.  ``lower``/``upper`` = spot -/+ amount.
    """

    amount: FloatArray
    fraction: FloatArray
    one_sd: FloatArray
    lower: FloatArray
    upper: FloatArray


def expected_move(straddle_mid: ArrayLike, spot: ArrayLike) -> ExpectedMove:
    """Expected move from the at-the-money straddle mid price (arrays broadcast)."""
    amt = as_float_array(straddle_mid)
    s = as_float_array(spot)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(s > 0.0, amt / s, np.nan)
    amt_b, s_b = np.broadcast_arrays(amt, s)
    return ExpectedMove(
        amount=amt_b.astype(np.float64),
        fraction=np.asarray(frac, dtype=np.float64),
        one_sd=amt_b * math.sqrt(math.pi / 2.0),
        lower=s_b - amt_b,
        upper=s_b + amt_b,
    )
