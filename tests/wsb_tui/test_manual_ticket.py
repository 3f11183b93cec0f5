"""Manual tickets from the chain screen become proposals with honest risk bounds."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from fake_client import T0

from engine.domain import OptionContract, OptionQuote, OptionRight, ProposalIntent, Side
from wsb_tui.screens.chain import near_money
from wsb_tui.screens.ticket import TicketLeg, build_manual_proposal, net_mid


def _q(strike: int, right: OptionRight, bid: float, ask: float) -> OptionQuote:
    return OptionQuote(
        OptionContract("AAPL", date(2025, 2, 21), Decimal(strike), right),
        T0,
        bid,
        ask,
        (bid + ask) / 2,
        1,
        1,
    )


def test_single_long_call_when_built_then_loss_is_premium_and_breakeven_strike_plus_premium() -> (
    None
):
    leg = TicketLeg(_q(230, OptionRight.CALL, 4.70, 4.90), Side.BUY)
    assert net_mid([leg]) == Decimal("4.80")
    p = build_manual_proposal([leg], 3, Decimal("4.80"), T0)
    assert p.strategy == "manual"
    assert p.intent is ProposalIntent.OPEN
    assert p.max_loss == Decimal("1440.00")
    assert p.max_profit is None
    assert p.breakevens == (234.8,)


def test_put_credit_spread_when_built_then_loss_is_width_minus_credit() -> None:
    short = TicketLeg(_q(215, OptionRight.PUT, 3.00, 3.10), Side.SELL)
    long = TicketLeg(_q(210, OptionRight.PUT, 1.55, 1.65), Side.BUY)
    mid = net_mid([short, long])
    assert mid == Decimal("-1.45")
    p = build_manual_proposal([short, long], 2, mid, T0)
    assert p.max_loss == Decimal("710.00")  # (5 - 1.45) x 100 x 2
    assert p.max_profit == Decimal("290.00")
    assert p.breakevens == (213.55,)


def test_short_call_when_built_then_loss_unbounded() -> None:
    p = build_manual_proposal(
        [TicketLeg(_q(240, OptionRight.CALL, 1.0, 1.2), Side.SELL)], 1, Decimal("-1.10"), T0
    )
    assert p.max_loss is None
    assert p.max_profit == Decimal("110.00")


def test_build_when_same_inputs_then_same_deterministic_id() -> None:
    legs = [TicketLeg(_q(230, OptionRight.CALL, 4.70, 4.90), Side.BUY)]
    a = build_manual_proposal(legs, 1, Decimal("4.80"), T0)
    b = build_manual_proposal(legs, 1, Decimal("4.80"), T0)
    c = build_manual_proposal(legs, 2, Decimal("4.80"), T0)
    assert a.proposal_id == b.proposal_id != c.proposal_id


def test_build_when_no_legs_or_zero_qty_then_error_names_problem() -> None:
    with pytest.raises(ValueError, match="at least one leg"):
        build_manual_proposal([], 1, Decimal(1), T0)
    with pytest.raises(ValueError, match="quantity 0"):
        build_manual_proposal(
            [TicketLeg(_q(230, OptionRight.CALL, 1, 2), Side.BUY)], 0, Decimal(1), T0
        )


def test_near_money_when_many_strikes_then_nearest_kept() -> None:
    quotes = [_q(k, OptionRight.CALL, 1, 2) for k in range(100, 300, 5)]
    kept = {int(q.contract.strike) for q in near_money(quotes, 201.0)}
    assert len(kept) == 31
    assert 200 in kept
    assert 125 in kept
    assert 120 not in kept
