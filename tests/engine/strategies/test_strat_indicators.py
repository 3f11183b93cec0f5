"""Indicators against hand-computed values and pandas references."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.strategies.indicators import (
    CrossKind,
    InsufficientData,
    bollinger_position,
    ema,
    ma_cross,
    pct_return,
    realized_vol,
    rms_return,
    rsi,
    sma,
    sma_last,
    volume_ratio,
)


def test_sma_when_window_full_then_matches_pandas_rolling_mean() -> None:
    x = np.array([1.0, 2.0, 4.0, 7.0, 11.0, 16.0])
    got = sma(x, 3)
    want = pd.Series(x).rolling(3).mean().to_numpy()
    assert np.isnan(got[:2]).all()
    np.testing.assert_allclose(got[2:], want[2:])
    assert sma_last(x, 3) == pytest.approx((7 + 11 + 16) / 3)


def test_sma_last_when_series_too_short_then_insufficient_data() -> None:
    with pytest.raises(InsufficientData, match="needs 5 values, got 3"):
        sma_last([1.0, 2.0, 3.0], 5)


def test_indicator_when_series_has_nan_then_insufficient_data() -> None:
    with pytest.raises(InsufficientData, match="NaN"):
        sma_last([1.0, float("nan"), 3.0], 2)


def test_ema_when_computed_then_matches_pandas_ewm_adjust_false() -> None:
    x = np.array([10.0, 11.0, 9.0, 12.0, 15.0, 14.0, 13.0])
    want = pd.Series(x).ewm(span=3, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(ema(x, 3), want)


def test_rsi_when_only_gains_then_100_and_only_losses_then_0() -> None:
    up = np.arange(1.0, 20.0)
    assert rsi(up) == 100.0
    assert rsi(up[::-1]) == pytest.approx(0.0)
    assert rsi(np.full(20, 5.0)) == 50.0


def test_rsi_when_mixed_then_matches_rolling_mean_formula() -> None:
    x = np.array([44, 44.3, 44.1, 44.2, 43.6, 44.3, 44.8, 45.1, 45.4, 45.8, 46.1, 45.9, 46.0, 45.6,
                  46.3, 46.3, 46.0])  # fmt: skip
    d = pd.Series(x).diff()
    gain = d.clip(lower=0).rolling(14).mean().iloc[-1]
    loss = (-d.clip(upper=0)).rolling(14).mean().iloc[-1]
    assert rsi(x) == pytest.approx(100 - 100 / (1 + gain / loss))
    assert 0 < rsi(x, wilder=True) < 100


def test_bollinger_position_when_flat_then_half_and_when_low_then_below_lower_band() -> None:
    assert bollinger_position([10.0] * 20) == 0.5
    x = [10.0, 12.0] * 10  # population sd 1 around 11 on the first 19 + the last
    x[-1] = 6.0
    m, s = np.mean(x), np.std(x)
    pos = bollinger_position(x, 20, 2.0)
    assert pos == pytest.approx((6.0 - (m - 2 * s)) / (4 * s))
    assert pos < 0.2


def test_pct_return_when_n_days_then_ratio_minus_one() -> None:
    assert pct_return([100.0, 105.0, 110.0, 111.0], 3) == pytest.approx(0.11)
    with pytest.raises(InsufficientData):
        pct_return([100.0, 101.0], 5)


def test_realized_vol_when_alternating_returns_then_annualised_sd() -> None:
    closes = [100.0]
    for i in range(20):
        closes.append(closes[-1] * (1.01 if i % 2 == 0 else 0.99))
    lr = np.diff(np.log(closes))
    assert realized_vol(closes, 20) == pytest.approx(lr.std(ddof=1) * math.sqrt(252))
    assert realized_vol(closes, 20) == pytest.approx(0.163, abs=0.001)


def test_rms_return_when_constant_abs_moves_then_that_move() -> None:
    closes = [100.0, 102.0, 99.96, 101.9592]
    assert rms_return(closes, 3) == pytest.approx(0.02, rel=1e-9)


def test_volume_ratio_when_last_is_double_the_prior_average_then_two() -> None:
    assert volume_ratio([100, 100, 100, 200], 3) == pytest.approx(2.0)
    assert volume_ratio([100, 100, 100, 200], 4, include_last=True) == pytest.approx(200 / 125)
    assert volume_ratio([0, 0, 5], 2) == math.inf


def _cross_series(days_since: int, *, golden: bool) -> np.ndarray:
    """Long flat history then a linear trend: SMA50 crosses SMA200 some bars later."""
    flat = np.full(260, 100.0)
    step = 0.5 if golden else -0.5
    trend = 100.0 + step * np.arange(1, 60)
    return np.concatenate([flat, trend])[: 260 + days_since]


def test_ma_cross_when_uptrend_follows_flat_then_golden_cross_on_first_up_bar() -> None:
    x = _cross_series(30, golden=True)
    cross = ma_cross(x)
    assert cross is not None
    assert cross.kind is CrossKind.GOLDEN
    # the first bar above the flat line lifts SMA50 more than SMA200
    assert cross.index == 260
    assert cross.bars_ago == len(x) - 1 - 260
    f, s = sma_last(x, 50), sma_last(x, 200)
    assert cross.strength == pytest.approx(min(100, 1000 * (f - s) / s))


def test_ma_cross_when_downtrend_then_death_cross() -> None:
    cross = ma_cross(_cross_series(10, golden=False))
    assert cross is not None
    assert cross.kind is CrossKind.DEATH


def test_ma_cross_when_cross_older_than_lookback_then_none() -> None:
    x = np.concatenate([np.full(210, 100.0), 100.0 + 0.1 * np.arange(1, 200)])
    assert ma_cross(x, lookback=120) is None
    assert ma_cross(x, lookback=None) is not None


def test_ma_cross_when_trend_reverses_then_most_recent_cross_wins() -> None:
    up = 100.0 + 0.5 * np.arange(1, 80)
    down = up[-1] - 1.0 * np.arange(1, 80)
    x = np.concatenate([np.full(200, 100.0), up, down])
    cross = ma_cross(x, lookback=None)
    assert cross is not None
    assert cross.kind is CrossKind.DEATH
    assert cross.index > 279


@given(st.lists(st.floats(1.0, 1000.0), min_size=25, max_size=60))
def test_sma_last_equals_last_of_rolling_series(xs: list[float]) -> None:
    assert sma_last(xs, 20) == pytest.approx(sma(xs, 20)[-1])
    assert 0.0 <= rsi(xs) <= 100.0
