"""Volatility forecasts for the parametric VaR methods: EWMA (RiskMetrics) and GARCH(1,1).

GARCH is a small Gaussian quasi-MLE written on scipy (no `arch` dependency: it would pull in
statsmodels); its recursion and start-up follow `arch` (variance back-cast from the first 75
squared residuals (at the sample mean) with weights 0.94^k; sigma2_0 = omega + (alpha + beta) backcast), and the
tests pin it to values `arch` 8.0 produced on the same data.  All volatilities are per day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, signal

from engine.risk.var import _newton_minimize, as_returns

FloatArray = NDArray[np.float64]

__all__ = [
    "Garch11Fit",
    "ewma_covariance",
    "ewma_variance_path",
    "ewma_volatility",
    "fit_garch11",
    "vol_forecast",
]


def _check_lambda(lam: float) -> float:
    if not (0.0 < lam < 1.0):
        raise ValueError(f"lam={lam!r} must be in (0, 1) (RiskMetrics daily: 0.94)")
    return float(lam)


def ewma_variance_path(returns: ArrayLike, lam: float = 0.94) -> FloatArray:
    """sigma2[t] = lam sigma2[t-1] + (1-lam) r[t-1]^2 (zero mean), t = 0..n.

    sigma2[0] is the mean squared return of the sample; element n is the forecast for the day
    after the last return.
    """
    r = as_returns(returns)
    lam = _check_lambda(lam)
    s0 = float(np.mean(r * r))
    x = np.concatenate([[(1.0 - lam) * s0], (1.0 - lam) * r * r])
    out, _ = signal.lfilter([1.0], [1.0, -lam], x, zi=[lam * s0])
    return np.asarray(out, dtype=np.float64)


def ewma_volatility(returns: ArrayLike, lam: float = 0.94) -> float:
    """Next-day EWMA volatility (per day)."""
    return math.sqrt(float(ewma_variance_path(returns, lam)[-1]))


def ewma_covariance(returns: ArrayLike, lam: float = 0.94) -> FloatArray:
    """EWMA covariance (zero mean) of a T x k matrix of returns, weights normalised to 1."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"returns must be a T x k matrix, got shape {r.shape}")
    as_returns(r[:, 0] if r.shape[1] else np.empty(0), name="returns[:, 0]")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns must be finite (no NaN/inf)")
    lam = _check_lambda(lam)
    w = lam ** np.arange(r.shape[0] - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    return np.asarray((r * w[:, None]).T @ r, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# GARCH(1,1)


@dataclass(frozen=True, slots=True)
class Garch11Fit:
    """r_t = mu + e_t, sigma2_t = omega + alpha e_{t-1}^2 + beta sigma2_{t-1} (Gaussian QMLE)."""

    mu: float
    omega: float
    alpha: float
    beta: float
    loglik: float
    n: int
    converged: bool
    last_variance: float
    last_resid: float

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run_variance(self) -> float:
        return self.omega / (1.0 - self.persistence) if self.persistence < 1 else math.inf

    def variance_forecast(self, horizon_days: int = 1) -> FloatArray:
        """sigma2 for days T+1..T+h."""
        h = int(horizon_days)
        if h < 1:
            raise ValueError(f"horizon_days={horizon_days!r} must be >= 1")
        out = np.empty(h)
        out[0] = self.omega + self.alpha * self.last_resid**2 + self.beta * self.last_variance
        for k in range(1, h):
            out[k] = self.omega + self.persistence * out[k - 1]
        return out

    def volatility(self, horizon_days: int = 1) -> float:
        """Volatility of the h-day sum of returns (sqrt of the summed variance forecasts)."""
        return math.sqrt(float(self.variance_forecast(horizon_days).sum()))


def _backcast(e: FloatArray) -> float:
    tau = min(75, e.size)
    w = 0.94 ** np.arange(tau, dtype=np.float64)
    w /= w.sum()
    return float(np.dot(w, e[:tau] ** 2))


def _garch_sigma2(e: FloatArray, omega: float, alpha: float, beta: float, bc: float) -> FloatArray:
    x = np.empty(e.size)
    x[0] = bc
    x[1:] = e[:-1] ** 2
    x *= alpha
    x += omega
    out, _ = signal.lfilter([1.0], [1.0, -beta], x, zi=[beta * bc])
    return np.asarray(out, dtype=np.float64)


def _garch_negll_grad(
    th: FloatArray, x: FloatArray, zero_mean: bool, bc: float
) -> tuple[float, FloatArray]:
    """Gaussian negative log-likelihood and its analytic gradient.

    d sigma2_t = [1, e_(t-1)^2, sigma2_(t-1), -2 alpha e_(t-1)] + beta d sigma2_(t-1) for
    (omega, alpha, beta, mu) - each the same first-order filter as the variance itself.
    Infeasible points (alpha + beta >= 0.99999, a non-positive variance) return +inf.
    """
    if zero_mean:
        mu = 0.0
        omega, alpha, beta = (float(v) for v in th)
    else:
        mu, omega, alpha, beta = (float(v) for v in th)
    k = th.size
    if omega <= 0 or alpha < 0 or beta < 0 or alpha + beta >= 0.99999:
        return math.inf, np.zeros(k)
    e = x - mu
    s2 = _garch_sigma2(e, omega, alpha, beta, bc)
    if not np.all(s2 > 0):
        return math.inf, np.zeros(k)
    e2 = e * e
    f = 0.5 * float(np.sum(np.log(s2) + e2 / s2)) + 0.5 * e.size * math.log(2.0 * math.pi)
    w = 0.5 * (1.0 / s2 - e2 / (s2 * s2))
    n = e.size
    src = np.empty((4, n))
    src[0] = 1.0
    src[1, 0] = bc
    src[1, 1:] = e2[:-1]
    src[2, 0] = bc
    src[2, 1:] = s2[:-1]
    src[3, 0] = 0.0
    src[3, 1:] = -2.0 * alpha * e[:-1]
    d, _ = signal.lfilter([1.0], [1.0, -beta], src, axis=1, zi=np.zeros((4, 1)))
    g = d @ w
    g_mu = float(g[3]) - float(np.sum(e / s2))
    grad = g[:3] if zero_mean else np.array([g_mu, g[0], g[1], g[2]])
    return f, np.asarray(grad, dtype=np.float64)


def _garch_negll(th: FloatArray, x: FloatArray, zero_mean: bool, bc: float) -> float:
    f = _garch_negll_grad(th, x, zero_mean, bc)[0]
    return f if math.isfinite(f) else 1e300


def fit_garch11(
    returns: ArrayLike, *, mean: Literal["constant", "zero"] = "constant"
) -> Garch11Fit:
    """Gaussian QMLE of GARCH(1,1) under omega > 0, alpha, beta >= 0, alpha + beta < 1,
    started from the best of a small grid (as `arch` does).

    Damped Newton on the analytic gradient (fast, no BLAS); SLSQP with the constraint as a
    fallback when Newton stops short (e.g. an optimum on alpha + beta = 1).  Returns are
    rescaled to unit variance for the optimiser and the fit mapped back.
    """
    r = as_returns(returns)
    if mean not in ("constant", "zero"):
        raise ValueError(f"mean={mean!r} must be 'constant' or 'zero'")
    zero = mean == "zero"
    sc = float(r.std())
    if sc == 0.0:
        raise ValueError("returns are constant: GARCH cannot be fitted")
    x = r / sc
    mu0 = 0.0 if zero else float(x.mean())
    # Like arch, the back-cast is fixed from the starting residuals, not re-estimated with mu.
    bc = _backcast(x - mu0)
    best: tuple[float, FloatArray] | None = None
    for a0 in (0.02, 0.05, 0.1, 0.2):
        for p0 in (0.5, 0.8, 0.9, 0.95, 0.99):
            b0 = p0 - a0
            if b0 <= 0:
                continue
            w0 = float(np.var(x)) * (1.0 - p0)
            th = np.array([w0, a0, b0] if zero else [mu0, w0, a0, b0])
            v = _garch_negll(th, x, zero, bc)
            if best is None or v < best[0]:
                best = (v, th)
    assert best is not None
    k = 0 if zero else 1
    lower = np.array(([] if zero else [-10.0]) + [1e-12, 0.0, 0.0])
    upper = np.array(([] if zero else [10.0]) + [10.0, 1.0, 1.0])

    def fg(t: FloatArray) -> tuple[float, FloatArray]:
        return _garch_negll_grad(t, x, zero, bc)

    th, fval, _, ok = _newton_minimize(fg, best[1], lower, upper)
    if not ok:
        cons = {"type": "ineq", "fun": lambda t: 0.99999 - t[k + 1] - t[k + 2]}
        res = optimize.minimize(
            _garch_negll,
            th,
            args=(x, zero, bc),
            method="SLSQP",
            bounds=list(zip(lower.tolist(), upper.tolist(), strict=True)),
            constraints=[cons],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        if res.fun <= fval:
            th, fval, ok = res.x, float(res.fun), bool(res.success)
    mu = 0.0 if zero else float(th[0])
    omega, alpha, beta = (float(v) for v in th[k:])
    e = x - mu
    s2 = _garch_sigma2(e, omega, alpha, beta, bc)
    return Garch11Fit(
        mu=mu * sc,
        omega=omega * sc * sc,
        alpha=alpha,
        beta=beta,
        loglik=-float(fval) - r.size * math.log(sc),
        n=int(r.size),
        converged=ok,
        last_variance=float(s2[-1]) * sc * sc,
        last_resid=float(e[-1]) * sc,
    )


def vol_forecast(
    returns: ArrayLike,
    method: Literal["sample", "ewma", "garch"] = "ewma",
    *,
    lam: float = 0.94,
    horizon_days: int = 1,
) -> float:
    """Per-day volatility forecast averaged over the horizon (sqrt(total variance / h)).

    ``sample``: sd with ddof 1; ``ewma``: RiskMetrics lambda; ``garch``: GARCH(1,1) term
    structure.  For h = 1 this is the next-day volatility.
    """
    h = int(horizon_days)
    if h < 1:
        raise ValueError(f"horizon_days={horizon_days!r} must be >= 1")
    if method == "sample":
        return float(as_returns(returns).std(ddof=1))
    if method == "ewma":
        return ewma_volatility(returns, lam)
    if method == "garch":
        return fit_garch11(returns).volatility(h) / math.sqrt(h)
    raise ValueError(f"vol method={method!r} must be 'sample', 'ewma' or 'garch'")
