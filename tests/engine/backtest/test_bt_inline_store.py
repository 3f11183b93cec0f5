"""The backtest store: the engine's `Store` class on an inline SQLite connection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

from engine.backtest.inline_store import open_backtest_store
from engine.domain import Equity, Fill, Side


def _fill(n: int) -> Fill:
    return Fill(
        fill_id=f"f{n}", client_order_id=f"o{n}", broker_order_id=f"b{n}",
        instrument=Equity("SPY"), side=Side.BUY, quantity=10, price=Decimal("400.5"),
        commission=Decimal("1"), ts=datetime(2026, 1, 5, 20, n, tzinfo=UTC), strategy="s",
    )  # fmt: skip


async def test_inline_store_when_fills_recorded_then_ledger_verifies_and_file_holds_them(tmp_path):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    assert await store.record_fill(_fill(1), account_cash=Decimal("95994")) is not None
    assert await store.record_fill(_fill(1)) is None  # a replayed fill changes nothing
    assert await store.record_fill(_fill(2)) is not None
    assert await store.verify_ledger() == []
    positions = await store.load_positions()
    assert positions["SPY"].quantity == 20
    await store.close()
    with sqlite3.connect(path) as raw:  # what the file holds, read by plain sqlite3
        assert raw.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 2
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
