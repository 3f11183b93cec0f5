"""Confirmation timeouts run on the engine's clock: wall time on a wall-paced (paper/live)
clock, market time in a simulated run. (A fast simulated run at max speed expiring by market
minutes is tested end to end in test_engine_path.py.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.domain import (
    Equity,
    OrderLeg,
    ProposalIntent,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.runtime.clock import SimulatedClock, WallPacedClock
from engine.runtime.gate import ConfirmationGate, GateError, GateMode

TIMEOUT = timedelta(minutes=2)


def _proposal(now: datetime, pid: str = "p-1") -> tuple[TradeProposal, RiskDecision]:
    p = TradeProposal(
        proposal_id=pid,
        strategy="index_baseline",
        created_at=now,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY),),
        quantity=1,
        reason="test",
        limit_price=Decimal("580"),
    )
    return p, RiskDecision(pid, True, 1, (), now, "ok")


async def test_expiry_when_wall_paced_clock_then_deadline_is_wall_time_plus_timeout():
    clock = WallPacedClock()
    gate = ConfirmationGate(GateMode.CONFIRM, TIMEOUT)
    before = datetime.now(UTC)
    p, d = _proposal(clock.now())
    assert not gate.admit(p, d, clock.now())
    after = datetime.now(UTC)
    (w,) = gate.waiting()
    # The wall-paced clock never lags the wall: the deadline is a wall-clock deadline.
    assert before + TIMEOUT <= w.expires_at <= after + TIMEOUT
    # The engine sweeps at each minute tick with the tick's time, which a wall-paced clock
    # reaches only once the wall clock has: nothing expires early...
    assert gate.expire(w.expires_at - timedelta(seconds=1)) == []
    # ...and it goes at the first tick at or after the deadline (within one minute of it).
    assert [x.proposal.proposal_id for x in gate.expire(w.expires_at)] == ["p-1"]
    assert gate.waiting() == ()


async def test_wall_paced_clock_when_advanced_then_tick_time_not_ahead_of_wall():
    clock = WallPacedClock()
    target = datetime.now(UTC) + timedelta(milliseconds=50)
    await clock.advance_to(target)
    assert datetime.now(UTC) >= target  # a sweep at `target` runs only after the wall got there
    assert clock.now() >= target


async def test_expiry_when_simulated_clock_runs_fast_then_market_time_decides():
    start = datetime(2025, 3, 3, 14, 31, tzinfo=UTC)
    clock = SimulatedClock(start, speed=None)  # max speed: minutes pass in microseconds
    gate = ConfirmationGate(GateMode.CONFIRM, TIMEOUT)
    p, d = _proposal(clock.now())
    gate.admit(p, d, clock.now())
    await clock.advance_to(start + timedelta(minutes=1))
    assert gate.expire(clock.now()) == []
    await clock.advance_to(start + TIMEOUT)
    assert len(gate.expire(clock.now())) == 1


def test_expiry_when_proposal_has_earlier_own_deadline_then_that_wins():
    now = datetime(2025, 3, 3, 14, 31, tzinfo=UTC)
    gate = ConfirmationGate(GateMode.CONFIRM, TIMEOUT)
    p, d = _proposal(now)
    p = replace(p, expires_at=now + timedelta(seconds=30))
    gate.admit(p, d, now)
    assert gate.waiting()[0].expires_at == now + timedelta(seconds=30)


def test_take_when_deadline_passed_but_not_yet_swept_then_refused():
    now = datetime(2025, 3, 3, 20, 59, tzinfo=UTC)
    gate = ConfirmationGate(GateMode.CONFIRM, TIMEOUT)
    p, d = _proposal(now)
    gate.admit(p, d, now)
    # Hours later (no tick overnight), a person confirms: it must not reach the broker.
    with pytest.raises(GateError, match="expired"):
        gate.take("p-1", now=now + timedelta(hours=12))
    # Before the deadline the same call takes it.
    gate.admit(p, d, now)
    assert gate.take("p-1", now=now + timedelta(seconds=1))[0] == p
