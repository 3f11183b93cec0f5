"""The ledger hands out one portfolio snapshot per book state: every change shows at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from engine.domain import Equity, Fill, Side
from engine.runtime.ledger import Ledger

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _fill(n: int, side: Side, qty: int, price: str, symbol: str = "AAPL") -> Fill:
    return Fill(
        fill_id=f"f{n}", client_order_id=f"o{n}", broker_order_id=f"b{n}",
        instrument=Equity(symbol), side=side, quantity=qty, price=Decimal(price),
        commission=Decimal(0), ts=T0, strategy="s",
    )  # fmt: skip


def test_portfolio_when_nothing_changed_then_same_snapshot_object():
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    assert led.portfolio(T0) is led.portfolio(T0)
    assert led.portfolio(T0 + timedelta(minutes=1)) is not led.portfolio(T0)


def test_portfolio_when_marked_then_equity_and_open_risk_follow_the_mark():
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    before = led.portfolio(T0)
    risk_before = led.strategy_open_risk("s")
    led.mark("AAPL", 110.0)
    after = led.portfolio(T0)
    assert after is not before
    assert after.equity == before.equity + 100.0
    assert led.strategy_open_risk("s") == risk_before + 100.0
    assert led.strategy_positions("s")["AAPL"].mark == 110.0
    led.mark("AAPL", 110.0)  # the same mark again changes nothing
    assert led.portfolio(T0) is after


def test_portfolio_when_fill_applied_then_cash_positions_and_views_change():
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    p1 = led.portfolio(T0)
    view1 = led.strategy_positions("s")
    led.apply(_fill(2, Side.SELL, 10, "105"))
    p2 = led.portfolio(T0)
    assert p1.cash == Decimal(9_000)
    assert p2.cash == Decimal(10_050)
    assert "AAPL" in p1.positions
    assert "AAPL" not in p2.positions
    assert "AAPL" in view1  # a snapshot handed out earlier does not change under its holder
    assert "AAPL" not in led.strategy_positions("s")
    assert led.realized("s") == 50.0


def test_portfolio_when_peak_or_start_of_day_set_then_new_snapshot_carries_them():
    led = Ledger(Decimal(10_000))
    first = led.portfolio(T0)
    led.roll_day(10_000.0)
    rolled = led.portfolio(T0)
    assert first.start_of_day_equity is None
    assert rolled.start_of_day_equity == Decimal("10000.0")
    led.peak_equity = Decimal(12_000)
    assert led.portfolio(T0).peak_equity == Decimal(12_000)


def test_portfolio_when_unheld_symbol_marked_then_snapshot_kept_and_mark_used_on_buy() -> None:
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    before = led.portfolio(T0)
    view = led.strategy_positions("s")
    led.mark("MSFT", 400.0)  # nobody holds MSFT: nothing the views show moved
    assert led.portfolio(T0) is before
    assert led.strategy_positions("s") is view
    assert led.marks["MSFT"] == 400.0
    led.apply(_fill(2, Side.BUY, 1, "390", symbol="MSFT"))  # a new position takes the mark
    after = led.portfolio(T0)
    assert after is not before
    assert after.positions["MSFT"].mark == 400.0
    assert led.strategy_positions("s")["MSFT"].mark == 400.0


def test_portfolio_when_symbol_held_by_strategy_book_only_then_mark_shows() -> None:
    # Two strategies netting to zero: the account holds nothing, the books hold both sides.
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    led.apply(replace(_fill(2, Side.SELL, 10, "100"), strategy="t"))
    assert "AAPL" not in led.positions
    view = led.strategy_positions("s")
    led.mark("AAPL", 120.0)
    assert led.strategy_positions("s") is not view
    assert led.strategy_positions("s")["AAPL"].mark == 120.0
    assert led.strategy_positions("t")["AAPL"].mark == 120.0
    assert led.unrealized("s") == 200.0
