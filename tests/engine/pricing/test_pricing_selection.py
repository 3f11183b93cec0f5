"""Contract selection and liquidity filters on plain arrays."""

from __future__ import annotations

import numpy as np
import pytest

from engine.pricing import (
    dte_window_mask,
    filter_contracts,
    liquidity_mask,
    select_by_delta,
    select_by_otm_pct,
    spread_pct_of_mid,
)

STRIKE = np.array([90.0, 95.0, 100.0, 105.0, 110.0, 100.0])
DTE = np.array([7.0, 30.0, 30.0, 45.0, 60.0, 90.0])
BID = np.array([10.0, 5.0, 2.0, 0.0, 0.5, 3.0])
ASK = np.array([10.4, 5.1, 2.5, 0.2, 0.45, 3.1])
VOL = np.array([500.0, 50.0, 900.0, 10.0, 5.0, 100.0])
OI = np.array([1000.0, 2000.0, 50.0, 10.0, 5.0, 800.0])
DELTA = np.array([0.85, 0.65, 0.5, 0.35, 0.2, -0.31])


def test_spread_pct_when_quotes_then_fraction_of_mid_or_nan() -> None:
    pct = spread_pct_of_mid(BID, ASK)
    assert pct[0] == pytest.approx(0.4 / 10.2)
    assert np.isnan(pct[3])  # no bid
    assert np.isnan(pct[4])  # crossed
    assert pct[2] == pytest.approx(0.5 / 2.25)


def test_liquidity_mask_when_filters_then_each_one_applies() -> None:
    np.testing.assert_array_equal(liquidity_mask(BID, ASK), [1, 1, 1, 0, 0, 1])
    np.testing.assert_array_equal(liquidity_mask(BID, ASK, max_spread_pct=0.05), [1, 1, 0, 0, 0, 1])
    np.testing.assert_array_equal(
        liquidity_mask(
            BID, ASK, volume=VOL, min_volume=100, open_interest=OI, min_open_interest=500
        ),
        [1, 0, 0, 0, 0, 1],
    )


def test_dte_window_when_bounds_then_inclusive() -> None:
    np.testing.assert_array_equal(dte_window_mask(DTE, 30, 45), [0, 1, 1, 1, 0, 0])


def test_filter_contracts_when_combined_then_indices_of_survivors() -> None:
    idx = filter_contracts(
        dte=DTE,
        min_dte=20,
        max_dte=100,
        bid=BID,
        ask=ASK,
        open_interest=OI,
        min_open_interest=100,
        max_spread_pct=0.1,
    )
    np.testing.assert_array_equal(idx, [1, 5])
    calls = filter_contracts(dte=DTE, is_call=DELTA > 0, want_call=False)
    np.testing.assert_array_equal(calls, [5])
    with pytest.raises(ValueError, match="at least one array"):
        filter_contracts()


def test_select_by_delta_when_target_then_nearest_abs_delta_among_candidates() -> None:
    assert select_by_delta(DELTA, 0.30) == 5  # |-0.31| is nearest to 0.30
    assert select_by_delta(DELTA, 0.30, candidates=DELTA > 0) == 3
    assert select_by_delta(DELTA, -0.5, candidates=np.array([0, 1, 2])) == 2
    assert select_by_delta(np.array([np.nan, np.nan]), 0.3) is None
    assert select_by_delta(DELTA, 0.3, candidates=np.zeros(6, dtype=bool)) is None


def test_select_by_otm_pct_when_calls_and_puts_then_strike_on_the_right_side() -> None:
    strikes = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    assert select_by_otm_pct(strikes, 100.0, 0.05, is_call=True) == 3
    assert select_by_otm_pct(strikes, 100.0, 0.05, is_call=False) == 1
    assert select_by_otm_pct(strikes, 100.0, 0.09, is_call=False) == 0
    assert select_by_otm_pct(strikes, 100.0, 0.10, is_call=True, candidates=[0, 1, 2]) == 2
