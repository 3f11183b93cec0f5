"""Tail hedge proposals (spec §5): VIX >= 25 -> ~20-delta puts ~30 DTE for 5 % of value,
roll at <= 7 DTE, spend <= 2 % of value per year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from engine.domain import (
    OptionContract,
    OptionRight,
    Portfolio,
    Position,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.risk.tail_hedge import HedgeCandidate, TailHedgeConfig, plan_tail_hedge

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
SPOT = 500.0


def _put(strike: float, expiry: date) -> OptionContract:
    return OptionContract("SPY", expiry, Decimal(str(strike)), OptionRight.PUT)


CHAIN = (
    HedgeCandidate(_put(480, date(2026, 2, 6)), 4.10, -0.26),  # 31 DTE
    HedgeCandidate(_put(470, date(2026, 2, 6)), 3.00, -0.19),  # 31 DTE, ~20 delta
    HedgeCandidate(_put(460, date(2026, 2, 6)), 2.10, -0.13),
    HedgeCandidate(_put(470, date(2026, 1, 16)), 1.20, -0.20),  # 10 DTE: not ~30
    HedgeCandidate(_put(470, date(2026, 4, 17)), 9.00, -0.20),  # 101 DTE: not ~30
)


def _port(cash: float, positions: tuple[Position, ...] = ()) -> Portfolio:
    return Portfolio(
        ts=NOW,
        cash=Decimal(str(cash)),
        positions=MappingProxyType({p.symbol: p for p in positions}),
    )


def test_tail_hedge_when_vix_below_25_then_no_proposal() -> None:
    plan = plan_tail_hedge(
        now=NOW, portfolio=_port(1e6), vix=24.9, spot=SPOT, candidates=CHAIN, spent_last_year=0
    )
    assert plan.action == "none"
    assert plan.proposals == ()


def test_tail_hedge_when_vix_25_then_buys_20_delta_30_dte_puts_for_5pct_of_value() -> None:
    plan = plan_tail_hedge(
        now=NOW, portfolio=_port(1e6), vix=25.0, spot=SPOT, candidates=CHAIN, spent_last_year=0
    )
    assert plan.action == "open"
    (p,) = plan.proposals
    leg = p.legs[0]
    assert leg.symbol == _put(470, date(2026, 2, 6)).symbol
    assert leg.side is Side.BUY
    assert p.intent is ProposalIntent.OPEN
    # 5 % of $1M = $50k of SPY notional = 1 contract at $500 x 100.
    assert p.quantity == 1
    assert p.limit_price == Decimal("3.00")
    assert plan.cost == pytest.approx(300.0)
    assert p.strategy == "tail_hedge"


def test_tail_hedge_when_large_book_then_contracts_scale_with_value() -> None:
    plan = plan_tail_hedge(
        now=NOW, portfolio=_port(5e6), vix=30.0, spot=SPOT, candidates=CHAIN, spent_last_year=0
    )
    assert plan.contracts == 5  # $250k / $50k


def test_tail_hedge_when_annual_budget_nearly_spent_then_trimmed_then_blocked() -> None:
    # $5M book: $100k a year; $99,400 spent leaves $600 = 2 puts at $300.
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(5e6),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=99_400,
    )
    assert plan.contracts == 2
    assert plan.budget_left == pytest.approx(600.0)
    blocked = plan_tail_hedge(
        now=NOW,
        portfolio=_port(5e6),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=99_800,
    )
    assert blocked.action == "blocked"
    assert blocked.proposals == ()
    assert "budget" in blocked.reason


def test_tail_hedge_when_hedge_held_with_time_left_then_hold() -> None:
    held = Position(_put(470, date(2026, 2, 6)), 1, Decimal("3.00"), mark=3.0)
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(1e6, (held,)),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=300,
    )
    assert plan.action == "hold"
    assert plan.proposals == ()


def test_tail_hedge_when_hedge_has_7_days_left_then_roll_closes_it_and_buys_new() -> None:
    old = _put(480, date(2026, 1, 13))  # 7 DTE
    held = Position(old, 2, Decimal("3.00"), mark=0.4)
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(1e6, (held,)),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=600,
    )
    assert plan.action == "roll"
    close, new = plan.proposals
    assert close.intent is ProposalIntent.CLOSE
    assert close.legs[0].symbol == old.symbol
    assert close.legs[0].effect is PositionEffect.CLOSE
    assert close.quantity == 2
    assert new.legs[0].symbol == _put(470, date(2026, 2, 6)).symbol


def _expiring(qty: int = 2) -> Position:
    return Position(_put(480, date(2026, 1, 13)), qty, Decimal("3.00"), mark=9.0)  # 7 DTE


def _only_close_of(plan_proposals: tuple[TradeProposal, ...], held: Position) -> None:
    (close,) = plan_proposals
    assert close.intent is ProposalIntent.CLOSE
    leg = close.legs[0]
    assert (leg.symbol, leg.side, leg.effect) == (held.symbol, Side.SELL, PositionEffect.CLOSE)
    assert close.quantity == held.quantity


def test_tail_hedge_when_vix_fell_below_25_and_hedge_has_7_days_left_then_sold_not_replaced() -> (
    None
):
    # An in-the-money hedge left to expire would be exercised into short SPY shares.
    held = _expiring()
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(1e6, (held,)),
        vix=18.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=600,
    )
    assert plan.action == "close"
    _only_close_of(plan.proposals, held)
    assert "not replaced" in plan.reason
    assert "2 SPY puts" in plan.reason


def test_tail_hedge_when_newer_hedge_held_beside_expiring_one_then_only_expiring_sold() -> None:
    live = Position(_put(470, date(2026, 2, 6)), 1, Decimal("3.00"), mark=3.0)
    held = _expiring()
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(1e6, (held, live)),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=600,
    )
    assert plan.action == "close"
    _only_close_of(plan.proposals, held)


def test_tail_hedge_when_budget_spent_and_hedge_expiring_then_blocked_but_still_sold() -> None:
    held = _expiring()
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(5e6, (held,)),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN,
        spent_last_year=99_800,
    )
    assert plan.action == "blocked"
    assert "budget" in plan.reason
    assert "selling 2 SPY puts" in plan.reason
    _only_close_of(plan.proposals, held)


def test_tail_hedge_when_no_put_near_30_dte_then_blocked() -> None:
    plan = plan_tail_hedge(
        now=NOW,
        portfolio=_port(1e6),
        vix=30.0,
        spot=SPOT,
        candidates=CHAIN[3:],
        spent_last_year=0,
    )
    assert plan.action == "blocked"


def test_tail_hedge_config_when_dtes_out_of_order_then_error() -> None:
    with pytest.raises(ValueError, match="roll_dte"):
        TailHedgeConfig(roll_dte=25)
