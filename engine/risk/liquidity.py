"""Liquidity-adjusted VaR (spec §1).

Default (proposed, additive): LVaR = VaR + sum |V_i| (spread_i / 2 + slippage_i [+ impact_i]),
spread the full bid/ask spread as a fraction of mid (default 10 bps), slippage 5 bps for stock
and 10 bps for options.  The optional impact term is a square-root market-impact cost
k * sigma_i * sqrt(|V_i| / ADV_i) per position.  Upstream (multiplicative) form kept:
LVaR = VaR (1 + (spread_bps + slippage_bps) / 10^4), 10 + 5 bps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.risk.portfolio_model import RiskPortfolio

FloatArray = NDArray[np.float64]

__all__ = [
    "DEFAULT_OPTION_SLIPPAGE",
    "DEFAULT_SPREAD",
    "DEFAULT_STOCK_SLIPPAGE",
    "LiquidityAdjustment",
    "liquidity_cost",
    "lvar_additive",
    "lvar_multiplicative",
    "portfolio_lvar",
]

DEFAULT_SPREAD = 10e-4
DEFAULT_STOCK_SLIPPAGE = 5e-4
DEFAULT_OPTION_SLIPPAGE = 10e-4


def lvar_multiplicative(var: float, spread_bps: float = 10.0, slippage_bps: float = 5.0) -> float:
    """Upstream LVaR: VaR x (1 + (spread_bps + slippage_bps) / 10^4)."""
    if spread_bps < 0 or slippage_bps < 0:
        raise ValueError(f"spread_bps={spread_bps!r}, slippage_bps={slippage_bps!r} must be >= 0")
    return var * (1.0 + (spread_bps + slippage_bps) / 1e4)


def _vec(name: str, x: ArrayLike, n: int) -> FloatArray:
    a = np.broadcast_to(np.asarray(x, dtype=np.float64), (n,))
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must be finite and >= 0 (fractions of value), got {a!r}")
    return a


def liquidity_cost(
    values: ArrayLike,
    spreads: ArrayLike = DEFAULT_SPREAD,
    slippage: ArrayLike = DEFAULT_STOCK_SLIPPAGE,
    *,
    daily_vol: ArrayLike | None = None,
    adv: ArrayLike | None = None,
    impact_coef: float = 1.0,
) -> FloatArray:
    """Per-position exit cost |V| (spread/2 + slippage [+ impact]) in currency.

    Impact (only when `adv`, the average daily traded value in currency, is given):
    impact_coef x daily_vol x sqrt(|V| / ADV).
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError("values must be a finite 1-d array of position values")
    n = v.size
    frac = 0.5 * _vec("spreads", spreads, n) + _vec("slippage", slippage, n)
    if adv is not None:
        a = _vec("adv", adv, n)
        if np.any(a == 0):
            raise ValueError("adv must be > 0 where given")
        if daily_vol is None:
            raise ValueError("daily_vol is required with adv for the market-impact term")
        frac = frac + impact_coef * _vec("daily_vol", daily_vol, n) * np.sqrt(v / a)
    return v * frac


def lvar_additive(
    var_dollars: float,
    values: ArrayLike,
    spreads: ArrayLike = DEFAULT_SPREAD,
    slippage: ArrayLike = DEFAULT_STOCK_SLIPPAGE,
    *,
    daily_vol: ArrayLike | None = None,
    adv: ArrayLike | None = None,
    impact_coef: float = 1.0,
) -> float:
    """Proposed LVaR in currency: VaR$ + sum of `liquidity_cost` (see there for the impact)."""
    cost = liquidity_cost(
        values, spreads, slippage, daily_vol=daily_vol, adv=adv, impact_coef=impact_coef
    )
    return float(var_dollars + cost.sum())


@dataclass(frozen=True, slots=True)
class LiquidityAdjustment:
    var: float
    lvar: float
    cost: float  # lvar - var, currency
    cost_by_position: FloatArray


def portfolio_lvar(portfolio: RiskPortfolio, var_dollars: float) -> LiquidityAdjustment:
    """Additive LVaR of a portfolio: position spreads where known (else 10 bps), slippage
    5 bps for stock and 10 bps for options."""
    a = portfolio.arrays
    spreads = np.array(
        [DEFAULT_SPREAD if p.spread is None else p.spread for p in portfolio.positions],
        dtype=np.float64,
    )
    slip = np.where(a.is_option, DEFAULT_OPTION_SLIPPAGE, DEFAULT_STOCK_SLIPPAGE)
    cost = liquidity_cost(a.value, spreads, slip)
    total = float(cost.sum())
    return LiquidityAdjustment(var_dollars, var_dollars + total, total, cost)
