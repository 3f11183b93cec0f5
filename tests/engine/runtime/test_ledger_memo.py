"""The ledger hands out one portfolio snapshot per book state: every change shows at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from engine.domain import Bar, Equity, Fill, OptionContract, OptionRight, Position, Side
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


def _bar(symbol: str, close: float) -> Bar:
    return Bar(symbol, T0, close, close, close, close, 100.0)


def _books(led: Ledger) -> tuple[object, ...]:
    return (
        led.positions,
        {s: dict(b) for s, b in led.by_strategy.items()},
        led.marks,
        led.unrealized("s"),
        led.unrealized("t"),
        led.portfolio(T0).equity,
    )


def test_mark_closes_when_bars_given_then_books_as_marked_one_by_one() -> None:
    def book() -> Ledger:
        led = Ledger(Decimal(100_000))
        led.apply(_fill(1, Side.BUY, 10, "100"))  # AAPL: s alone (one shared position)
        led.apply(_fill(2, Side.BUY, 5, "50", symbol="KO"))
        led.apply(replace(_fill(3, Side.SELL, 5, "50", symbol="KO"), strategy="t"))  # netted
        led.mark("KO", 50.5)  # flat in the account, held in the books
        led.apply(_fill(4, Side.BUY, 3, "400", symbol="MSFT"))
        led.apply(replace(_fill(5, Side.BUY, 2, "400", symbol="MSFT"), strategy="t"))
        led.apply(_fill(6, Side.BUY, 1, "20", symbol="XOM"))
        led.apply(_fill(7, Side.SELL, 1, "20", symbol="XOM"))  # closed, never marked
        led.mark("JPM", 150.0)  # marked before, never held
        return led

    bars = {
        s: _bar(s, px) for s, px in (("AAPL", 101.5), ("KO", 51.0), ("MSFT", 410.25), ("XOM", 21.0))
    } | {"JPM": _bar("JPM", 151.0), "SPY": _bar("SPY", 500.0)}
    one_by_one, batched = book(), book()
    for sym, bar in bars.items():
        if sym in one_by_one.positions or sym in one_by_one.marks:
            one_by_one.mark(sym, bar.close)
    before = batched.portfolio(T0)
    batched.mark_closes(bars)
    assert _books(batched) == _books(one_by_one)
    assert "SPY" not in batched.marks
    assert "XOM" not in batched.marks
    assert batched.marks["JPM"] == 151.0
    assert batched.strategy_positions("t")["KO"].mark == 51.0
    # The one strategy holding AAPL still shares the account's position object.
    assert batched.by_strategy["s"]["AAPL"] is batched.positions["AAPL"]
    assert batched.portfolio(T0) is not before
    held = Ledger(Decimal(10_000))
    held.apply(_fill(1, Side.BUY, 10, "100"))
    held.mark_closes({"AAPL": _bar("AAPL", 101.0)})
    again = held.portfolio(T0)
    held.mark_closes({"AAPL": _bar("AAPL", 101.0)})  # the same close again changes nothing
    assert held.portfolio(T0) is again


def test_portfolio_when_only_clock_or_day_figures_move_then_holdings_carried() -> None:
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    led.mark("AAPL", 105.0)
    first = led.portfolio(T0)
    led.roll_day(first.equity)
    later = led.portfolio(T0 + timedelta(minutes=1))
    assert later is not first
    assert later.positions is first.positions  # the same read-only holdings, not a copy
    assert later.ts == T0 + timedelta(minutes=1)
    assert later.start_of_day_equity == Decimal("10050.0")
    assert later.equity == first.equity == 10_050.0
    led.mark("AAPL", 106.0)  # a new mark: a new book
    marked = led.portfolio(T0 + timedelta(minutes=1))
    assert marked.positions is not first.positions
    assert marked.positions_value == 1_060.0


def test_option_holdings_follow_the_book() -> None:
    led = Ledger(Decimal(100_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    assert led.option_holdings() == ()
    call = OptionContract("AAPL", date(2026, 2, 20), Decimal(110), OptionRight.CALL)
    led.apply(replace(_fill(2, Side.BUY, 1, "2.5"), instrument=call))
    assert led.option_holdings() == ((call.symbol, call),)
    led.apply(replace(_fill(3, Side.SELL, 1, "3"), instrument=call))
    assert led.option_holdings() == ()


def test_position_with_mark_when_marked_then_equal_to_constructed() -> None:
    pos = Position(Equity("AAPL"), 10, Decimal("100.5"), Decimal("-1"), 101.0, T0)
    marked = pos.with_mark(102.5)
    assert marked == Position(Equity("AAPL"), 10, Decimal("100.5"), Decimal("-1"), 102.5, T0)
    assert marked.opened_at is T0
    assert marked.instrument is pos.instrument
    assert pos.mark == 101.0
    assert marked.unrealized_pnl == (102.5 - 100.5) * 10


def test_portfolio_when_reserve_given_then_not_confused_with_the_ledgers_own() -> None:
    led = Ledger(Decimal(10_000))
    led.apply(_fill(1, Side.BUY, 10, "100"))
    own = led.portfolio(T0)
    assert own.reserved_collateral == led.reserved_collateral()
    given = led.portfolio(T0, Decimal(500))
    assert given.reserved_collateral == Decimal(500)
    assert led.portfolio(T0).reserved_collateral == led.reserved_collateral()
    again = led.portfolio(T0)
    assert led.portfolio(T0) is again  # the own-reserve snapshot is kept
