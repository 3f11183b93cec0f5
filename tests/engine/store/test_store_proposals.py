"""Proposals with their state, and risk decisions with every check's value and limit."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType

from store_fixtures import AAPL_P170, SPY, T0

from engine.domain import (
    CheckOutcome,
    OrderLeg,
    ProposalIntent,
    ProposalState,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.store import Store


def _proposal(pid: str, strategy: str = "wheel", minutes: int = 0) -> TradeProposal:
    return TradeProposal(
        proposal_id=pid,
        strategy=strategy,
        created_at=T0 + timedelta(minutes=minutes),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(AAPL_P170, Side.SELL), OrderLeg(SPY, Side.BUY, ratio=2)),
        quantity=2,
        reason="IV rank 71 > 50",
        limit_price=Decimal("-2.10"),
        max_loss=Decimal("33580"),
        breakevens=(167.9,),
        meta=MappingProxyType({"iv_rank": 71.0, "note": "cash secured"}),
    )


async def test_save_proposal_when_reloaded_then_full_proposal_and_state_come_back(
    store: Store,
) -> None:
    p = _proposal("p-1")
    await store.save_proposal(p)
    rec = await store.load_proposal("p-1")
    assert rec is not None
    assert rec.proposal == p
    assert rec.state is ProposalState.PENDING_RISK
    assert rec.updated_at == p.created_at
    assert await store.load_proposal("missing") is None


async def test_proposal_state_when_changed_then_filters_by_state_and_strategy(store: Store) -> None:
    for i, strat in enumerate(["wheel", "dip", "wheel"]):
        await store.save_proposal(_proposal(f"p-{i}", strat, minutes=i))
    assert await store.set_proposal_state(
        "p-1", ProposalState.AWAITING_CONFIRMATION, T0 + timedelta(hours=1), note="needs a yes"
    )
    assert not await store.set_proposal_state("nope", ProposalState.DENIED, T0)
    waiting = await store.load_proposals([ProposalState.AWAITING_CONFIRMATION])
    assert [(r.proposal.proposal_id, r.note) for r in waiting] == [("p-1", "needs a yes")]
    assert [r.proposal.proposal_id for r in await store.load_proposals(strategy="wheel")] == [
        "p-0",
        "p-2",
    ]
    assert [r.proposal.proposal_id for r in await store.load_proposals()] == ["p-0", "p-1", "p-2"]
    assert await store.load_proposals([]) == []


async def test_save_proposal_when_edited_then_new_quantity_replaces_old(store: Store) -> None:
    p = _proposal("p-1")
    await store.save_proposal(p, ProposalState.AWAITING_CONFIRMATION)
    edited = replace(p, quantity=1)
    await store.save_proposal(
        edited, ProposalState.CONFIRMED, at=T0 + timedelta(minutes=3), note="edited"
    )
    [rec] = await store.load_proposals()
    assert (rec.proposal.quantity, rec.state, rec.note) == (1, ProposalState.CONFIRMED, "edited")


async def test_risk_decision_when_stored_then_each_check_value_limit_and_message_in_order(
    store: Store,
) -> None:
    checks = (
        RiskCheckResult("max_position", CheckOutcome.PASS, 0.04, 0.10, "4% of equity"),
        RiskCheckResult("var_budget", CheckOutcome.FAIL, 5400.0, 5121.0, "VaR over budget", 1),
        RiskCheckResult("stale_data", CheckOutcome.WARN, None, None, "quote 40s old"),
    )
    first = RiskDecision("p-1", False, 0, checks, T0, "VaR budget")
    second = RiskDecision("p-1", True, 1, checks[:1], T0 + timedelta(seconds=5), "resized")
    await store.record_risk_decision(first)
    await store.record_risk_decision(second)
    await store.record_risk_decision(RiskDecision("p-other", True, 1, (), T0))
    assert await store.load_risk_decisions("p-1") == [first, second]
    assert (await store.load_risk_decisions("p-1"))[0].failed_checks[0].limit == 5121.0


async def test_risk_decision_when_check_value_is_nan_then_reads_back_as_none(store: Store) -> None:
    # SQLite stores NaN in a REAL column as NULL; documented, and asserted so it is not a surprise.
    await store.record_risk_decision(
        RiskDecision("p", False, 0, (RiskCheckResult("var", CheckOutcome.FAIL, math.nan, 1.0),), T0)
    )
    [d] = await store.load_risk_decisions("p")
    assert d.checks[0].value is None
    assert d.checks[0].limit == 1.0
