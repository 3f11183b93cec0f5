"""Black-Scholes-Merton European prices and greeks, vectorised over NumPy arrays.

Conventions (identical to ``shared/reference/README.md``):

* ``S`` spot and ``K`` strike in currency units; ``T`` time to expiry in YEARS (ACT/365 calendar
  days / 365 is what the reference uses); ``r`` risk-free rate and ``q`` dividend yield,
  continuously compounded, per year, decimal (0.05 = 5 %); ``sigma`` annualised volatility,
  decimal (0.2 = 20 %); ``is_call`` True for calls, False for puts.
* ``price`` in currency per unit of underlying.
* ``delta`` = dV/dS, spot delta (includes the exp(-qT) factor).
* ``gamma`` = d2V/dS2.
* ``vega`` = dV/dsigma per 1.00 of sigma (divide by 100 for "per vol point").
* ``theta`` = dV/dt per YEAR of calendar time with expiry fixed (= -dV/dT); divide by 365 for
  per-day.  Negative for most long options.
* ``rho`` = dV/dr per 1.00 of r (forward moves with r); ``dividend_rho`` = dV/dq per 1.00.
* ``vanna`` = d2V/dS dsigma, ``volga`` (vomma) = d2V/dsigma2, ``charm`` = d(delta)/dt per year
  of calendar time (= -d delta/dT).

All inputs broadcast against each other.  Degenerate inputs are handled without NaN: at
``T == 0`` or ``sigma == 0`` the value is the (discounted-forward) intrinsic value and the
greeks are their limits.  Where that limit is a Dirac spike (gamma, and theta at ``T == 0``,
for an option exactly at the money) the finite one-sided value 0 is returned and delta takes
the midpoint (0.5 * exp(-qT) in absolute value).  Inputs outside the domain (S <= 0, K < 0,
T < 0, sigma < 0, NaN) give NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from engine.pricing._arrays import (
    FloatArray,
    Operand,
    blocks,
    broadcast_flags,
    broadcast_inputs,
    sign_from_flags,
    take,
)

__all__ = [
    "Greeks",
    "SecondOrderGreeks",
    "black_scholes",
    "black_scholes_second_order",
    "bs_price",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@dataclass(frozen=True, slots=True, eq=False)
class SecondOrderGreeks:
    """Less-used sensitivities (float64 arrays of the broadcast input shape).

    ``dividend_rho`` dV/dq per 1.00; ``vanna`` d2V/dS dsigma (per currency of S, per 1.00 of
    sigma); ``volga`` d2V/dsigma2 per 1.00^2; ``charm`` d(delta)/dt per year of calendar time.
    """

    dividend_rho: FloatArray
    vanna: FloatArray
    volga: FloatArray
    charm: FloatArray


@dataclass(frozen=True, eq=False)
class Greeks:
    """Price and first-order greeks; second-order ones are computed on first access.

    Fields are float64 ndarrays of the broadcast input shape (0-d for scalar inputs); units as
    in the module docstring (vega/rho per 1.00, theta per calendar year).  ``dividend_rho``,
    ``vanna``, ``volga`` and ``charm`` are cached properties: the hot risk loop only pays for
    them when it reads them (they can also be computed directly with
    :func:`black_scholes_second_order`).
    """

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray
    _second_order: Callable[[], SecondOrderGreeks] = field(repr=False)

    @cached_property
    def _second(self) -> SecondOrderGreeks:
        return self._second_order()

    @property
    def dividend_rho(self) -> FloatArray:
        """dV/dq per 1.00 change of the dividend yield."""
        return self._second.dividend_rho

    @property
    def vanna(self) -> FloatArray:
        """d2V/dS dsigma = d(delta)/dsigma = d(vega)/dS."""
        return self._second.vanna

    @property
    def volga(self) -> FloatArray:
        """d2V/dsigma2 (vomma), per 1.00^2 of sigma."""
        return self._second.volga

    @property
    def charm(self) -> FloatArray:
        """d(delta)/dt per year of calendar time (expiry fixed, = -d delta/dT)."""
        return self._second.charm

    @property
    def theta_per_day(self) -> FloatArray:
        """Theta per calendar day (theta / 365)."""
        return self.theta / 365.0


# --------------------------------------------------------------------------------------------
# kernels


def _d1_signed(
    S: FloatArray, K: Operand, T: Operand, r: Operand, q: Operand, sig: Operand, w: Operand
) -> tuple[FloatArray, FloatArray, Operand]:
    """(w*d1, w*d2, sigma*sqrt(T)) for one block; ``S`` is always a full block."""
    sqT = np.sqrt(T)
    v = sig * sqT
    d1 = np.log(S / K)
    d1 += (r - q) * T
    d1 /= v
    d1 += 0.5 * v
    d2 = d1 - v
    if isinstance(w, float):
        if w < 0.0:
            np.negative(d1, out=d1)
            np.negative(d2, out=d2)
    else:
        d1 *= w
        d2 *= w
    return d1, d2, v


def _price_block(
    S: FloatArray,
    K: Operand,
    T: Operand,
    r: Operand,
    q: Operand,
    sig: Operand,
    w: Operand,
    out: FloatArray,
) -> None:
    wd1, wd2, _ = _d1_signed(S, K, T, r, q, sig, w)
    a = ndtr(wd1)
    a *= S
    a *= np.exp(-q * T)
    b = ndtr(wd2)
    b *= K * np.exp(-r * T)
    np.subtract(a, b, out=a)
    np.multiply(a, w, out=out)


def _greeks_block(
    S: FloatArray,
    K: Operand,
    T: Operand,
    r: Operand,
    q: Operand,
    sig: Operand,
    w: Operand,
    price: FloatArray,
    delta: FloatArray,
    gamma: FloatArray,
    vega: FloatArray,
    theta: FloatArray,
    rho: FloatArray,
) -> None:
    wd1, wd2, _ = _d1_signed(S, K, T, r, q, sig, w)
    Dq = np.exp(-q * T)
    KDr = K * np.exp(-r * T)
    # phi(d1) is even, so the signed d1 serves; reuse wd1's buffer after N(w d1) is taken.
    nd1 = ndtr(wd1)
    np.square(wd1, out=wd1)
    wd1 *= -0.5
    pdf = np.exp(wd1, out=wd1)
    # delta = w Dq N(w d1); A = S * delta = w S Dq N(w d1)
    np.multiply(nd1, Dq, out=delta)
    delta *= w
    A = np.multiply(S, delta, out=nd1)
    # B = w K Dr N(w d2)
    B = ndtr(wd2)
    B *= KDr
    B *= w
    np.subtract(A, B, out=price)
    np.multiply(B, T, out=rho)
    # vega = S Dq phi(d1) sqrt(T)
    np.multiply(S, pdf, out=vega)
    vega *= Dq * (np.sqrt(T) * _INV_SQRT_2PI)
    # gamma = vega / (S^2 sigma T); theta = -sigma vega / (2T) + q A - r B
    sT = sig * T
    np.divide(vega, S, out=gamma)
    gamma /= S
    gamma /= sT
    np.multiply(vega, -0.5 * sig / T, out=theta)
    B *= r
    A *= q
    theta += A
    theta -= B


def _limit_greeks(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sig: FloatArray,
    w: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Price and greeks where sigma*sqrt(T) == 0 (expiry or zero vol): the limits.

    Invalid inputs (negative T or sigma, NaN) give NaN.
    """
    valid = (T >= 0.0) & (sig >= 0.0) & (S > 0.0) & (K >= 0.0)
    Dq = np.exp(-q * T)
    Dr = np.exp(-r * T)
    m = w * (S * Dq - K * Dr)  # discounted forward moneyness, signed for the option type
    # N(w d1) and N(w d2) both tend to the same step function; 0.5 exactly at the money.
    ind = np.where(m > 0.0, 1.0, np.where(m == 0.0, 0.5, 0.0))
    price = np.maximum(m, 0.0)
    delta = w * Dq * ind
    gamma = np.zeros_like(price)
    # At zero vol and the money forward, vega keeps its finite limit S Dq phi(0) sqrt(T).
    vega = np.where(m == 0.0, S * Dq * np.sqrt(T) * _INV_SQRT_2PI, 0.0)
    theta = r * price - (r - q) * S * delta
    rho = w * K * T * Dr * ind
    out = (price, delta, gamma, vega, theta, rho)
    return tuple(np.where(valid, x, np.nan) for x in out)  # type: ignore[return-value]


def _prepare(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> tuple[tuple[int, ...], int, list[FloatArray | float], FloatArray | float]:
    shape, ops = broadcast_inputs(S, K, T, r, q, sigma, flag=is_call)
    flags = broadcast_flags(is_call, shape)
    n = math.prod(shape)
    # Kernels rely on S being a full-length array (so every derived block is an array).
    if isinstance(ops[0], float):
        ops[0] = np.full(n, ops[0])
    return shape, n, ops, sign_from_flags(flags)


def _patch_degenerate(
    ops: list[FloatArray | float],
    w: FloatArray | float,
    n: int,
    outs: tuple[FloatArray, ...],
) -> None:
    """Overwrite entries with sigma*sqrt(T) not > 0 (limits, or NaN for bad input)."""
    T, sig = ops[2], ops[5]
    v = np.sqrt(np.asarray(T)) * np.asarray(sig)
    bad = ~(v > 0.0)
    if not bad.any():
        return
    idx = np.flatnonzero(np.broadcast_to(bad, (n,)))
    sub = [np.broadcast_to(np.asarray(take(x, idx)), idx.shape) for x in (*ops, w)]
    lim = _limit_greeks(*sub)
    for o, value in zip(outs, lim, strict=False):
        o[idx] = value


def bs_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton European price only (the fast path).

    Units: see the module docstring (T in years, rates/vol decimal per year).  Returns a float64
    array of the broadcast shape (0-d for scalar inputs).
    """
    shape, n, ops, w = _prepare(S, K, T, r, q, sigma, is_call)
    price = np.empty(n)
    with np.errstate(all="ignore"):
        for sl in blocks(n):
            s_ = ops[0][sl]  # type: ignore[index]
            _price_block(
                s_,
                take(ops[1], sl),
                take(ops[2], sl),
                take(ops[3], sl),
                take(ops[4], sl),
                take(ops[5], sl),
                take(w, sl),
                price[sl],
            )
        _patch_degenerate(ops, w, n, (price,))
    return price.reshape(shape)


def black_scholes(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes-Merton European price and greeks.

    Args:
        S: spot, currency.  K: strike, currency.  T: years to expiry.
        r: risk-free rate, continuous, per year.  q: dividend yield, continuous, per year.
        sigma: annualised volatility (0.2 = 20 %).  is_call: True for call, False for put.

    Returns:
        :class:`Greeks` with ``price``, spot ``delta`` (incl. exp(-qT)), ``gamma``, ``vega``
        (per 1.00 vol), ``theta`` (per calendar YEAR, = -dV/dT) and ``rho`` (per 1.00 rate),
        all float64 arrays of the broadcast shape; ``dividend_rho``, ``vanna``, ``volga`` and
        ``charm`` are computed lazily on first access.

    T == 0, sigma == 0 and very deep in/out of the money options return finite limits (see the
    module docstring); no NaN or overflow for valid inputs.  The lazy second-order greeks are
    computed from the input arrays when first read: do not mutate those arrays in between.
    """
    shape, n, ops, w = _prepare(S, K, T, r, q, sigma, is_call)
    outs = tuple(np.empty(n) for _ in range(6))
    with np.errstate(all="ignore"):
        for sl in blocks(n):
            _greeks_block(
                ops[0][sl],  # type: ignore[index]
                take(ops[1], sl),
                take(ops[2], sl),
                take(ops[3], sl),
                take(ops[4], sl),
                take(ops[5], sl),
                take(w, sl),
                *(o[sl] for o in outs),
            )
        _patch_degenerate(ops, w, n, outs)
    price, delta, gamma, vega, theta, rho = (o.reshape(shape) for o in outs)

    def second() -> SecondOrderGreeks:
        return black_scholes_second_order(S, K, T, r, q, sigma, is_call)

    return Greeks(price, delta, gamma, vega, theta, rho, second)


def black_scholes_second_order(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> SecondOrderGreeks:
    """Dividend rho, vanna, volga and charm under Black-Scholes-Merton.

    Same inputs and units as :func:`black_scholes`.  ``dividend_rho`` = -T S delta;
    ``vanna`` = -exp(-qT) phi(d1) d2 / sigma; ``volga`` = vega d1 d2 / sigma;
    ``charm`` = w q exp(-qT) N(w d1) - exp(-qT) phi(d1) (2 (r-q) T - d2 sigma sqrt(T)) /
    (2 T sigma sqrt(T)), per calendar year.  At T == 0 or sigma == 0 the limits are returned
    (vanna = volga = 0; charm = w q exp(-qT) times the exercise indicator).
    """
    shape, n, ops, w = _prepare(S, K, T, r, q, sigma, is_call)
    S_, K_, T_, r_, q_, sig_ = (np.broadcast_to(np.asarray(x), (n,)) for x in ops)
    w_ = np.broadcast_to(np.asarray(w), (n,))
    with np.errstate(all="ignore"):
        sqT = np.sqrt(T_)
        v = sig_ * sqT
        d1 = (np.log(S_ / K_) + (r_ - q_) * T_) / v + 0.5 * v
        d2 = d1 - v
        Dq = np.exp(-q_ * T_)
        pdf = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
        nd1 = ndtr(w_ * d1)
        delta = w_ * Dq * nd1
        vega = S_ * Dq * pdf * sqT
        vanna = -Dq * pdf * d2 / sig_
        volga = vega * d1 * d2 / sig_
        charm = w_ * q_ * Dq * nd1 - Dq * pdf * (2.0 * (r_ - q_) * T_ - d2 * v) / (2.0 * T_ * v)
        bad = ~(v > 0.0)
        if bad.any():
            lim = _limit_greeks(S_[bad], K_[bad], T_[bad], r_[bad], q_[bad], sig_[bad], w_[bad])
            delta = np.where(bad, 0.0, delta)
            delta[bad] = lim[1]
            vanna = np.where(bad, 0.0, vanna)
            volga = np.where(bad, 0.0, volga)
            # delta = w Dq ind at the limit, so -d delta/dT = q delta.
            charm = np.where(bad, 0.0, charm)
            charm[bad] = q_[bad] * lim[1]
            nan_in = np.isnan(lim[0])
            for arr in (vanna, volga, charm):
                sub = arr[bad]
                sub[nan_in] = np.nan
                arr[bad] = sub
        dividend_rho = -T_ * S_ * delta
    return SecondOrderGreeks(
        dividend_rho.reshape(shape),
        vanna.reshape(shape),
        volga.reshape(shape),
        charm.reshape(shape),
    )
