"""Multi-leg option structures: verticals, iron condors and calendars.

Money is PER SHARE (multiply by the contract multiplier, usually 100, for one contract).
``net_debit`` > 0 means the structure costs money, < 0 that it collects a credit.
``max_profit`` is the best P&L and ``max_loss`` minus the worst P&L (so a normal structure has
both positive; ``inf`` when unbounded).  Probability of profit (``pop``) is the probability that the P&L at the (first)
expiry is > 0 when ln S_T is normal with mean ln S + (drift - sigma^2/2) T and variance
sigma^2 T, i.e. a lognormal terminal price; ``drift`` defaults to the risk-neutral r - q.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.special import ndtr

from engine.pricing.bsm import bs_price

__all__ = [
    "Leg",
    "SpreadAnalysis",
    "analyse_expiry_payoff",
    "bear_call_credit_spread",
    "bear_put_spread",
    "bull_call_spread",
    "bull_put_credit_spread",
    "calendar_spread",
    "iron_condor",
    "vertical_spread",
]


@dataclass(frozen=True, slots=True)
class Leg:
    """One option leg: ``quantity`` > 0 long, < 0 short (in units of one option on one share);
    ``premium`` per share paid (long) or received (short) - always a positive price;
    ``expiry_years`` years to expiry."""

    strike: float
    is_call: bool
    quantity: float
    premium: float
    expiry_years: float


@dataclass(frozen=True, slots=True)
class SpreadAnalysis:
    """Risk profile of a structure, per share.  See the module docstring for conventions."""

    legs: tuple[Leg, ...]
    net_debit: float
    max_profit: float
    max_loss: float
    breakevens: tuple[float, ...]
    pop: float

    @property
    def is_credit(self) -> bool:
        return self.net_debit < 0.0


def _prob_below(x: float, spot: float, T: float, sigma: float, drift: float) -> float:
    """P(S_T < x) for a lognormal S_T."""
    if x <= 0.0:
        return 0.0
    if math.isinf(x):
        return 1.0
    sd = sigma * math.sqrt(T)
    m = math.log(spot) + (drift - 0.5 * sigma * sigma) * T
    if sd == 0.0:
        return 1.0 if x > math.exp(m) else 0.0
    return float(ndtr((math.log(x) - m) / sd))


def _pop_from_pnl(
    pnl_at: list[float],
    edges: list[float],
    spot: float,
    T: float,
    sigma: float,
    drift: float,
) -> float:
    """Sum of probabilities of the intervals (edges[i], edges[i+1]) whose P&L is positive;
    ``pnl_at[i]`` is the P&L inside interval i (the sign is constant there)."""
    total = 0.0
    for i, value in enumerate(pnl_at):
        if value > 0.0:
            total += _prob_below(edges[i + 1], spot, T, sigma, drift) - _prob_below(
                edges[i], spot, T, sigma, drift
            )
    return min(max(total, 0.0), 1.0)


def _sign_changes(xs: Sequence[float], vs: Sequence[float]) -> list[float]:
    """Zero crossings of the piecewise-linear function through (xs, vs): linear interpolation
    between consecutive points of opposite sign; where it touches zero over a stretch and then
    changes sign, the first zero point."""
    out: list[float] = []
    last = None  # index of the last point with a non-zero value
    for i, v in enumerate(vs):
        if v == 0.0:
            continue
        if last is not None and (v > 0.0) != (vs[last] > 0.0):
            if i == last + 1:
                x0, x1, v0 = xs[last], xs[i], vs[last]
                out.append(x0 + (x1 - x0) * (-v0) / (v - v0))
            else:
                out.append(xs[last + 1])
        last = i
    return out


def _payoff(legs: Sequence[Leg], x: float) -> float:
    return sum(
        leg.quantity * (max(x - leg.strike, 0.0) if leg.is_call else max(leg.strike - x, 0.0))
        for leg in legs
    )


def analyse_expiry_payoff(
    legs: Sequence[Leg],
    *,
    spot: float,
    sigma: float,
    r: float = 0.0,
    q: float = 0.0,
    drift: float | None = None,
) -> SpreadAnalysis:
    """Exact analysis of any same-expiry structure (its expiry P&L is piecewise linear).

    Kinks are at the strikes; beyond the last one the slope is the net call quantity, so
    unbounded profit/loss is detected exactly.  Breakevens are the exact zero crossings.
    ``r`` and ``q`` only set the default drift.
    """
    if not legs:
        msg = "need at least one leg"
        raise ValueError(msg)
    T = legs[0].expiry_years
    if any(leg.expiry_years != T for leg in legs):
        msg = "analyse_expiry_payoff needs legs with one expiry; use calendar_spread"
        raise ValueError(msg)
    mu = r - q if drift is None else drift
    debit = sum(leg.quantity * leg.premium for leg in legs)
    kinks = sorted({0.0, *(leg.strike for leg in legs)})
    values = [_payoff(legs, k) - debit for k in kinks]
    slope_right = sum(leg.quantity for leg in legs if leg.is_call)
    # Beyond the last strike the P&L is linear with slope = net call quantity, so one far
    # point makes interpolation exact there too (any crossing is found by _sign_changes).
    x_far = 2.0 * kinks[-1] + 1.0
    if slope_right != 0.0:
        x_far = max(x_far, kinks[-1] - values[-1] / slope_right + 1.0)
    v_far = values[-1] + slope_right * (x_far - kinks[-1])
    max_profit = math.inf if slope_right > 0 else max(values)
    max_loss = math.inf if slope_right < 0 else -min(values)
    breakevens = _sign_changes([*kinks, x_far], [*values, v_far])
    # P&L sign is constant between consecutive breakevens/kinks: test each piece's midpoint.
    edges = [*sorted({0.0, *kinks, *breakevens}), math.inf]
    mids = [0.5 * (lo + hi) if math.isfinite(hi) else lo + 1.0 + lo for lo, hi in pairwise(edges)]
    pnl_at = [_payoff(legs, m) - debit for m in mids]
    pop = _pop_from_pnl(pnl_at, edges, spot, T, sigma, mu)
    return SpreadAnalysis(
        legs=tuple(legs),
        net_debit=debit,
        max_profit=max_profit,
        max_loss=max_loss,
        breakevens=tuple(breakevens),
        pop=pop,
    )


def vertical_spread(
    long_strike: float,
    short_strike: float,
    long_premium: float,
    short_premium: float,
    is_call: bool,
    *,
    T: float,
    spot: float,
    sigma: float,
    r: float = 0.0,
    q: float = 0.0,
    drift: float | None = None,
) -> SpreadAnalysis:
    """Buy one option at ``long_strike``, sell one at ``short_strike`` (same type/expiry).

    Call debit (bull call): long < short.  Call credit (bear call): long > short.
    Put debit (bear put): long > short.  Put credit (bull put): long < short.
    """
    legs = (
        Leg(long_strike, is_call, 1.0, long_premium, T),
        Leg(short_strike, is_call, -1.0, short_premium, T),
    )
    return analyse_expiry_payoff(legs, spot=spot, sigma=sigma, r=r, q=q, drift=drift)


def bull_call_spread(
    lower_strike: float,
    upper_strike: float,
    lower_premium: float,
    upper_premium: float,
    **kw: float,
) -> SpreadAnalysis:
    """Debit call spread: long the lower strike, short the upper (keywords as vertical)."""
    return vertical_spread(lower_strike, upper_strike, lower_premium, upper_premium, True, **kw)


def bear_put_spread(
    upper_strike: float,
    lower_strike: float,
    upper_premium: float,
    lower_premium: float,
    **kw: float,
) -> SpreadAnalysis:
    """Debit put spread: long the upper strike, short the lower."""
    return vertical_spread(upper_strike, lower_strike, upper_premium, lower_premium, False, **kw)


def bull_put_credit_spread(
    short_strike: float, long_strike: float, short_premium: float, long_premium: float, **kw: float
) -> SpreadAnalysis:
    """Credit put spread: short the upper strike, long the lower (protection)."""
    return vertical_spread(long_strike, short_strike, long_premium, short_premium, False, **kw)


def bear_call_credit_spread(
    short_strike: float, long_strike: float, short_premium: float, long_premium: float, **kw: float
) -> SpreadAnalysis:
    """Credit call spread: short the lower strike, long the upper (protection)."""
    return vertical_spread(long_strike, short_strike, long_premium, short_premium, True, **kw)


def iron_condor(
    long_put_strike: float,
    short_put_strike: float,
    short_call_strike: float,
    long_call_strike: float,
    premiums: tuple[float, float, float, float],
    *,
    T: float,
    spot: float,
    sigma: float,
    r: float = 0.0,
    q: float = 0.0,
    drift: float | None = None,
) -> SpreadAnalysis:
    """Short iron condor: long put < short put <= short call < long call, one each.

    ``premiums`` in the same order as the strikes (all positive prices).
    """
    if not long_put_strike < short_put_strike <= short_call_strike < long_call_strike:
        msg = "iron condor strikes must satisfy long put < short put <= short call < long call"
        raise ValueError(msg)
    p_lp, p_sp, p_sc, p_lc = premiums
    legs = (
        Leg(long_put_strike, False, 1.0, p_lp, T),
        Leg(short_put_strike, False, -1.0, p_sp, T),
        Leg(short_call_strike, True, -1.0, p_sc, T),
        Leg(long_call_strike, True, 1.0, p_lc, T),
    )
    return analyse_expiry_payoff(legs, spot=spot, sigma=sigma, r=r, q=q, drift=drift)


def calendar_spread(
    strike: float,
    is_call: bool,
    near_T: float,
    far_T: float,
    near_premium: float,
    far_premium: float,
    *,
    spot: float,
    sigma: float,
    r: float = 0.0,
    q: float = 0.0,
    drift: float | None = None,
    far_sigma: float | None = None,
    n_sd: float = 6.0,
    grid: int = 4001,
) -> SpreadAnalysis:
    """Long calendar: sell the near expiry, buy the far one, same strike and type.

    P&L at the near expiry = BSM value of the far option (remaining far_T - near_T, vol
    ``far_sigma``, default ``sigma``) - near payoff - net debit.  It is not piecewise linear,
    so max profit/loss, breakevens and POP are computed on a log-spaced grid of ``grid`` spot
    levels spanning +-``n_sd`` standard deviations (max loss is the worst P&L on that range;
    breakevens are refined by linear interpolation between grid points).
    """
    if not 0.0 < near_T < far_T:
        msg = "calendar needs 0 < near_T < far_T"
        raise ValueError(msg)
    mu = r - q if drift is None else drift
    vol_far = sigma if far_sigma is None else far_sigma
    legs = (
        Leg(strike, is_call, -1.0, near_premium, near_T),
        Leg(strike, is_call, 1.0, far_premium, far_T),
    )
    debit = far_premium - near_premium
    sd = sigma * math.sqrt(near_T)
    centre = math.log(spot) + (mu - 0.5 * sigma * sigma) * near_T
    xs = np.exp(np.linspace(centre - n_sd * sd, centre + n_sd * sd, grid))
    far_val = bs_price(xs, strike, far_T - near_T, r, q, vol_far, is_call)
    near_pay = np.maximum(xs - strike, 0.0) if is_call else np.maximum(strike - xs, 0.0)
    pnl = far_val - near_pay - debit
    crossings = np.flatnonzero(np.sign(pnl[:-1]) * np.sign(pnl[1:]) < 0)
    breakevens = tuple(
        float(xs[i] - pnl[i] * (xs[i + 1] - xs[i]) / (pnl[i + 1] - pnl[i])) for i in crossings
    )
    edges = [0.0, *breakevens, math.inf]
    log_xs = np.log(xs)
    # P&L sign between breakevens: probe the (log-)middle of each interval on the grid.
    probes = []
    for lo, hi in pairwise(edges):
        l_lo = math.log(lo) if lo > 0.0 else float(log_xs[0])
        l_hi = math.log(hi) if math.isfinite(hi) else float(log_xs[-1])
        probes.append(float(np.interp(0.5 * (l_lo + l_hi), log_xs, pnl)))
    pop = _pop_from_pnl(probes, edges, spot, near_T, sigma, mu)
    return SpreadAnalysis(
        legs=legs,
        net_debit=debit,
        max_profit=float(pnl.max()),
        max_loss=-float(pnl.min()),
        breakevens=breakevens,
        pop=pop,
    )
