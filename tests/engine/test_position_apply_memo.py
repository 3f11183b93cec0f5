"""Position.apply hands back its last result only for the very same inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from engine.domain import Equity, Side
from engine.domain.orders import Fill
from engine.domain.portfolio import Position, empty_position

TS = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)


def _fill(side: Side, qty: int, price: str) -> Fill:
    return Fill("f", "c", "b", Equity("AAPL"), side, qty, Decimal(price), Decimal("1"), TS)


def test_apply_when_same_fill_on_two_empty_positions_then_same_result() -> None:
    fill = _fill(Side.BUY, 3, "10.00")
    a = empty_position(fill.instrument).apply(fill)
    b = empty_position(fill.instrument).apply(fill)
    assert a == b
    assert (a.quantity, a.avg_price, a.realized_pnl, a.opened_at) == (3, Decimal("10.00"), -1, TS)


def test_apply_when_equal_but_differently_written_position_then_worked_out_again() -> None:
    fill = _fill(Side.SELL, 1, "12")
    inst = fill.instrument
    # Equal values, different Decimal representations: each result keeps its own.
    first = Position(inst, 2, Decimal("10"), Decimal("0"), opened_at=TS).apply(fill)
    second = Position(inst, 2, Decimal("10.000"), Decimal("0"), opened_at=TS).apply(fill)
    assert str(first.realized_pnl) == "1"  # (12 - 10) x 1 - 1
    assert str(second.realized_pnl) == "1.000"
    assert str(second.avg_price) == "10.000"


def test_apply_when_different_fill_then_not_the_last_result() -> None:
    pos = empty_position(Equity("AAPL"))
    one = pos.apply(_fill(Side.BUY, 1, "5"))
    two = pos.apply(_fill(Side.BUY, 2, "5"))
    assert (one.quantity, two.quantity) == (1, 2)
