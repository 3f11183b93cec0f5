"""Black-Scholes-Merton: degenerate inputs, parity, broadcasting and second-order greeks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.pricing import black_scholes, black_scholes_second_order, bs_price


def _grid() -> tuple[np.ndarray, ...]:
    S = np.array([100.0])
    K = np.array([1.0, 50.0, 90.0, 100.0, 110.0, 200.0, 1e4])[:, None, None, None]
    T = np.array([1e-6, 1 / 365, 0.5, 3.0, 30.0])[None, :, None, None]
    sig = np.array([1e-4, 0.05, 0.3, 2.0, 8.0])[None, None, :, None]
    r = np.array([-0.01, 0.0, 0.05, 0.15])[None, None, None, :]
    return S, K, T, sig, r


def test_black_scholes_when_extreme_inputs_then_all_finite() -> None:
    S, K, T, sig, r = _grid()
    for call in (True, False):
        g = black_scholes(S, K, T, r, 0.03, sig, call)
        for name in ("price", "delta", "gamma", "vega", "theta", "rho", "dividend_rho"):
            assert np.all(np.isfinite(getattr(g, name))), name
        for name in ("vanna", "volga", "charm"):
            assert np.all(np.isfinite(getattr(g, name))), name
        assert np.all(g.price >= 0.0)
        assert np.all(g.gamma >= 0.0)
        assert np.all(g.vega >= 0.0)


def test_put_call_parity_when_european_then_holds_to_1e12() -> None:
    S, K, T, sig, r = _grid()
    q = 0.03
    c = bs_price(S, K, T, r, q, sig, True)
    p = bs_price(S, K, T, r, q, sig, False)
    fwd = S * np.exp(-q * T) - K * np.exp(-r * T)
    scale = np.maximum(np.maximum(S, K), 1.0)
    assert np.max(np.abs(c - p - fwd) / scale) <= 1e-12


def test_black_scholes_when_expired_then_intrinsic_and_limit_greeks() -> None:
    g = black_scholes(100.0, np.array([90.0, 100.0, 110.0]), 0.0, 0.05, 0.02, 0.3, True)
    np.testing.assert_array_equal(g.price, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(g.delta, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(g.gamma, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g.vega, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g.rho, [0.0, 0.0, 0.0])
    # theta of the exercised call is the carry of S - K: q S - r K.
    assert g.theta[0] == pytest.approx(0.02 * 100.0 - 0.05 * 90.0, abs=1e-12)
    assert g.theta[2] == 0.0


def test_black_scholes_when_zero_vol_then_discounted_forward_intrinsic() -> None:
    S, r, q, T = 100.0, 0.05, 0.01, 2.0
    K = np.array([80.0, 120.0])
    g = black_scholes(S, K, T, r, q, 0.0, False)
    fwd_pv = S * math.exp(-q * T)
    want = np.maximum(K * math.exp(-r * T) - fwd_pv, 0.0)
    np.testing.assert_allclose(g.price, want, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(g.delta, [0.0, -math.exp(-q * T)])
    # Near-zero vol must converge to the same limit (no jump at sigma = 0).
    near = black_scholes(S, K, T, r, q, 1e-9, False)
    np.testing.assert_allclose(near.price, g.price, atol=1e-9)
    np.testing.assert_allclose(near.delta, g.delta, atol=1e-9)
    np.testing.assert_allclose(near.theta, g.theta, atol=1e-9)
    np.testing.assert_allclose(near.rho, g.rho, atol=1e-9)


def test_black_scholes_when_invalid_inputs_then_nan_not_garbage() -> None:
    g = black_scholes(
        np.array([100.0, -1.0, 100.0, np.nan]),
        100.0,
        [1.0, 1.0, -1.0, 1.0],
        0.05,
        0.0,
        np.array([0.2, 0.2, 0.2, 0.2]),
        True,
    )
    assert np.isfinite(g.price[0])
    assert np.all(np.isnan(g.price[1:]))


def test_black_scholes_when_broadcasting_then_shapes_follow_numpy() -> None:
    g = black_scholes(
        np.full((3, 1), 100.0),
        np.array([90.0, 100.0]),
        0.5,
        0.05,
        0.0,
        0.2,
        np.array([True, False]),
    )
    assert g.price.shape == (3, 2)
    assert g.vanna.shape == (3, 2)
    assert black_scholes(100.0, 100.0, 1.0, 0.05, 0.0, 0.2, True).price.shape == ()
    one = black_scholes(100.0, 100.0, 0.5, 0.05, 0.0, 0.2, False)
    np.testing.assert_allclose(g.price[:, 1], float(one.price), rtol=1e-15)
    np.testing.assert_allclose(
        g.theta[:, 0], black_scholes(100.0, 90.0, 0.5, 0.05, 0.0, 0.2, True).theta
    )


def test_black_scholes_when_large_array_then_same_as_per_block_values() -> None:
    # More than one evaluation block, mixed types: the blocked kernel must not mix rows up.
    rng = np.random.default_rng(7)
    n = 20_001
    S = rng.uniform(50, 150, n)
    K = rng.uniform(50, 150, n)
    T = rng.uniform(0.01, 2, n)
    sig = rng.uniform(0.1, 0.9, n)
    call = rng.random(n) < 0.5
    g = black_scholes(S, K, T, 0.03, 0.01, sig, call)
    for i in (0, 8191, 8192, 16384, n - 1):
        one = black_scholes(S[i], K[i], T[i], 0.03, 0.01, sig[i], call[i])
        assert g.price[i] == pytest.approx(float(one.price), rel=1e-14, abs=1e-14)
        assert g.theta[i] == pytest.approx(float(one.theta), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("call", [True, False])
def test_greeks_when_bumped_then_match_finite_differences(call: bool) -> None:
    S, K, T, r, q, sig = 97.0, 103.0, 0.7, 0.04, 0.025, 0.35
    g = black_scholes(S, K, T, r, q, sig, call)

    def p(**kw: float) -> float:
        a = {"S": S, "K": K, "T": T, "r": r, "q": q, "sigma": sig} | kw
        return float(bs_price(a["S"], a["K"], a["T"], a["r"], a["q"], a["sigma"], call))

    def delta_at(**kw: float) -> float:
        a = {"S": S, "T": T, "sigma": sig} | kw
        return float(black_scholes(a["S"], K, a["T"], r, q, a["sigma"], call).delta)

    h = 1e-4
    assert float(g.delta) == pytest.approx((p(S=S + h) - p(S=S - h)) / (2 * h), rel=1e-7)
    assert float(g.gamma) == pytest.approx(
        (p(S=S + 1e-2) - 2 * p() + p(S=S - 1e-2)) / 1e-4, rel=1e-5
    )
    assert float(g.vega) == pytest.approx((p(sigma=sig + h) - p(sigma=sig - h)) / (2 * h), rel=1e-7)
    assert float(g.theta) == pytest.approx(-(p(T=T + h) - p(T=T - h)) / (2 * h), rel=1e-6)
    assert float(g.rho) == pytest.approx((p(r=r + h) - p(r=r - h)) / (2 * h), rel=1e-7)
    assert float(g.dividend_rho) == pytest.approx((p(q=q + h) - p(q=q - h)) / (2 * h), rel=1e-7)
    assert float(g.vanna) == pytest.approx(
        (delta_at(sigma=sig + h) - delta_at(sigma=sig - h)) / (2 * h), rel=1e-6
    )
    vega_up = float(black_scholes(S, K, T, r, q, sig + h, call).vega)
    vega_dn = float(black_scholes(S, K, T, r, q, sig - h, call).vega)
    assert float(g.volga) == pytest.approx((vega_up - vega_dn) / (2 * h), rel=1e-6)
    assert float(g.charm) == pytest.approx(
        -(delta_at(T=T + h) - delta_at(T=T - h)) / (2 * h), rel=1e-6
    )


def test_second_order_function_when_called_directly_then_equals_lazy_fields() -> None:
    args = (100.0, np.array([80.0, 100.0, 120.0]), 0.25, 0.03, 0.01, 0.4, True)
    g = black_scholes(*args)
    so = black_scholes_second_order(*args)
    np.testing.assert_array_equal(g.vanna, so.vanna)
    np.testing.assert_array_equal(g.volga, so.volga)
    np.testing.assert_array_equal(g.charm, so.charm)
    np.testing.assert_array_equal(g.dividend_rho, so.dividend_rho)
