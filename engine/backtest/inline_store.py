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
only durability inside a group: killed mid-group, a WAL file holds every session up to the
last committed group, at most `runner.COMMIT_EVERY_SESSIONS` (256: about a year of daily
sessions) behind (a backtest that dies is simply run again). `durability="statement"`
commits every store call on its own, as the live store does.

The database is a real SQLite file (WAL, as the store requires); `synchronous=OFF` for the
same reason. A *scratch* file (``scratch=True``: the runner's temporary database, deleted when
the run ends) keeps its rollback journal in memory instead (SQLite's ``journal_mode=MEMORY``):
every savepoint still rolls back, but a commit writes each page once, to the file, instead of
to the WAL and again at the checkpoint (SMA benchmark: 23,800 -> 13,500 blocks written,
sys 0.07-0.13 s -> 0.01-0.05 s). What it gives up is a readable file after a kill
mid-commit: such a file is only ever left behind in the run's temporary folder, which
nothing reads (the folder goes with a run that ends, even by an exception). A file the user
keeps (``--db``) stays in WAL and keeps the guarantee above.
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
_ROLLBACK_TO = "ROLLBACK TO store_tx"
# The store's control statements (engine/store/base.py issues them verbatim), as what a
# grouped connection does instead: begin, release or roll back a store transaction.
_BEGIN, _COMMIT, _ROLLBACK = 1, 2, 3
_CONTROL = {
    "BEGIN IMMEDIATE": _BEGIN,
    "BEGIN DEFERRED": _BEGIN,
    "BEGIN EXCLUSIVE": _BEGIN,
    "BEGIN": _BEGIN,
    "COMMIT": _COMMIT,
    "ROLLBACK": _ROLLBACK,
}


class InlineConnection(SyncStatements):
    """The subset of `aiosqlite.Connection` that `engine.store` calls, executed synchronously.

    With `grouped`, the store's BEGIN/COMMIT/ROLLBACK become a savepoint, its release and a
    roll back to it, inside one transaction that only `commit_group` (or `close`) commits.
    The savepoint is opened at the store transaction's first statement: one that runs none
    has nothing to undo.

    Grouped, a keyed upsert the store offers to `hold` (a setting: the engine writes the
    clock and the start-of-day equity every session, over the same rows) is kept until the
    group commits and then written once, the last value per key, in the order the keys
    were first held (so new rows get the same rowids). Nobody else sees the group before it
    commits; this connection writes what it holds before any statement that does not come
    from the store's `run` (reads, deletes: `run` only carries the store's own writes of
    other tables) and before committing. A held write inside a store transaction that
    rolls back is dropped with it.

    Statements run on one reused cursor (a backtest runs some 30,000; a cursor per statement
    was a fair part of each): the store reads a statement's rowcount, lastrowid or rows
    before it runs the next one.
    """

    def __init__(self, conn: sqlite3.Connection, *, grouped: bool = False) -> None:
        self._conn = conn
        self._cur = conn.cursor()
        self._grouped = grouped
        self._in_tx = False  # a store transaction (BEGIN .. COMMIT/ROLLBACK) is open
        self._savepoint = False  # ... and its savepoint was opened
        self._held: dict[tuple[str, object], Sequence[Any]] = {}
        # What was held when this store transaction first changed `_held` (restored if it
        # rolls back); None: it has not.
        self._held_before: dict[tuple[str, object], Sequence[Any]] | None = None

    def _open(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")

    def _control(self, action: int) -> sqlite3.Cursor:
        cur = self._cur
        if action == _BEGIN:
            self._in_tx = True
        else:
            if self._savepoint:
                if action == _ROLLBACK:
                    cur.execute(_ROLLBACK_TO)
                cur.execute(_RELEASE)
            if action == _ROLLBACK and self._held_before is not None:
                self._held = self._held_before
            self._in_tx = self._savepoint = False
            self._held_before = None
        return cur

    def hold(self, sql: str, key: object, parameters: Sequence[Any]) -> bool:
        if not self._grouped:
            return False
        held = self._held
        if self._in_tx and self._held_before is None:
            self._held_before = dict(held)
        held[(sql, key)] = parameters
        return True

    def _write_held(self) -> None:
        held = self._held
        if not held:
            return
        self._open()
        if self._in_tx:
            if self._held_before is None:
                self._held_before = dict(held)  # written inside the savepoint below
            if not self._savepoint:
                self._cur.execute(_SAVEPOINT)
                self._savepoint = True
        self._held = {}
        cur = self._cur
        for (sql, _key), parameters in held.items():
            cur.execute(sql, parameters)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        if self._grouped and sql not in _CONTROL:
            self._write_held()
        return self.run(sql, parameters)

    def run(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        cur = self._cur
        if self._grouped:
            action = _CONTROL.get(sql)
            if action is not None:
                return self._control(action)
            if not self._conn.in_transaction:
                cur.execute("BEGIN IMMEDIATE")
            if self._in_tx and not self._savepoint:
                cur.execute(_SAVEPOINT)
                self._savepoint = True
        return cur.execute(sql, parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if self._grouped:
            self._write_held()
            self._open()
            if self._in_tx and not self._savepoint:
                self._cur.execute(_SAVEPOINT)
                self._savepoint = True
        return self._cur.executemany(sql, rows)

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        if self._grouped:
            self._write_held()
            self._open()
        return self._cur.execute(sql, parameters).fetchall()

    async def executescript(self, script: str) -> sqlite3.Cursor:
        self.commit_group()
        return self._conn.executescript(script)

    async def commit(self) -> None:
        self.commit_group()

    def commit_group(self) -> None:
        """Commit everything written since the last group commit (one WAL append)."""
        if self._in_tx:
            return  # inside a store transaction (its task awaited): the next group takes it
        self._write_held()
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    async def close(self) -> None:
        self.commit_group()
        self._conn.close()

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


async def open_backtest_store(
    path: Path, *, durability: Durability = "session", scratch: bool = False
) -> Store:
    """A `Store` on `path` (created and migrated by `Store.open`) whose statements run inline;
    with ``durability="session"`` call `commit_group(store)` at every session end. `scratch`:
    the caller deletes the file after the run (see the module docstring)."""
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
    # Switching out of WAL needs the only connection: the threaded one is closed above.
    mode = "MEMORY" if scratch else "WAL"
    (got,) = raw.execute(f"PRAGMA journal_mode = {mode}").fetchone()
    if str(got).upper() != mode:
        raw.close()
        raise RuntimeError(f"backtest store {path}: journal_mode {got!r}, expected {mode}")
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
