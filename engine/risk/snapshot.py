"""The risk snapshot: every measure (all VaR methods but Monte Carlo, LVaR, greeks,
concentration, stress, backtest, volatility) for one portfolio at one instant.

The return series the VaR methods see is the current portfolio's hypothetical P&L under each
of the last `lookback` days of its underlyings' history, by full re-pricing (historical
simulation; single-name options American, index options European, see
`engine.risk.repricing`), as a fraction of the portfolio's value.  Reported VaR/CVaR per level is the
conservative envelope: the max over historical, Student-t, Cornish-Fisher (and Monte Carlo
when a result is passed in), spec §1.  A method that fails is recorded in `errors` and left
out of the envelope; if the historical method itself cannot run, the snapshot raises (fail
closed: no snapshot, no new risk).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.risk.backtest import RollingBacktest, rolling_backtest
from engine.risk.greeks import (
    Concentration,
    PortfolioGreeks,
    concentration,
    greeks_shock_loss,
    portfolio_greeks,
)
from engine.risk.liquidity import LiquidityAdjustment, portfolio_lvar
from engine.risk.montecarlo import MonteCarloResult
from engine.risk.portfolio_model import RiskPortfolio
from engine.risk.repricing import scenario_pnl
from engine.risk.stress import StressReport, run_all_stress
from engine.risk.var import (
    InsufficientData,
    VaRResult,
    as_returns,
    cornish_fisher_var_cvar,
    evt_var_cvar,
    fit_student_t,
    historical_var_cvar,
    normal_var_cvar,
    t_location_scale_var_cvar,
)
from engine.risk.volatility import ewma_volatility, fit_garch11

FloatArray = NDArray[np.float64]

__all__ = ["RiskSnapshot", "portfolio_returns", "risk_snapshot"]

ENVELOPE_METHODS = ("historical", "student_t", "cornish_fisher")


@dataclass(frozen=True, eq=False)
class RiskSnapshot:
    value: float
    levels: tuple[float, ...]
    methods: Mapping[str, Mapping[float, VaRResult]]  # fractions of value, 1 day
    var: Mapping[float, float]  # envelope, fraction
    cvar: Mapping[float, float]
    var_dollars: Mapping[float, float]
    cvar_dollars: Mapping[float, float]
    lvar: LiquidityAdjustment | None  # on the envelope VaR at the highest level
    greeks: PortfolioGreeks
    concentration: Concentration
    greeks_shock_loss: float
    stress: StressReport
    backtest: RollingBacktest | None
    vol_ewma: float
    vol_garch: float | None
    returns: FloatArray  # the hypothetical portfolio return series used
    errors: Mapping[str, str]


def _cf_monotone(skew: float, exkurt: float) -> bool:
    """Is the Cornish-Fisher quantile map increasing over the lower tail (z in [-3.72, 0],
    i.e. down to the 0.01 % quantile)?  Outside that domain the expansion folds over and its
    "VaR" can even be negative: it says nothing about the tail."""
    z = np.linspace(-3.72, 0.0, 64)
    dz = (
        1.0
        + z * skew / 3.0
        + (3.0 * z * z - 3.0) * exkurt / 24.0
        - (6.0 * z * z - 5.0) * skew * skew / 36.0
    )
    return bool(np.all(dz > 0.0))


MAX_WORST_LOSS_MULTIPLE = 2.0


def _envelope_members(
    methods: Mapping[str, Mapping[float, VaRResult]], errors: dict[str, str], r: FloatArray
) -> list[str]:
    """The envelope methods whose fitted model is valid for this return series.

    Option books have bounded losses and a long right tail (long premium) or the reverse.
    A symmetric Student-t fitted to such a series can come out with df <= 2 (infinite
    variance, infinite CVaR at df <= 1), or mirror the upside into the left tail; and
    Cornish-Fisher can fold over (a non-monotone quantile map, even a negative "VaR").
    Such fits describe the series' upside, not its losses, so they are left out of the
    conservative envelope - with the reason recorded - rather than report a VaR the book
    cannot lose.  Plausibility test: a parametric VaR more than `MAX_WORST_LOSS_MULTIPLE`
    times the worst loss of the whole window.  On symmetric fat-tailed data the 99 % t VaR
    sits below the window's worst day, so the test only bites on the broken case.
    """
    worst = float(-r.min()) if r.size else 0.0
    out: list[str] = []
    for m in ENVELOPE_METHODS:
        if m not in methods:
            continue
        first = next(iter(methods[m].values()))
        if m == "student_t":
            df = first.details.get("df")
            if isinstance(df, int | float) and df <= 2.0:
                errors["student_t_envelope"] = (
                    f"fitted df={df:.2f} <= 2 (infinite variance): excluded from the envelope"
                )
                continue
        if m == "cornish_fisher":
            sk = first.details.get("skew")
            ku = first.details.get("excess_kurtosis")
            if (
                isinstance(sk, int | float)
                and isinstance(ku, int | float)
                and not _cf_monotone(float(sk), float(ku))
            ):
                errors["cornish_fisher_envelope"] = (
                    f"skew {sk:.2f}, excess kurtosis {ku:.2f} outside the expansion's "
                    "valid domain (quantile map not monotone): excluded from the envelope"
                )
                continue
        if m != "historical" and worst > 0:
            top = max(res.var for res in methods[m].values())
            if top > MAX_WORST_LOSS_MULTIPLE * worst:
                errors[f"{m}_envelope"] = (
                    f"VaR {top:.2%} > {MAX_WORST_LOSS_MULTIPLE:g}x the window's worst loss "
                    f"{worst:.2%}: the fit does not describe this book's losses; excluded "
                    "from the envelope"
                )
                continue
        out.append(m)
    return out


def portfolio_returns(
    portfolio: RiskPortfolio, underlying_returns: ArrayLike, *, kind: str = "log"
) -> FloatArray:
    """Hypothetical daily returns of the current portfolio under each historical day:
    full re-pricing P&L / portfolio value."""
    value = portfolio.value
    if not value > 0:
        raise ValueError(f"portfolio value {value!r} must be > 0 to express risk as a fraction")
    pnl = scenario_pnl(portfolio, underlying_returns, kind=kind)  # type: ignore[arg-type]
    return pnl / value


def risk_snapshot(
    portfolio: RiskPortfolio,
    underlying_returns: ArrayLike,
    *,
    levels: Sequence[float] = (0.95, 0.99),
    lookback: int = 252,
    kind: str = "log",
    garch: bool = True,
    monte_carlo: Mapping[float, MonteCarloResult] | None = None,
) -> RiskSnapshot:
    """Everything but Monte Carlo for `portfolio`.

    `underlying_returns`: T x k daily returns of `portfolio.underlyings` (columns in that
    order), most recent last; the last `lookback` days feed VaR, and when T >= lookback + 250
    the last 500 days also feed a 250-day rolling 99 % backtest.
    """
    hist = np.asarray(underlying_returns, dtype=np.float64)
    if hist.ndim != 2 or hist.shape[1] != len(portfolio.underlyings):
        raise ValueError(
            f"underlying_returns must be T x {len(portfolio.underlyings)}, got {hist.shape}"
        )
    need = max(lookback, 500) if hist.shape[0] >= lookback + 250 else lookback
    used = hist[-need:]
    series = portfolio_returns(portfolio, used, kind=kind)
    r = as_returns(series[-lookback:], name="portfolio returns")
    value = portfolio.value
    errors: dict[str, str] = {}
    methods: dict[str, dict[float, VaRResult]] = {}

    def put(name: str, c: float, v: float, cv: float, details: Mapping[str, object]) -> None:
        methods.setdefault(name, {})[c] = VaRResult(name, c, v, cv, 1, r.size, dict(details))  # type: ignore[arg-type]

    for c in levels:
        v, cv = historical_var_cvar(r, c)
        put("historical", c, v, cv, {})
        v, cv = normal_var_cvar(r, c)
        put("normal", c, v, cv, {})
    try:
        fit = fit_student_t(r)
        for c in levels:
            v, cv = t_location_scale_var_cvar(fit.df, fit.loc, fit.scale, c)
            put("student_t", c, v, cv, {"df": fit.df, "loc": fit.loc, "scale": fit.scale})
    except (ValueError, ArithmeticError) as exc:
        errors["student_t"] = str(exc)
    for name, fn in (("cornish_fisher", cornish_fisher_var_cvar), ("evt", evt_var_cvar)):
        try:
            for c in levels:
                v, cv, d = fn(r, c)
                put(name, c, v, cv, d)
        except (ValueError, ArithmeticError) as exc:
            errors[name] = str(exc)
    usable = _envelope_members(methods, errors, r)
    env_v: dict[float, float] = {}
    env_c: dict[float, float] = {}
    for c in levels:
        vs = [methods[m][c].var for m in usable]
        cs = [methods[m][c].cvar for m in usable]
        if monte_carlo is not None and c in monte_carlo:
            vs.append(monte_carlo[c].var)
            cs.append(monte_carlo[c].cvar)
        env_v[c] = max(vs)
        env_c[c] = max(x for x in cs if not math.isnan(x))
    top = max(levels)
    g = portfolio_greeks(portfolio)
    bt: RollingBacktest | None = None
    if series.size >= 500:
        try:
            bt = rolling_backtest(series, 0.99)
        except InsufficientData as exc:
            errors["backtest"] = str(exc)
    vol_g: float | None = None
    if garch:
        try:
            vol_g = fit_garch11(r).volatility(1)
        except (ValueError, ArithmeticError) as exc:
            errors["garch"] = str(exc)
    var99 = env_v.get(0.99)
    return RiskSnapshot(
        value=value,
        levels=tuple(levels),
        methods=methods,
        var=env_v,
        cvar=env_c,
        var_dollars={c: v * value for c, v in env_v.items()},
        cvar_dollars={c: v * value for c, v in env_c.items()},
        lvar=portfolio_lvar(portfolio, env_v[top] * value),
        greeks=g,
        concentration=concentration(portfolio, g.per_position),
        greeks_shock_loss=greeks_shock_loss(g.total),
        stress=run_all_stress(portfolio, var99=var99),
        backtest=bt,
        vol_ewma=ewma_volatility(r),
        vol_garch=vol_g,
        returns=r,
        errors=errors,
    )
