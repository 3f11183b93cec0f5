"""Realised and unrealised P&L are memoised per book state: a change always shows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from engine.domain import Equity, Fill, Side
from engine.runtime.ledger import Ledger

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def _fill(n: int, side: Side, qty: int, price: str, strategy: str = "s") -> Fill:
    return Fill(
        fill_id=f"f{n}", client_order_id=f"o{n}", broker_order_id=f"b{n}",
        instrument=Equity("AAPL"), side=side, quantity=qty, price=Decimal(price),
        commission=Decimal(0), ts=T0, strategy=strategy,
    )  # fmt: skip


def _fresh(led: Ledger, strategy: str) -> tuple[float, float]:
    book = led.by_strategy.get(strategy, {}).values()
    realized = led._realized.get(strategy, 0.0) + sum(float(p.realized_pnl) for p in book)
    return realized, sum(p.unrealized_pnl for p in book)


def test_pnl_when_marks_and_fills_change_then_memo_matches_a_fresh_sum():
    led = Ledger(Decimal(100_000))
    steps = [
        lambda: led.apply(_fill(1, Side.BUY, 10, "100")),
        lambda: led.mark("AAPL", 105.0),
        lambda: led.mark("AAPL", 105.0),  # same price: nothing moves
        lambda: led.apply(_fill(2, Side.SELL, 4, "107")),
        lambda: led.mark("AAPL", 90.0),
        lambda: led.apply(_fill(3, Side.SELL, 6, "91")),  # closed: realised moves to _realized
        lambda: led.set_realized({"s": 5.0}),
    ]
    for step in steps:
        step()
        for _ in range(2):  # the second ask is answered from the memo
            assert (led.realized("s"), led.unrealized("s")) == _fresh(led, "s")
    assert led.realized("s") == 5.0
    assert led.unrealized("s") == 0.0


def test_pnl_when_other_strategy_fills_then_each_keeps_its_own():
    led = Ledger(Decimal(100_000))
    led.apply(_fill(1, Side.BUY, 10, "100", strategy="a"))
    led.mark("AAPL", 101.0)
    assert led.unrealized("a") == 10.0
    assert led.unrealized("b") == 0.0
    led.apply(_fill(2, Side.BUY, 5, "101", strategy="b"))
    led.mark("AAPL", 102.0)
    assert (led.unrealized("a"), led.unrealized("b")) == (20.0, 5.0)


def test_unmarked_when_strategies_hold_opposite_sides_then_flat_name_still_needs_a_mark():
    # An exercise covering another strategy's assignment: "a" long 100, "b" short 100. The
    # account is flat in AAPL, the books are not, and until AAPL is marked their P&L is at
    # cost, so the strategies miss the account's $1,000.
    led = Ledger(Decimal(100_000))
    led.apply(_fill(1, Side.BUY, 100, "155", strategy="a"))
    led.apply(_fill(2, Side.SELL, 100, "165", strategy="b"))
    assert "AAPL" not in led.positions
    assert led.unmarked() == {"AAPL"}
    led.mark("AAPL", 160.0)
    assert led.unmarked() == frozenset()
    assert led.unrealized("a") + led.unrealized("b") == 1000.0
