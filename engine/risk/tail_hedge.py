"""Tail hedge (spec §5): when VIX >= 25, propose ~20-delta puts ~30 days out on the index
covering 5 % of the book's value, roll them when 7 days are left, and never spend more than
2 % of value on hedges in any 365 days.

A proposal generator, not an order path: it returns `TradeProposal`s (strategy
"tail_hedge") that go through the pre-trade checks and the confirmation gate like any
other.  It is pure - the caller passes the candidate puts with their mids and deltas (priced
by engine.pricing or quoted by the broker) and what was spent on hedges in the last year.

Sizing: "5 % of value" is the hedged notional, so contracts = floor(5 % x value / (spot x
100)), at least one (an index put covers ~$50k of notional; a smaller book hedges with one
contract or not at all).  The spend cap then trims the count, and blocks the hedge outright
when even one contract would break it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from engine.domain import (
    OptionContract,
    OrderLeg,
    OrderType,
    Portfolio,
    Position,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.domain.proposals import ExitReason, make_proposal_id

__all__ = [
    "HedgeCandidate",
    "TailHedgeConfig",
    "TailHedgePlan",
    "is_protective_hedge",
    "plan_tail_hedge",
]

STRATEGY = "tail_hedge"


@dataclass(frozen=True, slots=True)
class TailHedgeConfig:
    vix_trigger: float = 25.0
    target_delta: float = 0.20  # absolute put delta
    target_dte: int = 30
    min_dte: int = 20  # candidates outside [min_dte, max_dte] are not ~30 DTE
    max_dte: int = 45
    hedge_pct: float = 0.05  # hedged notional as a fraction of the book's value
    roll_dte: int = 7
    max_annual_spend_pct: float = 0.02
    underlying: str = "SPY"

    def __post_init__(self) -> None:
        for name in ("target_delta", "hedge_pct", "max_annual_spend_pct"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 < v <= 1):
                raise ValueError(f"TailHedgeConfig.{name}={v!r} must be a fraction, 0 < x <= 1")
        if not 0 <= self.roll_dte < self.min_dte <= self.target_dte <= self.max_dte:
            raise ValueError(
                f"TailHedgeConfig DTEs must satisfy 0 <= roll_dte ({self.roll_dte}) < min_dte "
                f"({self.min_dte}) <= target_dte ({self.target_dte}) <= max_dte ({self.max_dte})"
            )


@dataclass(frozen=True, slots=True)
class HedgeCandidate:
    contract: OptionContract
    mid: float  # per share
    delta: float  # per share, negative for a put


@dataclass(frozen=True, slots=True)
class TailHedgePlan:
    action: str  # none | open | roll | close | hold | blocked
    reason: str
    proposals: tuple[TradeProposal, ...] = ()
    contracts: int = 0
    cost: float = 0.0  # dollars of premium the new puts cost at mid
    budget_left: float = 0.0  # dollars of the 365-day allowance left before this plan


def _dte(c: OptionContract, now: datetime) -> int:
    return (c.expiry - now.date()).days


def plan_tail_hedge(
    *,
    now: datetime,
    portfolio: Portfolio,
    vix: float | None,
    spot: float,
    candidates: Sequence[HedgeCandidate],
    spent_last_year: float,
    config: TailHedgeConfig = TailHedgeConfig(),
    held: Sequence[Position] | None = None,
) -> TailHedgePlan:
    """`held`: the positions that count as the hedge (the engine passes the "tail_hedge"
    book, so another strategy's puts are never rolled); None = every long put on the
    underlying in `portfolio`."""
    cfg = config
    value = portfolio.equity
    budget_left = max(0.0, cfg.max_annual_spend_pct * value - max(spent_last_year, 0.0))
    hedges = [
        (pos, inst)
        for pos in (portfolio.positions.values() if held is None else held)
        if isinstance(inst := pos.instrument, OptionContract)
        and inst.underlying == cfg.underlying
        and not inst.is_call
        and pos.quantity > 0
    ]
    expiring = [pos for pos, c in hedges if _dte(c, now) <= cfg.roll_dte]
    live = [pos for pos, c in hedges if _dte(c, now) > cfg.roll_dte]
    # A hedge put inside the roll window is sold whether or not it is replaced: left to
    # expire in the money it would be exercised into short shares that no rule manages.
    closes = tuple(_close_expiring(old, now, cfg) for old in expiring)
    if vix is None or not math.isfinite(vix) or vix < cfg.vix_trigger:
        label = "unknown" if vix is None else f"{vix:.1f}"
        if closes:
            return TailHedgePlan(
                "close",
                f"VIX {label} below {cfg.vix_trigger:g}: selling "
                f"{_count(expiring)} with <= {cfg.roll_dte} days left, not replaced",
                closes,
                budget_left=budget_left,
            )
        return TailHedgePlan(
            "none", f"VIX {label} below {cfg.vix_trigger:g}: no hedge", budget_left=budget_left
        )
    if live:
        held_note = f"hedged: {_count(live)} with > {cfg.roll_dte} days left"
        if closes:
            return TailHedgePlan(
                "close",
                f"{held_note}; selling {_count(expiring)} with <= {cfg.roll_dte} days left",
                closes,
                budget_left=budget_left,
            )
        return TailHedgePlan("hold", held_note, budget_left=budget_left)
    if not (math.isfinite(spot) and spot > 0):
        raise ValueError(f"spot={spot!r} must be a positive price of {cfg.underlying}")
    usable = [
        c
        for c in candidates
        if c.contract.underlying == cfg.underlying
        and not c.contract.is_call
        and cfg.min_dte <= _dte(c.contract, now) <= cfg.max_dte
        and math.isfinite(c.mid)
        and c.mid > 0
        and math.isfinite(c.delta)
        and c.delta < 0
    ]
    if not usable:
        return TailHedgePlan(
            "blocked",
            f"no priced {cfg.underlying} put {cfg.min_dte}-{cfg.max_dte} days out"
            + _selling(expiring, cfg),
            closes,
            budget_left=budget_left,
        )
    pick = min(
        usable,
        key=lambda c: (
            abs(abs(c.delta) - cfg.target_delta),
            abs(_dte(c.contract, now) - cfg.target_dte),
            c.contract.strike,
        ),
    )
    per_contract = pick.mid * pick.contract.multiplier
    want = max(1, math.floor(cfg.hedge_pct * value / (spot * pick.contract.multiplier)))
    affordable = math.floor(budget_left / per_contract + 1e-9)
    n = min(want, affordable)
    if n <= 0:
        return TailHedgePlan(
            "blocked",
            f"one put costs ${per_contract:,.0f}, {cfg.max_annual_spend_pct:.0%}/yr hedge "
            f"budget has ${budget_left:,.0f} left" + _selling(expiring, cfg),
            closes,
            budget_left=budget_left,
        )
    why = (
        f"VIX {vix:.1f} >= {cfg.vix_trigger:g}: tail hedge {n} x {pick.contract.symbol} "
        f"(delta {pick.delta:.2f}, {_dte(pick.contract, now)} DTE) covering "
        f"{cfg.hedge_pct:.0%} of ${value:,.0f}"
    )
    price = Decimal(str(pick.mid)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    proposals = list(closes)
    proposals.append(
        TradeProposal(
            proposal_id=make_proposal_id(STRATEGY, now, pick.contract.symbol),
            strategy=STRATEGY,
            created_at=now,
            intent=ProposalIntent.OPEN,
            legs=(OrderLeg(pick.contract, Side.BUY),),
            quantity=n,
            reason=why,
            order_type=OrderType.LIMIT,
            limit_price=price,
            max_loss=price * pick.contract.multiplier * n,
        )
    )
    return TailHedgePlan(
        "roll" if expiring else "open",
        why,
        tuple(proposals),
        contracts=n,
        cost=per_contract * n,
        budget_left=budget_left,
    )


def _close_expiring(old: Position, now: datetime, cfg: TailHedgeConfig) -> TradeProposal:
    return TradeProposal(
        proposal_id=make_proposal_id(STRATEGY, now, f"close:{old.symbol}"),
        strategy=STRATEGY,
        created_at=now,
        intent=ProposalIntent.CLOSE,
        legs=(OrderLeg(old.instrument, Side.SELL, 1, PositionEffect.CLOSE),),
        quantity=old.quantity,
        reason=f"roll tail hedge: {old.symbol} has <= {cfg.roll_dte} days left",
        order_type=OrderType.MARKET,
        exit_reason=ExitReason.ROLL,
    )


def _count(positions: Sequence[Position]) -> str:
    n = sum(p.quantity for p in positions)
    underlying = {p.instrument.underlying for p in positions}
    return f"{n} {'/'.join(sorted(underlying))} put{'s' if n != 1 else ''}"


def _selling(expiring: Sequence[Position], cfg: TailHedgeConfig) -> str:
    if not expiring:
        return ""
    return f"; selling {_count(expiring)} with <= {cfg.roll_dte} days left"


def is_protective_hedge(p: TradeProposal) -> bool:
    """A tail-hedge purchase: only long puts bought to open, under the "tail_hedge" name.

    Pre-trade risk lets it past the REDUCING state and tripped breakers (it lowers the
    book's loss in a sell-off) while every spending check still applies."""
    return p.strategy == STRATEGY and all(
        isinstance(leg.instrument, OptionContract)
        and not leg.instrument.is_call
        and leg.side is Side.BUY
        and leg.effect is PositionEffect.OPEN
        for leg in p.legs
    )
