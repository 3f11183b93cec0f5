"""`minute_closes`: the minute closes of `intraday.minute_path`, without the rest of the path.

A daily replay fills at the quote before the session's closing minute: one minute close per
traded name and session. `minute_path` builds the volumes (a sort), opens, highs and lows
too, which nothing reads there. This draws the same random numbers in the same order and
repeats the same array operations on the same arrays up to the closes, so the result is the
same floats (tests/engine/data/test_minute_close.py compares them). Any change to
`minute_path`'s price construction must be mirrored here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from engine.data.simulator.intraday import volume_profile


@lru_cache(maxsize=8)
def _profile(n: int) -> np.ndarray:
    # A pure function of the session length (390 or an early close's 210); read-only here.
    prof = volume_profile(n)
    prof.setflags(write=False)
    return prof


def minute_closes(
    o: float, h: float, low: float, c: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """`minute_path(o, h, low, c, volume, n, rng).close` (the volume does not move prices)."""
    if n < 1:
        raise ValueError(f"session minutes {n} must be >= 1")
    if not (low <= min(o, c) and h >= max(o, c) and low > 0):
        raise ValueError(f"daily bar o={o} h={h} l={low} c={c} is not a valid OHLC")
    z_w = rng.standard_normal(n)
    z_p = rng.standard_normal(n)
    np.abs(rng.standard_normal((2, n)))  # the wick draws: keeps the stream aligned
    burst_u, burst_pos, burst_len, burst_mult = rng.random(4)

    weights = _profile(n) * np.exp(0.35 * z_w - 0.06)
    if burst_u < 0.3 and n >= 30:
        start = int(n * 0.1 + burst_pos * n * 0.8)
        length = 5 + int(burst_len * 15)
        weights[start : start + length] *= 3.0 + 4.0 * burst_mult
    total_w = float(weights.sum())

    lo_, lc = math.log(o), math.log(c)
    lh, ll = math.log(h), math.log(low)
    tau = np.cumsum(weights) / total_w
    walk = np.cumsum(np.sqrt(weights / total_w) * z_p)
    bridge = walk - tau * walk[-1]
    scale = max((lh - ll) / 1.5, 1e-6)
    x = lo_ + tau * (lc - lo_) + scale * bridge
    top, bottom = max(lo_, lc), min(lo_, lc)
    x_max, x_min = float(x.max()), float(x.min())
    if x_max > top:
        x = np.where(x > top, top + (x - top) * ((lh - top) / (x_max - top)), x)
    if x_min < bottom:
        x = np.where(x < bottom, bottom - (bottom - x) * ((bottom - ll) / (bottom - x_min)), x)

    closes: np.ndarray = np.clip(np.round(np.exp(x), 2), low, h)
    closes[-1] = c
    return closes
