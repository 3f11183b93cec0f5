"""Black-Scholes-Merton implied volatility, vectorised over NumPy arrays.

Algorithm: Peter Jäckel, "Let's Be Rational" (Wilmott 2015), re-implemented for whole arrays.
The price is normalised to the undiscounted Black function of ``x = ln(F/K)`` and total
volatility ``s = sigma sqrt(T)``, in-the-money options are mapped to out-of-the-money ones by
subtracting the intrinsic value (put-call symmetry), and then

1. the branch is picked from the inflection point ``s_c = sqrt(2|x|)`` and its tangent
   intersections ``s_l``, ``s_h`` (four branches: lowest, lower-middle, upper-middle, upper);
2. the initial guess is the branch's rational cubic interpolation (on transformed price maps
   in the outer branches), accurate to a few per cent or better;
3. two Householder steps of order 3 on the branch's objective (``1/ln b`` in the lowest,
   ``b`` in the middle, ``ln(b_max - b)`` in the upper branch) reach double precision; rare
   elements whose last step is not negligible continue with a bracketed (bisection-guarded)
   Householder loop and are flagged ``NOT_CONVERGED`` if that also fails.

The normalised Black function b(x, s) is evaluated with ``scipy.special.ndtr`` for the guess and
the first step; the last step, which sets the accuracy of the result, uses Jäckel's accurate
forms (a 13th-order small-``t`` expansion for s < 0.42, the ``erfcx`` form, the plain form near
the money).  His asymptotic deep out-of-the-money branch is not needed: time values below
8 ulps of max(F, K) are reported as ``NO_VEGA`` rather than solved.

Accuracy: the normalised solve is within ~1e-15 (relative) of a 40-digit reference; the
recovered ``sigma`` differs from the volatility that generated a double-precision price by
about ``eps * S / vega`` (< 1e-11 where vega >= 1e-4 * S, median ~2e-16), the same as
py_lets_be_rational on the benchmark set.  Where the price is insensitive to ``sigma`` the
returned ``sigma`` still reproduces the price to within rounding, or the status says why not.  Units: ``T`` in years; ``r``, ``q`` continuous per
year; result annualised (0.2 = 20 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfcx, ndtr, ndtri

from engine.pricing._arrays import BLOCK, FloatArray, blocks, broadcast_flags, broadcast_inputs

__all__ = ["IVResult", "IVStatus", "implied_vol", "implied_vol_scalar"]


class IVStatus(IntEnum):
    """Per-element outcome of :func:`implied_vol` (stored as int8)."""

    OK = 0
    #: Price below the (discounted) intrinsic value: no volatility can produce it.
    BELOW_INTRINSIC = 1
    #: Price at or above the no-arbitrage upper bound (S e^{-qT} for calls, K e^{-rT} puts).
    ABOVE_UPPER_BOUND = 2
    #: Time value (undiscounted price - intrinsic) within 8 ulps of max(F, K), i.e.
    #: indistinguishable from zero: the price does not pin down any volatility.
    NO_VEGA = 3
    INSENSITIVE = 3
    #: The safeguarded iteration failed to converge (not observed in practice).
    NOT_CONVERGED = 4
    #: NaN/inf input, S <= 0, K <= 0 or T <= 0.
    BAD_INPUT = 5


@dataclass(frozen=True, slots=True, eq=False)
class IVResult:
    """``vol``: annualised implied volatility (float64, NaN where ``status != OK``);
    ``status``: int8 :class:`IVStatus` codes.  Both have the broadcast input shape."""

    vol: FloatArray
    status: NDArray[np.int8]

    @property
    def ok(self) -> NDArray[np.bool_]:
        """True where a volatility was found."""
        mask: NDArray[np.bool_] = self.status == IVStatus.OK
        return mask


_EPS = float(np.finfo(np.float64).eps)
_DBL_MIN = float(np.finfo(np.float64).tiny)
_DBL_MAX = float(np.finfo(np.float64).max)
_R_MIN = -(1.0 - math.sqrt(_EPS))
_R_MAX = 2.0 / (_EPS * _EPS)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi / 2.0)
_SQRT3 = math.sqrt(3.0)
_TWO_PI_OVER_SQRT27 = 2.0 * math.pi / math.sqrt(27.0)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
#: Two Householder(3) steps from the rational guess; a last step below this (relative) means
#: the error after it is ~ (1e-5)^4: converged.
_FAST_TOL = 1e-5
_MAX_SAFE_ITER = 60
#: Time values within this many ulps of max(F, K) are rounding noise of the intrinsic value.
_INTRINSIC_ULPS = 8.0

_LOWEST, _MIDDLE, _UPPER = 0, 1, 2


# --------------------------------------------------------------------------------------------
# rational cubic interpolation (Delbourgo & Gregory, as used by Jäckel)


def _rc_interp(
    x: FloatArray,
    x_l: FloatArray,
    x_r: FloatArray,
    y_l: FloatArray,
    y_r: FloatArray,
    d_l: FloatArray | float,
    d_r: FloatArray | float,
    r: FloatArray,
) -> FloatArray:
    h = x_r - x_l
    t = (x - x_l) / h
    omt = 1.0 - t
    t2 = t * t
    omt2 = omt * omt
    cubic = (
        y_r * t2 * t
        + (r * y_r - h * d_r) * t2 * omt
        + (r * y_l + h * d_l) * t * omt2
        + y_l * omt2 * omt
    ) / (1.0 + (r - 3.0) * t * omt)
    out = np.where(r >= _R_MAX, y_r * t + y_l * omt, cubic)
    return np.where(np.abs(h) > 0.0, out, 0.5 * (y_l + y_r))


def _r_min(
    d_l: FloatArray | float, d_r: FloatArray | float, s: FloatArray, prefer_shape: bool
) -> FloatArray:
    """Smallest control parameter keeping the interpolant monotone/convex (Jäckel eq. 3.8/3.18)."""
    monotonic = (d_l * s >= 0.0) & (d_r * s >= 0.0)
    convex = (d_l <= s) & (s <= d_r)
    concave = (d_l >= s) & (s >= d_r)
    shape_fallback = _R_MAX if prefer_shape else -_DBL_MAX
    r1 = np.where(
        monotonic, np.where(np.abs(s) >= _DBL_MIN, (d_r + d_l) / s, shape_fallback), -_DBL_MAX
    )
    drmdl = d_r - d_l
    drms = d_r - s
    smdl = s - d_l
    degenerate = (np.abs(smdl) < _DBL_MIN) | (np.abs(drms) < _DBL_MIN)
    r2_cc = np.where(
        degenerate, shape_fallback, np.maximum(np.abs(drmdl / drms), np.abs(drmdl / smdl))
    )
    r2 = np.where(
        convex | concave,
        r2_cc,
        np.where(monotonic & prefer_shape, _R_MAX, -_DBL_MAX),
    )
    res = np.maximum(_R_MIN, np.maximum(r1, r2))
    return np.where(monotonic | convex | concave, res, _R_MIN)


def _r_fit(
    x_l: FloatArray,
    x_r: FloatArray,
    y_l: FloatArray,
    y_r: FloatArray,
    d_l: FloatArray | float,
    d_r: FloatArray | float,
    d2: FloatArray | float,
    right_side: bool,
    prefer_shape: bool,
) -> FloatArray:
    """Convex control parameter matching the second derivative at one end."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    num = 0.5 * h * d2 + (d_r - d_l)
    den = (d_r - slope) if right_side else (slope - d_l)
    r = np.where(np.abs(den) < _DBL_MIN, np.where(num > 0.0, _R_MAX, _R_MIN), num / den)
    r = np.where(np.abs(num) < _DBL_MIN, 0.0, r)
    return np.maximum(r, _r_min(d_l, d_r, slope, prefer_shape))


# --------------------------------------------------------------------------------------------
# normalised Black function b(x, s) for x <= 0 (out-of-the-money call), s > 0


def _nb(x: FloatArray, s: FloatArray) -> FloatArray:
    """Cheap b(x, s): good to ~eps/t relative, used for the guess and the first step only."""
    h = x / s
    t = 0.5 * s
    e = np.exp(0.5 * x)
    b: FloatArray = np.maximum(ndtr(h + t) * e - ndtr(h - t) / e, 0.0)
    return b


def _small_t_coefficients(order: int = 13) -> FloatArray:
    """Coefficients of Y(h+t) - Y(h-t) = 2 sum_k t^(2k+1)/(2k+1)! Y^(2k+1)(h), Y = Phi/phi.

    Y' = 1 + hY, so every derivative is P_n(h) + Q_n(h) Y; for odd n it is rewritten as
    A_n(h^2) + B_n(h^2) a with a = 1 + hY (the form in which Jäckel's small-t expansion keeps
    its precision).  Returns C of shape (2K, K): row k holds A_(2k+1) / (2k+1)!, row K + k
    holds B_(2k+1) / (2k+1)!, column j the coefficient of h^(2j).
    """
    n_terms = (order + 1) // 2
    rows_a: list[list[float]] = []
    rows_b: list[list[float]] = []
    p: list[int] = [0]
    qq: list[int] = [1]
    for n in range(1, order + 1):
        dp = [i * c for i, c in enumerate(p)][1:] or [0]
        dq = [i * c for i, c in enumerate(qq)][1:] or [0]
        hq = [0, *qq]
        width = max(len(dp), len(qq), len(dq), len(hq))
        p = [(dp + [0] * width)[i] + (qq + [0] * width)[i] for i in range(width)]
        qq = [(dq + [0] * width)[i] + (hq + [0] * width)[i] for i in range(width)]
        if n % 2:
            b_even = qq[1::2]
            a_even = [c - (b_even + [0] * width)[i] for i, c in enumerate(p[0::2])]
            fact = math.factorial(n)
            rows_a.append([c / fact for c in a_even])
            rows_b.append([c / fact for c in b_even])
    out = np.zeros((2 * n_terms, n_terms))
    for k in range(n_terms):
        out[k, : len(rows_a[k])] = rows_a[k]
        out[n_terms + k, : len(rows_b[k])] = rows_b[k]
    return out


_SMALL_T = 2.0 * _EPS ** (1.0 / 16.0)  # below this t the 13th-order expansion is exact
_SMALL_T_COEF = _small_t_coefficients()


def _nb_accurate(x: FloatArray, s: FloatArray) -> FloatArray:
    """b(x, s) to near machine precision (Jäckel's regions, bar the asymptotic one).

    ``t < 0.21``: small-t expansion; ``h + t > -0.5``: the plain N() form (measured more
    accurate there than Jäckel's 0.85 switch with scipy's erfcx);
    otherwise the erfcx form.  The asymptotic region (h < -10) is not needed: prices that
    deep out of the money are below the NO_VEGA threshold.
    """
    h = x / s
    t = 0.5 * s
    out = np.empty_like(x)
    small = t < _SMALL_T
    plain = ~small & (h + t > -0.5)
    rest = ~(small | plain)
    i = np.flatnonzero(small)
    if i.size:
        hi, ti = h[i], t[i]
        h2 = hi * hi
        n_terms = _SMALL_T_COEF.shape[1]
        powers = np.empty((n_terms, i.size))
        powers[0] = 1.0
        for j in range(1, n_terms):
            np.multiply(powers[j - 1], h2, out=powers[j])
        # einsum, not @: a BLAS call may spin up threads on the shared cores for no gain.
        c = np.einsum("kj,jm->km", _SMALL_T_COEF, powers)
        a = 1.0 + hi * _SQRT_PI_OVER_2 * erfcx(-_INV_SQRT2 * hi)
        w = ti * ti
        acc = c[n_terms - 1] + a * c[2 * n_terms - 1]
        for k in range(n_terms - 2, -1, -1):
            acc *= w
            acc += c[k] + a * c[n_terms + k]
        out[i] = _INV_SQRT_2PI * np.exp(-0.5 * (h2 + ti * ti)) * (2.0 * ti) * acc
    i = np.flatnonzero(plain)
    if i.size:
        e = np.exp(0.5 * x[i])
        out[i] = ndtr(h[i] + t[i]) * e - ndtr(h[i] - t[i]) / e
    i = np.flatnonzero(rest)
    if i.size:
        hi, ti = h[i], t[i]
        out[i] = (
            0.5
            * np.exp(-0.5 * (hi * hi + ti * ti))
            * (erfcx(-_INV_SQRT2 * (hi + ti)) - erfcx(-_INV_SQRT2 * (hi - ti)))
        )
    return np.maximum(out, 0.0)


def _nvega(x: FloatArray, s: FloatArray) -> FloatArray:
    h = x / s
    t = 0.5 * s
    return _INV_SQRT_2PI * np.exp(-0.5 * (h * h + t * t))


def _householder(newton: FloatArray, halley: FloatArray, hh3: FloatArray) -> FloatArray:
    return newton * (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))


def _step(
    kind: int,
    x: FloatArray,
    s: FloatArray,
    beta: FloatArray,
    bmax: FloatArray,
    sl: FloatArray,
    sr: FloatArray,
    accurate: bool,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """One Householder(3) step on the branch objective; returns (ds, new s_left, new s_right).

    The error of the result is that of b(s) in the last step, so only that step needs the
    (slower) accurate Black function.
    """
    h = x / s
    t = 0.5 * s
    bp = _INV_SQRT_2PI * np.exp(-0.5 * (h * h + t * t))
    e = np.exp(0.5 * x)
    b_halley = h * h / s - 0.25 * s
    b_hh3 = b_halley * b_halley - 3.0 * (h / s) ** 2 - 0.25
    if kind == _UPPER:
        # b_max - b directly, avoiding the cancellation of b_max - b near the upper bound.
        bmmb = ndtr(-(h + t)) * e + ndtr(h - t) / e
        b = bmax - bmmb
        gp = bp / bmmb
        newton = -np.log((bmax - beta) / bmmb) / gp
        ds = _householder(newton, b_halley + gp, b_hh3 + gp * (2.0 * gp + 3.0 * b_halley))
        underflow = (bmmb <= 0.0) | (bp <= _DBL_MIN)
    else:
        b = _nb_accurate(x, s) if accurate else np.maximum(ndtr(h + t) * e - ndtr(h - t) / e, 0.0)
        if kind == _LOWEST:
            ln_b = np.log(b)
            ln_beta = np.log(beta)
            bpob = bp / b
            newton = (ln_beta - ln_b) * ln_b / ln_beta / bpob
            c = 1.0 + 2.0 / ln_b
            halley = b_halley - bpob * c
            hh3 = (
                b_hh3
                + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
                - 3.0 * b_halley * bpob * c
            )
            ds = _householder(newton, halley, hh3)
            underflow = (b <= 0.0) | (bp <= 0.0)
        else:
            ds = _householder((beta - b) / bp, b_halley, b_hh3)
            underflow = bp <= 0.0
    sr = np.where((b > beta) & (s < sr), s, sr)
    sl = np.where((b < beta) & (s > sl), s, sl)
    ds = np.where(underflow | ~np.isfinite(ds), _midpoint(sl, sr) - s, ds)
    return np.maximum(ds, -0.5 * s), sl, sr


def _midpoint(sl: FloatArray, sr: FloatArray) -> FloatArray:
    return np.where(np.isfinite(sr), 0.5 * (sl + sr), 2.0 * sl + 1.0)


def _iterate(
    kind: int,
    x: FloatArray,
    s: FloatArray,
    beta: FloatArray,
    bmax: FloatArray,
    sl: FloatArray,
    sr: FloatArray,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Two fast steps for all, then a bracketed loop for the few that need it."""
    ds = np.zeros_like(s)
    for it in range(2):
        if it:
            s = np.where((s > sl) & (s < sr), s, _midpoint(sl, sr))
        ds, sl, sr = _step(kind, x, s, beta, bmax, sl, sr, accurate=it == 1)
        s = s + ds
    done = np.abs(ds) <= _FAST_TOL * s
    if done.all():
        return s, done
    idx = np.flatnonzero(~done)
    xs, ss, bs, ms, ls, rs = x[idx], s[idx], beta[idx], bmax[idx], sl[idx], sr[idx]
    conv = np.zeros(idx.size, dtype=np.bool_)
    for _ in range(_MAX_SAFE_ITER):
        ss = np.where(conv | ((ss > ls) & (ss < rs)), ss, _midpoint(ls, rs))
        dss, ls, rs = _step(kind, xs, ss, bs, ms, ls, rs, accurate=True)
        ss = np.where(conv, ss, ss + dss)
        conv |= (np.abs(dss) <= 4.0 * _EPS * ss) | (rs - ls <= 4.0 * _EPS * ss)
        if conv.all():
            break
    s[idx] = ss
    done[idx] = conv & np.isfinite(ss)
    return s, done


# --------------------------------------------------------------------------------------------
# the four branches


def _solve(beta: FloatArray, x: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Total volatility s with b(x, s) = beta, for x <= 0 and 0 < beta < exp(x/2)."""
    n = beta.size
    s_out = np.empty(n)
    ok_out = np.zeros(n, dtype=np.bool_)
    bmax = np.exp(0.5 * x)
    s_c = np.sqrt(-2.0 * x)
    # At s_c the first Black term is exactly N(0) = 1/2 and the vega is exp(x/2)/sqrt(2 pi).
    b_c = np.maximum(0.5 * bmax - ndtr(-s_c) / bmax, 0.0)
    v_c = _INV_SQRT_2PI * bmax
    lower = beta < b_c

    idx = np.flatnonzero(lower)
    if idx.size:
        xi, bi, sci, bci, vci = x[idx], beta[idx], s_c[idx], b_c[idx], v_c[idx]
        s_l = sci - bci / vci
        b_l = _nb(xi, s_l)
        lowest = bi < b_l
        j = np.flatnonzero(lowest)
        if j.size:
            s, ok = _lowest_branch(xi[j], bi[j], s_l[j], b_l[j])
            s_out[idx[j]] = s
            ok_out[idx[j]] = ok
        j = np.flatnonzero(~lowest)
        if j.size:
            xj, bj, slj, blj, scj, bcj = xi[j], bi[j], s_l[j], b_l[j], sci[j], bci[j]
            inv_vl = 1.0 / _nvega(xj, slj)
            inv_vc = 1.0 / vci[j]
            r = _r_fit(blj, bcj, slj, scj, inv_vl, inv_vc, 0.0, True, False)
            s0 = _rc_interp(bj, blj, bcj, slj, scj, inv_vl, inv_vc, r)
            s, ok = _iterate(_MIDDLE, xj, s0, bj, bmax[idx[j]], slj, scj)
            s_out[idx[j]] = s
            ok_out[idx[j]] = ok

    idx = np.flatnonzero(~lower)
    if idx.size:
        xi, bi, sci, bci, vci, mi = x[idx], beta[idx], s_c[idx], b_c[idx], v_c[idx], bmax[idx]
        s_h = np.where(vci > _DBL_MIN, sci + (mi - bci) / vci, sci)
        b_h = _nb(xi, s_h)
        middle = bi <= b_h
        j = np.flatnonzero(middle)
        if j.size:
            xj, bj, shj, bhj, scj, bcj = xi[j], bi[j], s_h[j], b_h[j], sci[j], bci[j]
            inv_vh = 1.0 / _nvega(xj, shj)
            inv_vc = 1.0 / vci[j]
            r = _r_fit(bcj, bhj, scj, shj, inv_vc, inv_vh, 0.0, False, False)
            s0 = _rc_interp(bj, bcj, bhj, scj, shj, inv_vc, inv_vh, r)
            s, ok = _iterate(_MIDDLE, xj, s0, bj, mi[j], scj, shj)
            s_out[idx[j]] = s
            ok_out[idx[j]] = ok
        j = np.flatnonzero(~middle)
        if j.size:
            s, ok = _upper_branch(xi[j], bi[j], s_h[j], b_h[j], mi[j])
            s_out[idx[j]] = s
            ok_out[idx[j]] = ok
    return s_out, ok_out


def _lowest_branch(
    x: FloatArray, beta: FloatArray, s_l: FloatArray, b_l: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    # f_lower(beta) = (2 pi / sqrt 27) |x| N(-z)^3 with z = |x| / (sqrt(3) s) is nearly linear
    # in beta for small prices, so interpolating it is far better than interpolating s.
    ax = np.abs(x)
    z = ax / (_SQRT3 * s_l)
    y = z * z
    s2 = s_l * s_l
    ratio = _SQRT_PI_OVER_2 * erfcx(z * _INV_SQRT2)  # N(-z) / phi(z), finite for large z
    phi = _INV_SQRT_2PI * np.exp(-0.5 * y)
    big_phi = ratio * phi
    fpp = (
        (math.pi / 6.0)
        * y
        / (s2 * s_l)
        * ratio
        * _INV_SQRT_2PI
        * (8.0 * _SQRT3 * s_l * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * ratio)
        * np.exp(1.5 * y + 0.25 * s2)
    )
    fp = y * ratio * ratio * np.exp(0.125 * s2)
    f_l = _TWO_PI_OVER_SQRT27 * ax * big_phi**3
    zero = np.zeros_like(x)
    r = _r_fit(zero, b_l, zero, f_l, 1.0, fp, fpp, True, True)
    f = _rc_interp(beta, zero, b_l, zero, f_l, 1.0, fp, r)
    t = beta / b_l
    f = np.where((f > 0.0) & np.isfinite(f), f, (f_l * t + b_l * (1.0 - t)) * t)
    s0 = np.abs(x / (_SQRT3 * ndtri(np.cbrt(f / (_TWO_PI_OVER_SQRT27 * ax)))))
    s0 = np.where((s0 > 0.0) & (s0 < s_l), s0, 0.5 * s_l)
    return _iterate(_LOWEST, x, s0, beta, np.exp(0.5 * x), np.full_like(x, _DBL_MIN), s_l)


def _upper_branch(
    x: FloatArray, beta: FloatArray, s_h: FloatArray, b_h: FloatArray, bmax: FloatArray
) -> tuple[FloatArray, NDArray[np.bool_]]:
    # f_upper(beta) = N(-s/2) runs from f(b_h) to 0 at b_max with slope -1/2 there.
    f_h = ndtr(-0.5 * s_h)
    w = (x / s_h) ** 2
    fp = -0.5 * np.exp(0.5 * w)
    fpp = _SQRT_PI_OVER_2 * np.exp(w + 0.125 * s_h * s_h) * w / s_h
    zero = np.zeros_like(x)
    r = _r_fit(b_h, bmax, f_h, zero, fp, -0.5, fpp, False, True)
    f = _rc_interp(beta, b_h, bmax, f_h, zero, fp, -0.5, r)
    hh = bmax - b_h
    t = (beta - b_h) / hh
    f = np.where((f > 0.0) & np.isfinite(f), f, (f_h * (1.0 - t) + 0.5 * hh * t) * (1.0 - t))
    s0 = -2.0 * ndtri(f)
    s0 = np.where(np.isfinite(s0) & (s0 > s_h), s0, 2.0 * s_h)
    sr = np.full_like(x, np.inf)
    # Jäckel: the log objective only pays off when the price is close to its maximum.
    near_max = beta > 0.5 * bmax
    s = np.empty_like(x)
    ok = np.empty(x.size, dtype=np.bool_)
    for kind, mask in ((_UPPER, near_max), (_MIDDLE, ~near_max)):
        j = np.flatnonzero(mask)
        if j.size:
            s[j], ok[j] = _iterate(kind, x[j], s0[j], beta[j], bmax[j], s_h[j], sr[j])
    return s, ok


# --------------------------------------------------------------------------------------------
# public API


def _block(
    price: FloatArray,
    S: FloatArray,
    K: FloatArray,
    T: FloatArray,
    r: FloatArray,
    q: FloatArray,
    call: NDArray[np.bool_],
    vol: FloatArray,
    status: NDArray[np.int8],
) -> None:
    finite = (
        np.isfinite(price)
        & np.isfinite(S)
        & np.isfinite(K)
        & np.isfinite(T)
        & np.isfinite(r)
        & np.isfinite(q)
    )
    bad = ~(finite & (S > 0.0) & (K > 0.0) & (T > 0.0))
    drift = (r - q) * T
    F = S * np.exp(drift)
    p = price / np.exp(-r * T)  # undiscounted price
    intrinsic = np.maximum(np.where(call, F - K, K - F), 0.0)
    tv = p - intrinsic
    tol = _INTRINSIC_ULPS * _EPS * np.maximum(F, K)
    x = -np.abs(np.log(S / K) + drift)
    beta = tv / (np.sqrt(F) * np.sqrt(K))
    below = tv < -tol
    flat = np.abs(tv) <= tol
    above = beta >= np.exp(0.5 * x)
    code = np.full(price.shape, IVStatus.OK, dtype=np.int8)
    code[above] = IVStatus.ABOVE_UPPER_BOUND
    code[flat] = IVStatus.NO_VEGA
    code[below] = IVStatus.BELOW_INTRINSIC
    code[bad] = IVStatus.BAD_INPUT
    vol[:] = np.nan
    idx = np.flatnonzero(code == IVStatus.OK)
    if idx.size:
        s, ok = _solve(beta[idx], x[idx])
        sig = s / np.sqrt(T[idx])
        ok &= np.isfinite(sig) & (sig >= 0.0)
        vol[idx] = np.where(ok, sig, np.nan)
        code[idx] = np.where(ok, IVStatus.OK, IVStatus.NOT_CONVERGED)
    status[:] = code


def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> IVResult:
    """Black-Scholes-Merton implied volatility of European option prices.

    Args:
        price: option price, currency.  S: spot.  K: strike.  T: years to expiry.
        r: risk-free rate, continuous, per year.  q: dividend yield, continuous, per year.
        is_call: True for calls, False for puts.  All broadcast against each other.

    Returns:
        :class:`IVResult`: ``vol`` annualised (NaN on failure) and ``status`` (int8
        :class:`IVStatus`).  Prices outside the no-arbitrage bounds never get a volatility:
        below intrinsic -> ``BELOW_INTRINSIC``, at or above ``S e^{-qT}`` (call) /
        ``K e^{-rT}`` (put) -> ``ABOVE_UPPER_BOUND``, time value within rounding of zero ->
        ``NO_VEGA``.

    Algorithm: Jäckel's "Let's Be Rational" (rational-cubic initial guess on four branches,
    two Householder(3) steps), see the module docstring; accurate to ~1e-13 or better in vol
    where vega is meaningful.
    """
    shape, ops = broadcast_inputs(price, S, K, T, r, q, flag=is_call)
    n = math.prod(shape)
    arrs = [np.broadcast_to(np.asarray(o, dtype=np.float64), (n,)) for o in ops]
    flags = np.broadcast_to(np.asarray(broadcast_flags(is_call, shape)), (n,))
    vol = np.empty(n)
    status = np.empty(n, dtype=np.int8)
    with np.errstate(all="ignore"):
        for sl in blocks(n, BLOCK):
            _block(
                arrs[0][sl],
                arrs[1][sl],
                arrs[2][sl],
                arrs[3][sl],
                arrs[4][sl],
                arrs[5][sl],
                flags[sl],
                vol[sl],
                status[sl],
            )
    return IVResult(vol.reshape(shape), status.reshape(shape))


def implied_vol_scalar(
    price: float, S: float, K: float, T: float, r: float, q: float, is_call: bool
) -> float | None:
    """Implied volatility of one option, or None when there is none (see :func:`implied_vol`)."""
    res = implied_vol(price, S, K, T, r, q, is_call)
    if int(res.status) != IVStatus.OK:
        return None
    return float(res.vol)
