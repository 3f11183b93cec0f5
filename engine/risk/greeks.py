"""Portfolio greeks in dollars, and concentration by name, sector and expiry.

Dollar greeks (the units of the spec §4 greek limits):

* delta$  = delta x S x units: currency exposure, P&L of a +1.00 (100 %) move to first order;
  delta$ x 1 % is the P&L of a 1 % move.  Shares have delta 1.
* gamma$  = gamma x S^2 x units / 100: change of the share-equivalent delta (valued at
  spot) for a 1 % move; 1/2 gamma$ x 100 x m^2 is the gamma P&L of a move m.
* vega$   = vega x units / 100: P&L per vol point (+1 % implied vol).
* theta$  = theta x units / 365: P&L per calendar day.
* rho$    = rho x units / 100: P&L per +1 % rate.
* beta_delta$ = beta x delta$ (index-equivalent exposure).

units = quantity x multiplier.  American options (single names): delta, gamma, vega and theta
of the American value (central differences, `engine.pricing.american_book.option_greeks`), so
they agree with the re-pricing; rho stays Black-Scholes-Merton.  Concentration weights use the absolute net delta$ per name
(options count by their delta-equivalent exposure), per sector the same, per expiry bucket
the absolute option delta$.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.pricing.american_book import option_greeks
from engine.risk.portfolio_model import RiskPortfolio

FloatArray = NDArray[np.float64]

__all__ = [
    "EXPIRY_BUCKETS",
    "Concentration",
    "ExposureBreakdown",
    "GreekTotals",
    "PortfolioGreeks",
    "concentration",
    "greeks_shock_loss",
    "portfolio_greeks",
    "position_dollar_greeks",
]

#: (label, upper bound in calendar days, inclusive)
EXPIRY_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0-7d", 7.0),
    ("8-30d", 30.0),
    ("31-90d", 90.0),
    ("91-365d", 365.0),
    (">365d", float("inf")),
)


@dataclass(frozen=True, slots=True)
class GreekTotals:
    delta: float
    gamma: float
    vega: float
    theta: float
    rho: float
    beta_delta: float


@dataclass(frozen=True, eq=False)
class PortfolioGreeks:
    total: GreekTotals
    by_underlying: Mapping[str, GreekTotals]
    by_strategy: Mapping[str, GreekTotals]
    per_position: Mapping[str, FloatArray]  # 'delta', 'gamma', ... arrays in position order


def position_dollar_greeks(portfolio: RiskPortfolio) -> dict[str, FloatArray]:
    """Per-position dollar greeks (arrays in position order)."""
    a = portfolio.arrays
    n = a.n
    delta = a.units * a.spot  # shares: delta 1
    gamma = np.zeros(n)
    vega = np.zeros(n)
    theta = np.zeros(n)
    rho = np.zeros(n)
    o = a.option_idx
    if o.size:
        _, d, g, v, th, rh = option_greeks(
            a.spot[o], a.strike[o], a.expiry[o], a.rate, a.div[o], a.iv[o], a.is_call[o],
            a.american[o],
        )  # fmt: skip
        u, s = a.units[o], a.spot[o]
        delta[o] = d * s * u
        gamma[o] = g * s * s * u / 100.0
        vega[o] = v * u / 100.0
        theta[o] = th * u / 365.0
        rho[o] = rh * u / 100.0
    return {
        "delta": delta,
        "gamma": gamma,
        "vega": vega,
        "theta": theta,
        "rho": rho,
        "beta_delta": delta * a.beta,
    }


_FIELDS = ("delta", "gamma", "vega", "theta", "rho", "beta_delta")


def _totals(per: Mapping[str, FloatArray], mask: NDArray[np.bool_] | None = None) -> GreekTotals:
    vals = [float(per[f].sum() if mask is None else per[f][mask].sum()) for f in _FIELDS]
    return GreekTotals(*vals)


def _group(per: Mapping[str, FloatArray], keys: list[str]) -> dict[str, GreekTotals]:
    karr = np.array(keys, dtype=object)
    return {k: _totals(per, karr == k) for k in dict.fromkeys(keys)}


def portfolio_greeks(portfolio: RiskPortfolio) -> PortfolioGreeks:
    """Dollar greeks by underlying, by strategy and in total."""
    per = position_dollar_greeks(portfolio)
    return PortfolioGreeks(
        total=_totals(per),
        by_underlying=_group(per, [p.underlying for p in portfolio.positions]),
        by_strategy=_group(per, [p.strategy for p in portfolio.positions]),
        per_position=per,
    )


def greeks_shock_loss(totals: GreekTotals, move: float = 0.03, vol_move: float = 0.05) -> float:
    """Spec §1 greeks shock: worst of delta$ m + 1/2 gamma m^2 S^2 + vega dvol over m = +-move,
    dvol = +-vol_move (decimal vol); returned as a positive loss (0 if no scenario loses)."""
    worst = 0.0
    for m in (move, -move):
        for dv in (vol_move, -vol_move):
            # gamma$ is per 1 %: 1/2 Gamma S^2 m^2 = 1/2 gamma$ x 100 x m^2; vega$ per vol point.
            pnl = totals.delta * m + 50.0 * totals.gamma * m * m + totals.vega * dv * 100.0
            worst = min(worst, pnl)
    return -worst


@dataclass(frozen=True, slots=True)
class ExposureBreakdown:
    weights: Mapping[str, float]  # share of the total absolute exposure, sums to 1
    exposure: Mapping[str, float]  # signed dollar exposure per key
    herfindahl: float
    max_key: str | None
    max_weight: float


def _breakdown(keys: list[str], values: FloatArray, *, net: bool) -> ExposureBreakdown:
    agg: dict[str, float] = {}
    for k, v in zip(keys, values.tolist(), strict=True):
        agg[k] = agg.get(k, 0.0) + (v if net else abs(v))
    mag = {k: abs(v) for k, v in agg.items()}
    tot = sum(mag.values())
    if tot == 0.0:
        return ExposureBreakdown({}, agg, 0.0, None, 0.0)
    w = {k: v / tot for k, v in mag.items()}
    kmax = max(w, key=lambda k: w[k])
    return ExposureBreakdown(w, agg, float(sum(x * x for x in w.values())), kmax, w[kmax])


@dataclass(frozen=True, slots=True)
class Concentration:
    by_name: ExposureBreakdown
    by_sector: ExposureBreakdown
    by_expiry: ExposureBreakdown


def _bucket(days: float) -> str:
    for label, hi in EXPIRY_BUCKETS:
        if days <= hi + 1e-9:
            return label
    return EXPIRY_BUCKETS[-1][0]


def concentration(
    portfolio: RiskPortfolio, dollar_greeks: Mapping[str, FloatArray] | None = None
) -> Concentration:
    """Concentration by underlying (net delta$), sector (net delta$) and option expiry bucket
    (gross option delta$)."""
    per = dollar_greeks if dollar_greeks is not None else position_dollar_greeks(portfolio)
    delta = per["delta"]
    pos = portfolio.positions
    a = portfolio.arrays
    o = a.option_idx
    return Concentration(
        by_name=_breakdown([p.underlying for p in pos], delta, net=True),
        by_sector=_breakdown([p.sector for p in pos], delta, net=True),
        by_expiry=_breakdown([_bucket(a.expiry[i] * 365.0) for i in o], delta[o], net=False),
    )
