"""Closing proposals for held positions: opposite side, `PositionEffect.CLOSE`, priced at mid.

One helper so every strategy's exits look the same: a single option is closed at its mid
rounded to the option tick; a multi-leg structure (spread, calendar, strangle) is closed as one
combo whose limit is the signed net per combo unit (positive = net debit, negative = net
credit, spec of `TradeProposal.limit_price`) rounded to the penny.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import reduce

from engine.domain import (
    ExitReason,
    OrderLeg,
    Position,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext
from engine.strategies.chain_select import round_to_tick

COMBO_TICK = Decimal("0.01")


def closing_legs(positions: Sequence[Position]) -> tuple[list[OrderLeg], int]:
    """Legs that flatten `positions`, and the combo quantity (gcd of the sizes)."""
    held = [p for p in positions if p.quantity != 0]
    if not held:
        raise ValueError("closing_legs: no open position to close")
    unit = reduce(math.gcd, (abs(p.quantity) for p in held))
    legs = [
        OrderLeg(
            instrument=p.instrument,
            side=Side.SELL if p.quantity > 0 else Side.BUY,
            ratio=abs(p.quantity) // unit,
            effect=PositionEffect.CLOSE,
        )
        for p in held
    ]
    return legs, unit


def net_price(legs: Sequence[OrderLeg], marks: Mapping[str, float]) -> float:
    """Signed net per combo unit: + pays (debit), - receives (credit)."""
    return sum(leg.side.sign * leg.ratio * marks[leg.symbol] for leg in legs)


def unrealized(positions: Sequence[Position], marks: Mapping[str, float]) -> tuple[float, float]:
    """(P&L in dollars, entry cost in dollars as a positive amount) at `marks`."""
    pnl = 0.0
    cost = 0.0
    for p in positions:
        entry = float(p.avg_price)
        pnl += (marks[p.symbol] - entry) * p.quantity * p.multiplier
        cost += entry * p.quantity * p.multiplier
    return pnl, abs(cost)


def close_proposal(
    strategy: Strategy,
    ctx: StrategyContext,
    positions: Sequence[Position],
    marks: Mapping[str, float],
    *,
    reason: str,
    exit_reason: ExitReason,
    quantity: int | None = None,
    confidence: float = 1.0,
    bids: Mapping[str, float] | None = None,
) -> TradeProposal:
    """A CLOSE proposal for `positions` (all of them, or `quantity` combo units).

    With `bids` (each position's current bid), a long leg nobody bids for is left out of a
    multi-leg close and left to expire: no market buys an option for less than a tick, so
    a combo that must sell it could never trade, and the leg that matters (the in-the-money
    call of a straddle, the short leg of a credit spread) would ride to expiry with it.
    Debit verticals do not pass `bids`: there the long leg with no bid means the short one
    is worthless too, and buying it back would only cost money."""
    if bids is not None and len(positions) > 1:
        unbid = [p for p in positions if p.quantity > 0 and bids.get(p.symbol, 1.0) <= 0]
        rest = [p for p in positions if p not in unbid]
        if unbid and rest:
            positions = rest
            names = ", ".join(p.symbol for p in unbid)
            reason = f"{reason}; {names} left to expire (no bid)"
    legs, unit = closing_legs(positions)
    qty = unit if quantity is None else max(1, min(quantity, unit))
    if len(legs) == 1:
        limit = round_to_tick(
            marks[legs[0].symbol], None if legs[0].instrument.is_option else COMBO_TICK
        )
    else:
        limit = round_to_tick(net_price(legs, marks), COMBO_TICK)
    if limit == 0 and len(legs) == 1:
        limit = Decimal("0.01")  # a worthless option still needs a positive limit to sell
    underlying = legs[0].instrument.underlying
    return strategy.propose(
        ctx,
        legs=legs,
        quantity=qty,
        reason=reason,
        limit_price=limit,
        intent=ProposalIntent.CLOSE,
        exit_reason=exit_reason,
        confidence=confidence,
        key=f"close|{underlying}|{exit_reason}|" + ",".join(sorted(leg.symbol for leg in legs)),
    )
