"""Contract selection on plain arrays (one element per contract of a chain).

Generic on purpose: the functions take NumPy arrays (strike, days to expiry, bid, ask,
volume, open interest, delta) and return integer indices into them, so any chain
representation can use them.  Quotes are per share in currency; spreads are fractions of the
mid (0.10 = 10 %); deltas are spot deltas (calls > 0, puts < 0).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.pricing._arrays import BoolArray, FloatArray, as_float_array

__all__ = [
    "dte_window_mask",
    "filter_contracts",
    "liquidity_mask",
    "select_by_delta",
    "select_by_otm_pct",
    "spread_pct_of_mid",
]

IndexArray = NDArray[np.intp]


def spread_pct_of_mid(bid: ArrayLike, ask: ArrayLike) -> FloatArray:
    """(ask - bid) / mid as a fraction; NaN for crossed, one-sided or missing quotes."""
    b = as_float_array(bid)
    a = as_float_array(ask)
    mid = 0.5 * (a + b)
    valid = (b > 0.0) & (a >= b) & np.isfinite(a) & np.isfinite(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid, (a - b) / mid, np.nan)


def liquidity_mask(
    bid: ArrayLike,
    ask: ArrayLike,
    *,
    volume: ArrayLike | None = None,
    open_interest: ArrayLike | None = None,
    max_spread_pct: float | None = None,
    min_volume: float = 0.0,
    min_open_interest: float = 0.0,
) -> BoolArray:
    """True for contracts with a valid two-sided quote that pass every given filter.

    ``max_spread_pct``: maximum (ask - bid) / mid, e.g. 0.10.  ``min_volume`` and
    ``min_open_interest`` are inclusive lower bounds (missing/NaN counts fail them when > 0).
    """
    pct = spread_pct_of_mid(bid, ask)
    ok = np.isfinite(pct)
    if max_spread_pct is not None:
        ok &= pct <= max_spread_pct
    if volume is not None:
        ok &= as_float_array(volume) >= min_volume
    if open_interest is not None:
        ok &= as_float_array(open_interest) >= min_open_interest
    return np.asarray(ok, dtype=np.bool_)


def dte_window_mask(dte: ArrayLike, min_dte: float, max_dte: float) -> BoolArray:
    """True where min_dte <= days to expiry <= max_dte."""
    d = as_float_array(dte)
    return np.asarray((d >= min_dte) & (d <= max_dte), dtype=np.bool_)


def filter_contracts(
    *,
    dte: ArrayLike | None = None,
    min_dte: float = 0.0,
    max_dte: float = float("inf"),
    bid: ArrayLike | None = None,
    ask: ArrayLike | None = None,
    volume: ArrayLike | None = None,
    open_interest: ArrayLike | None = None,
    max_spread_pct: float | None = None,
    min_volume: float = 0.0,
    min_open_interest: float = 0.0,
    is_call: ArrayLike | None = None,
    want_call: bool | None = None,
) -> IndexArray:
    """Indices of the contracts passing the DTE window, liquidity and option-type filters.

    Filters whose arrays are not given are skipped (liquidity needs both ``bid`` and
    ``ask``).  At least one array must be given (it fixes the chain length).
    """
    arrays = [x for x in (dte, bid, ask, volume, open_interest, is_call) if x is not None]
    if not arrays:
        msg = "filter_contracts needs at least one array"
        raise ValueError(msg)
    n = np.asarray(arrays[0]).shape[0]
    mask = np.ones(n, dtype=np.bool_)
    if dte is not None:
        mask &= dte_window_mask(dte, min_dte, max_dte)
    if bid is not None and ask is not None:
        mask &= liquidity_mask(
            bid,
            ask,
            volume=volume,
            open_interest=open_interest,
            max_spread_pct=max_spread_pct,
            min_volume=min_volume,
            min_open_interest=min_open_interest,
        )
    if is_call is not None and want_call is not None:
        mask &= np.asarray(is_call, dtype=np.bool_) == want_call
    return np.flatnonzero(mask)


def _candidates(n: int, candidates: ArrayLike | None) -> IndexArray:
    if candidates is None:
        return np.arange(n, dtype=np.intp)
    c = np.asarray(candidates)
    if c.dtype == np.bool_:
        return np.flatnonzero(c)
    return c.astype(np.intp)


def select_by_delta(
    delta: ArrayLike, target: float, candidates: ArrayLike | None = None
) -> int | None:
    """Index of the contract whose |delta| is closest to |target| (e.g. 0.30 for a 30-delta
    call or put), among ``candidates`` (indices or a boolean mask; default all).  NaN deltas
    are skipped; ties go to the first; None when nothing qualifies."""
    d = np.abs(as_float_array(delta))
    idx = _candidates(d.size, candidates)
    dist = np.abs(d[idx] - abs(target))
    finite = np.isfinite(dist)
    if not finite.any():
        return None
    return int(idx[np.flatnonzero(finite)[np.argmin(dist[finite])]])


def select_by_otm_pct(
    strike: ArrayLike,
    spot: float,
    otm_pct: float,
    is_call: bool,
    candidates: ArrayLike | None = None,
) -> int | None:
    """Index of the strike closest to ``otm_pct`` out of the money (0.05 = 5 %): the target
    is spot * (1 + otm_pct) for calls and spot * (1 - otm_pct) for puts.  Negative
    ``otm_pct`` selects in the money.  None when nothing qualifies."""
    k = as_float_array(strike)
    target = spot * (1.0 + otm_pct) if is_call else spot * (1.0 - otm_pct)
    idx = _candidates(k.size, candidates)
    dist = np.abs(k[idx] - target)
    finite = np.isfinite(dist)
    if not finite.any():
        return None
    return int(idx[np.flatnonzero(finite)[np.argmin(dist[finite])]])
