"""The desk model and the event buffer: plain Python, no terminal needed."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from fake_client import T0, FakeEngineClient

from engine.domain import (
    BarsReceived,
    CheckOutcome,
    DataRejected,
    EngineEvent,
    LogLine,
    Portfolio,
    PortfolioSnapshot,
    ProposalCreated,
    ProposalDecided,
    ProposalState,
    ProposalStateChanged,
    RiskCheckResult,
    RiskDecision,
    RiskUpdated,
    StrategyStatusChanged,
)
from engine.domain.market import Bar
from engine.runtime.views import StrategyRunState, TradingState
from wsb_tui.screens.desk import DETAILED_PROPOSALS, MAX_FILLS, MAX_PROPOSALS, Desk
from wsb_tui.screens.feed import EventBuffer


async def _desk(**kw: object) -> tuple[Desk, FakeEngineClient]:
    fake = FakeEngineClient(**kw)  # type: ignore[arg-type]
    desk = Desk()
    desk.apply_snapshot(await fake.snapshot())
    return desk, fake


async def test_snapshot_when_applied_then_pending_strategies_and_greeks_known() -> None:
    desk, fake = await _desk()
    assert list(desk.pending) == list(fake.pending)
    assert len(desk.strategies) == 10
    assert desk.greeks  # read from the snapshot's optional position_greeks
    assert desk.open_positions() == 8
    assert desk.now == T0


async def test_state_change_when_expired_then_leaves_queue_with_note_and_toast() -> None:
    desk, _fake = await _desk()
    pid = next(iter(desk.pending))
    change = desk.apply_event(
        ProposalStateChanged(T0, pid, ProposalState.EXPIRED, note="5 min passed")
    )
    assert pid not in desk.pending
    assert change.gone_pending == {pid: "expired"}
    (notice,) = [n for n in change.notices if "expired" in n.message]
    assert notice.notify
    assert "5 min passed" in notice.message


async def test_decision_when_denied_then_warning_names_failed_check() -> None:
    desk, fake = await _desk()
    pp = next(iter(fake.pending.values()))
    failed = RiskCheckResult("var99_after", CheckOutcome.FAIL, 6000.0, 5121.0, "VaR budget")
    decision = RiskDecision(pp.proposal.proposal_id, False, 0, (failed,), T0)
    change = desk.apply_event(ProposalDecided(T0, pp.proposal, decision))
    assert pp.proposal.proposal_id not in desk.pending
    assert desk.proposals[pp.proposal.proposal_id].state is ProposalState.DENIED
    (notice,) = [n for n in change.notices if "var99_after: VaR budget" in n.message]
    assert notice.notify
    # A toast only: the engine's own "risk denied" log line is the log pane's record of it.
    assert not notice.log


async def test_state_change_when_awaiting_after_decision_then_enters_queue_as_new() -> None:
    desk, fake = await _desk(pending=0)
    await fake.submit_proposal(FakeEngineClient()._make_pending(0).proposal)
    events = list(fake._backlog)
    change = desk.apply_event(events[0])
    for ev in events[1:]:
        change.merge(desk.apply_event(ev))
    assert len(desk.pending) == 1
    assert change.new_pending == list(desk.pending)


async def test_strategy_event_when_errored_then_state_and_error_toast() -> None:
    desk, _ = await _desk()
    change = desk.apply_event(StrategyStatusChanged(T0, "wheel", "errored", "chain stale"))
    assert desk.strategies["wheel"].state is StrategyRunState.ERRORED
    assert desk.strategies["wheel"].error == "chain stale"
    assert any(n.level == "error" and n.notify for n in change.notices)


async def test_older_portfolio_when_arriving_late_then_ignored() -> None:
    desk, _fake = await _desk()
    newer = desk.portfolio
    assert newer is not None
    stale = Portfolio(T0 - timedelta(minutes=1), Decimal(1))
    desk.apply_event(PortfolioSnapshot(stale.ts, stale))
    assert desk.portfolio is newer


async def test_fills_when_many_then_history_bounded() -> None:
    desk, fake = await _desk()
    base = fake.fills[0]
    for i in range(MAX_FILLS + 50):
        desk._put_fill(
            base.__class__(
                f"x{i}", "c", "b", base.instrument, base.side, 1, Decimal(1), Decimal(0), T0
            )
        )
    assert len(desk.fills) == MAX_FILLS
    assert "x0" not in desk.fills
    assert f"x{MAX_FILLS + 49}" in desk.fills


async def test_data_and_log_errors_when_received_then_notify_flags() -> None:
    desk, _ = await _desk()
    a = desk.apply_event(DataRejected(T0, "sim", "NaN close for AAPL"))
    b = desk.apply_event(LogLine(T0, "critical", "store write failed"))
    c = desk.apply_event(LogLine(T0, "info", "scan done"))
    assert a.notices[0].notify
    assert a.notices[0].level == "warning"
    assert b.notices[0].notify
    assert b.notices[0].level == "error"
    assert not c.notices[0].notify


def _bars(i: int) -> BarsReceived:
    return BarsReceived(
        T0 + timedelta(minutes=i), (Bar("SPY", T0, 1.0 + i, 2.0 + i, 1.0 + i, 1.5 + i, 10.0),)
    )


def _risk_event(var: float | None, state: str, breakers: tuple[str, ...] = ()) -> RiskUpdated:
    return RiskUpdated(
        T0 + timedelta(seconds=5),
        equity=100_000.0,
        var99=var,
        var99_budget=5_000.0,
        cvar99=None,
        cvar99_budget=7_000.0,
        drawdown=0.01,
        drawdown_limit=0.15,
        day_loss=0.0,
        day_loss_limit=0.06,
        gross_exposure=48_000.0,
        net_delta=None,
        net_vega=900.0,
        trading_state=state,
        breakers=breakers,
    )


async def test_risk_event_when_received_then_gauges_and_state_follow_it() -> None:
    desk, _fake = await _desk()
    assert desk.risk is not None
    delta_before = desk.risk.net_delta
    change = desk.apply_event(_risk_event(4_400.0, "HALTED", ("daily_loss",)))
    assert {"risk", "header"} <= change.topics
    assert not [n for n in change.notices if n.level == "debug"]  # handled, not "event ..."
    gauges = {g.name: g for g in desk.risk.gauges}
    assert (gauges["VaR99 1d"].value, gauges["VaR99 1d"].limit) == (4_400.0, 5_000.0)
    assert desk.risk.trading_state is TradingState.HALTED
    assert desk.risk.breakers == ("daily_loss",)
    assert desk.risk.net_delta == delta_before  # None in the event leaves the last figure
    assert desk.risk.net_vega == 900.0


async def test_risk_event_when_var_unknown_then_last_gauge_kept_and_header_quiet() -> None:
    desk, _fake = await _desk()
    assert desk.risk is not None
    before = {g.name: g.value for g in desk.risk.gauges}
    state = desk.risk.trading_state.value
    change = desk.apply_event(_risk_event(None, state))
    assert "header" not in change.topics
    assert {g.name: g.value for g in desk.risk.gauges}["VaR99 1d"] == before["VaR99 1d"]


def test_buffer_when_snapshots_pile_up_then_only_newest_kept_and_signalled_once() -> None:
    buf = EventBuffer()
    signals = [buf.add(_bars(i)) for i in range(50)]
    log = LogLine(T0, "info", "x")
    signals.append(buf.add(log))
    assert signals.count(True) == 1
    drained = buf.drain()
    assert drained.coalesced == 49
    assert drained.events[0] is log  # ordered events first, then the newest snapshot
    assert isinstance(drained.events[1], BarsReceived)
    assert drained.events[1].bars[0].open == 50.0
    assert buf.add(log) is True  # after a drain the next event signals again


def test_buffer_when_full_of_ordinary_events_then_oldest_dropped_and_counted() -> None:
    buf = EventBuffer(max_events=10)
    events: list[EngineEvent] = [LogLine(T0, "info", str(i)) for i in range(25)]
    for e in events:
        buf.add(e)
    drained = buf.drain()
    assert drained.dropped == 15
    assert [e.message for e in drained.events] == [str(i) for i in range(15, 25)]  # type: ignore[attr-defined]


def test_buffer_when_size_not_positive_then_error_names_value() -> None:
    with pytest.raises(ValueError, match="max_events 0"):
        EventBuffer(0)


# -- the proposal history stays small however many proposals pass -----------------------------

CHECKS_PER_DECISION = 25


def _decided(desk: Desk, i: int, final: ProposalState | None) -> RiskDecision:
    """Proposal `i` created and approved at the desk, then moved to `final` (if given)."""
    template = FakeEngineClient()._make_pending(i % 2).proposal
    ts = T0 + timedelta(seconds=i)
    p = replace(template, proposal_id=f"p{i}", created_at=ts, meta={"kind": "soak"})
    checks = tuple(
        RiskCheckResult(f"check_{k}", CheckOutcome.PASS, float(k), float(k + 1), f"within {k}")
        for k in range(CHECKS_PER_DECISION)
    )
    decision = RiskDecision(p.proposal_id, True, p.quantity, checks, ts, f"all clear {i}")
    desk.apply_event(ProposalCreated(ts, p))
    desk.apply_event(ProposalDecided(ts, p, decision))
    if final is not None:
        desk.apply_event(ProposalStateChanged(ts, p.proposal_id, final))
    return decision


def _soak(desk: Desk, start: int, n: int) -> dict[str, RiskDecision]:
    finals = (ProposalState.SUBMITTED, ProposalState.REJECTED, ProposalState.EXPIRED)
    return {f"p{i}": _decided(desk, i, finals[i % 3]) for i in range(start, start + n)}


def test_proposals_when_5000_decided_then_only_the_newest_keep_their_checks() -> None:
    desk = Desk()
    decisions = _soak(desk, 0, 5_000)
    assert len(desk.proposals) == MAX_PROPOSALS
    records = list(desk.proposals.values())
    assert [r.proposal.proposal_id for r in records[-3:]] == ["p4997", "p4998", "p4999"]
    newest, older = records[-DETAILED_PROPOSALS:], records[:-DETAILED_PROPOSALS]
    for r in newest:
        assert r.decision is decisions[r.proposal.proposal_id]  # every check, value and limit
    for r in older:
        assert r.decision is None
        # What the strategy screen's history shows for it is unchanged.
        assert r.note == f"all clear {r.proposal.proposal_id[1:]}"
        assert r.state in (ProposalState.SUBMITTED, ProposalState.REJECTED, ProposalState.EXPIRED)
    held = sum(len(r.decision.checks) for r in records if r.decision is not None)
    assert held == DETAILED_PROPOSALS * CHECKS_PER_DECISION


def test_proposals_when_one_waits_long_then_keeps_its_checks_until_done() -> None:
    desk = Desk()
    waiting = _decided(desk, 0, ProposalState.AWAITING_CONFIRMATION)
    assert "p0" in desk.pending
    _soak(desk, 1, 2 * DETAILED_PROPOSALS)
    assert desk.proposals["p0"].decision is waiting  # the confirmation dialog still needs it
    assert desk.pending["p0"].decision is waiting
    change = desk.apply_event(ProposalStateChanged(T0, "p0", ProposalState.EXPIRED, note="late"))
    assert change.gone_pending == {"p0": "expired"}
    assert desk.proposals["p0"].decision is None  # finished and old: compacted at once
    assert desk.proposals["p0"].note == "late"


def test_proposals_when_soaked_then_retained_memory_per_proposal_is_small() -> None:
    desk = Desk()
    _soak(desk, 0, 2 * MAX_PROPOSALS)  # the history full: from here on it only turns over
    gc.collect()
    tracemalloc.start()
    try:
        _soak(desk, 2 * MAX_PROPOSALS, 5_000)
        gc.collect()
        retained, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Full records cost ~6 KB each here (25 checks); 1,000 of them would hold ~6 MB.
    assert retained < 2_500 * MAX_PROPOSALS
