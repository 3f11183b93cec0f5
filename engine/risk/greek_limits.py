"""Greek limits (spec §4 portfolio rules), scaled to the account.

The spec's dollar figures - portfolio delta $1M, gamma $10k, theta -$1k, vega $50k, beta-
adjusted delta $2M; per name $100k / $1k / -$100 / $5k / $200k - are read as limits for the
$100,000 reference account, the same reference the [PROPOSED] order-breaker scaling uses
($500 day loss = 0.5 %).  With `scale_with_equity` (the default) each limit is multiplied by
equity / reference, so a $20k account gets a fifth of them and a $1M account ten times: a
fixed -$100/day theta per name would be meaningless at either end.  Set it False to apply
the spec's dollar amounts as written.

Units: every limit is read as a dollar P&L sensitivity, the one reading under which the
spec's figures are mutually consistent - delta$ (and beta-delta$) is currency exposure, the
P&L of a 100 % move; gamma is the P&L of a 1 % move from convexity, 1/2 Gamma S^2 (1 %)^2 x
units (= `engine.risk.greeks` gamma$ / 200); vega per vol point; theta per calendar day.
Per name on the reference account that allows a 1 % move to cost 1 % of equity through delta
and 1 % through gamma (~200 ATM contracts on a $200 stock), $5k per vol point (~200
contracts) and $100 of decay a day (~9 contracts): theta binds first, as a decay budget
should.  Read as "delta$ change per 1 % move" instead, $1k of gamma would be one contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["GREEKS", "GreekLimits", "GreekVector", "LimitBreach", "greek_breaches"]

GREEKS = ("delta", "gamma", "vega", "theta", "beta_delta")


@dataclass(frozen=True, slots=True)
class GreekVector:
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0
    beta_delta: float = 0.0

    def __add__(self, other: GreekVector) -> GreekVector:
        return GreekVector(
            self.delta + other.delta,
            self.gamma + other.gamma,
            self.vega + other.vega,
            self.theta + other.theta,
            self.beta_delta + other.beta_delta,
        )

    def scaled(self, k: float) -> GreekVector:
        return GreekVector(
            self.delta * k, self.gamma * k, self.vega * k, self.theta * k, self.beta_delta * k
        )


@dataclass(frozen=True, slots=True)
class GreekLimits:
    reference_equity: float = 100_000.0
    portfolio_delta: float = 1_000_000.0
    portfolio_gamma: float = 10_000.0
    portfolio_vega: float = 50_000.0
    portfolio_theta: float = -1_000.0  # the most negative theta allowed, per day
    portfolio_beta_delta: float = 2_000_000.0
    name_delta: float = 100_000.0
    name_gamma: float = 1_000.0
    name_vega: float = 5_000.0
    name_theta: float = -100.0
    name_beta_delta: float = 200_000.0
    scale_with_equity: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.reference_equity) and self.reference_equity > 0):
            raise ValueError(
                f"GreekLimits.reference_equity={self.reference_equity!r} must be > 0 dollars"
            )
        for scope in ("portfolio", "name"):
            for g in GREEKS:
                v = getattr(self, f"{scope}_{g}")
                ok = v < 0 if g == "theta" else v > 0
                if not (math.isfinite(v) and ok):
                    want = "< 0 (a theta floor)" if g == "theta" else "> 0"
                    raise ValueError(f"GreekLimits.{scope}_{g}={v!r} must be finite and {want}")

    def factor(self, equity: float) -> float:
        if not self.scale_with_equity:
            return 1.0
        return max(equity, 0.0) / self.reference_equity

    def portfolio(self, equity: float) -> GreekVector:
        k = self.factor(equity)
        return GreekVector(
            self.portfolio_delta,
            self.portfolio_gamma,
            self.portfolio_vega,
            self.portfolio_theta,
            self.portfolio_beta_delta,
        ).scaled(k)

    def per_name(self, equity: float) -> GreekVector:
        k = self.factor(equity)
        return GreekVector(
            self.name_delta, self.name_gamma, self.name_vega, self.name_theta, self.name_beta_delta
        ).scaled(k)


@dataclass(frozen=True, slots=True)
class LimitBreach:
    scope: str  # "portfolio" or the underlying
    greek: str
    before: float
    after: float
    limit: float

    @property
    def utilisation(self) -> float:
        """|after| / |limit|; for theta only the negative side (decay) counts."""
        if not self.limit:
            return math.inf
        used = max(0.0, -self.after) if self.greek == "theta" else abs(self.after)
        return used / abs(self.limit)


def _over(greek: str, value: float, limit: float) -> bool:
    if greek == "theta":
        return value < limit  # limit is a negative floor
    return abs(value) > limit


def _worse(greek: str, before: float, after: float) -> bool:
    if greek == "theta":
        return after < before
    return abs(after) > abs(before)


def greek_breaches(
    scope: str, before: GreekVector, after: GreekVector, limit: GreekVector
) -> tuple[list[LimitBreach], LimitBreach]:
    """Greeks over their limit after the trade that the trade made worse, and the greek
    closest to (or furthest over) its limit, for display.

    A trade that moves an over-limit greek back toward its limit is not a breach: the book
    must always be allowed to reduce.
    """
    out: list[LimitBreach] = []
    top: LimitBreach | None = None
    for g in GREEKS:
        b, a, lim = getattr(before, g), getattr(after, g), getattr(limit, g)
        row = LimitBreach(scope, g, b, a, lim)
        if top is None or row.utilisation > top.utilisation:
            top = row
        if _over(g, a, lim) and _worse(g, b, a):
            out.append(row)
    assert top is not None
    return out, top
