"""Opening, pragmas and versioned migrations."""

from __future__ import annotations

import asyncio
import stat
from decimal import Decimal
from pathlib import Path

import aiosqlite
import pytest
from store_fixtures import SPY, T0, make_fill, raw_execute, raw_query

from engine.domain import LogLine
from engine.store import (
    LATEST_VERSION,
    MigrationError,
    NotAStoreDatabaseError,
    SchemaTooNewError,
    Store,
    StoreClosedError,
    StoreError,
)
from engine.store.schema import MIGRATIONS, Migration, migrate, split_statements

EXPECTED_TABLES = {
    "account",
    "cash_ledger",
    "commands",
    "equity_snapshots",
    "events",
    "fills",
    "orders",
    "positions",
    "proposals",
    "risk_checks",
    "risk_decisions",
    "risk_snapshots",
    "schema_migrations",
    "settings",
    "strategy_positions",
    "strategy_state",
}


async def test_open_when_file_absent_then_dirs_created_and_every_migration_applied(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "er" / "sim.sqlite"
    async with await Store.open(path) as store:
        assert store.schema_version == LATEST_VERSION
    tables = {r[0] for r in raw_query(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables >= EXPECTED_TABLES
    assert raw_query(path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert [r[0] for r in raw_query(path, "SELECT version FROM schema_migrations")] == list(
        range(1, LATEST_VERSION + 1)
    )
    # Trading data is private to the user.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_open_when_defaults_then_wal_normal_foreign_keys_and_busy_timeout(
    store: Store, db_path: Path
) -> None:
    assert await store.pragmas() == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "user_version": LATEST_VERSION,
    }
    await store.record_fill(make_fill(SPY, "buy", 1, "1"))
    assert db_path.with_name(db_path.name + "-wal").exists()
    # WAL is a property of the file: any other connection sees it too.
    assert raw_query(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_open_when_synchronous_full_then_pragma_is_full(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "f.sqlite", synchronous="FULL") as store:
        assert (await store.pragmas())["synchronous"] == 2


async def test_open_when_option_out_of_range_then_error_names_value_and_allowed(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match=r"synchronous='OFF'.*'NORMAL', 'FULL'"):
        await Store.open(tmp_path / "x.sqlite", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="is a directory"):
        await Store.open(tmp_path)


async def test_reopen_when_data_written_then_everything_is_still_there(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.set_account(Decimal("1000.10"), Decimal("5"), T0)
        await store.record_fill(make_fill(SPY, "buy", 3, "100.25", fill_id="keep", strategy="s"))
        await store.set_setting("trading_state", "HALTED")
        await store.append_event(LogLine(T0, "info", "before restart"))
    async with await Store.open(db_path) as store:
        assert [f.fill_id for f in await store.load_fills()] == ["keep"]
        pos = (await store.load_positions())["SPY"]
        assert (pos.quantity, pos.avg_price) == (3, Decimal("100.25"))
        assert (await store.load_strategy_positions())["s"]["SPY"].quantity == 3
        acct = await store.load_account()
        assert acct is not None
        assert (acct.cash, acct.reserved_collateral) == (Decimal("699.35"), Decimal("5"))
        assert await store.get_setting("trading_state") == "HALTED"
        assert (await store.recent_events())[0].decode() == LogLine(T0, "info", "before restart")
        assert await store.verify_ledger() == []


async def test_open_when_schema_is_newer_then_refused_clearly_and_file_untouched(
    db_path: Path,
) -> None:
    async with await Store.open(db_path):
        pass
    raw_execute(db_path, "PRAGMA user_version = 99;")
    with pytest.raises(SchemaTooNewError) as err:
        await Store.open(db_path)
    msg = str(err.value)
    assert "schema version 99" in msg
    assert f"up to {LATEST_VERSION}" in msg
    assert str(db_path) in msg
    assert "newer wsb-tui" in msg
    assert raw_query(db_path, "PRAGMA user_version") == [(99,)]


async def test_migrate_when_a_later_migration_is_added_then_existing_data_is_upgraded(
    db_path: Path,
) -> None:
    async with await Store.open(db_path) as store:
        await store.set_setting("mode", "sim")
    v2 = Migration(
        LATEST_VERSION + 1,
        "settings get a note",
        "ALTER TABLE settings ADD COLUMN note TEXT NOT NULL DEFAULT '';\n"
        "CREATE INDEX settings_note ON settings (note);",
    )
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        assert await migrate(conn, db_path, (*MIGRATIONS, v2)) == LATEST_VERSION + 1
        # Running it again is a no-op.
        assert await migrate(conn, db_path, (*MIGRATIONS, v2)) == LATEST_VERSION + 1
    assert raw_query(db_path, "SELECT key, value, note FROM settings") == [("mode", '"sim"', "")]
    assert raw_query(db_path, "SELECT count(*) FROM schema_migrations") == [(LATEST_VERSION + 1,)]
    # And this build, which only knows the older schema, now refuses the file.
    with pytest.raises(SchemaTooNewError):
        await Store.open(db_path)


async def test_migrate_when_a_migration_fails_then_it_is_rolled_back_entirely(
    db_path: Path,
) -> None:
    async with await Store.open(db_path):
        pass
    broken = Migration(
        LATEST_VERSION + 1,
        "broken",
        "CREATE TABLE half (x INTEGER);\nINSERT INTO no_such_table VALUES (1);",
    )
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        with pytest.raises(
            MigrationError,
            match=rf"migration {LATEST_VERSION + 1} \(broken\) failed.*stays at version "
            rf"{LATEST_VERSION}",
        ):
            await migrate(conn, db_path, (*MIGRATIONS, broken))
    assert raw_query(db_path, "PRAGMA user_version") == [(LATEST_VERSION,)]
    assert raw_query(db_path, "SELECT name FROM sqlite_master WHERE name = 'half'") == []


async def test_migrate_when_versions_are_not_consecutive_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "gap.sqlite"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        with pytest.raises(ValueError, match="found 3 at position 2"):
            await migrate(conn, path, (MIGRATIONS[0], Migration(3, "skip", "SELECT 1;")))


async def test_open_when_two_openers_race_on_a_fresh_file_then_both_succeed(db_path: Path) -> None:
    a, b = await asyncio.gather(Store.open(db_path), Store.open(db_path))
    try:
        assert a.schema_version == b.schema_version == LATEST_VERSION
        assert raw_query(db_path, "SELECT count(*) FROM schema_migrations") == [(LATEST_VERSION,)]
    finally:
        await a.close()
        await b.close()


async def test_open_when_file_is_another_apps_sqlite_then_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    raw_execute(other, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
    with pytest.raises(NotAStoreDatabaseError, match="not a wsb-tui database"):
        await Store.open(other)
    assert raw_query(other, "SELECT body FROM notes") == [("mine",)]
    tagged = tmp_path / "tagged.sqlite"
    raw_execute(tagged, "PRAGMA application_id = 42; PRAGMA user_version = 1;")
    with pytest.raises(NotAStoreDatabaseError, match="another application"):
        await Store.open(tagged)


async def test_open_when_file_is_not_sqlite_then_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database file\n" * 200)
    with pytest.raises(NotAStoreDatabaseError, match="not a usable SQLite database"):
        await Store.open(junk)


async def test_store_when_closed_then_calls_fail_clearly_and_close_is_idempotent(
    db_path: Path,
) -> None:
    store = await Store.open(db_path)
    await store.close()
    await store.close()
    assert store.closed
    with pytest.raises(StoreClosedError, match="closed"):
        await store.load_positions()


def test_split_statements_when_trigger_bodies_hold_semicolons_then_kept_whole() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "CREATE TRIGGER t_ro BEFORE UPDATE ON t BEGIN SELECT RAISE(ABORT, 'no; really'); END;\n"
    )
    stmts = split_statements(script)
    assert len(stmts) == 2
    assert stmts[1].startswith("CREATE TRIGGER")
    assert stmts[1].endswith("END;")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TABLE u (x TEXT)")
    with pytest.raises(ValueError, match="incomplete"):
        split_statements("CREATE TRIGGER r AFTER INSERT ON t BEGIN SELECT 1;")
