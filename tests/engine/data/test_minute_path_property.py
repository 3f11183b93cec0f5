"""The minute-bar generator aggregates exactly for any valid daily bar (property test)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data.simulator.intraday import aggregate_minutes, minute_path, volume_profile
from engine.domain import BarInterval

prices = st.floats(min_value=0.01, max_value=20000.0, allow_nan=False, allow_infinity=False)


@st.composite
def daily_bars(draw: st.DrawFn) -> tuple[float, float, float, float, float, int]:
    a, b, c, d = sorted(round(draw(prices), 2) for _ in range(4))
    o, cl = draw(st.permutations([b, c]))
    volume = draw(st.integers(min_value=0, max_value=10**10))
    minutes = draw(st.sampled_from([1, 7, 60, 210, 390]))
    return o, d, a, cl, float(volume), minutes


@settings(max_examples=150, deadline=None)
@given(bar=daily_bars(), seed=st.integers(min_value=0, max_value=2**32))
def test_minute_path_when_any_valid_daily_bar_then_exact_aggregate(
    bar: tuple[float, float, float, float, float, int], seed: int
) -> None:
    o, h, low, c, v, n = bar
    m = minute_path(o, h, low, c, v, n, np.random.default_rng(seed))
    assert m.minutes == n
    assert m.open[0] == o
    assert m.close[-1] == c
    assert m.high.max() == h
    assert m.low.min() == low
    assert m.volume.sum() == v
    assert np.all(m.volume == np.floor(m.volume))
    assert np.all(m.high >= np.maximum(m.open, m.close))
    assert np.all(m.low <= np.minimum(m.open, m.close))
    assert np.all(m.low > 0)
    assert np.all(m.open[1:] == m.close[:-1])
    hourly = aggregate_minutes(m, BarInterval.HOUR)
    assert hourly.high.max() == h
    assert hourly.volume.sum() == v


def test_volume_profile_when_regular_session_then_open_and_close_heaviest() -> None:
    prof = volume_profile(390)
    assert prof.argmax() == 0
    assert prof[-1] > 2 * prof[195]
    assert abs(prof.mean() - 1.0) < 1e-12
