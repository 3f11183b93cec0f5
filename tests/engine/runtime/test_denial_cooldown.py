"""After risk denies a strategy's entry on a capacity limit, the engine stops re-checking the
same entry every minute: it waits for the next session or a fill."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar

from engine.domain import (
    Bar,
    CheckOutcome,
    Equity,
    OrderLeg,
    OrderType,
    PositionEffect,
    ProposalIntent,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.runtime.engine import RunBudget
from engine.strategies.base import Strategy, StrategyContext, StrategyParams


class _P(StrategyParams):
    pass


class _Greedy(Strategy):
    """Every minute: buy far more SPY than the account can pay for (denied on buying power)."""

    name: ClassVar[str] = "greedy"
    title: ClassVar[str] = "Greedy"
    params_model: ClassVar[type[StrategyParams]] = _P

    def __init__(self, params: StrategyParams, *, profile: str = "wsb_2025") -> None:
        super().__init__(params, profile=profile)
        self.cooling_seen: list[frozenset[str]] = []

    def universe(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.cooling_seen.append(ctx.cooling)
        leg = OrderLeg(Equity("SPY"), Side.BUY, 1, PositionEffect.OPEN)
        return [self.propose(ctx, legs=(leg,), quantity=100_000, reason="all in", limit_price=None)]


async def test_entry_denied_when_proposed_again_same_session_then_dropped_until_next(build):
    strat = _Greedy(_P())
    emb = await build(strategies=[strat])
    eng, store = emb.engine, emb.store
    await eng.start()
    await eng.advance(RunBudget(market_minutes=30))
    stored = await store.load_proposals()
    assert len(stored) == 1  # judged once; the other 29 minutes' copies were dropped
    decisions = await store.load_risk_decisions(stored[0].proposal.proposal_id)
    assert not decisions[0].approved
    assert eng.proposals_cooled == len(strat.cooling_seen) - 1 >= 25
    assert strat.cooling_seen[0] == frozenset()
    assert strat.cooling_seen[-1] == frozenset({"SPY"})  # the strategy can see it, too

    await eng.advance(RunBudget(sessions=1))  # the rest of the day
    await eng.advance(RunBudget(market_minutes=2))  # a new session judges it afresh
    assert len(await store.load_proposals()) == 2
    await eng.stop()


def _decision(*failed: str) -> RiskDecision:
    checks = tuple(RiskCheckResult(name, CheckOutcome.FAIL, message="no") for name in failed)
    return RiskDecision("p-1", False, 0, checks, datetime(2026, 1, 5, 15, tzinfo=UTC), "no")


async def test_denial_when_only_transient_checks_failed_then_no_cooldown(build):
    strat = _Greedy(_P())
    emb = await build(strategies=[strat])
    eng = emb.engine
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)

    def proposal(pid: str, minute: int, intent: ProposalIntent) -> TradeProposal:
        effect = PositionEffect.OPEN if intent is ProposalIntent.OPEN else PositionEffect.CLOSE
        legs = (OrderLeg(Equity("SPY"), Side.BUY, 1, effect),)
        return TradeProposal(
            pid, "greedy", now.replace(minute=minute), intent, legs, 1, "x", OrderType.MARKET
        )

    p = proposal("p-1", 0, ProposalIntent.OPEN)
    later = proposal("p-2", 1, ProposalIntent.OPEN)
    eng._note_denial(p, _decision("rate_limit", "market_hours"))
    assert not eng._is_cooling(later)
    eng._note_denial(p, _decision("rate_limit", "buying_power"))
    assert eng._is_cooling(later)
    assert not eng._is_cooling(p)  # the same scan's proposals are judged on their own
    close = proposal("p-3", 2, ProposalIntent.CLOSE)
    assert not eng._is_cooling(close)  # exits are never held back
