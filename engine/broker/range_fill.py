"""Fills of a limit order that rested through a session, from the session's range.

A daily-step backtest sees one quote per session, so a resting limit priced inside the spread
would fill only if the closing quote crossed it. `range_fill_quotes` reads the session's
`RangePoint`s (see `engine.data.session_range`) instead:

* if the order was marketable at the open, it fills at the opening quotes (the market gapped
  through the limit, and the order takes what was there, as a live one would have);
* else, if some price of the range made it marketable at both moments quoted there, it fills
  at its limit: the market moved through the limit gradually, so the order gets the limit and
  no better;
* else it does not fill from the range (the caller still checks the current quote).

The fill is expressed as leg quotes for the broker's usual execution, so sizes, commissions and
buying-power checks are exactly those of any other fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from engine.broker.fill_model import (
    ZERO,
    LegQuote,
    leg_quote,
    net_per_unit,
    quote_price,
    signed_limit,
    unit_multiplier,
)
from engine.data.session_range import RangePoint
from engine.domain import OrderRequest, OrderType, Side


def _prices(request: OrderRequest, quotes: Sequence[LegQuote]) -> list[Decimal]:
    return [
        quote_price(leg.instrument, leg.side, q)
        for leg, q in zip(request.legs, quotes, strict=True)
    ]


def marketable(request: OrderRequest, quotes: Sequence[LegQuote]) -> bool:
    """Would the limit order trade against `quotes` (every sold leg bid, net within limit)?"""
    prices = _prices(request, quotes)
    if any(p <= 0 for leg, p in zip(request.legs, prices, strict=True) if leg.side is Side.SELL):
        return False
    return net_per_unit(request, prices) <= signed_limit(request)


def at_limit(request: OrderRequest, quotes: Sequence[LegQuote]) -> list[LegQuote]:
    """`quotes` worsened on one leg so that the order's net price is exactly its limit.

    The slack (limit minus the net at the quotes) goes to one whole-contract leg: a bought leg
    pays it on the ask, or else a sold leg gives it up on the bid while that stays positive.
    Where neither works (a sub-penny slack on a tick-rounded leg, a ratio combo) the quotes are
    returned as they are: the order then fills at them, at most a tick better than its limit.
    """
    prices = _prices(request, quotes)
    slack = signed_limit(request) - net_per_unit(request, prices)
    if slack <= ZERO:
        return list(quotes)
    unit = unit_multiplier(request)
    # Bought legs first: raising an ask can never make a leg unfillable.
    order = sorted(range(len(request.legs)), key=lambda i: request.legs[i].side is not Side.BUY)
    for i in order:
        leg = request.legs[i]
        if leg.ratio != 1 or leg.instrument.multiplier != unit:
            continue
        q = quotes[i]
        if leg.side is Side.BUY:
            moved = replace(q, ask=prices[i] + slack)
        elif prices[i] - slack > ZERO:
            moved = replace(q, bid=prices[i] - slack)
        else:
            continue
        out = list(quotes)
        out[i] = moved
        if marketable(request, out):
            return out
    return list(quotes)


def range_fill_quotes(request: OrderRequest, points: Sequence[RangePoint]) -> list[LegQuote] | None:
    """The leg quotes a resting limit order fills against from the session's range, or None
    when the range never reached its limit (see the module doc)."""
    if request.order_type is not OrderType.LIMIT:
        return None
    for point in points:
        rows = [[leg_quote(q) for q in row] for row in point.rows]
        if point.opening:
            if marketable(request, rows[0]):
                return rows[0]
            continue
        if all(marketable(request, row) for row in rows):
            # Of the moments quoted, the one whose quotes are least favourable to the order.
            worst = max(rows, key=lambda row: net_per_unit(request, _prices(request, row)))
            return at_limit(request, worst)
    return None
