"""Value at Risk and Expected Shortfall (CVaR) of a return series.

Conventions (``shared/reference/README.md`` and spec §1):

* VaR and CVaR are POSITIVE loss numbers in the units of the returns (a fraction of position
  value for simple returns), 1-day; multi-day figures scale by sqrt(h).
* The tail probability p = 1 - confidence is computed exactly in decimal (``tail_probability``):
  ``1 - 0.95`` in binary floating point is 0.050000000000000044, which moves numpy's
  ``inverted_cdf``-type quantiles to the next order statistic.
* Fewer than 30 observations raise `InsufficientData` (spec proposed fix: refuse, do not pad).

Methods: historical (13 numpy quantile rules, optional exponential weighting), parametric normal,
Student-t (MLE location-scale fit, or the moment-scaled form of spec fix (a)), Cornish-Fisher,
extreme value theory (peaks over threshold, generalised Pareto, spec fix (c)) and a univariate
Monte Carlo.  Pure functions over NumPy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]

__all__ = [
    "METHODS",
    "MIN_OBSERVATIONS",
    "QUANTILE_METHODS",
    "GPDFit",
    "InsufficientData",
    "StudentTFit",
    "VaRResult",
    "as_returns",
    "cornish_fisher_var_cvar",
    "cornish_fisher_z",
    "evt_var_cvar",
    "expected_shortfall",
    "fit_gpd",
    "fit_student_t",
    "historical_var_cvar",
    "monte_carlo_returns_var_cvar",
    "normal_var_cvar",
    "normal_var_cvar_from_moments",
    "student_t_var_cvar",
    "t_location_scale_var_cvar",
    "tail_probability",
    "value_at_risk",
    "var_cvar",
]

MIN_OBSERVATIONS = 30

QuantileMethod = Literal[
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
]
QUANTILE_METHODS: tuple[str, ...] = get_args(QuantileMethod)
CvarRule = Literal["le_var", "worst_k"]
Details = Mapping[str, float | int | str | bool | None]


class InsufficientData(ValueError):
    """Too few observations for a risk estimate; the engine blocks new risk on it."""


@dataclass(frozen=True, slots=True)
class VaRResult:
    """One VaR/CVaR estimate.  `var`/`cvar` are positive losses for `horizon_days`."""

    method: str
    confidence: float
    var: float
    cvar: float
    horizon_days: int = 1
    n_obs: int = 0
    details: Details = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# inputs


def tail_probability(confidence: float) -> float:
    """p = 1 - confidence, exact in decimal (0.95 -> 0.05, not 0.050000000000000044)."""
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence={confidence!r} must be a number in (0, 1)") from None
    if not (0.0 < c < 1.0) or not math.isfinite(c):
        raise ValueError(f"confidence={confidence!r} must be strictly between 0 and 1 (e.g. 0.99)")
    try:
        return float(Decimal(1) - Decimal(repr(c)))
    except InvalidOperation:  # pragma: no cover - repr of a finite float always parses
        return 1.0 - c


def as_returns(
    returns: ArrayLike, *, min_obs: int = MIN_OBSERVATIONS, name: str = "returns"
) -> FloatArray:
    """Validate a 1-d series of finite returns with at least `min_obs` points."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {r.shape}")
    if r.size < min_obs:
        raise InsufficientData(
            f"{name}: {r.size} observations, at least {min_obs} are required for a risk estimate"
        )
    bad = ~np.isfinite(r)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}]={r[i]!r}: returns must be finite (no NaN/inf)")
    return r


def _check_horizon(horizon_days: int) -> int:
    if isinstance(horizon_days, bool) or int(horizon_days) != horizon_days or horizon_days < 1:
        raise ValueError(f"horizon_days={horizon_days!r} must be a whole number of days >= 1")
    return int(horizon_days)


# --------------------------------------------------------------------------------------------
# historical simulation


def _weighted_var_cvar(r: FloatArray, p: float, decay: float) -> tuple[float, float]:
    """Exponentially weighted (BRW) quantile and tail mean; decay 1.0 = equal weights.

    Weights lambda^(age) normalised; the VaR is the first sorted return whose cumulative weight
    reaches p, the CVaR the weight-averaged loss of the lowest p of probability mass (the last
    return counted fractionally), so decay=1 gives the inverted-cdf VaR and the mean of the
    n*p worst returns.
    """
    if not (0.0 < decay <= 1.0):
        raise ValueError(f"decay={decay!r} must be in (0, 1] (e.g. 0.97)")
    n = r.size
    w = decay ** np.arange(n - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    order = np.argsort(r, kind="stable")
    rs, ws = r[order], w[order]
    cw = np.cumsum(ws)
    k = int(np.searchsorted(cw, p * (1.0 - 1e-12), side="left"))
    k = min(k, n - 1)
    var = -float(rs[k])
    before = float(cw[k - 1]) if k > 0 else 0.0
    tail = float(np.dot(ws[:k], rs[:k])) + (p - before) * float(rs[k])
    return var, -tail / p


def historical_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    quantile_method: QuantileMethod = "linear",
    cvar_rule: CvarRule = "le_var",
    decay: float | None = None,
) -> tuple[float, float]:
    """Historical VaR = -quantile_p(r) by a numpy method; CVaR by `cvar_rule`.

    ``le_var`` (upstream): -mean of returns <= -VaR.  ``worst_k``: -mean of the n*p worst
    returns, the boundary one weighted fractionally when n*p is not whole.  With `decay`
    (e.g. 0.97) the returns are exponentially weighted by age (most recent last) and both
    figures come from the weighted distribution (quantile_method/cvar_rule do not apply).
    """
    r = as_returns(returns)
    p = tail_probability(confidence)
    if decay is not None:
        return _weighted_var_cvar(r, p, float(decay))
    if quantile_method not in QUANTILE_METHODS:
        raise ValueError(
            f"quantile_method={quantile_method!r} is not one of {', '.join(QUANTILE_METHODS)}"
        )
    q = float(np.quantile(r, p, method=quantile_method))
    if cvar_rule == "le_var":
        tail = r[r <= q]
        # A quantile below the sample minimum (e.g. 'weibull' at tiny p) leaves no tail.
        cvar = -float(tail.mean()) if tail.size else -q
    elif cvar_rule == "worst_k":
        cvar = _weighted_var_cvar(r, p, 1.0)[1]
    else:
        raise ValueError(f"cvar_rule={cvar_rule!r} must be 'le_var' or 'worst_k'")
    return 0.0 - q, cvar  # 0.0 - q: a zero quantile reports 0.0, not -0.0


# --------------------------------------------------------------------------------------------
# parametric normal


def normal_var_cvar_from_moments(mean: float, sd: float, confidence: float) -> tuple[float, float]:
    """VaR = -(mu + z sd), z = Phi^-1(p) < 0; ES = -mu + sd phi(z)/p (spec fix (b))."""
    if not (math.isfinite(sd) and sd >= 0):
        raise ValueError(f"sd={sd!r} must be finite and >= 0")
    p = tail_probability(confidence)
    z = float(special.ndtri(p))
    phi = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return -(mean + z * sd), -mean + sd * phi / p


def normal_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    zero_mean: bool = False,
    ddof: int = 1,
    sigma: float | None = None,
) -> tuple[float, float]:
    """Normal VaR/ES from the sample mean and sd (ddof 1), or a given 1-day `sigma`."""
    r = as_returns(returns)
    if ddof not in (0, 1):
        raise ValueError(f"ddof={ddof!r} must be 0 or 1")
    mu = 0.0 if zero_mean else float(r.mean())
    sd = float(r.std(ddof=ddof)) if sigma is None else float(sigma)
    return normal_var_cvar_from_moments(mu, sd, confidence)


# --------------------------------------------------------------------------------------------
# Student-t


@dataclass(frozen=True, slots=True)
class StudentTFit:
    """MLE of a location-scale Student-t: density t_df((x-loc)/scale)/scale."""

    df: float
    loc: float
    scale: float
    loglik: float
    n: int
    converged: bool


_LOG_DF_BOUNDS = (math.log(0.05), math.log(1e6))


def _t_negll_grad(
    theta: FloatArray, x: FloatArray, fixed_df: float | None
) -> tuple[float, FloatArray]:
    """Negative log-likelihood and gradient in (log df, loc, log scale) of standardised x."""
    if fixed_df is None:
        lnu, mu, lsig = float(theta[0]), float(theta[1]), float(theta[2])
        nu = math.exp(lnu)
    else:
        nu, mu, lsig = fixed_df, float(theta[0]), float(theta[1])
    s = math.exp(lsig)
    z = (x - mu) / s
    z2 = z * z
    q = nu + z2
    lq = np.log1p(z2 / nu)
    n = x.size
    ll = n * (
        special.gammaln(0.5 * (nu + 1.0)) - special.gammaln(0.5 * nu) - 0.5 * math.log(nu * math.pi)
    )
    ll -= n * lsig + 0.5 * (nu + 1.0) * float(lq.sum())
    w = (nu + 1.0) / q
    g_mu = float((w * z).sum()) / s
    g_lsig = float((w * z2).sum()) - n
    if fixed_df is not None:
        return -ll, -np.array([g_mu, g_lsig])
    g_nu = 0.5 * n * (special.digamma(0.5 * (nu + 1.0)) - special.digamma(0.5 * nu) - 1.0 / nu)
    g_nu += float((-0.5 * lq + 0.5 * (nu + 1.0) * z2 / (nu * q)).sum())
    return -ll, -np.array([g_nu * nu, g_mu, g_lsig])


def _newton_minimize(
    fg: Callable[[FloatArray], tuple[float, FloatArray]],
    x0: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    max_iter: int = 100,
) -> tuple[FloatArray, float, FloatArray, bool]:
    """Damped Newton with a finite-difference Hessian of the analytic gradient and box bounds.

    For the few-parameter likelihoods here it converges in ~10 steps and, unlike scipy's
    L-BFGS-B/SLSQP, calls no BLAS: on a busy machine their tiny multithreaded BLAS calls cost
    milliseconds each.  Returns (x, f, gradient, converged).
    """
    x = np.clip(np.asarray(x0, dtype=np.float64), lower, upper)
    f, g = fg(x)
    k = x.size
    eye = np.eye(k)
    converged = False
    for _ in range(max_iter):
        free = ~(((x <= lower) & (g > 0)) | ((x >= upper) & (g < 0)))
        if float(np.max(np.abs(g[free]), initial=0.0)) < 1e-9:
            converged = True
            break
        H = np.empty((k, k))
        for i in range(k):
            h = 1e-5 * max(1.0, abs(float(x[i])))
            H[:, i] = (fg(x + h * eye[i])[1] - fg(x - h * eye[i])[1]) / (2.0 * h)
        H = 0.5 * (H + H.T)
        idx = np.flatnonzero(free)
        Hf = H[np.ix_(idx, idx)]
        lam = 0.0
        step = np.zeros(k)
        for _ in range(30):
            try:
                np.linalg.cholesky(Hf + lam * np.eye(idx.size))
                step[idx] = np.linalg.solve(Hf + lam * np.eye(idx.size), -g[idx])
                break
            except np.linalg.LinAlgError:
                lam = max(2.0 * lam, 1e-6 * (1.0 + float(np.max(np.abs(np.diag(Hf))))))
        t = 1.0
        slope = float(np.dot(g, step))
        while True:
            xn = np.clip(x + t * step, lower, upper)
            fn, gn = fg(xn)
            if math.isfinite(fn) and fn <= f + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:
                return x, f, g, float(np.max(np.abs(g[free]), initial=0.0)) < 1e-6
        small = abs(f - fn) <= 1e-15 * (1.0 + abs(f))
        x, f, g = xn, fn, gn
        if small:
            converged = float(np.max(np.abs(g[free]), initial=0.0)) < 1e-6
            break
    return x, f, g, converged


def fit_student_t(returns: ArrayLike, *, df: float | None = None) -> StudentTFit:
    """Maximum-likelihood location-scale Student-t (df fitted unless given).

    The data are standardised first (median, sd); damped Newton on (log df, loc, log scale)
    with the analytic gradient, from a few starting dfs, keeping the best.  On the reference
    windows this reaches the Nelder-Mead + BFGS polished log-likelihood to ~1e-12.
    """
    r = as_returns(returns)
    if df is not None and not (math.isfinite(df) and df > 0):
        raise ValueError(f"df={df!r} must be finite and > 0")
    c = float(np.median(r))
    sc = float(r.std())
    if sc == 0.0:
        raise ValueError("returns are constant: a Student-t scale cannot be fitted")
    x = (r - c) / sc
    inf = np.inf
    best: tuple[FloatArray, float, FloatArray, bool] | None = None
    if df is None:
        k = float(((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3.0)
        starts = sorted({4.0 + 6.0 / k if k > 0.1 else 30.0, 3.0, 8.0})
        lower = np.array([_LOG_DF_BOUNDS[0], -inf, -inf])
        upper = np.array([_LOG_DF_BOUNDS[1], inf, inf])

        def fg(th: FloatArray) -> tuple[float, FloatArray]:
            return _t_negll_grad(th, x, None)

        for nu0 in starts:
            s0 = math.sqrt(max((nu0 - 2.0) / nu0, 0.2))
            res = _newton_minimize(fg, np.array([math.log(nu0), 0.0, math.log(s0)]), lower, upper)
            if best is None or res[1] < best[1]:
                best = res
    else:
        nu_fixed = float(df)

        def fg(th: FloatArray) -> tuple[float, FloatArray]:
            return _t_negll_grad(th, x, nu_fixed)

        s0 = math.sqrt(max((nu_fixed - 2.0) / nu_fixed, 0.2)) if nu_fixed > 2 else 0.5
        best = _newton_minimize(
            fg, np.array([0.0, math.log(s0)]), np.array([-inf, -inf]), np.array([inf, inf])
        )
    assert best is not None
    th, fval, _, ok = best
    if df is None:
        nu, mu, lsig = math.exp(th[0]), th[1], th[2]
    else:
        nu, mu, lsig = float(df), th[0], th[1]
    return StudentTFit(
        df=float(nu),
        loc=c + sc * float(mu),
        scale=sc * math.exp(float(lsig)),
        loglik=float(-fval - r.size * math.log(sc)),
        n=int(r.size),
        converged=ok,
    )


def _std_t_es_factor(df: float, p: float) -> tuple[float, float]:
    """(x, ES multiplier) of the standard t: x = t_df^-1(p); E[T | T <= x] = -m."""
    x = float(special.stdtrit(df, p))
    if df <= 1.0:
        return x, math.inf
    logpdf = (
        special.gammaln(0.5 * (df + 1.0))
        - special.gammaln(0.5 * df)
        - 0.5 * math.log(df * math.pi)
        - 0.5 * (df + 1.0) * math.log1p(x * x / df)
    )
    return x, (df + x * x) / (df - 1.0) * math.exp(logpdf) / p


def t_location_scale_var_cvar(
    df: float, loc: float, scale: float, confidence: float
) -> tuple[float, float]:
    """VaR = -(loc + scale x), ES = -(loc - scale (df+x^2)/(df-1) f(x)/p), x = t_df^-1(p).

    ES is +inf when df <= 1 (the mean does not exist).
    """
    p = tail_probability(confidence)
    x, m = _std_t_es_factor(df, p)
    return -(loc + scale * x), -loc + scale * m


def student_t_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    df: float | None = None,
    scaling: Literal["mle", "moments"] = "mle",
    sigma: float | None = None,
) -> tuple[float, float, dict[str, float | bool]]:
    """Student-t VaR/ES.

    ``scaling='mle'`` (default): location-scale MLE fit (df fitted unless given).
    ``scaling='moments'``: spec fix (a), -(mean + sd sqrt((df-2)/df) t_df^-1(p)) with the sample
    mean and sd (ddof 1, or a given `sigma`); df is the MLE df unless given (spec upstream: 5).
    """
    r = as_returns(returns)
    if scaling == "mle":
        if sigma is not None:
            raise ValueError("sigma applies to scaling='moments' only (the MLE fits its own scale)")
        fit = fit_student_t(r, df=df)
        var, cvar = t_location_scale_var_cvar(fit.df, fit.loc, fit.scale, confidence)
        return (
            var,
            cvar,
            {
                "df": fit.df,
                "loc": fit.loc,
                "scale": fit.scale,
                "loglik": fit.loglik,
                "converged": fit.converged,
            },
        )
    if scaling != "moments":
        raise ValueError(f"scaling={scaling!r} must be 'mle' or 'moments'")
    nu = fit_student_t(r).df if df is None else float(df)
    if not nu > 2.0:
        raise ValueError(f"df={nu:.4g}: the moment-scaled Student-t needs df > 2 (finite variance)")
    mu = float(r.mean())
    sd = float(r.std(ddof=1)) if sigma is None else float(sigma)
    k = math.sqrt((nu - 2.0) / nu)
    v, c = t_location_scale_var_cvar(nu, mu, sd * k, confidence)
    return v, c, {"df": nu, "scaled_quantile": -(v + mu) / sd if sd > 0 else math.nan}


# --------------------------------------------------------------------------------------------
# Cornish-Fisher


def cornish_fisher_z(z: float, skew: float, excess_kurtosis: float) -> float:
    """z_cf = z + (z^2-1)S/6 + (z^3-3z)K/24 - (2z^3-5z)S^2/36 (K excess kurtosis)."""
    s, k = skew, excess_kurtosis
    return (
        z
        + (z * z - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s * s / 36.0
    )


def _cf_tail_mean(p: float, skew: float, exkurt: float) -> float:
    """(1/p) * integral over u in (0, p) of z_cf(Phi^-1(u)): the mean standardised tail.

    z_cf is a cubic c0 + c1 z + c2 z^2 + c3 z^3; the truncated normal moments
    M_k = int_{-inf}^{a} z^k phi = -a^(k-1) phi(a) + (k-1) M_(k-2) integrate it exactly.
    """
    s, k = skew, exkurt
    a = float(special.ndtri(p))
    phi = math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
    m0, m1 = p, -phi
    m2 = -a * phi + m0
    m3 = -a * a * phi + 2.0 * m1
    c0 = -s / 6.0
    c1 = 1.0 - k / 8.0 + 5.0 * s * s / 36.0
    c2 = s / 6.0
    c3 = k / 24.0 - s * s / 18.0
    return (c0 * m0 + c1 * m1 + c2 * m2 + c3 * m3) / p


def cornish_fisher_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    moments: Literal["biased", "unbiased"] = "biased",
    zero_mean: bool = False,
    sigma: float | None = None,
) -> tuple[float, float, dict[str, float]]:
    """Cornish-Fisher VaR = -(mean + sd z_cf) with skewness/excess kurtosis of the sample.

    ``moments='biased'`` uses g1/g2 (scipy bias=True, the reference's primary value),
    ``'unbiased'`` G1/G2.  CVaR is the exact tail mean of the Cornish-Fisher quantile function
    (see `_cf_tail_mean`); like the VaR it is unreliable when the excess kurtosis is large.
    """
    r = as_returns(returns)
    n = r.size
    mu = float(r.mean())
    d = r - mu
    m2 = float((d * d).mean())
    if m2 == 0.0:
        raise ValueError("returns are constant: skewness/kurtosis are undefined")
    g1 = float((d**3).mean()) / m2**1.5
    g2 = float((d**4).mean()) / (m2 * m2) - 3.0
    if moments == "unbiased":
        g1 = g1 * math.sqrt(n * (n - 1.0)) / (n - 2.0)
        g2 = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
    elif moments != "biased":
        raise ValueError(f"moments={moments!r} must be 'biased' or 'unbiased'")
    sd = float(r.std(ddof=1)) if sigma is None else float(sigma)
    loc = 0.0 if zero_mean else mu
    p = tail_probability(confidence)
    z = float(special.ndtri(p))
    zcf = cornish_fisher_z(z, g1, g2)
    es = -(loc + sd * _cf_tail_mean(p, g1, g2))
    return -(loc + sd * zcf), es, {"z_cf": zcf, "skew": g1, "excess_kurtosis": g2}


# --------------------------------------------------------------------------------------------
# extreme value theory


@dataclass(frozen=True, slots=True)
class GPDFit:
    """Generalised Pareto fit (loc 0) to threshold excesses: shape xi, scale beta."""

    xi: float
    beta: float
    loglik: float
    n: int


def _gpd_profile(theta: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Profile log-likelihood over theta = xi/beta (Grimshaw): returns (loglik, xi)."""
    n = y.size
    t = np.asarray(theta, dtype=np.float64)[..., None]
    with np.errstate(all="ignore"):
        xi = np.log1p(t * y).mean(axis=-1)
        tt = t[..., 0]
        ll = -n * np.log(xi / tt) - n * (1.0 + xi)
        expo = -n * math.log(float(y.mean())) - n
        ll = np.where(tt == 0.0, expo, ll)
        xi = np.where(tt == 0.0, 0.0, xi)
        ll = np.where(np.isfinite(ll) & (xi > -1.0), ll, -np.inf)
    return ll, xi


def fit_gpd(excesses: ArrayLike) -> GPDFit:
    """MLE of the generalised Pareto (loc 0) by profiling out beta (Grimshaw 1993).

    A grid over theta = xi/beta followed by a bounded Brent refinement; xi is kept above -1
    (where the likelihood is unbounded).
    """
    y = np.asarray(excesses, dtype=np.float64)
    if y.ndim != 1 or y.size < 2 or not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ValueError("excesses must be a 1-d array of at least 2 finite positive values")
    ymax = float(y.max())
    lo = -1.0 / ymax * (1.0 - 1e-9)
    grid = np.concatenate(
        [
            lo * np.linspace(1.0, 0.0, 200, endpoint=False),
            [0.0],
            np.geomspace(1e-6, 1e4, 400) / ymax,
        ]
    )
    ll, _ = _gpd_profile(grid, y)
    i = int(np.argmax(ll))
    a = grid[max(i - 1, 0)]
    b = grid[min(i + 1, grid.size - 1)]

    def neg(t: float) -> float:
        v = float(_gpd_profile(np.array([t]), y)[0][0])
        return -v if math.isfinite(v) else math.inf

    t_best, ll_best = float(grid[i]), float(ll[i])
    if b > a:
        res = optimize.minimize_scalar(
            neg, bounds=(a, b), method="bounded", options={"xatol": 1e-14 / ymax}
        )
        if res.success and -res.fun > ll_best:
            t_best, ll_best = float(res.x), -float(res.fun)
    xi = float(_gpd_profile(np.array([t_best]), y)[1][0])
    beta = float(y.mean()) if t_best == 0.0 else xi / t_best
    return GPDFit(xi=xi, beta=beta, loglik=ll_best, n=int(y.size))


def evt_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    threshold_quantile: float = 0.90,
    min_losses: int = 10,
    min_excesses: int = 5,
) -> tuple[float, float, dict[str, float | int | str | bool]]:
    """Peaks-over-threshold VaR/ES (spec §1, fix (c)).

    Losses are the magnitudes of the negative returns; u = their `threshold_quantile`
    (90 %) quantile; the excesses over u get a GPD fit; with n all returns and N_u excesses,
    VaR = u + (beta/xi)[((n/N_u)(1-alpha))^(-xi) - 1] and ES = (VaR + beta - xi u)/(1 - xi).
    Falls back to historical simulation (flag ``fallback``) with fewer than `min_losses`
    losses or `min_excesses` excesses (upstream rule), or when 1-alpha is not beyond the
    threshold's exceedance rate (the GPD describes only the tail above u).  ES is +inf when
    xi >= 1.
    """
    r = as_returns(returns)
    if not (0.0 < threshold_quantile < 1.0):
        raise ValueError(f"threshold_quantile={threshold_quantile!r} must be in (0, 1)")
    p = tail_probability(confidence)
    losses = -r[r < 0.0]
    reason = ""
    if losses.size < min_losses:
        reason = f"{losses.size} losses < {min_losses}"
    else:
        u = float(np.quantile(losses, threshold_quantile))
        exc = losses[losses > u] - u
        if exc.size < min_excesses:
            reason = f"{exc.size} excesses < {min_excesses}"
        elif p >= exc.size / r.size:
            reason = f"tail probability {p:g} not beyond the threshold rate {exc.size / r.size:.4g}"
    if reason:
        v, c = historical_var_cvar(r, confidence)
        return v, c, {"fallback": True, "reason": reason}
    fit = fit_gpd(exc)
    ratio = r.size / exc.size * p
    if abs(fit.xi) < 1e-9:
        var = u - fit.beta * math.log(ratio)
    else:
        var = u + fit.beta / fit.xi * (ratio ** (-fit.xi) - 1.0)
    cvar = (var + fit.beta - fit.xi * u) / (1.0 - fit.xi) if fit.xi < 1.0 else math.inf
    return (
        var,
        cvar,
        {
            "fallback": False,
            "threshold": u,
            "xi": fit.xi,
            "beta": fit.beta,
            "n_excesses": int(exc.size),
            "loglik": fit.loglik,
        },
    )


# --------------------------------------------------------------------------------------------
# univariate Monte Carlo


def monte_carlo_returns_var_cvar(
    returns: ArrayLike,
    confidence: float,
    *,
    n_paths: int = 100_000,
    df: float | None = 5.0,
    seed: int = 42,
    sigma: float | None = None,
) -> tuple[float, float, dict[str, float | int]]:
    """Simulated VaR/ES of one series: mean + sd * (variance-1 Student-t_df, or normal if df
    is None) draws, `n_paths` of them, seeded; VaR by the linear quantile, ES the mean beyond.

    Portfolios of options use `engine.risk.montecarlo.monte_carlo_var` (t copula, re-pricing).
    """
    r = as_returns(returns)
    if n_paths < 1000:
        raise ValueError(f"n_paths={n_paths!r} must be >= 1000")
    mu = float(r.mean())
    sd = float(r.std(ddof=1)) if sigma is None else float(sigma)
    rng = np.random.default_rng(seed)
    if df is None:
        x = rng.standard_normal(n_paths)
    else:
        if not df > 2.0:
            raise ValueError(f"df={df!r} must be > 2 for a finite-variance t")
        x = rng.standard_t(df, n_paths) * math.sqrt((df - 2.0) / df)
    sim = mu + sd * x
    p = tail_probability(confidence)
    q = float(np.quantile(sim, p))
    return -q, -float(sim[sim <= q].mean()), {"n_paths": n_paths, "seed": seed}


# --------------------------------------------------------------------------------------------
# one entry point

METHODS: tuple[str, ...] = (
    "historical",
    "normal",
    "student_t",
    "cornish_fisher",
    "evt",
    "monte_carlo",
)
_SIGMA_METHODS = frozenset({"normal", "cornish_fisher", "student_t", "monte_carlo"})


def _resolve_sigma(r: FloatArray, vol: str | float) -> float:
    if isinstance(vol, str):
        from engine.risk.volatility import vol_forecast

        if vol not in ("sample", "ewma", "garch"):
            raise ValueError(f"vol={vol!r} must be 'sample', 'ewma', 'garch' or a daily sd")
        return vol_forecast(r, vol)  # type: ignore[arg-type]
    s = float(vol)
    if not (math.isfinite(s) and s >= 0):
        raise ValueError(f"vol={vol!r} must be a finite daily standard deviation >= 0")
    return s


def var_cvar(
    returns: ArrayLike,
    confidence: float = 0.99,
    method: str = "historical",
    horizon_days: int = 1,
    *,
    vol: str | float | None = None,
    **kw: object,
) -> VaRResult:
    """VaR and CVaR of `returns` by `method`, scaled by sqrt(horizon_days).

    Methods and their keyword options:

    * ``historical``: quantile_method (13 numpy methods, 'linear'), cvar_rule ('le_var' |
      'worst_k'), decay (exponential weighting, e.g. 0.97).
    * ``normal``: zero_mean, ddof (0 | 1).
    * ``student_t``: df (None = fitted), scaling ('mle' | 'moments': spec fix (a)).
    * ``cornish_fisher``: moments ('biased' | 'unbiased'), zero_mean.
    * ``evt``: threshold_quantile (0.90), min_losses, min_excesses.
    * ``monte_carlo``: n_paths (100,000), df (5; None = normal), seed (42).

    `vol` replaces the sample sd of the parametric methods by a forecast ('ewma', 'garch',
    'sample') or a given daily sd.
    """
    r = as_returns(returns)
    h = _check_horizon(horizon_days)
    details: dict[str, float | int | str | bool | None] = {}
    d: Mapping[str, float | int | str | bool | None]
    sigma: float | None = None
    if vol is not None:
        if method not in _SIGMA_METHODS:
            raise ValueError(f"vol applies to {', '.join(sorted(_SIGMA_METHODS))}, not {method!r}")
        sigma = _resolve_sigma(r, vol)
        details["sigma"] = sigma
        details["vol"] = vol if isinstance(vol, str) else "given"
    if method == "historical":
        v, c = historical_var_cvar(r, confidence, **kw)  # type: ignore[arg-type]
    elif method == "normal":
        v, c = normal_var_cvar(r, confidence, sigma=sigma, **kw)  # type: ignore[arg-type]
    elif method == "student_t":
        if sigma is not None:
            kw.setdefault("scaling", "moments")
        v, c, d = student_t_var_cvar(r, confidence, sigma=sigma, **kw)  # type: ignore[arg-type]
        details.update(d)
    elif method == "cornish_fisher":
        v, c, d = cornish_fisher_var_cvar(r, confidence, sigma=sigma, **kw)  # type: ignore[arg-type]
        details.update(d)
    elif method == "evt":
        v, c, d = evt_var_cvar(r, confidence, **kw)  # type: ignore[arg-type]
        details.update(d)
    elif method == "monte_carlo":
        v, c, d = monte_carlo_returns_var_cvar(r, confidence, sigma=sigma, **kw)  # type: ignore[arg-type]
        details.update(d)
    else:
        raise ValueError(f"method={method!r} must be one of {', '.join(METHODS)}")
    scale = math.sqrt(h)
    return VaRResult(method, float(confidence), v * scale, c * scale, h, int(r.size), details)


def value_at_risk(
    returns: ArrayLike,
    confidence: float = 0.99,
    method: str = "historical",
    horizon_days: int = 1,
    **kw: object,
) -> float:
    """VaR (positive loss fraction) - see `var_cvar` for methods and options."""
    return var_cvar(returns, confidence, method, horizon_days, **kw).var  # type: ignore[arg-type]


def expected_shortfall(
    returns: ArrayLike,
    confidence: float = 0.99,
    method: str = "historical",
    horizon_days: int = 1,
    **kw: object,
) -> float:
    """Expected shortfall / CVaR (positive loss fraction) - see `var_cvar`."""
    return var_cvar(returns, confidence, method, horizon_days, **kw).cvar  # type: ignore[arg-type]
