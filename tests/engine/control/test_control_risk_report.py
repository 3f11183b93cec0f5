"""The risk report and the desk's snapshot fields, local vs remote over a real socket: the
same values whichever way a desk is attached."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from control_helpers import Raw

from engine.domain import (
    OptionContract,
    OptionRight,
    OrderLeg,
    ProposalIntent,
    Side,
    TradeProposal,
    make_proposal_id,
)
from engine.runtime.engine import RunBudget
from engine.runtime.local_client import LocalEngineClient
from engine.runtime.risk_views import ENVELOPE, RiskReportView
from engine.runtime.views import DataState
from engine.strategies.base import PROFILES
from wsb_tui.remote import Endpoint, RemoteEngineClient


async def _book_with_an_option(served) -> OptionContract:  # type: ignore[no-untyped-def]
    """Trade the index sleeve for a while (auto gate) and buy one near-the-money call."""
    eng = served.engine
    await eng.advance(RunBudget(market_minutes=30))
    now = eng.clock.now()
    chain = await eng.market.option_chain(
        "SPY", now.date() + timedelta(days=20), now.date() + timedelta(days=60)
    )
    spot = chain.spot
    quote = min(
        (q for q in chain.quotes if q.contract.right is OptionRight.CALL),
        key=lambda q: abs(float(q.contract.strike) - spot),
    )
    p = TradeProposal(
        proposal_id=make_proposal_id("manual", now, "riskview"),
        strategy="manual",
        created_at=now,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(quote.contract, Side.BUY),),
        quantity=1,
        reason="test: one call so the book has option greeks",
        limit_price=Decimal(str(round(quote.ask + 0.05, 2))),
        max_loss=Decimal(str(round((quote.ask + 0.05) * 100, 2))),
    )
    ok, msg = await eng.submit_manual(p, actor="test")
    assert ok, msg
    # Past the monitor's 15-minute cadence, so its report includes the call.
    await eng.advance(RunBudget(market_minutes=16))
    assert quote.contract.symbol in eng.ledger.positions, "the call did not fill"
    return quote.contract


async def test_risk_report_when_read_locally_and_remotely_then_identical(serve):
    served = await serve(gate="auto")
    call = await _book_with_an_option(served)
    local = LocalEngineClient(served.engine, actor="local")
    remote = RemoteEngineClient(Endpoint(socket_path=served.socket_path), heartbeat_s=0)
    await remote.connect()
    try:
        mine = await local.risk_report()
        theirs = await remote.risk_report()
    finally:
        await remote.close()
    assert isinstance(theirs, RiskReportView)
    assert theirs == mine
    # The figures are the monitor's: an envelope row per level, stress scenarios, breakers.
    assert mine.available, mine.note
    envelope = [v for v in mine.var if v.method == ENVELOPE]
    assert envelope
    assert all(v.var > 0 and v.cvar >= v.var for v in envelope)
    assert len(mine.stress) >= 6
    assert {b.name for b in mine.breakers} >= {"daily_loss", "drawdown_kill", "stale_data"}
    # Greeks by underlying and expiry: the call's own bucket, and SPY shares without expiry.
    buckets = {(g.underlying, g.expiry): g for g in mine.greeks}
    assert ("SPY", call.expiry) in buckets
    assert buckets["SPY", call.expiry].gamma > 0
    assert buckets["SPY", call.expiry].theta < 0


async def test_snapshot_desk_fields_when_read_remotely_then_equal_to_local(serve):
    served = await serve(gate="auto")
    call = await _book_with_an_option(served)
    eng = served.engine
    local = await LocalEngineClient(eng).snapshot()
    remote = RemoteEngineClient(Endpoint(socket_path=served.socket_path), heartbeat_s=0)
    await remote.connect()
    try:
        snap = await remote.snapshot()
    finally:
        await remote.close()
    assert snap.position_greeks == local.position_greeks
    assert snap.profiles == local.profiles == PROFILES
    assert snap.data == local.data
    assert [s.positions for s in snap.strategies] == [s.positions for s in local.strategies]
    # Option greeks in dollars, priced from the mark: a long call has positive delta$ and
    # gamma$, negative theta$ per day.
    g = snap.position_greeks[call.symbol]
    assert g.model == "bs"
    assert 0.0 < g.unit_delta < 1.0
    assert g.delta_dollars > 0
    assert g.gamma_dollars > 0
    assert g.vega_dollars > 0
    assert g.theta_dollars < 0
    assert g.iv is not None
    assert 0.01 < g.iv < 3.0
    # Each strategy's positions are its own: the index sleeve holds what it bought.
    index = next(s for s in snap.strategies if s.name == "index_baseline")
    assert index.open_positions == len(index.positions) > 0
    assert all(p.quantity != 0 for p in index.positions)
    assert snap.data.source == eng.market.name
    assert snap.data.state is DataState.HEALTHY


async def test_risk_report_when_monitor_role_raw_request_then_answered_not_audited(serve):
    served = await serve()
    raw = await Raw.unix(served.socket_path)
    try:
        welcome = await raw.hello(role="monitor")
        assert welcome is not None
        assert "risk_report" in welcome["methods"]
        reply = await raw.call(1, "risk_report")
        assert reply["ok"], reply
        assert {"var", "stress", "greeks", "backtest", "breakers", "available"} <= set(
            reply["data"]
        )
    finally:
        raw.close()
    assert await served.engine.store.recent_commands() == []
