"""The grouped backtest connection: savepoints only around store transactions that run a
statement, settings held until the group commits, and every store transaction still
all-or-nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import engine.store.ledger_store as ledger_store
from engine.backtest.inline_store import InlineConnection, commit_group, open_backtest_store
from engine.domain import Equity, Fill, Side
from engine.store import Store

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _fill(n: int) -> Fill:
    return Fill(
        fill_id=f"f{n}", client_order_id=f"o{n}", broker_order_id=f"b{n}",
        instrument=Equity("SPY"), side=Side.BUY, quantity=10, price=Decimal("400.5"),
        commission=Decimal("1"), ts=datetime(2026, 1, 5, 20, n, tzinfo=UTC), strategy="s",
    )  # fmt: skip


def _file(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as other:  # a second connection: committed data only
        return other.execute(sql).fetchall()


def _trace(store: Store) -> list[str]:
    conn = store._conn
    assert isinstance(conn, InlineConnection)
    seen: list[str] = []
    conn._conn.set_trace_callback(seen.append)
    return seen


async def test_grouped_store_when_record_fill_fails_half_way_then_nothing_of_it_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)
    await store.set_account(Decimal(100_000), Decimal(0), T0)
    assert await store.record_fill(_fill(1)) is not None
    await store.set_setting("held_before", "kept")
    real = ledger_store.position_values

    def fail(*args: object) -> object:  # after the fill's INSERT and the context SELECT
        raise RuntimeError("boom")

    monkeypatch.setattr(ledger_store, "position_values", fail)
    with pytest.raises(RuntimeError, match="boom"):
        await store.record_fill(_fill(2))
    monkeypatch.setattr(ledger_store, "position_values", real)
    assert [f.fill_id for f in await store.load_fills()] == ["f1"]
    assert await store.verify_ledger() == []
    assert await store.get_setting("held_before") == "kept"
    assert await store.record_fill(_fill(3)) is not None
    await store.close()
    assert _file(path, "SELECT fill_id FROM fills ORDER BY seq") == [("f1",), ("f3",)]
    assert _file(path, "SELECT kind, ref FROM cash_ledger ORDER BY id") == [
        ("deposit", None),
        ("fill", "f1"),
        ("fill", "f3"),
    ]
    assert _file(path, "SELECT value FROM settings WHERE key = 'held_before'") == [('"kept"',)]


async def test_grouped_store_when_setting_only_transaction_then_no_savepoint_and_last_value_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)
    await store.set_account(Decimal(100_000), Decimal(0), T0)
    seen = _trace(store)
    for minute in range(3):
        async with store.transaction():
            await store.set_setting("clock", f"t{minute}", at=T0)
        await store.set_setting("equity", str(minute), at=T0)
    assert not any("SAVEPOINT" in s for s in seen)  # nothing ran inside the transactions
    assert not any("settings" in s for s in seen)  # held
    assert await store.get_setting("clock") == "t2"  # a read sees what is held
    assert await store.record_fill(_fill(1)) is not None
    assert any("SAVEPOINT" in s for s in seen)  # a fill's statements are one unit
    commit_group(store)
    # One row per key, the last value, in the order the keys were first written.
    rows = _file(path, "SELECT key, value FROM settings ORDER BY rowid")
    assert rows == [("clock", '"t2"'), ("equity", '"2"')]
    await store.close()


async def test_grouped_store_when_transaction_with_held_setting_fails_then_earlier_value_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path)
    await store.set_setting("clock", "before", at=T0)
    await store.set_setting("other", "x", at=T0)

    async def fail(read_inside: bool) -> None:
        async with store.transaction():
            await store.set_setting("clock", "inside", at=T0)
            await store.set_setting("new_name", 1, at=T0)
            if read_inside:  # writes what is held, inside the transaction's savepoint
                assert await store.get_setting("clock") == "inside"
            raise RuntimeError("boom")

    for read_inside in (False, True):
        with pytest.raises(RuntimeError, match="boom"):
            await fail(read_inside)
        assert await store.get_setting("clock") == "before"
        assert await store.get_setting("new_name") is None
        assert await store.get_setting("other") == "x"
    await store.close()
    rows = _file(path, "SELECT key, value FROM settings ORDER BY rowid")
    assert rows == [("clock", '"before"'), ("other", '"x"')]


async def test_statement_store_when_setting_written_then_visible_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bt.sqlite"
    store = await open_backtest_store(path, durability="statement")
    await store.set_setting("clock", "t0", at=T0)
    assert _file(path, "SELECT value FROM settings WHERE key = 'clock'") == [('"t0"',)]
    await store.close()
