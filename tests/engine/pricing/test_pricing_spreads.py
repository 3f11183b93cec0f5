"""Spread construction: payoff figures, breakevens and probability of profit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from engine.pricing import (
    Leg,
    analyse_expiry_payoff,
    bear_call_credit_spread,
    bear_put_spread,
    bs_price,
    bull_call_spread,
    bull_put_credit_spread,
    calendar_spread,
    iron_condor,
)

MKT = {"T": 0.25, "spot": 100.0, "sigma": 0.3, "r": 0.03, "q": 0.01}


def _p_above(x: float, drift: float | None = None) -> float:
    mu = MKT["r"] - MKT["q"] if drift is None else drift
    s = MKT["sigma"] * math.sqrt(MKT["T"])
    m = math.log(MKT["spot"]) + (mu - 0.5 * MKT["sigma"] ** 2) * MKT["T"]
    return float(norm.sf((math.log(x) - m) / s))


def test_bull_call_spread_when_debit_then_textbook_figures() -> None:
    a = bull_call_spread(100.0, 110.0, 6.0, 2.5, **MKT)
    assert a.net_debit == pytest.approx(3.5)
    assert not a.is_credit
    assert a.max_profit == pytest.approx(6.5)
    assert a.max_loss == pytest.approx(3.5)
    assert a.breakevens == pytest.approx((103.5,))
    assert a.pop == pytest.approx(_p_above(103.5), rel=1e-12)


def test_bear_put_spread_when_debit_then_profit_below_breakeven() -> None:
    a = bear_put_spread(105.0, 95.0, 7.0, 3.0, **MKT)
    assert (a.net_debit, a.max_profit, a.max_loss) == pytest.approx((4.0, 6.0, 4.0))
    assert a.breakevens == pytest.approx((101.0,))
    assert a.pop == pytest.approx(1.0 - _p_above(101.0), rel=1e-12)


def test_credit_spreads_when_sold_then_credit_and_risk() -> None:
    put = bull_put_credit_spread(95.0, 90.0, 2.0, 0.8, **MKT)
    assert put.is_credit
    assert (put.net_debit, put.max_profit, put.max_loss) == pytest.approx((-1.2, 1.2, 3.8))
    assert put.breakevens == pytest.approx((93.8,))
    assert put.pop == pytest.approx(_p_above(93.8), rel=1e-12)
    call = bear_call_credit_spread(105.0, 110.0, 2.5, 1.0, **MKT)
    assert (call.net_debit, call.max_profit, call.max_loss) == pytest.approx((-1.5, 1.5, 3.5))
    assert call.breakevens == pytest.approx((106.5,))
    assert call.pop == pytest.approx(1.0 - _p_above(106.5), rel=1e-12)


def test_iron_condor_when_short_then_two_breakevens_and_pop_between() -> None:
    a = iron_condor(85.0, 90.0, 110.0, 115.0, (0.5, 1.5, 1.4, 0.4), **MKT)
    assert a.net_debit == pytest.approx(-2.0)
    assert (a.max_profit, a.max_loss) == pytest.approx((2.0, 3.0))
    assert a.breakevens == pytest.approx((88.0, 112.0))
    assert a.pop == pytest.approx(_p_above(88.0) - _p_above(112.0), rel=1e-12)
    with pytest.raises(ValueError, match="strikes"):
        iron_condor(90.0, 85.0, 110.0, 115.0, (0.5, 1.5, 1.4, 0.4), **MKT)


def test_pop_when_drift_given_then_uses_it() -> None:
    a = bull_call_spread(100.0, 110.0, 6.0, 2.5, **MKT, drift=0.25)
    assert a.pop == pytest.approx(_p_above(103.5, drift=0.25), rel=1e-12)
    assert a.pop > bull_call_spread(100.0, 110.0, 6.0, 2.5, **MKT).pop


def test_analyse_when_naked_short_call_then_unbounded_loss() -> None:
    a = analyse_expiry_payoff([Leg(100.0, True, -1.0, 3.0, 0.25)], spot=100.0, sigma=0.3)
    assert math.isinf(a.max_loss)
    assert a.max_profit == pytest.approx(3.0)
    assert a.breakevens == pytest.approx((103.0,))
    long_call = analyse_expiry_payoff([Leg(100.0, True, 1.0, 3.0, 0.25)], spot=100.0, sigma=0.3)
    assert math.isinf(long_call.max_profit)
    assert long_call.max_loss == pytest.approx(3.0)


def test_calendar_when_long_then_debit_is_max_loss_and_breakevens_price_to_zero() -> None:
    S, K, r, q, sig = 100.0, 100.0, 0.03, 0.0, 0.3
    near_T, far_T = 30 / 365, 90 / 365
    near = float(bs_price(S, K, near_T, r, q, sig, True))
    far = float(bs_price(S, K, far_T, r, q, sig, True))
    a = calendar_spread(K, True, near_T, far_T, near, far, spot=S, sigma=sig, r=r, q=q)
    assert a.net_debit == pytest.approx(far - near)
    assert a.max_loss == pytest.approx(a.net_debit, rel=1e-3)
    assert len(a.breakevens) == 2
    lo, hi = a.breakevens
    assert lo < K < hi
    for x in a.breakevens:
        pnl = float(bs_price(x, K, far_T - near_T, r, q, sig, True)) - max(x - K, 0.0) - a.net_debit
        assert abs(pnl) < 1e-3
    # Profit between the breakevens: POP is the lognormal mass there.
    s = sig * math.sqrt(near_T)
    m = math.log(S) + (r - q - 0.5 * sig**2) * near_T
    want = norm.cdf((math.log(hi) - m) / s) - norm.cdf((math.log(lo) - m) / s)
    assert a.pop == pytest.approx(want, rel=1e-9)
    assert a.max_profit > 0.0
    assert np.isfinite(a.max_profit)
