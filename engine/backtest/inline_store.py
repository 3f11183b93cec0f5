"""`open_backtest_store`: the engine's `Store`, with SQLite run inline on the event loop thread.

The live store runs SQLite on aiosqlite's worker thread so the TUI never waits on the disk.
A backtest has nothing else to keep responsive, and the thread hop (queue, wake-up, self-pipe,
GIL hand-over) costs far more than the statements themselves: a daily backtest makes about a
dozen store calls per session. So backtests use the very same `Store` class (every table,
transaction, ledger check and migration unchanged) on a connection object that exposes the
part of aiosqlite's interface the store uses and executes each statement at once.

The database is a real SQLite file (WAL, as the store requires); `synchronous=OFF` because a
backtest that dies is simply run again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import aiosqlite

from engine.store import Store


class InlineConnection:
    """The subset of `aiosqlite.Connection` that `engine.store` calls, executed synchronously."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self._conn.execute(sql, parameters).fetchall()

    async def executescript(self, script: str) -> sqlite3.Cursor:
        return self._conn.executescript(script)

    async def commit(self) -> None:
        self._conn.commit()

    async def close(self) -> None:
        self._conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


async def open_backtest_store(path: Path) -> Store:
    """A `Store` on `path` (created and migrated by `Store.open`) whose statements run inline."""
    store = await Store.open(path, equity_batch=4096, equity_flush_seconds=3600.0)
    # Store.open created the file, checked WAL and migrated the schema; now swap aiosqlite's
    # threaded connection for an inline one on the same file.
    threaded = store._conn
    if threaded is not None:
        await threaded.close()
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA busy_timeout = 5000")
    raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("PRAGMA foreign_keys = ON")
    store._conn = cast(aiosqlite.Connection, InlineConnection(raw))
    return store
