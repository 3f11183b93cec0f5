"""`session_closes_many` and `minute_paths_many` draw and build exactly what
`session_closes` and `minute_path` do for each symbol alone, and the simulator's batched
paths (the names asked for the session before, built together in the session in progress)
are the very minute paths and bars of a market that built every path alone."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from manual_clock import ManualClock

from engine.data import SimulatedMarket, sim_start_time
from engine.data.simulator.intraday import (
    MinuteArrays,
    SessionDraws,
    aggregate_minutes,
    minute_path,
    session_closes,
)
from engine.data.simulator.minute_batch import (
    aggregate_minute_rows,
    minute_paths_many,
    session_closes_many,
)
from engine.domain import BarInterval

MINUTE_FIELDS = ("open", "high", "low", "close", "volume")
prices = st.floats(min_value=0.01, max_value=20000.0, allow_nan=False, allow_infinity=False)


@st.composite
def ohlc(draw: st.DrawFn) -> tuple[float, float, float, float]:
    a, b, c, d = sorted(round(draw(prices), 2) for _ in range(4))
    o, cl = draw(st.permutations([b, c]))
    return o, d, a, cl


def _same(a: SessionDraws, b: SessionDraws) -> None:
    assert a.weights.tobytes() == b.weights.tobytes()
    assert a.total_w == b.total_w
    assert a.z_wick.tobytes() == b.z_wick.tobytes()
    assert a.scale == b.scale
    assert a.closes.tobytes() == b.closes.tobytes()


@settings(max_examples=150, deadline=None)
@given(
    bars=st.lists(ohlc(), min_size=1, max_size=12),
    n=st.sampled_from([1, 7, 29, 30, 60, 210, 390]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_session_closes_many_when_any_valid_bars_then_each_equal_to_alone(
    bars: list[tuple[float, float, float, float]], n: int, seed: int
) -> None:
    seeds = [seed + i for i in range(len(bars))]
    many = session_closes_many(bars, n, [np.random.default_rng(s) for s in seeds])
    assert len(many) == len(bars)
    for (o, h, low, c), s, got in zip(bars, seeds, many, strict=True):
        _same(got, session_closes(o, h, low, c, n, np.random.default_rng(s)))


@settings(max_examples=150, deadline=None)
@given(
    bars=st.lists(ohlc(), min_size=1, max_size=12),
    volumes=st.lists(st.integers(min_value=0, max_value=10**10), min_size=12, max_size=12),
    n=st.sampled_from([1, 7, 29, 30, 60, 210, 390]),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_minute_paths_many_when_any_valid_bars_then_each_equal_to_alone(
    bars: list[tuple[float, float, float, float]], volumes: list[int], n: int, seed: int
) -> None:
    seeds = [seed + i for i in range(len(bars))]
    daily = [(*b, float(v)) for b, v in zip(bars, volumes, strict=False)]
    draws = session_closes_many(bars, n, [np.random.default_rng(s) for s in seeds])
    many = minute_paths_many(daily, n, draws)
    for (o, h, low, c, v), s, got in zip(daily, seeds, many, strict=True):
        alone = minute_path(o, h, low, c, v, n, np.random.default_rng(s))
        for name in ("open", "high", "low", "close", "volume"):
            assert getattr(got, name).tobytes() == getattr(alone, name).tobytes(), name
    block = MinuteArrays(*(np.stack([getattr(p, name) for p in many]) for name in MINUTE_FIELDS))
    for interval in (BarInterval.MINUTE, BarInterval.FIVE_MINUTES, BarInterval.HOUR):
        rows = aggregate_minute_rows(block, interval)
        for r, path in enumerate(many):
            alone_b = aggregate_minutes(path, interval)
            assert rows.start.tolist() == alone_b.start.tolist()
            assert rows.end.tolist() == alone_b.end.tolist()
            for name in MINUTE_FIELDS:
                assert getattr(rows, name)[r].tobytes() == getattr(alone_b, name).tobytes()


def test_session_closes_many_when_bad_input_then_value_error() -> None:
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="random streams"):
        session_closes_many([(10.0, 11.0, 9.0, 10.5)], 390, [])
    with pytest.raises(ValueError, match="not a valid OHLC"):
        session_closes_many([(10.0, 9.0, 9.5, 10.5)], 390, [rng])
    with pytest.raises(ValueError, match="must be >= 1"):
        session_closes_many([(10.0, 11.0, 9.0, 10.5)], 0, [rng])
    assert session_closes_many([], 390, []) == []
    draws = session_closes_many([(10.0, 11.0, 9.0, 10.5)], 390, [rng])
    with pytest.raises(ValueError, match="draws"):
        minute_paths_many([], 390, draws)
    with pytest.raises(ValueError, match="60-minute"):
        minute_paths_many([(10.0, 11.0, 9.0, 10.5, 1e6)], 60, draws)
    assert minute_paths_many([], 390, []) == []
    (path,) = minute_paths_many([(10.0, 11.0, 9.0, 10.5, 1e6)], 390, draws)
    with pytest.raises(ValueError, match="symbols x minutes"):
        aggregate_minute_rows(path, BarInterval.FIVE_MINUTES)


def _five_minute_days(batched: bool) -> list[list[object]]:
    """Three sessions of a daily replay's reads: at close - 1 s, a quote, then 5-minute bars of
    the same names (scaled SPX included) over the last two sessions; a name joins on the
    third day."""
    clock = ManualClock(sim_start_time())
    m = SimulatedMarket(clock)
    names = ["AAPL", "NVDA", "SPX", "TSLA"]
    served: list[list[object]] = []
    for day in range(3):
        t = m._anchor + day
        now = m._closes[t] - timedelta(seconds=1)
        clock.set(now)
        if not batched:
            # nobody to batch with: every path and every name's bars are built alone
            m._paths_wanted.clear()
            m._five_wanted.clear()
        reads = names + (["GME"] if day == 2 else [])
        # a quote first: NVDA's draws are made for its closes, and the batch reuses them
        early = m._price_at("NVDA", now - timedelta(minutes=45))
        served.append(
            [early]
            + [
                m.intraday_bars_sync(sym, BarInterval.FIVE_MINUTES, m._opens[t - 1], now)
                for sym in reads
            ]
            + [m._price_at(sym, now - timedelta(minutes=30)) for sym in reads]
        )
        if batched and day > 0:
            # the names asked for the day before were built together with the first one
            assert {"AAPL", "NVDA", "SPY", "TSLA"} <= {
                sym for sym, s in m._minute_cache._entries if s == t
            }
            five = BarInterval.FIVE_MINUTES
            assert {"AAPL", "NVDA", "SPX", "TSLA"} <= {
                m._symbols[k] for k, iv, s in m._bar_cache._entries if iv is five and s == t
            }
    return served


def test_minute_paths_when_drawn_in_a_batch_then_equal_to_drawn_alone() -> None:
    assert _five_minute_days(batched=True) == _five_minute_days(batched=False)


def test_paths_wanted_when_sessions_pass_then_only_recent_sessions_kept() -> None:
    clock = ManualClock(sim_start_time())
    m = SimulatedMarket(clock)
    for day in range(6):
        t = m._anchor + day
        clock.set(m._closes[t] - timedelta(seconds=1))
        m.intraday_bars_sync("AAPL", BarInterval.FIVE_MINUTES, m._opens[t], m._closes[t])
    assert set(m._paths_wanted) <= {m._anchor + 4, m._anchor + 5}
