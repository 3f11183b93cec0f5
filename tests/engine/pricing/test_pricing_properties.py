"""Hypothesis properties of the European pricer and the implied-vol solver."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.pricing import IVStatus, american_price, black_scholes, bs_price, implied_vol

spot = st.floats(1.0, 1000.0)
moneyness = st.floats(0.3, 3.0)
expiry = st.floats(1.0 / 365.0, 3.0)
rate = st.floats(-0.01, 0.10)
div = st.floats(0.0, 0.08)
vol = st.floats(0.05, 2.0)
kind = st.booleans()
FAST = settings(max_examples=300, deadline=None)


@FAST
@given(spot, moneyness, expiry, rate, div, vol, kind, st.floats(1.0001, 1.5))
def test_price_when_spot_rises_then_call_up_put_down(
    S: float, m: float, T: float, r: float, q: float, sig: float, call: bool, bump: float
) -> None:
    K = S * m
    lo, hi = bs_price(np.array([S, S * bump]), K, T, r, q, sig, call)
    tol = 1e-12 * S * bump
    if call:
        assert hi >= lo - tol
    else:
        assert hi <= lo + tol


@FAST
@given(spot, moneyness, expiry, rate, div, vol, kind, st.floats(1.0001, 2.0))
def test_price_when_vol_rises_then_price_does_not_fall(
    S: float, m: float, T: float, r: float, q: float, sig: float, call: bool, bump: float
) -> None:
    lo, hi = bs_price(S, S * m, T, r, q, np.array([sig, sig * bump]), call)
    assert hi >= lo - 1e-12 * S


@FAST
@given(spot, moneyness, expiry, rate, div, vol, kind)
def test_price_when_any_inputs_then_within_no_arbitrage_bounds(
    S: float, m: float, T: float, r: float, q: float, sig: float, call: bool
) -> None:
    K = S * m
    fwd_s = S * math.exp(-q * T)
    pv_k = K * math.exp(-r * T)
    p = float(bs_price(S, K, T, r, q, sig, call))
    tol = 1e-12 * max(S, K)
    if call:
        assert max(fwd_s - pv_k, 0.0) - tol <= p <= fwd_s + tol
    else:
        assert max(pv_k - fwd_s, 0.0) - tol <= p <= pv_k + tol


@FAST
@given(spot, moneyness, expiry, rate, div, vol)
def test_parity_when_any_inputs_then_call_minus_put_is_forward_pv(
    S: float, m: float, T: float, r: float, q: float, sig: float
) -> None:
    K = S * m
    g = black_scholes(S, K, T, r, q, sig, np.array([True, False]))
    fwd = S * math.exp(-q * T) - K * math.exp(-r * T)
    assert abs(float(g.price[0] - g.price[1]) - fwd) <= 1e-12 * max(S, K)
    # Greeks obey parity too: delta_c - delta_p = e^{-qT}, gammas and vegas are equal.
    assert abs(float(g.delta[0] - g.delta[1]) - math.exp(-q * T)) <= 1e-12
    assert abs(float(g.gamma[0] - g.gamma[1])) <= 1e-12 * max(1.0, float(g.gamma[0]))
    assert abs(float(g.vega[0] - g.vega[1])) <= 1e-12 * max(S, 1.0)


@settings(max_examples=500, deadline=None)
@given(spot, moneyness, expiry, rate, div, vol, kind)
def test_implied_vol_when_priced_then_price_of_iv_equals_price(
    S: float, m: float, T: float, r: float, q: float, sig: float, call: bool
) -> None:
    K = S * m
    g = black_scholes(S, K, T, r, q, sig, call)
    res = implied_vol(g.price, S, K, T, r, q, call)
    status = int(res.status)
    if status == IVStatus.OK:
        repriced = float(bs_price(S, K, T, r, q, res.vol, call))
        assert abs(repriced - float(g.price)) <= 1e-11 * S
        if float(g.vega) >= 1e-4 * S:
            assert abs(float(res.vol) - sig) <= 1e-9
    else:
        # Only a price with no time value to speak of may fail, and then it says so.
        assert status == IVStatus.NO_VEGA
        assert float(g.vega) < 1e-4 * S


@settings(max_examples=60, deadline=None)
@given(spot, moneyness, expiry, st.floats(0.0, 0.10), div, st.floats(0.05, 1.0), kind)
def test_american_when_any_inputs_then_not_below_european(
    S: float, m: float, T: float, r: float, q: float, sig: float, call: bool
) -> None:
    K = S * m
    euro = float(bs_price(S, K, T, r, q, sig, call))
    for method in ("bjerksund_stensland", "integral"):
        assert float(american_price(S, K, T, r, q, sig, call, method=method)) >= euro
