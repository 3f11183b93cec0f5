"""The expiry planner on its own: which options settle how, and the cash/share effects."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from paper_desk import call, put

from engine.broker.expiry import (
    ExpiryOutcome,
    intrinsic_value,
    is_cash_settled,
    is_in_the_money,
    plan_expiry,
)
from engine.domain import Side

D = Decimal
LATER = date(2024, 4, 19)


def test_itm_when_intrinsic_below_one_cent_then_otm() -> None:
    assert not is_in_the_money(call("170"), D("170.009"))
    assert is_in_the_money(call("170"), D("170.01"))
    assert is_in_the_money(put("170"), D("169.99"))
    assert intrinsic_value(put("170"), D("165.5")) == D("4.5")


def test_cash_settled_when_spx_or_spxw_then_true_and_equity_false() -> None:
    assert is_cash_settled(call("5000", underlying="SPX"))
    assert is_cash_settled(call("5000", underlying="SPXW"))
    assert not is_cash_settled(call("170"))


def test_plan_when_long_call_itm_and_cash_then_exercised_buying_shares_at_strike() -> None:
    plan = plan_expiry([(call("170"), 2)], {"AAPL": D("175")}, cash=D(50_000), shares={})
    (a,) = plan.actions
    assert a.outcome is ExpiryOutcome.EXERCISED
    assert (a.option_side, a.option_price) == (Side.SELL, D(0))
    assert (a.share_side, a.share_quantity, a.share_price) == (Side.BUY, 200, D(170))
    assert a.cash_delta == D(-34_000)


def test_plan_when_long_call_itm_without_cash_then_closed_at_intrinsic() -> None:
    plan = plan_expiry([(call("170"), 2)], {"AAPL": D("175")}, cash=D(20_000), shares={})
    outcomes = [(a.outcome, a.quantity) for a in plan.actions]
    assert outcomes == [(ExpiryOutcome.EXERCISED, 1), (ExpiryOutcome.CLOSED_AT_INTRINSIC, 1)]
    assert plan.actions[1].option_price == D(5)
    assert plan.actions[1].cash_delta == D(500)


def test_plan_when_long_put_itm_without_shares_then_closed_at_intrinsic_not_short_stock() -> None:
    plan = plan_expiry([(put("170"), 1)], {"AAPL": D("160")}, cash=D(0), shares={})
    (a,) = plan.actions
    assert a.outcome is ExpiryOutcome.CLOSED_AT_INTRINSIC
    assert a.share_side is None
    assert a.cash_delta == D(1_000)


def test_plan_when_short_put_itm_then_assigned_buying_shares_at_strike() -> None:
    plan = plan_expiry([(put("150"), -1)], {"AAPL": D("140")}, cash=D(15_000), shares={})
    (a,) = plan.actions
    assert a.outcome is ExpiryOutcome.ASSIGNED
    assert (a.option_side, a.share_side, a.share_quantity) == (Side.BUY, Side.BUY, 100)
    assert a.cash_delta == D(-15_000)
    assert plan.warnings == ()


def test_plan_when_put_spread_both_itm_then_shares_net_to_zero_and_loss_is_width() -> None:
    plan = plan_expiry(
        [(put("150"), -1), (put("145"), 1)], {"AAPL": D("140")}, cash=D(500), shares={}
    )
    kinds = sorted(a.outcome.value for a in plan.actions)
    assert kinds == ["assigned", "exercised"]
    assert sum(a.share_delta for a in plan.actions) == 0
    assert sum((a.cash_delta for a in plan.actions), D(0)) == D(-500)


def test_plan_when_call_spread_both_itm_then_long_exercise_delivers_the_assigned_shares() -> None:
    plan = plan_expiry(
        [(call("180"), -1), (call("190"), 1)], {"AAPL": D("200")}, cash=D(1_000), shares={}
    )
    assert sum(a.share_delta for a in plan.actions) == 0
    assert sum((a.cash_delta for a in plan.actions), D(0)) == D(-1_000)
    assert plan.warnings == ()


def test_plan_when_calendar_short_assigned_then_later_long_exercised_to_cover() -> None:
    plan = plan_expiry(
        [(call("180"), -1)],
        {"AAPL": D("190")},
        cash=D(0),
        shares={},
        later_longs=[(call("180", expiry=LATER), 1)],
    )
    outcomes = [a.outcome for a in plan.actions]
    assert outcomes == [ExpiryOutcome.ASSIGNED, ExpiryOutcome.EXERCISED_TO_COVER]
    assert sum(a.share_delta for a in plan.actions) == 0
    assert plan.warnings == ()


def test_plan_when_otm_then_expired_worthless_at_zero() -> None:
    plan = plan_expiry(
        [(put("150"), -1), (call("200"), 3)], {"AAPL": D("170")}, cash=D(0), shares={}
    )
    assert {(a.contract.strike, a.outcome, a.option_price) for a in plan.actions} == {
        (D(150), ExpiryOutcome.EXPIRED_WORTHLESS, D(0)),
        (D(200), ExpiryOutcome.EXPIRED_WORTHLESS, D(0)),
    }
    assert all(a.cash_delta == 0 for a in plan.actions)


def test_plan_when_spx_itm_then_cash_settled_at_intrinsic_without_shares() -> None:
    spx = call("5000", underlying="SPX")
    plan = plan_expiry([(spx, -2)], {"SPX": D("5012.5")}, cash=D(10_000), shares={})
    (a,) = plan.actions
    assert a.outcome is ExpiryOutcome.CASH_SETTLED
    assert (a.option_price, a.share_side) == (D("12.5"), None)
    assert a.cash_delta == D(-2_500)


def test_plan_when_close_missing_then_group_deferred() -> None:
    plan = plan_expiry([(put("150"), -1)], {}, cash=D(0), shares={})
    assert plan.actions == ()
    assert plan.deferred == ("AAPL",)


def test_plan_when_call_spread_both_itm_and_cash_negative_then_long_still_covers_the_short() -> (
    None
):
    # A put assignment on another underlying earlier in the same expiry run (QQQ before SPY)
    # can take the cash far below zero; the call spread's long leg then counted as
    # "unaffordable" and was closed at intrinsic, leaving the account short 300 shares
    # instead of settling the spread at its width.
    plan = plan_expiry(
        [(call("180"), -3), (call("190"), 3)], {"AAPL": D("200")}, cash=D(-150_000), shares={}
    )
    outcomes = sorted((a.outcome.value, a.quantity) for a in plan.actions)
    assert outcomes == [("assigned", 3), ("exercised", 3)]
    assert sum(a.share_delta for a in plan.actions) == 0
    assert sum((a.cash_delta for a in plan.actions), D(0)) == D(-3_000)  # the width, 3 x $10
    assert not any("short stock" in w for w in plan.warnings)


def test_plan_when_long_call_covers_part_of_short_then_rest_closed_at_intrinsic() -> None:
    # Only the shares the assignment sold are covered without cash; more calls need the cash.
    plan = plan_expiry(
        [(call("180"), -1), (call("190"), 3)], {"AAPL": D("200")}, cash=D(-50_000), shares={}
    )
    outcomes = sorted((a.outcome.value, a.quantity) for a in plan.actions)
    assert outcomes == [("assigned", 1), ("closed_at_intrinsic", 2), ("exercised", 1)]
    assert sum(a.share_delta for a in plan.actions) == 0
