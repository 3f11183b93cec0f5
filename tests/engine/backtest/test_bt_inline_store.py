"""The backtest store: the engine's `Store` class on an inline SQLite connection."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.backtest.inline_store import commit_group, open_backtest_store
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


def _visible(path, sql: str) -> int:
    with sqlite3.connect(path) as other:  # a second connection: sees committed data only
        return int(other.execute(sql).fetchone()[0])


async def test_grouped_store_when_session_not_committed_then_other_readers_see_nothing(tmp_path):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)  # durability="session"
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    assert await store.record_fill(_fill(1)) is not None
    # The writer sees its own rows; the file does not hold them until the group commits.
    assert len(await store.load_fills()) == 1
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 0
    commit_group(store)
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 1
    await store.close()


@pytest.mark.parametrize("scratch", [False, True], ids=["wal", "scratch-memory-journal"])
async def test_grouped_store_when_a_transaction_fails_then_only_it_rolls_back(tmp_path, scratch):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path, scratch=scratch)
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    assert await store.record_fill(_fill(1)) is not None

    async def fail_half_way() -> None:
        async with store.transaction():
            await store.set_setting("half_written", 1)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_half_way()
    assert await store.record_fill(_fill(2)) is not None
    commit_group(store)
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 2
    assert _visible(path, "SELECT COUNT(*) FROM settings WHERE key = 'half_written'") == 0
    assert await store.verify_ledger() == []
    await store.close()


async def test_statement_store_when_written_then_visible_at_once(tmp_path):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path, durability="statement")
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    assert await store.record_fill(_fill(1)) is not None
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 1
    await store.close()


async def test_open_backtest_store_when_durability_unknown_then_error_names_it(tmp_path):
    with pytest.raises(ValueError, match="durability='fsync'"):
        await open_backtest_store(tmp_path / "bt.sqlite", durability="fsync")  # type: ignore[arg-type]


async def test_inline_store_when_broker_cash_differs_then_adjustment_booked_after_the_fill(
    tmp_path,
):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    record = await store.record_fill(_fill(1), account_cash=Decimal("95990"))
    assert record is not None
    assert record.cash == Decimal("95990")
    assert await store.verify_ledger() == []
    await store.close()
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT kind, amount, balance FROM cash_ledger ORDER BY id").fetchall()
    assert rows == [
        ("deposit", "100000", "100000"),
        ("fill", "-4006.0", "95994.0"),
        ("adjustment", "-4.0", "95990"),
    ]


async def test_scratch_store_when_opened_then_journal_in_memory_and_rows_reach_the_file(tmp_path):
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path, scratch=True)
    await store.set_account(Decimal(100_000), Decimal(0), datetime(2026, 1, 5, tzinfo=UTC))
    assert await store.record_fill(_fill(1)) is not None
    assert (await store._rows(store._conn, "PRAGMA journal_mode"))[0][0] == "memory"
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 0  # not until the group commits
    commit_group(store)
    assert _visible(path, "SELECT COUNT(*) FROM fills") == 1
    assert await store.verify_ledger() == []
    await store.close()
