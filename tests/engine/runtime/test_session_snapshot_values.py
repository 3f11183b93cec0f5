"""Per-session values built the cheap way are the values the plain constructors give."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from engine.backtest.result import DailyRecord
from engine.domain import Equity, Fill, Portfolio, Side
from engine.runtime.ledger import Ledger
from engine.strategies.base import DEFAULT_PROFILE, PROFILE_LIMITS, StrategyContext

T0 = datetime(2026, 1, 5, 20, 59, tzinfo=UTC)


def _fill(n: int, side: Side, qty: int, price: str) -> Fill:
    return Fill(
        fill_id=f"f{n}", client_order_id=f"o{n}", broker_order_id=f"b{n}",
        instrument=Equity("AAPL"), side=side, quantity=qty, price=Decimal(price),
        commission=Decimal(0), ts=T0, strategy="s",
    )  # fmt: skip


def test_ledger_snapshots_when_cash_moves_then_equity_is_float_cash_plus_positions():
    led = Ledger(Decimal("100000.10"))
    first = led.portfolio(T0)
    assert first.equity == float(Decimal("100000.10"))
    led.apply(_fill(1, Side.BUY, 10, "100.07"))
    led.mark("AAPL", 101.5)
    port = led.portfolio(T0)
    assert port.cash == Decimal("100000.10") - Decimal("1000.70")
    assert port.equity == float(port.cash) + port.positions_value
    # A snapshot built by hand (no float kept) gives the same figure.
    plain = Portfolio(ts=T0, cash=port.cash, positions=port.positions)
    assert plain.equity == port.equity
    assert plain == port  # the kept float is not part of the value


def test_strategy_context_when_built_then_defaults_and_new_york_time_are_set():
    port = Portfolio(ts=T0, cash=Decimal(1000))
    ctx = StrategyContext(now=T0, market=None, calendar=None, portfolio=port, positions={})  # type: ignore[arg-type]
    assert ctx.today == date(2026, 1, 5)
    assert ctx.et_time.hour == 15
    assert ctx.et_time.minute == 59
    assert ctx.limits == PROFILE_LIMITS[DEFAULT_PROFILE]
    assert ctx.pending == ()
    assert ctx.cooling == frozenset()
    assert ctx.vix is None
    assert "_set0" in StrategyContext.__init__.__globals__  # the fast_init constructor


def test_daily_record_when_built_then_fields_and_equality_hold():
    rec = DailyRecord(date(2026, 1, 5), 1.0, 2.0, 3.0, 4.0, None, {"s": 1.0}, {}, {})
    assert rec.session == date(2026, 1, 5)
    assert rec.gross_exposure == 4.0
    assert rec == DailyRecord(date(2026, 1, 5), 1.0, 2.0, 3.0, 4.0, None, {"s": 1.0}, {}, {})
