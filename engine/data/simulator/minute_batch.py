"""`session_closes_many`: `intraday.session_closes` for several symbols of one session at once.

A daily replay builds the minute paths of the same dozen or more names every session
(momentum's 5-minute bars); one path is about thirty array operations on 390 minutes, so the
per-call cost dominated. Here each symbol still draws from its own stream, in the same order,
and the rest runs once on a (symbols x minutes) block. Every operation is element-wise or
runs along a row exactly as on the symbol's own array (a cumulative or a pairwise sum of a
contiguous row, a row's max and min), and the per-symbol scalars are computed with the same
double operations, so each row's draws and closes are bit-for-bit `session_closes`'s
(tests/engine/data/test_minute_batch.py compares them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from engine.data.simulator.intraday import (
    BucketArrays,
    MinuteArrays,
    SessionDraws,
    aggregate_minutes,
    shared_profile,
)
from engine.domain import BarInterval


def session_closes_many(
    bars: Sequence[tuple[float, float, float, float]],
    n: int,
    rngs: Sequence[np.random.Generator],
) -> list[SessionDraws]:
    """`[session_closes(o, h, low, c, n, rng) for (o, h, low, c), rng in zip(bars, rngs)]`."""
    if len(bars) != len(rngs):
        raise ValueError(f"{len(bars)} daily bars but {len(rngs)} random streams")
    if n < 1:
        raise ValueError(f"session minutes {n} must be >= 1")
    m = len(bars)
    if m == 0:
        return []
    for o, h, low, c in bars:
        if not (low <= min(o, c) and h >= max(o, c) and low > 0):
            raise ValueError(f"daily bar o={o} h={h} l={low} c={c} is not a valid OHLC")
    z_w = np.empty((m, n))
    z_p = np.empty((m, n))
    z_wick = np.empty((m, 2, n))
    burst = np.empty((m, 4))
    for r, rng in enumerate(rngs):  # each stream in session_closes's order
        z_w[r] = rng.standard_normal(n)
        z_p[r] = rng.standard_normal(n)
        z_wick[r] = np.abs(rng.standard_normal((2, n)))
        burst[r] = rng.random(4)

    weights = shared_profile(n) * np.exp(0.35 * z_w - 0.06)
    if n >= 30:
        for r in range(m):
            burst_u, burst_pos, burst_len, burst_mult = burst[r]
            if burst_u < 0.3:
                start = int(n * 0.1 + burst_pos * n * 0.8)
                length = 5 + int(burst_len * 15)
                weights[r, start : start + length] *= 3.0 + 4.0 * burst_mult
    total_w = weights.sum(axis=1)

    # Per-symbol scalars as (m, 1) columns: the same doubles as session_closes's floats.
    lo_ = np.array([[math.log(b[0])] for b in bars])
    lc = np.array([[math.log(b[3])] for b in bars])
    lh = np.array([[math.log(b[1])] for b in bars])
    ll = np.array([[math.log(b[2])] for b in bars])
    tw = total_w[:, None]
    tau = np.cumsum(weights, axis=1) / tw
    walk = np.cumsum(np.sqrt(weights / tw) * z_p, axis=1)
    bridge = walk - tau * walk[:, -1:]
    scale = np.maximum((lh - ll) / 1.5, 1e-6)
    x = lo_ + tau * (lc - lo_) + scale * bridge
    top, bottom = np.maximum(lo_, lc), np.minimum(lo_, lc)
    x_max, x_min = x.max(axis=1, keepdims=True), x.min(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # rows that do not rescale
        if bool((x_max > top).any()):
            up = (lh - top) / (x_max - top)
            x = np.where((x > top) & (x_max > top), top + (x - top) * up, x)
        if bool((x_min < bottom).any()):
            down = (bottom - ll) / (bottom - x_min)
            x = np.where((x < bottom) & (x_min < bottom), bottom - (bottom - x) * down, x)
    lows = np.array([[b[2]] for b in bars])
    highs = np.array([[b[1]] for b in bars])
    closes = np.clip(np.round(np.exp(x), 2), lows, highs)
    closes[:, -1] = [b[3] for b in bars]
    return [
        SessionDraws(weights[r], float(total_w[r]), z_wick[r], float(scale[r, 0]), closes[r])
        for r in range(m)
    ]


def minute_paths_many(
    bars: Sequence[tuple[float, float, float, float, float]],
    n: int,
    draws: Sequence[SessionDraws],
) -> list[MinuteArrays]:
    """`[minute_path(o, h, low, c, v, n, None, d) for (o, h, low, c, v), d in zip(bars, draws)]`:
    the rest of each path (volumes, opens, wicks) from its draws, on one block. Volumes are
    placed by a stable sort, whose order is unique, and the rest is element-wise or per row,
    so each row is bit-for-bit `minute_path`'s."""
    if len(bars) != len(draws):
        raise ValueError(f"{len(bars)} daily bars but {len(draws)} sessions' draws")
    m = len(bars)
    if m == 0:
        return []
    weights = np.stack([d.weights for d in draws])
    closes = np.stack([d.closes for d in draws])
    if weights.shape != (m, n):
        raise ValueError(f"draws are not of {n}-minute sessions")
    z_wick = np.stack([d.z_wick for d in draws])
    total_w = np.array([[d.total_w] for d in draws])
    vol_total = [round(b[4]) for b in bars]

    # Volumes: integers that sum exactly to each daily volume (largest remainder).
    raw = np.array([[float(v)] for v in vol_total]) * weights / total_w
    vols = np.floor(raw)
    short = [int(v - s) for v, s in zip(vol_total, vols.sum(axis=1).tolist(), strict=True)]
    if any(k > 0 for k in short):
        order = np.argsort(-(raw - vols), axis=1, kind="stable")
        for r, k in enumerate(short):
            if k > 0:
                vols[r, order[r, :k]] += 1.0

    opens = np.empty((m, n))
    opens[:, 0] = [b[0] for b in bars]
    opens[:, 1:] = closes[:, :-1]
    body_hi = np.maximum(opens, closes)
    body_lo = np.minimum(opens, closes)
    wick = np.array([[0.5 * d.scale / math.sqrt(n)] for d in draws])
    h = np.array([[b[1]] for b in bars])
    low = np.array([[b[2]] for b in bars])
    highs = np.minimum(np.maximum(np.round(body_hi * np.exp(wick * z_wick[:, 0]), 2), body_hi), h)
    lows = np.maximum(np.minimum(np.round(body_lo * np.exp(-wick * z_wick[:, 1]), 2), body_lo), low)
    rows = np.arange(m)
    highs[rows, np.argmax(body_hi, axis=1)] = h[:, 0]
    lows[rows, np.argmin(body_lo, axis=1)] = low[:, 0]
    return [MinuteArrays(opens[r], highs[r], lows[r], closes[r], vols[r]) for r in range(m)]


def aggregate_minute_rows(m: MinuteArrays, interval: BarInterval) -> BucketArrays:
    """`aggregate_minutes` of each row of a block whose fields are (symbols x minutes) of one
    session, as (symbols x buckets) fields (`start`/`end` are shared by the rows): the same
    reductions along each row, so the same floats (highs and lows are a max and a min,
    volumes sums of whole numbers)."""
    if m.open.ndim != 2:
        raise ValueError("aggregate_minute_rows needs (symbols x minutes) arrays")
    return aggregate_minutes(m, interval)
