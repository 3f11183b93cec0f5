"""Open risk of a book: dollars that can still be lost, with spreads recognised.

The budgets of spec §0.1 (max_total_risk, per-strategy allocation caps) are in "open risk":
what the positions can still lose.  Counting each leg alone, a short put is strike x 100
and a credit spread 20 times its real risk, so any book with a condor on looks over budget.
Here each short option is first paired with long options of the same underlying and right
expiring no earlier (nearest strike first), and a pair is a vertical whose value is bounded:

    loss from here = value now - lowest value it can reach
    lowest value   = -width x multiplier x qty  if the short strike is the riskier one
                     (credit: short call below the long, short put above it), else 0

Unpaired legs: long options and shares lose at most their market value; an uncovered short
put is secured by strike x multiplier (less the premium it is worth); a short call is
covered by shares of the underlying where they exist (the shares carry the risk), else
counted at its market value - like the engine's ledger, since a naked call's loss is
unbounded and the broker does not allow one in a cash account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.domain import Equity, OptionContract, OptionRight, Position

__all__ = ["book_open_risk"]


@dataclass(slots=True)
class _Long:
    contract: OptionContract
    left: int  # contracts not yet used as a hedge
    unit: float  # market value per contract


def _pair_loss(short: OptionContract, long: OptionContract, qty: int, value: float) -> float:
    width = float(abs(short.strike - long.strike)) * short.multiplier * qty
    credit = short.strike < long.strike if short.is_call else short.strike > long.strike
    lowest = -width if credit else 0.0
    return max(0.0, value - lowest)


def book_open_risk(
    positions: Iterable[Position], *, exclude: frozenset[str] = frozenset()
) -> float:
    """Open risk of the positions, in dollars; symbols in `exclude` are left out."""
    positions = list(positions)
    total = 0.0
    for p in positions:
        inst = p.instrument
        if p.quantity == 0 or (exclude and inst.symbol in exclude):
            continue
        if not isinstance(inst, Equity):
            break
        # `abs(p.market_value)` written out (the same product): asked for each holding by
        # several checks of every proposal.
        mark = p.mark
        total += abs(
            (mark if mark is not None else float(p.avg_price)) * p.quantity * inst.multiplier
        )
    else:
        # Shares only (a stock book's every check): the loops below add just these, in order.
        return total
    pos = [p for p in positions if p.quantity != 0 and p.symbol not in exclude]
    longs: dict[tuple[str, OptionRight], list[_Long]] = {}
    shares: dict[str, int] = {}
    total = 0.0
    for p in pos:
        inst = p.instrument
        if isinstance(inst, OptionContract) and p.quantity > 0:
            longs.setdefault((inst.underlying, inst.right), []).append(
                _Long(inst, p.quantity, p.market_value / p.quantity)
            )
        elif isinstance(inst, Equity):
            total += abs(p.market_value)
            shares[inst.symbol] = shares.get(inst.symbol, 0) + p.quantity
    for p in pos:
        short = p.instrument
        if not (isinstance(short, OptionContract) and p.quantity < 0):
            continue
        left = -p.quantity
        unit_short = p.market_value / p.quantity  # value per contract owed back (>= 0)
        cands = sorted(
            (
                c
                for c in longs.get((short.underlying, short.right), [])
                if c.contract.expiry >= short.expiry
            ),
            key=lambda c: abs(c.contract.strike - short.strike),
        )
        for c in cands:
            if left == 0:
                break
            q = min(left, c.left)
            if q <= 0:
                continue
            c.left -= q
            total += _pair_loss(short, c.contract, q, (c.unit - unit_short) * q)
            left -= q
        if left == 0:
            continue
        if short.right is OptionRight.PUT:
            total += max(0.0, (float(short.strike) * short.multiplier - unit_short) * left)
        else:
            covered = min(left, max(0, shares.get(short.underlying, 0)) // short.multiplier)
            shares[short.underlying] = shares.get(short.underlying, 0) - covered * short.multiplier
            total += unit_short * (left - covered)
    for group in longs.values():
        for c in group:
            if c.left > 0:
                total += max(0.0, c.unit * c.left)
    return total
