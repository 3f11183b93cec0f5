"""The hot-path American pricer (`american_book`): accuracy against a 2,000-step tree,
consistency of its forms, bounds, greeks and the premium screen."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.pricing import american_greeks, american_price, binomial_american, bs_price
from engine.pricing.american_book import (
    AmericanBook,
    american_fast,
    american_implied_vol,
    american_rows,
    american_screened,
    option_greeks,
    option_prices,
    premium_bound,
)

Cols = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def grid_and_tree() -> tuple[Cols, np.ndarray]:
    """Deep ITM/OTM strikes, 1 week to 3 years, dividends up to 10 %, vol 15-60 % (S = 100)."""
    rows = [
        (100.0, K, T, r, q, sig, call)
        for K, T, (r, q), sig, call in itertools.product(
            [60.0, 95.0, 130.0, 160.0],
            [7 / 365, 0.25, 1.0, 3.0],
            [(0.05, 0.0), (0.02, 0.10), (0.04, 0.06)],
            [0.15, 0.6],
            [True, False],
        )
        if (q > 0.0 if call else r > 0.0)
    ]
    S, K, T, r, q, sig, call = (np.array(c) for c in zip(*rows, strict=True))
    cols: Cols = (S, K, T, r, q, sig, call)
    return cols, binomial_american(*cols, steps=2000)


def _random_options(n: int, seed: int) -> Cols:
    rng = np.random.default_rng(seed)
    S = np.full(n, 100.0)
    K = S * np.exp(rng.uniform(-0.5, 0.5, n))
    T = np.exp(rng.uniform(np.log(2 / 365), np.log(2.5), n))
    sig = np.exp(rng.uniform(np.log(0.08), np.log(1.2), n))
    r = rng.uniform(0.0, 0.08, n)
    q = rng.choice([0.0, 0.01, 0.03, 0.06, 0.1], n)
    call = rng.random(n) < 0.5
    return S, K, T, r, q, sig, call


def test_fast_book_when_grid_then_within_half_percent_or_cent_of_2000_step_tree(
    grid_and_tree: tuple[Cols, np.ndarray],
) -> None:
    cols, tree = grid_and_tree
    fast = american_fast(*cols)
    err = np.abs(fast - tree)
    tol = np.maximum(0.005 * tree, 0.01)
    assert np.all(err <= tol), float(np.max(err / tol))
    # The deep in-the-money puts (K = 160) carry real premia: the test is not vacuous.
    euro = bs_price(*cols)
    assert np.max(tree - euro) > 3.0


def test_fast_book_when_random_options_then_within_half_percent_of_accurate_integral() -> None:
    S, K, T, r, q, sig, call = _random_options(3000, 11)
    fast = american_fast(S, K, T, r, q, sig, call)
    accurate = american_price(S, K, T, r, q, sig, call)
    assert np.all(np.abs(fast - accurate) <= np.maximum(0.005 * accurate, 0.01))


def test_book_when_many_spots_then_each_equals_pointwise_fast_price() -> None:
    S, K, T, r, q, sig, call = _random_options(200, 3)
    book = AmericanBook.prepare(K, T, r, q, sig, call)
    spots = 100.0 * np.exp(np.linspace(-0.4, 0.4, 9))[:, None] * np.ones((1, 200))
    prices = book.prices(spots)
    pointwise = american_price(spots, K, T, r, q, sig, call, method="integral_fast")
    np.testing.assert_allclose(prices, pointwise, rtol=1e-12, atol=1e-12)
    rows = american_rows(S, K, T, r, q, sig, call, bs_price(S, K, T, r, q, sig, call))
    np.testing.assert_allclose(rows, book.prices(S), rtol=1e-13, atol=1e-13)


def test_book_when_any_option_then_at_least_european_and_intrinsic() -> None:
    S, K, T, r, q, sig, call = _random_options(2000, 5)
    v = american_fast(S, K, T, r, q, sig, call)
    euro = bs_price(S, K, T, r, q, sig, call)
    intrinsic = np.maximum(np.where(call, S - K, K - S), 0.0)
    assert np.all(v >= euro - 1e-12)
    assert np.all(v >= intrinsic - 1e-12)


def test_option_prices_when_marked_european_then_black_scholes_exactly() -> None:
    S, K, T, r, q, sig, call = _random_options(300, 8)
    american = np.arange(300) % 2 == 0
    v = option_prices(S, K, T, r, q, sig, call, american)
    euro = bs_price(S, K, T, r, q, sig, call)
    assert np.array_equal(v[~american], euro[~american])
    assert np.any(v[american] > euro[american] + 0.01)


def test_premium_bound_when_random_options_then_never_below_the_premium() -> None:
    S, K, T, r, q, sig, call = _random_options(3000, 13)
    premium = american_price(S, K, T, r, q, sig, call) - bs_price(S, K, T, r, q, sig, call)
    bound = premium_bound(S, K, T, r, q, sig, call)
    assert np.all(premium <= bound + 1e-9)
    assert np.mean(bound < 0.005) > 0.1  # it does screen out a share of the options


def test_option_greeks_when_american_then_match_accurate_finite_differences() -> None:
    S, K, T, _, q, sig, call = _random_options(200, 21)
    price, delta, gamma, vega, theta, _ = option_greeks(S, K, T, 0.04, q, sig, call, True)
    ref = american_greeks(S, K, T, 0.04, q, sig, call)
    assert np.all(np.abs(price - ref.price) <= np.maximum(0.005 * ref.price, 0.01))
    assert np.max(np.abs(delta - ref.delta)) < 0.01
    # The fast setting's greeks are finite differences of a 0.5 %-accurate price: a few
    # per cent in vega, cents in absolute terms.
    assert np.all(np.abs(vega - ref.vega) <= np.maximum(0.05 * np.abs(ref.vega), 0.15))
    # Theta per year: 1.0 is under half a cent a day.
    assert np.all(np.abs(theta - ref.theta) <= np.maximum(0.05 * np.abs(ref.theta), 1.0))
    assert np.max(np.abs(gamma - ref.gamma)) < 0.01


def test_option_greeks_when_deep_itm_put_then_delta_near_minus_one_unlike_black_scholes() -> None:
    one = np.ones(1)
    _, delta, gamma, *_ = option_greeks(
        60.0 * one, 100.0 * one, 1.0 * one, 0.05, 0.0 * one, 0.2 * one, np.array([False]), True
    )
    _, bs_delta, *_ = option_greeks(
        60.0 * one, 100.0 * one, 1.0 * one, 0.05, 0.0 * one, 0.2 * one, np.array([False]), False
    )
    assert delta[0] == pytest.approx(-1.0, abs=1e-4)
    assert gamma[0] == pytest.approx(0.0, abs=1e-4)
    assert bs_delta[0] > -0.99


def test_american_implied_vol_when_priced_then_recovers_vol_or_none_outside_bounds() -> None:
    price = float(american_fast(100.0, 110.0, 0.5, 0.04, 0.0, 0.35, False))
    assert american_implied_vol(price, 100.0, 110.0, 0.5, 0.04, 0.0, False) == pytest.approx(
        0.35, abs=1e-8
    )
    assert american_implied_vol(9.0, 100.0, 110.0, 0.5, 0.04, 0.0, False) is None  # < intrinsic


def test_premium_bound_when_negative_dividends_or_high_rates_then_never_below_the_premium() -> None:
    rng = np.random.default_rng(29)
    n = 3000
    S = np.full(n, 100.0)
    K = S * np.exp(rng.uniform(-0.8, 0.8, n))
    T = np.exp(rng.uniform(np.log(1 / (365 * 24)), np.log(3.0), n))
    sig = np.exp(rng.uniform(np.log(0.03), np.log(2.0), n))
    r = rng.uniform(0.001, 0.15, n)
    q = rng.uniform(-0.05, 0.15, n)
    call = rng.random(n) < 0.5
    exercised = np.where(call, q, r) > 0.0
    euro = bs_price(S, K, T, r, q, sig, call)
    floor = np.maximum(euro, np.maximum(np.where(call, S - K, K - S), 0.0))
    premium = american_price(S, K, T, r, q, sig, call) - floor
    bound = premium_bound(S, K, T, r, q, sig, call)
    assert np.all(premium[exercised] <= bound[exercised] + 1e-9)
    assert np.all(bound[~exercised] == 0.0)
    assert 0.2 < np.mean(bound < 0.005) < 0.9


def test_american_screened_when_rows_pass_the_screen_then_the_full_american_value() -> None:
    S, K, T, r, q, sig, call = _random_options(2000, 31)
    euro = bs_price(S, K, T, r, q, sig, call)
    full = american_rows(S, K, T, r, q, sig, call, euro)
    screened = american_screened(S, K, T, r, q, sig, call, euro, 0.005)
    computed = premium_bound(S, K, T, r, q, sig, call) >= 0.005
    assert computed.any()
    assert not computed.all()
    np.testing.assert_array_equal(screened[computed], full[computed])
    # Skipped rows: European, floored at the exercise value, within the screen of American.
    floor = np.maximum(euro, np.maximum(np.where(call, S - K, K - S), 0.0))
    np.testing.assert_array_equal(screened[~computed], floor[~computed])
    assert np.all(np.abs(screened - full) < 0.005)


def test_american_rows_when_priced_alone_or_in_any_batch_then_bit_identical() -> None:
    S, K, T, r, q, sig, call = _random_options(600, 37)
    euro = bs_price(S, K, T, r, q, sig, call)
    together = american_rows(S, K, T, r, q, sig, call, euro)
    screened = american_screened(S, K, T, r, q, sig, call, euro, 0.005)
    for i in (0, 1, 17, 255, 256, 599):
        one = slice(i, i + 1)
        args = (S[one], K[one], T[one], r[one], q[one], sig[one], call[one], euro[one])
        assert american_rows(*args)[0] == together[i]
        assert american_screened(*args, 0.005)[0] == screened[i]
    odd = np.arange(1, 600, 7)
    sub = (S[odd], K[odd], T[odd], r[odd], q[odd], sig[odd], call[odd], euro[odd])
    np.testing.assert_array_equal(american_rows(*sub), together[odd])
