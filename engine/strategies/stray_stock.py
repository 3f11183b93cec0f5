"""`stray_stock_closes`: market closes for shares an options-only strategy never meant to hold.

A long option that expires in the money is exercised, and a short one assigned: the strategy
is left holding (or short) 100 shares per contract. The wheel wants that (`trades_stock`);
every other options strategy has no rule that would ever look at stock, so the shares sat in
its book for the rest of the run, unmanaged, carrying the full risk of the underlying (a
one-year backtest of earnings protection held 300 GOOGL and 200 NVDA shares that way after
its exit orders missed). The strategy manager adds these closes to the strategy's own
proposals on every scan; they go through pre-trade risk and the confirmation gate like any
other exit.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.domain import (
    Equity,
    ExitReason,
    OrderLeg,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext


def stray_stock_closes(
    strategy: Strategy, ctx: StrategyContext, proposed: Sequence[TradeProposal]
) -> list[TradeProposal]:
    """Market CLOSE proposals for each stock position in `strategy`'s book when it trades
    options only, except names already being closed (a pending proposal or open order, or one
    of `proposed`) and outside market hours."""
    if type(strategy).trades_stock or not ctx.market_open:
        return []
    busy = {leg.symbol for p in (*ctx.pending, *proposed) for leg in p.legs}
    out: list[TradeProposal] = []
    for sym, pos in sorted(ctx.positions.items()):
        if pos.quantity == 0 or not isinstance(pos.instrument, Equity) or sym in busy:
            continue
        qty = abs(pos.quantity)
        leg = OrderLeg(
            pos.instrument, Side.SELL if pos.quantity > 0 else Side.BUY, 1, PositionEffect.CLOSE
        )
        held = "long" if pos.quantity > 0 else "short"
        out.append(
            strategy.propose(
                ctx,
                legs=(leg,),
                quantity=qty,
                reason=(
                    f"{held} {qty} {sym} shares from an exercised or assigned option: "
                    f"{strategy.title} trades options only, so they are closed at market"
                ),
                limit_price=None,
                intent=ProposalIntent.CLOSE,
                exit_reason=ExitReason.EXPIRY,
                key=f"stray-stock|{sym}",
            )
        )
    return out
