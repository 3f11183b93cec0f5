"""Kupiec, Christoffersen and the Basel traffic light (spec §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.risk import (
    TrafficLightZone,
    christoffersen,
    kupiec_pof,
    rolling_backtest,
    rolling_historical_var,
    traffic_light,
)
from engine.risk.backtest import exceptions


@pytest.mark.parametrize(
    ("x", "lr", "reject", "zone"),
    [
        (2, 0.108, False, TrafficLightZone.GREEN),
        (7, 5.497, True, TrafficLightZone.YELLOW),
        (10, 12.955, True, TrafficLightZone.RED),
        (0, 5.025, True, TrafficLightZone.GREEN),
    ],
)
def test_kupiec_and_zone_when_spec_counts_then_spec_values(
    x: int, lr: float, reject: bool, zone: TrafficLightZone
) -> None:
    k = kupiec_pof(x, 250, 0.99)
    assert round(k.lr, 3) == lr
    assert k.reject is reject
    assert traffic_light(x, 250, 0.99).zone is zone


def test_traffic_light_when_each_count_then_basel_zones_and_multipliers() -> None:
    expected = {
        0: 3.0, 4: 3.0, 5: 3.40, 6: 3.50, 7: 3.65, 8: 3.75, 9: 3.85, 10: 4.0, 15: 4.0,
    }  # fmt: skip
    for x, mult in expected.items():
        t = traffic_light(x)
        assert t.multiplier == mult, x
        assert t.block_new_risk is (x >= 10)
    assert traffic_light(4).zone is TrafficLightZone.GREEN
    assert traffic_light(5).zone is TrafficLightZone.YELLOW
    assert traffic_light(9).zone is TrafficLightZone.YELLOW
    assert traffic_light(10).zone is TrafficLightZone.RED
    # Basel's cumulative probabilities: 4 -> 89.22 %, 5 -> 95.88 %, 10 -> 99.99 %.
    assert traffic_light(4).cumulative_probability == pytest.approx(0.8922, abs=1e-4)
    assert traffic_light(5).cumulative_probability == pytest.approx(0.9588, abs=1e-4)


def test_kupiec_when_counts_invalid_then_error_names_field() -> None:
    with pytest.raises(ValueError, match="exceptions"):
        kupiec_pof(251, 250)
    with pytest.raises(ValueError, match="T="):
        kupiec_pof(1, 0)


def _hits(T: int, at: list[int]) -> np.ndarray:
    h = np.zeros(T, dtype=bool)
    h[at] = True
    return h


def test_christoffersen_when_clustered_exceptions_then_hand_computed_statistics() -> None:
    # 9 exceptions in 250 days, 4 of them the day after another one:
    # transitions n00 = 235, n01 = 5, n10 = 5, n11 = 4 (249 in all);
    # pi01 = 5/240, pi11 = 4/9, pi = 9/249;
    # LR_ind = -2[(240 ln(1-pi) + 9 ln pi) - (235 ln(1-pi01) + 5 ln pi01 + 5 ln(1-pi11)
    #          + 4 ln pi11)] = 16.46239603240467 (by hand with a calculator's logs);
    # LR_pof(9 of 250 at 1 %) = 10.229030632597762; LR_cc = 26.69142666500243.
    h = _hits(250, [10, 11, 50, 51, 52, 120, 200, 201, 240])
    c = christoffersen(h, 0.99)
    assert (c.n00, c.n01, c.n10, c.n11) == (235, 5, 5, 4)
    assert c.lr_ind == pytest.approx(16.46239603240467, rel=1e-12)
    assert c.lr_pof == pytest.approx(10.229030632597762, rel=1e-12)
    assert c.lr_cc == pytest.approx(26.69142666500243, rel=1e-12)
    assert c.p_value_ind == pytest.approx(4.962463717400682e-05, rel=1e-9)
    assert c.reject_ind
    assert c.reject_cc


def test_christoffersen_when_exceptions_never_consecutive_then_small_lr_ind() -> None:
    # Same count (3 of 250) spread out: pi11 = 0, the Markov likelihood has 0 ln 0 = 0 terms.
    h = _hits(250, [40, 120, 200])
    c = christoffersen(h, 0.99)
    assert c.n11 == 0
    pi01 = 3 / 246
    pi = 3 / 249
    expected = -2 * (
        246 * math.log(1 - pi) + 3 * math.log(pi) - 243 * math.log(1 - pi01) - 3 * math.log(pi01)
    )
    assert c.lr_ind == pytest.approx(expected, rel=1e-12)
    assert not c.reject_ind
    assert not c.reject_cc


def test_christoffersen_when_no_exceptions_then_ind_zero_and_cc_equals_pof() -> None:
    c = christoffersen(np.zeros(250, dtype=bool), 0.99)
    assert c.lr_ind == 0.0
    assert c.lr_cc == pytest.approx(kupiec_pof(0, 250).lr)


def test_christoffersen_when_hits_not_binary_then_error() -> None:
    with pytest.raises(ValueError, match="0/1"):
        christoffersen(np.array([0, 1, 2, 0]))


def test_exceptions_when_return_equals_minus_var_then_not_an_exception() -> None:
    hits = exceptions([-0.02, -0.0200001, 0.01], 0.02)
    assert hits.tolist() == [False, True, False]


def test_rolling_var_when_window_then_uses_only_prior_days() -> None:
    r = np.linspace(-0.05, 0.05, 300)
    v = rolling_historical_var(r, 0.99, window=250)
    assert v.size == 50
    assert v[0] == pytest.approx(-np.quantile(r[:250], 0.01))
    assert v[-1] == pytest.approx(-np.quantile(r[49:299], 0.01))


def test_rolling_backtest_when_too_short_then_insufficient_data() -> None:
    from engine.risk import InsufficientData

    with pytest.raises(InsufficientData, match="499 returns"):
        rolling_backtest(np.zeros(499))
