"""The tail hedge (spec §5) in the running engine, end to end on the real embedded engine
(simulator, paper broker, SQLite file, live risk monitor): VIX >= 25 with `[risk] tail_hedge`
on buys ~20-delta SPY puts ~30 days out for ~5 % of value through pre-trade risk, the gate
and the broker, booked under "tail_hedge"; low VIX or the switch off does nothing; a hedge
with <= 7 days left is rolled; the 2 %/yr allowance blocks a hedge and survives a restart.

The simulator's VIX sits in the teens, so the tests pin the VIX bar the engine sees (the
feed is wrapped; the monitor and pre-trade risk read the same bar).  The SPY chain, the
fills and the store are the simulator's and the paper broker's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.domain import (
    Bar,
    BarInterval,
    Equity,
    ExitReason,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    PositionEffect,
    ProposalIntent,
    ProposalState,
    Side,
    TradeProposal,
)
from engine.runtime.config import ConfigError, load_config
from engine.runtime.engine import RunBudget
from engine.runtime.tail_hedger import TailHedger
from engine.runtime.views import TradingState
from engine.strategies.chain_select import option_delta

HEDGE = "tail_hedge"


class PinnedVix:
    """The simulator's minute feed with the VIX bar replaced by a level the test sets."""

    def __init__(self, inner: Any, level: float) -> None:
        self.inner = inner
        self.level = level

    def minute_bars_at(self, ts: datetime) -> Mapping[str, Bar]:
        bars = dict(self.inner.minute_bars_at(ts))
        if bars:
            x = self.level
            start = ts - timedelta(minutes=1)
            bars["VIX"] = Bar("VIX", start, x, x, x, x, 0.0, BarInterval.MINUTE)
        return bars


async def _engine(
    build: Any,
    *,
    vix: float,
    cash: float = 100_000.0,
    db: Path | None = None,
    enabled: bool = True,
    **risk: Any,
) -> tuple[Any, Any, PinnedVix]:
    emb = await build(
        strategies=[],
        db=db,
        broker={"initial_cash": cash},
        risk={"tail_hedge": enabled, **risk},
    )
    eng = emb.engine
    pin = PinnedVix(eng.feed, vix)
    eng.feed = pin
    await eng.start()
    return emb, eng, pin


async def _hedge_proposals(store: Any) -> list[Any]:
    return [r for r in await store.load_proposals() if r.proposal.strategy == HEDGE]


def _logged(eng: Any, text: str) -> list[str]:
    return [line for line in eng.log_lines if text in line]


async def _buy_expiring_puts(eng: Any, qty: int) -> OptionContract:
    """Buy `qty` SPY puts with 1-7 days left under "tail_hedge" (a hedge bought weeks ago,
    now due for a roll) through the engine's manual path."""
    now = eng.clock.now()
    today = now.date()
    chain = await eng.market.option_chain(
        "SPY", today + timedelta(days=1), today + timedelta(days=7)
    )
    puts = [
        q
        for q in chain
        if q.contract.right is OptionRight.PUT and 1.0 <= q.ask <= 5.0 and q.bid > 0
    ]
    assert puts, "the simulator lists SPY puts expiring within a week"
    # The latest expiry in the window: one 1-day put's theta (about -$1 a share on a $1-2
    # put, priced on the path's variance clock) alone is over the per-name theta limit.
    q = max(puts, key=lambda q: q.contract.expiry)
    p = TradeProposal(
        proposal_id=f"p-old-hedge-{now:%H%M}",
        strategy=HEDGE,
        created_at=now,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(q.contract, Side.BUY),),
        quantity=qty,
        reason="hedge bought earlier",
        order_type=OrderType.LIMIT,
        limit_price=Decimal(str(q.ask)),
    )
    ok, msg = await eng.submit_manual(p)
    assert ok, msg
    assert eng.ledger.by_strategy[HEDGE][q.contract.symbol].quantity == qty
    put = q.contract
    assert isinstance(put, OptionContract)
    assert 1 <= (put.expiry - today).days <= 7
    return put


async def _spend_on_hedges(eng: Any, dollars: float) -> float:
    """Buy ~30-day, ~20-delta SPY puts under "tail_hedge" and sell them back, three at a time
    (inside the per-name greek limits), until more than `dollars` went on them: hedges
    bought and closed earlier this year, so nothing is held but the money is spent."""
    now = eng.clock.now()
    today = now.date()
    chain = await eng.market.option_chain(
        "SPY", today + timedelta(days=20), today + timedelta(days=45)
    )
    q = min(
        (q for q in chain if q.contract.right is OptionRight.PUT and q.bid > 0),
        key=lambda q: abs(abs(option_delta(q, chain.spot, now)) - 0.20),
    )
    paid, rounds = 0.0, 0
    while paid <= dollars:
        rounds += 1
        buy = TradeProposal(
            proposal_id=f"p-earlier-hedge-{rounds}",
            strategy=HEDGE,
            created_at=now,
            intent=ProposalIntent.OPEN,
            legs=(OrderLeg(q.contract, Side.BUY),),
            quantity=3,
            reason="hedge bought earlier this year",
            order_type=OrderType.LIMIT,
            limit_price=Decimal(str(q.ask)),
        )
        ok, msg = await eng.submit_manual(buy)
        assert ok, msg
        sell = TradeProposal(
            proposal_id=f"p-earlier-hedge-closed-{rounds}",
            strategy=HEDGE,
            created_at=now,
            intent=ProposalIntent.CLOSE,
            legs=(OrderLeg(q.contract, Side.SELL, 1, PositionEffect.CLOSE),),
            quantity=3,
            reason="hedge closed",
            order_type=OrderType.MARKET,
            exit_reason=ExitReason.MANUAL,
        )
        ok, msg = await eng.submit_manual(sell)
        assert ok, msg
        paid += 3 * q.ask * 100
    book = eng.ledger.by_strategy.get(HEDGE, {})
    assert all(pos.quantity == 0 for pos in book.values())
    return paid


async def test_tail_hedge_when_vix_30_and_enabled_then_20_delta_30_dte_spy_puts_for_5pct_fill(
    build: Any,
) -> None:
    emb, eng, _ = await _engine(build, vix=30.0, cash=5_000_000.0)
    store = emb.store
    await eng.advance(RunBudget(market_minutes=1))
    now = eng.clock.now()

    recs = await _hedge_proposals(store)
    assert [r.state for r in recs] == [ProposalState.SUBMITTED], [(r.state, r.note) for r in recs]
    p = recs[0].proposal
    assert p.intent is ProposalIntent.OPEN
    (leg,) = p.legs
    put = leg.instrument
    assert isinstance(put, OptionContract)
    assert (put.underlying, put.right, leg.side) == ("SPY", OptionRight.PUT, Side.BUY)
    window = await eng.market.option_chain(
        "SPY", now.date() + timedelta(days=20), now.date() + timedelta(days=45)
    )
    # The listed expiry nearest 30 days out.
    dte = (put.expiry - now.date()).days
    assert 20 <= dte <= 45
    assert all(abs(dte - 30) <= abs((e - now.date()).days - 30) for e in window.expiries)

    chain = await eng.market.option_chain("SPY", put.expiry, put.expiry)
    quote = next(q for q in chain if q.contract == put)
    assert abs(option_delta(quote, chain.spot, now)) == pytest.approx(0.20, abs=0.05)
    # 5% of a $5M book in SPY notional, whole contracts, never above the 5%.
    per_contract = chain.spot * 100
    assert p.quantity * per_contract <= 0.05 * 5_000_000 < (p.quantity + 1) * per_contract
    assert p.quantity >= 2

    (decision,) = await store.load_risk_decisions(p.proposal_id)
    assert decision.approved
    assert {"buying_power", "position_size", "var_budget"} <= {c.name for c in decision.checks}
    fills = await store.load_fills(strategy=HEDGE)
    assert {f.symbol for f in fills} == {put.symbol}
    assert sum(f.quantity for f in fills) == p.quantity
    assert all(f.side is Side.BUY for f in fills)
    assert eng.ledger.by_strategy[HEDGE][put.symbol].quantity == p.quantity
    stored = await store.load_strategy_positions(HEDGE)
    assert stored[HEDGE][put.symbol].quantity == p.quantity
    assert _logged(eng, "tail hedge: proposing")

    # Covered now: later checks hold (one log line), no second hedge.
    await eng.advance(RunBudget(market_minutes=15))
    assert len(await _hedge_proposals(store)) == 1
    assert len(_logged(eng, "tail hedge held")) == 1
    await eng.stop()


async def test_tail_hedge_when_vix_below_25_then_nothing_and_checked_every_300s(
    build: Any,
) -> None:
    emb, eng, _ = await _engine(build, vix=18.0)
    await eng.advance(RunBudget(market_minutes=10))
    assert await _hedge_proposals(emb.store) == []
    hedger = eng.tail_hedger
    assert isinstance(hedger, TailHedger)
    assert hedger.last_step is not None
    assert hedger.last_step.plan is not None
    assert hedger.last_step.plan.action == "none"
    assert hedger.checks == 2  # minutes 1 and 6 of the session: one check per 300 s
    assert len(_logged(eng, "below 25")) == 1
    await eng.stop()


async def test_tail_hedge_when_disabled_then_no_hedger_and_nothing_at_vix_30(build: Any) -> None:
    emb, eng, _ = await _engine(build, vix=30.0, enabled=False)
    assert eng.tail_hedger is None
    await eng.advance(RunBudget(market_minutes=10))
    assert await _hedge_proposals(emb.store) == []
    assert _logged(eng, "tail hedge") == []
    await eng.stop()


async def test_tail_hedge_when_held_hedge_has_7_days_left_then_rolled(build: Any) -> None:
    emb, eng, pin = await _engine(build, vix=18.0)
    store = emb.store
    await eng.advance(RunBudget(market_minutes=1))  # first check: VIX 18, nothing
    qty = 1
    old = await _buy_expiring_puts(eng, qty)

    pin.level = 30.0
    await eng.advance(RunBudget(market_minutes=5))  # next check, 300 s later
    recs = await _hedge_proposals(store)
    close = [r for r in recs if r.proposal.intent is ProposalIntent.CLOSE]
    opened = [
        r
        for r in recs
        if r.proposal.intent is ProposalIntent.OPEN and r.proposal.legs[0].instrument != old
    ]
    assert (len(close), len(opened)) == (1, 1), [(r.proposal.reason, r.state) for r in recs]
    cp = close[0].proposal
    assert cp.exit_reason is ExitReason.ROLL
    assert (cp.legs[0].instrument, cp.legs[0].side, cp.quantity) == (old, Side.SELL, qty)
    assert close[0].state is ProposalState.SUBMITTED
    assert opened[0].state is ProposalState.SUBMITTED
    new = opened[0].proposal.legs[0].instrument
    assert isinstance(new, OptionContract)
    assert 20 <= (new.expiry - eng.clock.now().date()).days <= 45

    book = eng.ledger.by_strategy[HEDGE]
    assert old.symbol not in book or book[old.symbol].quantity == 0
    assert book[new.symbol].quantity == opened[0].proposal.quantity
    sells = [f for f in await store.load_fills(strategy=HEDGE) if f.side is Side.SELL]
    assert {f.symbol for f in sells} == {old.symbol}
    assert _logged(eng, "tail hedge: rolling")
    await eng.stop()


async def test_tail_hedge_when_vix_below_25_and_hedge_has_7_days_left_then_sold_not_replaced(
    build: Any,
) -> None:
    emb, eng, _ = await _engine(build, vix=18.0)
    await eng.advance(RunBudget(market_minutes=1))  # first check: VIX 18, nothing held
    old = await _buy_expiring_puts(eng, 1)
    await eng.advance(RunBudget(market_minutes=5))  # next check, 300 s later
    recs = await _hedge_proposals(emb.store)
    closes = [r for r in recs if r.proposal.intent is ProposalIntent.CLOSE]
    new_opens = [
        r
        for r in recs
        if r.proposal.intent is ProposalIntent.OPEN and r.proposal.legs[0].instrument != old
    ]
    assert new_opens == [], [(r.proposal.reason, r.state) for r in recs]
    assert len(closes) == 1
    assert closes[0].proposal.legs[0].instrument == old
    assert closes[0].state is ProposalState.SUBMITTED
    book = eng.ledger.by_strategy[HEDGE]
    assert old.symbol not in book or book[old.symbol].quantity == 0
    assert _logged(eng, "not replaced")
    await eng.stop()


async def test_tail_hedge_when_year_spend_over_2pct_then_skipped_and_still_after_restart(
    build: Any, tmp_path: Path
) -> None:
    db = tmp_path / "hedge.sqlite"
    emb, eng, pin = await _engine(build, vix=18.0, db=db)
    await eng.advance(RunBudget(market_minutes=1))
    # Over the 2%/yr allowance of a $100k book before the VIX spike.
    paid = await _spend_on_hedges(eng, 2_000.0)
    assert paid > 2_000.0
    hedger = eng.tail_hedger
    assert isinstance(hedger, TailHedger)
    spent = await hedger.spent_last_year(eng.clock.now())
    assert spent > 0.02 * eng._portfolio().equity
    earlier = len(await _hedge_proposals(emb.store))  # bought and closed

    pin.level = 30.0
    await eng.advance(RunBudget(market_minutes=5))
    assert hedger.last_step is not None
    assert hedger.last_step.plan is not None
    assert hedger.last_step.plan.action == "blocked"
    assert len(await _hedge_proposals(emb.store)) == earlier  # no new hedge
    skipped = _logged(eng, "tail hedge skipped")
    assert len(skipped) == 1
    assert "budget" in skipped[0]
    await eng.stop()
    await emb.store.close()  # the engine is stopped; the next process opens the same file

    emb2, eng2, _ = await _engine(build, vix=30.0, db=db)
    await eng2.advance(RunBudget(market_minutes=1))
    hedger2 = eng2.tail_hedger
    assert isinstance(hedger2, TailHedger)
    assert hedger2.last_step is not None
    assert hedger2.last_step.spent_last_year == pytest.approx(spent)
    assert hedger2.last_step.plan is not None
    assert hedger2.last_step.plan.action == "blocked"
    assert _logged(eng2, "tail hedge skipped")
    assert len(await _hedge_proposals(emb2.store)) == earlier
    await eng2.stop()


async def test_tail_hedge_when_trading_reducing_then_hedge_passes_and_new_stock_denied(
    build: Any,
) -> None:
    emb, eng, _ = await _engine(build, vix=30.0)
    await eng.set_trading_state(TradingState.REDUCING, "test", "test")
    await eng.advance(RunBudget(market_minutes=1))
    recs = await _hedge_proposals(emb.store)
    assert [r.state for r in recs] == [ProposalState.SUBMITTED], [(r.state, r.note) for r in recs]
    (decision,) = await emb.store.load_risk_decisions(recs[0].proposal.proposal_id)
    state = next(c for c in decision.checks if c.name == "trading_state")
    assert state.passed
    assert "protective tail hedge" in state.message

    now = eng.clock.now()
    stock = TradeProposal(
        proposal_id="p-stock-reducing",
        strategy="manual",
        created_at=now,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY),),
        quantity=1,
        reason="new risk",
        order_type=OrderType.MARKET,
    )
    ok, msg = await eng.submit_manual(stock)
    assert not ok
    assert "REDUCING" in msg
    await eng.stop()


async def test_tail_hedge_when_risk_denies_then_logged_and_not_reproposed_for_30_minutes(
    build: Any,
) -> None:
    emb, eng, _ = await _engine(build, vix=30.0, restricted_symbols=["SPY"])
    await eng.advance(RunBudget(market_minutes=1))
    recs = await _hedge_proposals(emb.store)
    assert [r.state for r in recs] == [ProposalState.DENIED]
    assert _logged(eng, "risk denied tail_hedge SPY")
    await eng.advance(RunBudget(market_minutes=29))  # checks every 5 min would re-propose
    assert len(await _hedge_proposals(emb.store)) == 1
    await eng.advance(RunBudget(market_minutes=1))  # 30 minutes after the denial
    assert len(await _hedge_proposals(emb.store)) == 2
    await eng.stop()


def test_config_tail_hedge_when_defaults_then_off_with_spec_values() -> None:
    r = load_config(None, environ={}).risk
    assert r.tail_hedge is False
    assert (r.tail_hedge_underlying, r.tail_hedge_vix_trigger, r.tail_hedge_delta) == (
        "SPY",
        25.0,
        0.20,
    )
    assert (r.tail_hedge_dte, r.tail_hedge_roll_dte, r.tail_hedge_pct) == (30, 7, 0.05)
    assert r.tail_hedge_max_annual_spend_pct == 0.02
    on = load_config(None, environ={"WSB__RISK__TAIL_HEDGE": "true"}).risk
    assert on.tail_hedge is True


def test_config_tail_hedge_when_bad_values_then_each_named_with_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(
            None,
            environ={},
            overrides={
                "risk": {
                    "tail_hedge_dte": 60,
                    "tail_hedge_delta": 1.5,
                    "tail_hedge_underlying": "S P Y",
                }
            },
        )
    text = str(err.value)
    assert "risk.tail_hedge_max_dte = 45" in text
    assert "tail_hedge_dte (60)" in text
    assert "risk.tail_hedge_delta = 1.5" in text
    assert "less than 1" in text
    assert "risk.tail_hedge_underlying = 'S P Y'" in text
    assert "ticker" in text
