"""`price_urgent_exits`: closing proposals that must trade now are priced to trade now.

Strategies price every exit at the legs' mid (`engine.strategies.closing`). That suits a
take-profit, which can wait for the market to come to it. It does not suit an exit whose
point is to get out: a stop, a time or expiry exit, the end-of-day close of a 0DTE play, the
exit once an event has passed. A sell limit at the mid of a falling option is not reached, and
the position rides to expiry (in a 2021 all-ten backtest every one of momentum weeklies' 75
expiry settlements followed stop, time or expiry exits that never filled).

Those exits are re-priced at the natural price - the bid of each leg sold, the ask of each
leg bought - so they are marketable when they arrive, as a trader crossing the spread makes
them; the reason says so. Everything else passes through unchanged: opening trades, exits that
can wait, market orders, a natural price no better for getting out than the strategy's own
limit, and a combo one of whose sold legs has no bid (it cannot trade at any price).

`hold_unsellable_exits` then holds back every closing proposal that sells an option nobody
bids for. Neither the paper broker nor an exchange sells for nothing, so such an order only
rests and is canceled, and the strategy proposes it again at the next scan: before this,
a one-year all-ten backtest sent 52 of them (a 0.01 stop each session on an option worth
nothing, until it expired). Held back, the position is valued at its mark and expires; the
strategy proposes the exit again at its next scan, which goes through once a bid returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    ExitReason,
    OptionContract,
    OrderType,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import StrategyContext

URGENT_EXITS = frozenset(
    {
        ExitReason.STOP,
        ExitReason.TIME,
        ExitReason.EXPIRY,
        ExitReason.END_OF_DAY,
        ExitReason.NEXT_DAY,
        ExitReason.EVENT,
    }
)

_PENNY = Decimal("0.01")


def is_urgent_exit(p: TradeProposal) -> bool:
    return (
        p.intent is ProposalIntent.CLOSE
        and p.exit_reason in URGENT_EXITS
        and p.order_type is OrderType.LIMIT
        and p.limit_price is not None
    )


async def _bid(ctx: StrategyContext, contract: OptionContract) -> float | None:
    try:
        return (await ctx.market.option_quote(contract)).bid
    except (DataUnavailable, BadMarketData):
        return None  # no usable quote: risk and the broker judge it, as any other order


async def unbid_leg(ctx: StrategyContext, p: TradeProposal) -> OptionContract | None:
    """The first option `p` sells whose quote has no bid, if `p` is a close."""
    if p.intent is not ProposalIntent.CLOSE:
        return None
    for leg in p.legs:
        inst = leg.instrument
        if leg.side is Side.SELL and isinstance(inst, OptionContract):
            bid = await _bid(ctx, inst)
            if bid is not None and not bid > 0:
                return inst
    return None


async def hold_unsellable_exits(
    ctx: StrategyContext, proposals: Sequence[TradeProposal]
) -> tuple[tuple[TradeProposal, ...], tuple[tuple[TradeProposal, OptionContract], ...]]:
    """(`proposals` that can trade, the closes held back with the option nobody bids for)."""
    kept: list[TradeProposal] = []
    held: list[tuple[TradeProposal, OptionContract]] = []
    for p in proposals:
        contract = await unbid_leg(ctx, p)
        if contract is None:
            kept.append(p)
        else:
            held.append((p, contract))
    return tuple(kept), tuple(held)


async def natural_limit(ctx: StrategyContext, p: TradeProposal) -> Decimal | None:
    """The limit at which `p` trades against the current quotes, in `p.limit_price`'s terms
    (a single leg: its price; a combo: the signed net per unit, + debit, - credit); None when
    a leg has no usable quote or a sold leg has no bid."""
    net = Decimal(0)
    for leg in p.legs:
        inst = leg.instrument
        try:
            if isinstance(inst, OptionContract):
                q = await ctx.market.option_quote(inst)
                bid, ask = q.bid, q.ask
            else:
                sq = await ctx.market.latest_quote(inst.symbol)
                bid, ask = sq.bid, sq.ask
        except (DataUnavailable, BadMarketData):
            return None
        price = bid if leg.side is Side.SELL else ask
        if not price > 0:
            return None
        net += Decimal(str(price)) * leg.side.sign * leg.ratio
    if len(p.legs) == 1:
        return abs(net).quantize(_PENNY)
    return net.quantize(_PENNY)


def _more_aggressive(p: TradeProposal, natural: Decimal) -> bool:
    limit = p.limit_price
    assert limit is not None
    if len(p.legs) == 1:
        return natural < limit if p.legs[0].side is Side.SELL else natural > limit
    return natural > limit  # signed net: paying more or receiving less


async def price_urgent_exits(
    ctx: StrategyContext, proposals: Sequence[TradeProposal]
) -> tuple[TradeProposal, ...]:
    """`proposals` with each urgent exit's limit moved to the natural price (module doc)."""
    out: list[TradeProposal] = []
    for p in proposals:
        if is_urgent_exit(p):
            natural = await natural_limit(ctx, p)
            if natural is not None and _more_aggressive(p, natural):
                p = replace(
                    p,
                    limit_price=natural,
                    reason=f"{p.reason}; limit {natural:f} at the natural price to exit now "
                    f"(mid {p.limit_price:f})",
                )
        out.append(p)
    return tuple(out)
