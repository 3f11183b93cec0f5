"""Per-position greeks for the snapshot: each option priced at the implied vol of its own mark.

The engine marks options at the quote's mid; the implied vol of that mark (Black-Scholes, one
vectorised solve for the whole book) gives greeks that agree with the price the desk shows.
The risk monitor values the book from the quotes' own implied vols on its cadence; these
figures are for display and move with every mark.

An option whose mark no European price can produce (outside the no-arbitrage bounds, e.g. a
stale mark below the discounted intrinsic value) has no implied vol: it is shown at its
intrinsic delta (+-1 in the money, 0 out of it) with no gamma, vega or theta, and
`model="intrinsic"` says so. An option whose
underlying has no valid spot is left out rather than shown with made-up numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType

import numpy as np

from engine.domain import OptionContract, Position
from engine.pricing import black_scholes
from engine.pricing.implied_volatility import IVStatus, implied_vol
from engine.runtime.views import PositionGreeks

# A contract on its expiry day still has hours to run; a zero T makes every greek singular.
MIN_YEARS = 0.5 / 365.0


def _valid(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def position_greeks(
    positions: Iterable[Position],
    spots: Mapping[str, float],
    *,
    today: date,
    rate: float = 0.0,
) -> Mapping[str, PositionGreeks]:
    """Greeks of every open position that can be priced, keyed by position symbol."""
    out: dict[str, PositionGreeks] = {}
    opts: list[tuple[Position, OptionContract, float, float]] = []
    for pos in positions:
        if pos.quantity == 0:
            continue
        inst = pos.instrument
        spot = spots.get(inst.underlying)
        if isinstance(inst, OptionContract):
            if spot is not None and pos.mark is not None and _valid(spot) and _valid(pos.mark):
                opts.append((pos, inst, spot, pos.mark))
            continue
        price = pos.mark if _valid(pos.mark) else spot
        units = float(pos.quantity * inst.multiplier)
        out[pos.symbol] = PositionGreeks(
            symbol=pos.symbol,
            underlying=inst.underlying,
            unit_delta=1.0,
            delta_dollars=units * price if price is not None and _valid(price) else 0.0,
            gamma_dollars=0.0,
            vega_dollars=0.0,
            theta_dollars=0.0,
            model="shares",
        )
    if opts:
        out.update(_option_greeks(opts, today=today, rate=rate))
    return MappingProxyType(dict(sorted(out.items())))


def _option_greeks(
    opts: list[tuple[Position, OptionContract, float, float]], *, today: date, rate: float
) -> dict[str, PositionGreeks]:
    S = np.array([o[2] for o in opts])
    K = np.array([float(o[1].strike) for o in opts])
    T = np.array([max(o[1].dte(today) / 365.0, MIN_YEARS) for o in opts])
    price = np.array([o[3] for o in opts])
    is_call = np.array([o[1].is_call for o in opts])
    units = np.array([float(o[0].quantity * o[1].multiplier) for o in opts])
    ivr = implied_vol(price, S, K, T, rate, 0.0, is_call)
    ok = (np.asarray(ivr.status) == IVStatus.OK) & np.isfinite(ivr.vol) & (ivr.vol > 0)
    sigma = np.where(ok, ivr.vol, 0.2)  # placeholder for the rows replaced below
    g = black_scholes(S, K, T, rate, 0.0, sigma, is_call)
    itm = np.where(is_call, S > K, S < K)
    unit_delta = np.where(ok, g.delta, np.where(itm, np.where(is_call, 1.0, -1.0), 0.0))
    gamma = np.where(ok, g.gamma * S * S * units / 100.0, 0.0)
    vega = np.where(ok, g.vega * units / 100.0, 0.0)
    theta = np.where(ok, g.theta * units / 365.0, 0.0)
    out: dict[str, PositionGreeks] = {}
    for i, (pos, inst, _, _) in enumerate(opts):
        out[pos.symbol] = PositionGreeks(
            symbol=pos.symbol,
            underlying=inst.underlying,
            unit_delta=float(unit_delta[i]),
            delta_dollars=float(unit_delta[i] * S[i] * units[i]),
            gamma_dollars=float(gamma[i]),
            vega_dollars=float(vega[i]),
            theta_dollars=float(theta[i]),
            iv=float(ivr.vol[i]) if ok[i] else None,
            model="bs" if ok[i] else "intrinsic",
        )
    return out
