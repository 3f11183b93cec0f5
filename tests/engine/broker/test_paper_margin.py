"""Cash-account collateral rules: what each structure reserves, and what is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from paper_desk import AAPL, call, put

from engine.broker.margin import (
    ShortStock,
    UncoveredShortCall,
    check_no_short_stock,
    collateral_requirement,
)
from engine.domain import Equity, Instrument

LATER = date(2024, 4, 19)


def reserve(holdings: dict[Instrument, int]) -> Decimal:
    return collateral_requirement(holdings).total


def test_reserve_when_cash_secured_put_then_strike_times_100_per_contract() -> None:
    assert reserve({put("150"): -2}) == Decimal(30_000)


def test_reserve_when_put_credit_spread_then_width_times_100() -> None:
    # Short 150 put, long 145 put: at most 5 x 100 owed at expiry.
    assert reserve({put("150"): -1, put("145"): 1}) == Decimal(500)


def test_reserve_when_call_credit_spread_then_width_times_100() -> None:
    assert reserve({call("180"): -3, call("190"): 3}) == Decimal(3_000)


def test_reserve_when_debit_spread_then_nothing() -> None:
    assert reserve({call("170"): 1, call("180"): -1}) == Decimal(0)
    assert reserve({put("160"): 1, put("150"): -1}) == Decimal(0)


def test_reserve_when_covered_call_then_nothing() -> None:
    assert reserve({AAPL: 200, call("180"): -2}) == Decimal(0)


def test_reserve_when_naked_call_then_refused_with_what_would_cover_it() -> None:
    with pytest.raises(UncoveredShortCall, match=r"100 shares of AAPL or a long call"):
        reserve({call("180"): -1})


def test_reserve_when_calls_exceed_shares_then_the_excess_is_naked() -> None:
    with pytest.raises(UncoveredShortCall, match=r"^1 x AAPL 240315C180"):
        reserve({AAPL: 150, call("180"): -2})


def test_reserve_when_long_call_expires_before_short_then_no_cover() -> None:
    with pytest.raises(UncoveredShortCall):
        reserve({call("180", expiry=LATER): -1, call("170"): 1})


def test_reserve_when_call_calendar_then_later_long_covers() -> None:
    assert reserve({call("180"): -1, call("180", expiry=LATER): 1}) == Decimal(0)


def test_reserve_when_put_diagonal_with_lower_later_long_then_width() -> None:
    assert reserve({put("150"): -1, put("140", expiry=LATER): 1}) == Decimal(1_000)


def test_reserve_when_iron_condor_then_larger_side_only() -> None:
    condor = {put("150"): -1, put("145"): 1, call("190"): -1, call("200"): 1}
    assert reserve(condor) == Decimal(1_000)


def test_reserve_when_spreads_overlap_then_both_sides_count() -> None:
    # Short put above the short call: both sides can lose at once (e.g. at 175).
    odd = {put("180"): -1, put("175"): 1, call("170"): -1, call("175"): 1}
    assert reserve(odd) == Decimal(1_000)


def test_reserve_when_index_call_then_shares_of_index_do_not_cover() -> None:
    spx_call = call("5000", underlying="SPX")
    with pytest.raises(UncoveredShortCall):
        reserve({Equity("SPX", is_index=True): 100, spx_call: -1})


def test_reserve_when_spxw_and_spx_then_paired_as_one_index() -> None:
    short = put("5000", underlying="SPXW")
    long = put("4990", underlying="SPX")
    assert reserve({short: -1, long: 1}) == Decimal(1_000)


def test_reserve_when_allow_naked_then_listed_without_reserve() -> None:
    req = collateral_requirement({call("180"): -1, put("100"): -1}, allow_naked=True)
    assert req.total == Decimal(10_000)
    assert any("NAKED" in line.description for line in req.lines)


def test_check_no_short_stock_when_negative_shares_then_refused() -> None:
    with pytest.raises(ShortStock, match=r"AAPL.*-50 shares"):
        check_no_short_stock({AAPL: -50})
    check_no_short_stock({AAPL: 0, put("150"): -1})
