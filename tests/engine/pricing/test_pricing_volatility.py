"""Historical volatility estimators, IV rank/percentile and expected move."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.pricing import (
    close_to_close_vol,
    expected_move,
    garman_klass_vol,
    iv_percentile,
    iv_rank,
    parkinson_vol,
    rogers_satchell_vol,
    yang_zhang_vol,
)


def _simulate_bars(
    days: int, sigma_day: float, sigma_night: float, seed: int, steps: int = 2000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """OHLC bars from a driftless GBM sampled `steps` times per session, plus overnight gaps.

    sigma_day and sigma_night are annualised (252 sessions a year)."""
    rng = np.random.default_rng(seed)
    dt = 1.0 / 252.0
    gaps = rng.normal(-0.5 * sigma_night**2 * dt, sigma_night * math.sqrt(dt), days)
    moves = rng.normal(
        -0.5 * sigma_day**2 * dt / steps, sigma_day * math.sqrt(dt / steps), (days, steps)
    )
    open_log = np.empty(days)
    close_log = np.empty(days)
    high_log = np.empty(days)
    low_log = np.empty(days)
    prev_close = math.log(100.0)
    for d in range(days):
        o = prev_close + gaps[d]
        path = o + np.concatenate([[0.0], np.cumsum(moves[d])])
        open_log[d], close_log[d] = o, path[-1]
        high_log[d], low_log[d] = path.max(), path.min()
        prev_close = path[-1]
    return np.exp(open_log), np.exp(high_log), np.exp(low_log), np.exp(close_log)


@pytest.fixture(scope="module")
def bars_no_gaps() -> tuple[np.ndarray, ...]:
    return _simulate_bars(2000, 0.30, 0.0, seed=11)


@pytest.fixture(scope="module")
def bars_with_gaps() -> tuple[np.ndarray, ...]:
    return _simulate_bars(2000, 0.20, 0.20, seed=12)


def test_estimators_when_gbm_without_gaps_then_recover_sigma(
    bars_no_gaps: tuple[np.ndarray, ...],
) -> None:
    o, h, low, c = bars_no_gaps
    # Sampling error over 2000 bars is ~1-2 %; 2000-step sessions bias high/low ~1 % lower.
    assert close_to_close_vol(c) == pytest.approx(0.30, rel=0.04)
    assert parkinson_vol(h, low) == pytest.approx(0.30, rel=0.05)
    assert garman_klass_vol(o, h, low, c) == pytest.approx(0.30, rel=0.05)
    assert rogers_satchell_vol(o, h, low, c) == pytest.approx(0.30, rel=0.05)
    assert yang_zhang_vol(o, h, low, c) == pytest.approx(0.30, rel=0.05)


def test_estimators_when_overnight_gaps_then_only_yang_zhang_and_cc_see_them(
    bars_with_gaps: tuple[np.ndarray, ...],
) -> None:
    o, h, low, c = bars_with_gaps
    total = math.sqrt(0.20**2 + 0.20**2)
    assert close_to_close_vol(c) == pytest.approx(total, rel=0.05)
    assert yang_zhang_vol(o, h, low, c) == pytest.approx(total, rel=0.05)
    # Range estimators only see the session: about the 20 % intraday vol.
    assert parkinson_vol(h, low) == pytest.approx(0.20, rel=0.06)
    assert garman_klass_vol(o, h, low, c) == pytest.approx(0.20, rel=0.06)


def test_close_to_close_when_known_returns_then_matches_formula() -> None:
    c = np.array([100.0, 101.0, 99.5, 100.2, 102.0])
    r = np.log(c[1:] / c[:-1])
    want = math.sqrt(np.sum((r - r.mean()) ** 2) / (r.size - 1) * 252.0)
    assert close_to_close_vol(c) == pytest.approx(want, rel=1e-14)
    assert close_to_close_vol(c, periods_per_year=12) == pytest.approx(
        want * math.sqrt(12 / 252), rel=1e-14
    )


def test_rolling_when_window_then_last_value_equals_trailing_sample(
    bars_with_gaps: tuple[np.ndarray, ...],
) -> None:
    o, h, low, c = bars_with_gaps
    w = 20
    cc = close_to_close_vol(c, window=w)
    assert cc.shape == c.shape
    assert np.all(np.isnan(cc[:w]))
    assert cc[-1] == pytest.approx(close_to_close_vol(c[-w - 1 :]), rel=1e-12)
    assert cc[100] == pytest.approx(close_to_close_vol(c[100 - w : 101]), rel=1e-12)
    pk = parkinson_vol(h, low, window=w)
    assert np.all(np.isnan(pk[: w - 1]))
    assert pk[-1] == pytest.approx(parkinson_vol(h[-w:], low[-w:]), rel=1e-12)
    gk = garman_klass_vol(o, h, low, c, window=w)
    assert gk[-1] == pytest.approx(garman_klass_vol(o[-w:], h[-w:], low[-w:], c[-w:]), rel=1e-12)
    yz = yang_zhang_vol(o, h, low, c, window=w)
    assert np.all(np.isnan(yz[:w]))
    assert yz[-1] == pytest.approx(
        yang_zhang_vol(o[-w - 1 :], h[-w - 1 :], low[-w - 1 :], c[-w - 1 :]), rel=1e-12
    )


def test_estimators_when_bad_prices_then_nan_not_number() -> None:
    c = np.array([100.0, 0.0, 101.0, 102.0])
    assert math.isnan(close_to_close_vol(c))
    assert math.isnan(parkinson_vol([10.0, -1.0], [9.0, 9.0]))
    with pytest.raises(ValueError, match="window"):
        close_to_close_vol(c, window=1)


def test_iv_rank_and_percentile_when_lookback_then_percent_values() -> None:
    series = np.array([0.20, 0.40, np.nan, 0.30, 0.25])
    assert iv_rank(series, 0.30) == pytest.approx(50.0)
    assert iv_rank(series, 0.20) == pytest.approx(0.0)
    assert iv_rank(series, 0.50) == pytest.approx(150.0)
    assert iv_percentile(series, 0.30) == pytest.approx(50.0)  # 0.20, 0.25 below of 4 values
    assert iv_percentile(series, 0.10) == pytest.approx(0.0)
    assert math.isnan(iv_rank([0.3, 0.3], 0.3))
    assert math.isnan(iv_percentile([], 0.3))


def test_expected_move_when_straddle_then_amount_range_and_one_sd() -> None:
    em = expected_move(np.array([4.0, 8.0]), 100.0)
    np.testing.assert_allclose(em.amount, [4.0, 8.0])
    np.testing.assert_allclose(em.fraction, [0.04, 0.08])
    np.testing.assert_allclose(em.lower, [96.0, 92.0])
    np.testing.assert_allclose(em.upper, [104.0, 108.0])
    # Under BSM the ATM straddle is ~ sigma sqrt(T) S sqrt(2/pi): one_sd recovers sigma sqrt(T) S.
    from engine.pricing import bs_price

    S, T, sig = 100.0, 30 / 365, 0.4
    straddle = float(
        bs_price(S, S, T, 0.0, 0.0, sig, True) + bs_price(S, S, T, 0.0, 0.0, sig, False)
    )
    assert float(expected_move(straddle, S).one_sd) == pytest.approx(
        sig * math.sqrt(T) * S, rel=0.01
    )
