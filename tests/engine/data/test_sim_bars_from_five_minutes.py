"""15-minute and hourly bars built from a session's 5-minute bars equal the bars built from
its minute path: for any valid daily bar (property) and in the simulator, whichever of the
two intervals is read first and whether or not the minute path is still cached."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from manual_clock import ManualClock

from engine.data import SimulatedMarket
from engine.data.simulator.intraday import (
    BucketArrays,
    aggregate_buckets,
    aggregate_minutes,
    minute_path,
)
from engine.domain import BarInterval

prices = st.floats(min_value=0.01, max_value=20000.0, allow_nan=False, allow_infinity=False)
# 2026-11-27 closes early (the day after Thanksgiving): a 210-minute session.
SESSIONS = (date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30))
COARSER = (BarInterval.FIFTEEN_MINUTES, BarInterval.HOUR)


def _same(a: BucketArrays, b: BucketArrays) -> None:
    for name in ("start", "end", "open", "high", "low", "close", "volume"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name


@st.composite
def daily_bars(draw: st.DrawFn) -> tuple[float, float, float, float, float, int]:
    a, b, c, d = sorted(round(draw(prices), 2) for _ in range(4))
    o, cl = draw(st.permutations([b, c]))
    volume = draw(st.integers(min_value=0, max_value=10**10))
    # whole and partial last buckets, a regular session, an early close
    minutes = draw(st.sampled_from([1, 4, 5, 14, 16, 59, 61, 97, 210, 390]))
    return o, d, a, cl, float(volume), minutes


@settings(max_examples=150, deadline=None)
@given(bar=daily_bars(), seed=st.integers(min_value=0, max_value=2**32))
def test_aggregate_buckets_when_any_session_then_equal_to_aggregate_minutes(
    bar: tuple[float, float, float, float, float, int], seed: int
) -> None:
    o, h, low, c, v, n = bar
    m = minute_path(o, h, low, c, v, n, np.random.default_rng(seed))
    five = aggregate_minutes(m, BarInterval.FIVE_MINUTES)
    fifteen = aggregate_minutes(m, BarInterval.FIFTEEN_MINUTES)
    for interval in COARSER:
        _same(aggregate_buckets(five, 5, interval), aggregate_minutes(m, interval))
    _same(aggregate_buckets(fifteen, 15, BarInterval.HOUR), aggregate_minutes(m, BarInterval.HOUR))
    ones = aggregate_minutes(m, BarInterval.MINUTE)
    _same(aggregate_buckets(ones, 1, BarInterval.FIVE_MINUTES), five)


def test_aggregate_buckets_when_not_whole_buckets_then_value_error() -> None:
    m = minute_path(10.0, 11.0, 9.0, 10.5, 1e6, 390, np.random.default_rng(1))
    fifteen = aggregate_minutes(m, BarInterval.FIFTEEN_MINUTES)
    with pytest.raises(ValueError, match="whole 15-minute"):
        aggregate_buckets(fifteen, 15, BarInterval.FIVE_MINUTES)
    with pytest.raises(ValueError, match="not intraday"):
        aggregate_buckets(fifteen, 15, BarInterval.DAY)


def _market() -> SimulatedMarket:
    clock = ManualClock(datetime(2026, 11, 2, 14, 30, tzinfo=UTC))
    m = SimulatedMarket(clock, start=date(2026, 11, 2), history_days=5, horizon_days=30)
    clock.set(m._closes[m.sessions.index(SESSIONS[-1])] + timedelta(hours=1))
    return m


@pytest.mark.parametrize("interval", COARSER)
def test_session_bars_when_five_minute_bars_cached_then_equal_to_direct(
    interval: BarInterval,
) -> None:
    direct, derived = _market(), _market()
    for session in SESSIONS:
        t = direct.sessions.index(session)
        for sym in ("AAPL", "SPY", "GME"):
            j = direct._col[sym]
            want = direct._session_bars(j, t, interval)
            derived._session_bars(j, t, BarInterval.FIVE_MINUTES)
            # the path a 5-minute read built is gone: the coarser bars cannot come from it
            derived._minute_cache.clear()
            got = derived._session_bars(j, t, interval)
            assert got.bars == want.bars
            assert got.starts == want.starts
            assert got.ends == want.ends
            _same(got.agg, want.agg)
        assert derived.cache_sizes()["minute_paths"] == 0


def test_intraday_bars_when_fifteen_read_after_five_then_no_minute_path_rebuilt() -> None:
    m = _market()
    start = m._opens[m.sessions.index(SESSIONS[0])]
    end = m._closes[m.sessions.index(SESSIONS[-1])]
    five = m.intraday_bars_sync("NVDA", BarInterval.FIVE_MINUTES, start, end)
    m._minute_cache.clear()
    fifteen = m.intraday_bars_sync("NVDA", BarInterval.FIFTEEN_MINUTES, start, end)
    assert m.cache_sizes()["minute_paths"] == 0
    assert fifteen == _market().intraday_bars_sync("NVDA", BarInterval.FIFTEEN_MINUTES, start, end)
    assert len(five) == 3 * len(fifteen)  # every session here has whole 15-minute buckets
