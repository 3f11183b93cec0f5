"""Minute bars inside one session that aggregate exactly to that session's daily bar.

The generator is shared by the simulator and the CSV replay: given a daily bar (open, high,
low, close, volume) and the number of minutes in the session, it draws a time-changed
Brownian bridge from the open to the close, rescales its excursions so they stay within
[low, high], and pins one minute's high to the daily high and one minute's low to the daily
low. The result, by construction:

* first minute open == daily open, last minute close == daily close (exact floats);
* max of minute highs == daily high, min of minute lows == daily low (exact floats);
* sum of minute volumes == daily volume (integers, distributed by largest remainder).

Volume follows a U-shaped intraday profile (heavy open, quiet lunch, busy close) with noise
and occasional bursts; the price path's variance follows the volume, so bursts also move the
price. Early-close sessions simply have fewer minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine.domain import BarInterval

_BUCKET_MINUTES = {
    BarInterval.MINUTE: 1,
    BarInterval.FIVE_MINUTES: 5,
    BarInterval.FIFTEEN_MINUTES: 15,
    BarInterval.HOUR: 60,
}


@dataclass(frozen=True, slots=True, eq=False)
class MinuteArrays:
    """OHLCV of each minute of a session (minute j starts at open + j minutes)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def minutes(self) -> int:
        return int(self.open.shape[0])


def volume_profile(n: int) -> np.ndarray:
    """Relative volume of each minute of an n-minute session: U-shaped, mean about 1."""
    x = (np.arange(n) + 0.5) / n
    prof = 0.55 + 2.2 * np.exp(-x / 0.04) + 1.3 * np.exp(-(1.0 - x) / 0.04)
    out: np.ndarray = prof / prof.mean()
    return out


@lru_cache(maxsize=8)
def shared_profile(n: int) -> np.ndarray:
    """`volume_profile(n)`, read-only and computed once per session length (390, or an early
    close's 210): every session's path starts from it, and rebuilding it was ~6% of building
    a minute path."""
    prof = volume_profile(n)
    prof.setflags(write=False)
    return prof


@dataclass(frozen=True, slots=True, eq=False)
class SessionDraws:
    """The random draws and the price path of one session, before volumes and wicks."""

    weights: np.ndarray
    total_w: float
    z_wick: np.ndarray
    scale: float
    closes: np.ndarray


def session_closes(
    o: float,
    h: float,
    low: float,
    c: float,
    n: int,
    rng: np.random.Generator,
) -> SessionDraws:
    """Draw one session's random numbers (always all of them, in the same order, so the
    stream stays aligned) and build its minute closes. `minute_path` adds volumes, opens,
    highs and lows; `minute_close.minute_closes` stops here."""
    if n < 1:
        raise ValueError(f"session minutes {n} must be >= 1")
    if not (low <= min(o, c) and h >= max(o, c) and low > 0):
        raise ValueError(f"daily bar o={o} h={h} l={low} c={c} is not a valid OHLC")
    z_w = rng.standard_normal(n)
    z_p = rng.standard_normal(n)
    z_wick = np.abs(rng.standard_normal((2, n)))
    burst_u, burst_pos, burst_len, burst_mult = rng.random(4)

    prof = shared_profile(n)
    weights = prof * np.exp(0.35 * z_w - 0.06)
    if burst_u < 0.3 and n >= 30:
        start = int(n * 0.1 + burst_pos * n * 0.8)
        length = 5 + int(burst_len * 15)
        weights[start : start + length] *= 3.0 + 4.0 * burst_mult
    total_w = float(weights.sum())

    # Price: a Brownian bridge in volume time, from log(o) to log(c).
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

    closes = np.clip(np.round(np.exp(x), 2), low, h)
    closes[-1] = c
    return SessionDraws(weights, total_w, z_wick, scale, closes)


def minute_path(
    o: float,
    h: float,
    low: float,
    c: float,
    volume: float,
    n: int,
    rng: np.random.Generator | None,
    draws: SessionDraws | None = None,
) -> MinuteArrays:
    """Minute bars for one session whose aggregate is exactly the daily bar (o, h, low, c, volume).

    `draws`: this session's `session_closes` already drawn from `rng`'s stream (e.g. when its
    closes were read first); the path is then built from them without drawing again."""
    if draws is None:
        if rng is None:
            raise ValueError("minute_path needs an rng or the session's draws")
        draws = session_closes(o, h, low, c, n, rng)
    d = draws
    weights, total_w, closes = d.weights, d.total_w, d.closes

    # Volumes: integers that sum exactly to the daily volume (largest remainder).
    vol_total = round(volume)
    raw = vol_total * weights / total_w
    vols = np.floor(raw)
    short = int(vol_total - vols.sum())
    if short > 0:
        order = np.argsort(-(raw - vols), kind="stable")
        vols[order[:short]] += 1.0

    opens = np.empty(n)
    opens[0] = o
    opens[1:] = closes[:-1]
    body_hi = np.maximum(opens, closes)
    body_lo = np.minimum(opens, closes)
    wick = 0.5 * d.scale / math.sqrt(n)
    highs = np.minimum(np.maximum(np.round(body_hi * np.exp(wick * d.z_wick[0]), 2), body_hi), h)
    lows = np.maximum(np.minimum(np.round(body_lo * np.exp(-wick * d.z_wick[1]), 2), body_lo), low)
    highs[int(np.argmax(body_hi))] = h
    lows[int(np.argmin(body_lo))] = low
    return MinuteArrays(opens, highs, lows, closes, vols)


@dataclass(frozen=True, slots=True, eq=False)
class BucketArrays:
    """Aggregated bars of one session: bucket b covers minutes [start[b], end[b])."""

    start: np.ndarray
    end: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def bucket_width(interval: BarInterval) -> int:
    """Minutes in one `interval` bar (ValueError when it is not intraday)."""
    try:
        return _BUCKET_MINUTES[interval]
    except KeyError:
        raise ValueError(
            f"interval {interval.value!r} is not intraday (allowed: 1m, 5m, 15m, 1h)"
        ) from None


def aggregate_minutes(m: MinuteArrays, interval: BarInterval) -> BucketArrays:
    """5m/15m/1h (or 1m) bars anchored at the session open; the last bucket may be short.
    Fields may also be (symbols x minutes) blocks: each row is reduced along its minutes."""
    width = bucket_width(interval)
    n = int(m.open.shape[-1])
    starts = np.arange(0, n, width)
    ends = np.minimum(starts + width, n)
    if width == 1:
        return BucketArrays(starts, ends, m.open, m.high, m.low, m.close, m.volume)
    return BucketArrays(
        start=starts,
        end=ends,
        open=m.open[..., starts],
        high=np.maximum.reduceat(m.high, starts, axis=-1),
        low=np.minimum.reduceat(m.low, starts, axis=-1),
        close=m.close[..., ends - 1],
        volume=np.add.reduceat(m.volume, starts, axis=-1),
    )


def aggregate_buckets(agg: BucketArrays, width: int, interval: BarInterval) -> BucketArrays:
    """`aggregate_minutes(m, interval)` from `agg = aggregate_minutes(m, <width-minute bars>)`
    instead of from the minutes: every `interval` bucket is whole `width`-minute buckets (its
    width is a multiple of `width` and both are anchored at the session open), so its open,
    high, low and close are theirs, exactly. Volumes are whole numbers, summed exactly in
    any grouping. Cheaper, and it needs only the coarser bars, not the minute path (which a
    cache may have dropped)."""
    wide = bucket_width(interval)
    if width < 1 or wide % width:
        raise ValueError(f"{interval.value} bars are not whole {width}-minute bars")
    factor = wide // width
    if factor == 1:
        return agg
    n = int(agg.open.shape[0])
    firsts = np.arange(0, n, factor)
    lasts = np.minimum(firsts + factor, n) - 1
    return BucketArrays(
        start=agg.start[firsts],
        end=agg.end[lasts],
        open=agg.open[firsts],
        high=np.maximum.reduceat(agg.high, firsts),
        low=np.minimum.reduceat(agg.low, firsts),
        close=agg.close[lasts],
        volume=np.add.reduceat(agg.volume, firsts),
    )
