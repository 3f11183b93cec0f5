"""American values of a fixed set of options at many spots: the hot path of risk and chains.

:func:`engine.pricing.american_price` solves the exercise boundary for every call.  The
boundary does not depend on the spot, so here it is solved once per option
(:class:`AmericanBook`, the ``"integral_fast"`` setting of the integral-equation method) and the
premium integral - ``p = 16`` normal CDFs per point - is evaluated at whatever spots are
needed: risk scenarios (n x m), bumped spots for delta and gamma, a spot grid.

Calls go through put-call symmetry and homogeneity: C(S, K, T, r, q) = P(K, S, T, q, r)
= S P(K / S, 1, T, q, r), so each call's boundary is solved for a unit strike and the book
still prices any spot without re-solving.  Options that are never exercised early (calls
without a dividend, puts without a positive rate, T <= 0, sigma <= 0) and options marked
European get the Black-Scholes-Merton value.

Accuracy (``tests/engine/pricing/test_pricing_american_book.py``): within 0.5 % (or 1 cent)
of a 2,000-step CRR tree across a grid with deep in-the-money puts, high dividends, 7 days to
3 years and 10-80 % vol (worst case 0.76 of that tolerance).  Cost: ~3 us per option to
prepare, then ~0.5 us per (spot, option), plus a fixed ~100 array operations per solve
(~70-110 us: what small batches, e.g. the simulator's pricing passes, mostly pay; see
`engine.pricing.american._solve_boundary`).  :func:`american_screened` skips the solve for
rows whose premium :func:`premium_bound` proves negligible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import ndtr

from engine.pricing._arrays import FloatArray, broadcast_flags, broadcast_inputs
from engine.pricing.american import (
    _FAST,
    _IE_BLOCK,
    PutPremium,
    _put_premium,
    _put_premium_at,
)
from engine.pricing.bsm import black_scholes, bs_price

__all__ = [
    "AmericanBook",
    "american_fast",
    "american_implied_vol",
    "american_rows",
    "american_screened",
    "option_greeks",
    "option_prices",
    "premium_bound",
]

BoolArray = NDArray[np.bool_]

_BUMP = 1e-3  # relative spot bump for the premium's delta and gamma
_PREMIUM_ELEMENTS = 262_144  # (spot, option, node) elements per premium evaluation step


def _concat(parts: list[PutPremium]) -> PutPremium:
    if len(parts) == 1:
        return parts[0]
    return PutPremium(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in PutPremium.__slots__)
    )


@dataclass(frozen=True, eq=False)
class AmericanBook:
    """m options (1-d arrays) with their early-exercise boundaries solved once.

    ``american`` marks the options to value as American (e.g. single-name equity options);
    the others (cash-settled index options) are European.
    """

    K: FloatArray
    T: FloatArray
    r: FloatArray
    q: FloatArray
    sigma: FloatArray
    call: BoolArray
    early: BoolArray  # American and worth exercising early: these carry a premium
    idx: NDArray[np.intp]
    premium: PutPremium | None  # put-frame premium of the `idx` options

    @classmethod
    def prepare(
        cls,
        K: ArrayLike,
        T: ArrayLike,
        r: ArrayLike,
        q: ArrayLike,
        sigma: ArrayLike,
        is_call: ArrayLike,
        american: ArrayLike = True,
    ) -> AmericanBook:
        shape, ops = broadcast_inputs(K, T, r, q, sigma, american, flag=is_call)
        m = math.prod(shape)
        K_, T_, r_, q_, sig_, am_ = (
            np.ascontiguousarray(np.broadcast_to(np.asarray(o, dtype=np.float64), (m,)))
            for o in ops
        )
        call = np.ascontiguousarray(np.broadcast_to(broadcast_flags(is_call, shape), (m,)))
        early = (
            (am_ != 0.0)
            & np.where(call, q_ > 0.0, r_ > 0.0)
            & (T_ > 0.0)
            & (sig_ > 0.0)
            & (K_ > 0.0)
            & np.isfinite(K_ + T_ + r_ + q_ + sig_)
        )
        idx = np.flatnonzero(early)
        premium = None
        if idx.size:
            c = call[idx]
            # Put frame: a put keeps (K, r, q); a call becomes the put of strike 1 with the
            # rate and the dividend swapped (homogeneity), priced at spot K / S.
            kp = np.where(c, 1.0, K_[idx])
            rp = np.where(c, q_[idx], r_[idx])
            qp = np.where(c, r_[idx], q_[idx])
            with np.errstate(all="ignore"):
                parts = [
                    _put_premium(
                        kp[a : a + _IE_BLOCK],
                        T_[idx][a : a + _IE_BLOCK],
                        rp[a : a + _IE_BLOCK],
                        qp[a : a + _IE_BLOCK],
                        sig_[idx][a : a + _IE_BLOCK],
                        _FAST,
                    )
                    for a in range(0, idx.size, _IE_BLOCK)
                ]
            premium = _concat(parts)
        return cls(K_, T_, r_, q_, sig_, call, early, idx, premium)

    @property
    def m(self) -> int:
        return int(self.K.size)

    def subset(self, sel: NDArray[np.intp]) -> AmericanBook:
        """The book of options `sel` (positions in this book), boundaries reused."""
        early = self.early[sel]
        premium = None
        if self.premium is not None and early.any():
            row = np.full(self.m, -1, dtype=np.intp)
            row[self.idx] = np.arange(self.idx.size)
            rows = row[sel[early]]
            p = self.premium
            premium = PutPremium(*(getattr(p, f)[rows] for f in PutPremium.__slots__))
        return AmericanBook(
            self.K[sel],
            self.T[sel],
            self.r[sel],
            self.q[sel],
            self.sigma[sel],
            self.call[sel],
            early,
            np.flatnonzero(early),
            premium,
        )

    def _premium_at(self, S: FloatArray) -> FloatArray:
        """Premium of the `idx` options at spots S (..., m)."""
        assert self.premium is not None
        c = self.call[self.idx]
        s = S[..., self.idx]
        k = self.K[self.idx]
        with np.errstate(all="ignore"):
            sp = np.where(c, k / s, s)
            flat = sp.reshape(-1, k.size)
            p = np.empty(flat.shape)
            # (rows, options, quadrature) temporaries: a few MB at a time, whatever the
            # number of scenarios.
            step = max(1, _PREMIUM_ELEMENTS // max(1, k.size * self.premium.vol.shape[1]))
            for a in range(0, flat.shape[0], step):
                p[a : a + step] = self.premium.at(flat[a : a + step])
            out: FloatArray = np.where(c, s * p.reshape(sp.shape), p.reshape(sp.shape))
        return out

    def prices(self, S: ArrayLike, european: ArrayLike | None = None) -> FloatArray:
        """Values at spots ``S`` of shape (..., m): each option at its own column.
        ``european``: the Black-Scholes-Merton values at those spots, when already known."""
        s_arr = np.asarray(S, dtype=np.float64)
        s_arr = np.broadcast_to(s_arr, np.broadcast_shapes(s_arr.shape, (self.m,)))
        if european is None:
            european = bs_price(s_arr, self.K, self.T, self.r, self.q, self.sigma, self.call)
        out: FloatArray = np.array(np.broadcast_to(european, s_arr.shape), dtype=np.float64)
        if self.premium is not None:
            i = self.idx
            prem = self._premium_at(s_arr)
            sub = s_arr[..., i]
            intrinsic = np.maximum(np.where(self.call[i], sub - self.K[i], self.K[i] - sub), 0.0)
            euro = out[..., i]
            out[..., i] = np.fmax(np.fmax(euro + prem, euro), intrinsic)
        return out

    def price_delta_gamma(self, S: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(value, delta, gamma) at spots ``S`` (..., m): Black-Scholes-Merton greeks plus the
        premium's, by central differences of the premium (spot bumped by 0.1 %)."""
        s_arr = np.asarray(S, dtype=np.float64)
        s_arr = np.broadcast_to(s_arr, np.broadcast_shapes(s_arr.shape, (self.m,)))
        g = black_scholes(s_arr, self.K, self.T, self.r, self.q, self.sigma, self.call)
        value = self.prices(s_arr)
        delta = np.asarray(g.delta, dtype=np.float64).copy()
        gamma = np.asarray(g.gamma, dtype=np.float64).copy()
        if self.premium is not None:
            i = self.idx
            h = _BUMP * s_arr[..., i]
            up = self.prices(_bumped(s_arr, i, 1.0 + _BUMP))[..., i]
            dn = self.prices(_bumped(s_arr, i, 1.0 - _BUMP))[..., i]
            mid = value[..., i]
            delta[..., i] = (up - dn) / (2.0 * h)
            gamma[..., i] = (up - 2.0 * mid + dn) / (h * h)
        return value, delta, gamma


def _bumped(S: FloatArray, idx: NDArray[np.intp], factor: float) -> FloatArray:
    out = np.array(S, dtype=np.float64, copy=True)
    out[..., idx] *= factor
    return out


def option_prices(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    american: ArrayLike = True,
) -> FloatArray:
    """Values of m options (1-d K, T, ... of length m, or scalars) at spots ``S`` (..., m):
    American where ``american`` (see :class:`AmericanBook`), European elsewhere."""
    shape = np.broadcast_shapes(
        *(np.shape(x) for x in (K, T, r, q, sigma, is_call, american)), np.shape(S)[-1:]
    )
    k_, t_, r_, q_, s_ = (np.broadcast_to(np.asarray(x), shape) for x in (K, T, r, q, sigma))
    book = AmericanBook.prepare(
        k_,
        t_,
        r_,
        q_,
        s_,
        np.broadcast_to(np.asarray(is_call), shape),
        np.broadcast_to(np.asarray(american), shape),
    )
    return book.prices(S)


def american_fast(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """American values (elementwise, broadcasting) by the fast book: one boundary per option."""
    shape, ops = broadcast_inputs(S, K, T, r, q, sigma, flag=is_call)
    n = math.prod(shape)
    flat = [np.broadcast_to(np.asarray(o, dtype=np.float64), (n,)) for o in ops]
    call = np.broadcast_to(broadcast_flags(is_call, shape), (n,))
    book = AmericanBook.prepare(flat[1], flat[2], flat[3], flat[4], flat[5], call)
    out: FloatArray = book.prices(flat[0]).reshape(shape)
    return out


def _put_frame(
    S: FloatArray, K: FloatArray, r: FloatArray, q: FloatArray, call: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(spot, strike, rate, dividend) of each row as a put: put-call symmetry
    C(S, K, T, r, q) = P(K, S, T, q, r)."""
    return np.where(call, K, S), np.where(call, S, K), np.where(call, q, r), np.where(call, r, q)


def _frame_bound(
    s: FloatArray, k: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, sig: FloatArray
) -> FloatArray:
    """`premium_bound` of puts (spot s, strike k) with r > 0, T > 0, sigma > 0 (NaN where
    s or k <= 0)."""
    X = k * np.minimum(1.0, r / np.maximum(q, r))
    a = np.log(s / X)
    coef = r * k + np.maximum(-q, 0.0) * X
    up = np.maximum(0.5 * sig * sig - (r - q), 0.0)
    g = (up * T - a) / (sig * np.sqrt(T))
    out: FloatArray = coef * T * np.where(a >= 0.0, ndtr(g), 1.0)
    return out


def premium_bound(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """An upper bound on the early-exercise premium, cheap enough to screen whole chains.

    Put frame (calls by symmetry: spot K, strike S, rate q, dividend r).  The premium is
    int_0^T e^{-ru} E[(rK - qS_u) 1{S_u < B(T-u)}] du with the boundary B <= X = K min(1, r/q),
    so it is at most c int_0^T Q(S_u < X) du, c = rK + max(-q, 0) X.  Out of the money
    (a = ln(S/X) >= 0), Q(S_u < X) = N((-a - mu u) / (sigma sqrt u)), mu = r - q - sigma^2/2,
    is at most N(g(u)), g(u) = (max(-mu, 0) u - a) / (sigma sqrt u), which increases with u,
    so the premium is at most c T N(g(T)); in the money, c T.  Zero where there is no early
    exercise (the frame's rate <= 0, T <= 0 or sigma <= 0).

    It is the reflection bound r K T 2 N((|mu| T - a) / (sigma sqrt T)) without the factor 2
    and with the strike moved down to X: on a recorded simulator session it screens out 30 %
    of the rows that bound let through (a Riemann sum of N(g) over 4 steps would screen out
    2 % more, not worth its 20 extra array operations on small chains).
    """
    S_, K_, T_, r_, q_, sig_ = (np.asarray(x, dtype=np.float64) for x in (S, K, T, r, q, sigma))
    call = np.asarray(is_call, dtype=np.bool_)
    with np.errstate(all="ignore"):
        s, k, rp, qp = _put_frame(S_, K_, r_, q_, call)
        bound = _frame_bound(s, k, T_, rp, qp, sig_)
        out = np.where((rp > 0.0) & (T_ > 0.0) & (sig_ > 0.0), bound, 0.0)
    result: FloatArray = out
    return result


def american_screened(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    european: FloatArray,
    min_premium: float,
) -> FloatArray:
    """American values of rows (1-d arrays of one length), never below the exercise value,
    computing the early-exercise premium only where `premium_bound` is at least
    `min_premium` (`min_premium` > 0): those rows get exactly `american_rows`' values, the
    others max(European, exercise value), within `min_premium` of the American value.

    One put-frame transform serves the screen and the pricer: the simulator's chains call
    this on every pricing pass, mostly small ones, where each array operation's fixed cost
    is what adds up.  Each row's value depends on that row alone.
    """
    with np.errstate(all="ignore"):
        s, k, rp, qp = _put_frame(S, K, r, q, call)
        floor = np.maximum(k - s, 0.0)
        sel = np.flatnonzero(
            (_frame_bound(s, k, T, rp, qp, sigma) >= min_premium)
            & (rp > 0.0)
            & (T > 0.0)
            & (sigma > 0.0)
        )
        if sel.size == S.size:  # no gathers: what most small passes (held contracts) are
            prem = _rows_premium(s, k, T, rp, qp, sigma)
            prem += european
            out: FloatArray = np.fmax(np.fmax(prem, european), floor)
            return out
        out = np.maximum(european, floor)
        if sel.size:
            eu = european[sel]
            prem = _rows_premium(s[sel], k[sel], T[sel], rp[sel], qp[sel], sigma[sel])
            prem += eu
            out[sel] = np.fmax(np.fmax(prem, eu), floor[sel])
    return out


def _rows_premium(
    s: FloatArray, k: FloatArray, T: FloatArray, r: FloatArray, q: FloatArray, sig: FloatArray
) -> FloatArray:
    """Premium of puts r > 0, T > 0, sigma > 0, each at its spot, in blocks of _IE_BLOCK."""
    if s.size <= _IE_BLOCK:
        return _put_premium_at(s, k, T, r, q, sig, _FAST)
    return np.concatenate(
        [
            _put_premium_at(
                s[a : a + _IE_BLOCK],
                k[a : a + _IE_BLOCK],
                T[a : a + _IE_BLOCK],
                r[a : a + _IE_BLOCK],
                q[a : a + _IE_BLOCK],
                sig[a : a + _IE_BLOCK],
                _FAST,
            )
            for a in range(0, s.size, _IE_BLOCK)
        ]
    )


def american_rows(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    european: FloatArray,
) -> FloatArray:
    """American values of rows (1-d arrays of one length) given their European values.

    The lean form of :meth:`AmericanBook.prices` for one spot per option (no broadcasting,
    no book kept): what a simulator pricing pass calls thousands of times on small batches,
    so it is written for few NumPy calls (each costs ~1 us whatever the size; see
    `engine.pricing.american._solve_boundary`).  Calls are the puts of put-call symmetry
    C(S, K, T, r, q) = P(K, S, T, q, r) at spot K.  Each row's value depends on that row
    alone.  Rows never exercised early (T <= 0, sigma <= 0, puts without a positive rate,
    calls without a dividend) keep `european`.
    """
    sp, kp, rp, qp = _put_frame(S, K, r, q, call)
    early = (rp > 0.0) & (T > 0.0) & (sigma > 0.0) & (K > 0.0)
    if not early.all():
        out = np.array(european, dtype=np.float64)
        i = np.flatnonzero(early)
        if i.size:
            out[i] = american_rows(S[i], K[i], T[i], r[i], q[i], sigma[i], call[i], european[i])
        return out
    with np.errstate(all="ignore"):
        prem = _rows_premium(sp, kp, T, rp, qp, sigma)
        prem += european
        out = np.fmax(np.fmax(prem, european), np.maximum(kp - sp, 0.0))
    return out


def american_implied_vol(
    price: float,
    S: float,
    K: float,
    T: float,
    r: float,
    q: float,
    is_call: bool,
    lo: float = 1e-3,
    hi: float = 5.0,
) -> float | None:
    """The vol at which the American value (this module's book) equals ``price``; None when
    ``price`` is outside the values over [lo, hi] (below intrinsic, above the upper bound).

    Brent's method on a scalar, ~30 book evaluations: for the odd contract with no quoted
    vol, not for whole chains.
    """
    if not (price > 0 and S > 0 and K > 0 and T > 0):
        return None

    def f(sig: float) -> float:
        return float(american_fast(S, K, T, r, q, sig, is_call)) - price

    f_lo, f_hi = f(lo), f(hi)
    if f_lo > 0.0 or f_hi < 0.0:
        return None
    if f_lo == 0.0:
        return lo
    return float(brentq(f, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=100))


def option_greeks(
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: float,
    q: FloatArray,
    sigma: FloatArray,
    call: BoolArray,
    american: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(price, delta, gamma, vega, theta, rho) of m options at their spots (1-d arrays).

    European rows: Black-Scholes-Merton.  Rows with an early-exercise premium: delta and
    gamma by central differences in spot (0.1 %), vega in vol (1e-4) and theta in time
    (min(1e-4, T/2) years) of the American value; rho stays Black-Scholes-Merton.  Units as
    `engine.pricing.bsm.black_scholes` (vega per 1.00, theta per calendar year).
    """
    book = AmericanBook.prepare(K, T, r, q, sigma, call, american)
    price, delta, gamma = book.price_delta_gamma(S)
    g = black_scholes(S, K, T, r, q, sigma, call)
    vega = np.array(g.vega, dtype=np.float64)
    theta = np.array(g.theta, dtype=np.float64)
    rho = np.array(g.rho, dtype=np.float64)
    i = book.idx
    if i.size:
        s, k, t, qq, sg, c = S[i], K[i], T[i], q[i], sigma[i], call[i]
        hv = 1e-4
        up = AmericanBook.prepare(k, t, r, qq, sg + hv, c).prices(s)
        dn = AmericanBook.prepare(k, t, r, qq, sg - hv, c).prices(s)
        vega[i] = (up - dn) / (2.0 * hv)
        ht = np.minimum(1e-4, 0.5 * t)
        later = AmericanBook.prepare(k, t + ht, r, qq, sg, c).prices(s)
        sooner = AmericanBook.prepare(k, t - ht, r, qq, sg, c).prices(s)
        theta[i] = -(later - sooner) / (2.0 * ht)
    return price, delta, gamma, vega, theta, rho
