"""The collateral memo answers repeated books fast without ever answering the wrong book."""

from __future__ import annotations

from decimal import Decimal

import pytest
from paper_desk import call, put

from engine.broker.margin import UncoveredShortCall, collateral_requirement
from engine.domain import Instrument


def test_reserve_when_same_book_asked_again_then_same_answer_object() -> None:
    short, long_ = put("150"), put("145")
    book: dict[Instrument, int] = {short: -2, long_: 2}
    first = collateral_requirement(book, allow_naked=True)
    assert first.total == Decimal(1000)
    assert collateral_requirement(dict(book), allow_naked=True) is first


def test_reserve_when_quantity_changes_on_same_instruments_then_recomputed() -> None:
    short, long_ = put("150"), put("145")
    book: dict[Instrument, int] = {short: -2, long_: 2}
    assert collateral_requirement(book).total == Decimal(1000)
    book[long_] = 1  # one short put is now cash-secured
    assert collateral_requirement(book).total == Decimal(500 + 15_000)


def test_reserve_when_equal_but_new_contract_objects_then_same_amounts() -> None:
    a = collateral_requirement({put("150"): -1})
    b = collateral_requirement({put("150.0"): -1})
    assert a.total == b.total == Decimal(15_000)


def test_reserve_when_naked_call_asked_twice_then_refused_both_times() -> None:
    book: dict[Instrument, int] = {call("200"): -1}
    for _ in range(2):
        with pytest.raises(UncoveredShortCall):
            collateral_requirement(book)
    assert collateral_requirement(book, allow_naked=True).total == Decimal(0)
