"""`open_backtest_store`: the engine's `Store`, with SQLite run inline on the event loop thread.

The live store runs SQLite on aiosqlite's worker thread so the TUI never waits on the disk.
A backtest has nothing else to keep responsive, and the thread hop (queue, wake-up, self-pipe,
GIL hand-over) costs far more than the statements themselves: a daily backtest makes about a
dozen store calls per session. So backtests use the very same `Store` class (every table,
transaction, ledger check and migration unchanged) on a connection object that exposes the
part of aiosqlite's interface the store uses and executes each statement at once.

Commits are grouped (`durability="session"`, the default): the connection keeps one SQLite
transaction open and the runner commits it at session ends (`commit_group`; every
`runner.COMMIT_EVERY_SESSIONS` sessions). The store's own
transactions become savepoints inside it, so each is still all-or-nothing (a failed
`record_fill` rolls back to its savepoint, not the whole session), and every row the live
store writes is written here too, through the same statements. What a backtest gives up is
only durability inside a group: killed mid-group, the file holds every session up to the
last committed group, at most `runner.COMMIT_EVERY_SESSIONS` (256: about a year of daily
sessions) behind (a backtest that dies is simply run again). `durability="statement"`
commits every store call on its own, as the live store does.

The database is a real SQLite file (WAL, as the store requires); `synchronous=OFF` for the
same reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

import aiosqlite

from engine.store import Store
from engine.store.base import SyncStatements

Durability = Literal["session", "statement"]

_SAVEPOINT = "SAVEPOINT store_tx"
_RELEASE = "RELEASE store_tx"
# The store's control statements (engine/store/base.py issues them verbatim), as what a
# grouped connection runs instead: a savepoint, its release, a roll back to it.
_GROUPED = {
    "BEGIN IMMEDIATE": (_SAVEPOINT,),
    "BEGIN DEFERRED": (_SAVEPOINT,),
    "BEGIN EXCLUSIVE": (_SAVEPOINT,),
    "BEGIN": (_SAVEPOINT,),
    "COMMIT": (_RELEASE,),
    "ROLLBACK": ("ROLLBACK TO store_tx", _RELEASE),
}


class InlineConnection(SyncStatements):
    """The subset of `aiosqlite.Connection` that `engine.store` calls, executed synchronously.

    With `grouped`, the store's BEGIN/COMMIT/ROLLBACK become a savepoint, its release and a
    roll back to it, inside one transaction that only `commit_group` (or `close`) commits.

    Statements run on one reused cursor (a backtest runs some 30,000; a cursor per statement
    was a fair part of each): the store reads a statement's rowcount, lastrowid or rows
    before it runs the next one.
    """

    def __init__(self, conn: sqlite3.Connection, *, grouped: bool = False) -> None:
        self._conn = conn
        self._cur = conn.cursor()
        self._grouped = grouped

    def _open(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        # `run`'s body again: a call less for each of a backtest's ~18,000 statements here.
        cur = self._cur
        if self._grouped:
            if not self._conn.in_transaction:
                cur.execute("BEGIN IMMEDIATE")
            control = _GROUPED.get(sql)
            if control is not None:
                for statement in control:
                    cur.execute(statement)
                return cur
        return cur.execute(sql, parameters)

    def run(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        cur = self._cur
        if self._grouped:
            if not self._conn.in_transaction:
                cur.execute("BEGIN IMMEDIATE")
            control = _GROUPED.get(sql)
            if control is not None:
                for statement in control:
                    cur.execute(statement)
                return cur
        return cur.execute(sql, parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if self._grouped:
            self._open()
        return self._cur.executemany(sql, rows)

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        if self._grouped:
            self._open()
        return self._cur.execute(sql, parameters).fetchall()

    async def executescript(self, script: str) -> sqlite3.Cursor:
        self.commit_group()
        return self._conn.executescript(script)

    async def commit(self) -> None:
        self.commit_group()

    def commit_group(self) -> None:
        """Commit everything written since the last group commit (one WAL append)."""
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    async def close(self) -> None:
        self.commit_group()
        self._conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


async def open_backtest_store(path: Path, *, durability: Durability = "session") -> Store:
    """A `Store` on `path` (created and migrated by `Store.open`) whose statements run inline;
    with ``durability="session"`` call `commit_group(store)` at every session end."""
    if durability not in ("session", "statement"):
        raise ValueError(f"durability={durability!r}: allowed 'session', 'statement'")
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
    inline = InlineConnection(raw, grouped=durability == "session")
    store._conn = cast(aiosqlite.Connection, inline)
    store._sync = inline
    return store


def commit_group(store: Store) -> None:
    """Commit a grouped backtest store's open transaction (no-op for any other store)."""
    conn = store._conn
    if isinstance(conn, InlineConnection):
        conn.commit_group()
