"""Connection, lifecycle and transactions shared by every part of `Store`.

Concurrency. aiosqlite runs one connection on one worker thread, and a transaction spans
several awaits, so one asyncio lock serialises transactions: another task's statement can
never land inside ours, and readers never see a half-written fill. Within
``async with store.transaction():`` the owning task's calls join the open transaction.
``BEGIN IMMEDIATE`` plus ``busy_timeout`` serialise against other processes on the same file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self, cast

import aiosqlite

from engine.store.codec import JSONValue
from engine.store.errors import NotAStoreDatabaseError, StoreClosedError, StoreError
from engine.store.rows import Row
from engine.store.schema import migrate

log = logging.getLogger("engine.store")

current_task = asyncio.current_task

Synchronous = Literal["NORMAL", "FULL"]

ZERO = Decimal(0)


def utc_now() -> datetime:
    return datetime.now(UTC)


# One encoder for every row: `json.dumps` with these options builds a new encoder per call.
_JSON_TEXT = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def json_text(value: JSONValue) -> str:
    return _JSON_TEXT.encode(value)


def check_name(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError(f"{field}={value!r} must be a non-empty string of at most 200 characters")
    return value


class WriteCursor(Protocol):
    """What a write statement's cursor tells (sqlite3's and aiosqlite's both do)."""

    @property
    def rowcount(self) -> int: ...
    @property
    def lastrowid(self) -> int | None: ...


class SyncStatements:
    """A connection that can also run one statement synchronously, on the calling thread
    (the backtest's inline connection, `engine.backtest.inline_store`). `StoreBase._write`
    runs single statements through `run` when nothing else holds the store."""

    def run(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError

    def hold(self, sql: str, key: object, parameters: Sequence[Any]) -> bool:
        """Offer an upsert of the row `key` names, which a later write of the same key
        replaces whole: a connection that commits in groups may keep it and write only the
        last one before the group commits. False: not kept, run it."""
        return False


class StoreBase:
    """Connection handling; `engine.store.store.Store` adds the tables."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: Path,
        *,
        schema_version: int,
        synchronous: Synchronous,
        equity_batch: int,
        equity_flush_seconds: float,
    ) -> None:
        self._conn: aiosqlite.Connection | None = conn
        self.path = path
        self.schema_version = schema_version
        self.synchronous = synchronous
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._equity_batch = equity_batch
        self._equity_flush_seconds = equity_flush_seconds
        self._equity_buf: list[tuple[object, ...]] = []
        self._equity_buf_since = 0.0
        self._known_orders: set[str] = set()  # see OrderStore.upsert_order
        self._sync: SyncStatements | None = None  # see _write

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        synchronous: Synchronous = "NORMAL",
        busy_timeout_ms: int = 5000,
        equity_batch: int = 256,
        equity_flush_seconds: float = 1.0,
    ) -> Self:
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        Equity snapshots are buffered until `equity_batch` are waiting or the oldest is
        `equity_flush_seconds` old (and on `flush()`/`close()`); everything else is written
        when the call returns.
        """
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous={synchronous!r}: allowed values are 'NORMAL', 'FULL'")
        if busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms={busy_timeout_ms} must be >= 0")
        if equity_batch < 1:
            raise ValueError(f"equity_batch={equity_batch} must be >= 1")
        path = await asyncio.to_thread(_prepare_path, Path(path))
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        try:
            await _configure(conn, path, synchronous, busy_timeout_ms)
            version = await migrate(conn, path)
        except sqlite3.OperationalError as exc:  # locked, read-only, disk I/O...
            await conn.close()
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # "file is not a database" and friends
            await conn.close()
            raise NotAStoreDatabaseError(f"{path} is not a usable SQLite database: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        log.debug("opened %s (schema v%d, synchronous=%s)", path, version, synchronous)
        return cls(
            conn,
            path,
            schema_version=version,
            synchronous=synchronous,
            equity_batch=equity_batch,
            equity_flush_seconds=equity_flush_seconds,
        )

    async def close(self) -> None:
        """Flush buffered writes and close. Safe to call twice."""
        if self._conn is None:
            return
        if self._owns_tx():
            raise StoreError("close() called inside store.transaction(); leave the block first")
        try:
            await self.flush()
        finally:
            async with self._lock:
                conn, self._conn = self._conn, None
                self._sync = None
                if conn is not None:
                    try:
                        await conn.execute("PRAGMA optimize")
                    except sqlite3.Error:
                        log.debug("PRAGMA optimize failed on close", exc_info=True)
                    await conn.close()

    async def pragmas(self) -> dict[str, int | str]:
        """The connection's durability settings, for diagnostics (`wsb status`) and tests."""
        out: dict[str, int | str] = {}
        async with self._read() as conn:
            for name in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "user_version",
            ):
                rows = await self._rows(conn, f"PRAGMA {name}")
                out[name] = rows[0][0]
        return out

    @property
    def closed(self) -> bool:
        return self._conn is None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ transactions

    def _require(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreClosedError(f"store {self.path} is closed")
        return self._conn

    def _owns_tx(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    def transaction(self) -> _Block:
        """Group writes into one ``BEGIN IMMEDIATE ... COMMIT`` (e.g. a tick's events).

        Store calls made by this task inside the block join it; an exception rolls all of
        it back. Other tasks wait until the block ends, so keep it short and do not await
        other tasks that use the store from inside it. `record_fill` refuses to run inside:
        a fill is committed on its own, before anything about it is published.
        """
        return _Block(_Transaction(self, "IMMEDIATE"))

    def _tx(self, mode: str = "IMMEDIATE") -> _Transaction:
        return _Transaction(self, mode)

    def _single(self) -> _Single:
        """For exactly one write statement: outside a transaction it runs in autocommit, where
        SQLite makes the statement its own atomic, durable transaction. That saves the two
        extra thread round trips of BEGIN and COMMIT; inside `transaction()` it joins."""
        return _Single(self)

    async def _write(self, sql: str, params: Sequence[object]) -> WriteCursor:
        """One write statement under `_single`; its cursor (rowcount, lastrowid) comes back.

        On a connection that runs statements inline (`SyncStatements`), the statement runs at
        once when the store's lock is free or held by this task's transaction: it cannot land
        inside another task's transaction then, which is all the lock is for, and it never
        yields. That skips the context manager, the lock's coroutine and the connection's
        (a backtest writes ~12,000 single statements)."""
        sync = self._sync
        if sync is not None:
            if not self._lock.locked():
                return sync.run(sql, params)
            owner = self._owner
            if owner is not None and owner is current_task():
                return sync.run(sql, params)
        async with self._single() as conn:
            return await conn.execute(sql, params)

    async def _write_keyed(self, sql: str, key: object, params: Sequence[object]) -> None:
        """`_write` for an upsert of the row `key` names that a later write of the same key
        replaces whole (a setting): the connection may hold it (`SyncStatements.hold`)."""
        sync = self._sync
        if sync is not None:
            owner = self._owner
            if (not self._lock.locked() or (owner is not None and owner is current_task())) and (
                sync.hold(sql, key, params)
            ):
                return
        await self._write(sql, params)

    @asynccontextmanager
    async def _read(self, *, snapshot: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """Reads take the lock too, so they never see another task's open transaction.
        `snapshot` wraps several statements in one read transaction (one consistent view)."""
        if self._owns_tx():
            yield self._require()
            return
        if snapshot:
            async with self._tx("DEFERRED") as conn:
                yield conn
            return
        async with self._lock:
            yield self._require()

    async def _begin_failed(
        self, conn: aiosqlite.Connection, begin: str, exc: sqlite3.OperationalError
    ) -> None:
        """`begin` raised `exc`. A rollback interrupted by a second cancellation can leave a
        transaction open: roll it back and begin again. Anything else goes on."""
        if "within a transaction" not in str(exc):
            raise exc
        log.warning("rolling back a transaction left open by a cancelled task")
        await conn.execute("ROLLBACK")
        await conn.execute(begin)

    async def _rollback(self, conn: aiosqlite.Connection) -> None:
        try:
            # Shielded: a task cancelled mid-transaction must still roll back.
            await asyncio.shield(conn.execute("ROLLBACK"))
        except sqlite3.OperationalError as exc:
            if "no transaction is active" not in str(exc):
                log.error("rollback failed: %s", exc)

    @staticmethod
    async def _rows(
        conn: aiosqlite.Connection, sql: str, params: Sequence[object] = ()
    ) -> list[Row]:
        rows = await conn.execute_fetchall(sql, params)
        return rows if type(rows) is list else list(rows)

    async def flush(self) -> None:
        """Write anything buffered. Overridden where a part of the store buffers."""


# Every store call enters one of these, a backtest some 20,000 times: as classes they cost
# about a third of what the equivalent @asynccontextmanager generators did (same steps,
# same order, same lock).


class _Single:
    """`StoreBase._single`: the store's lock (unless this task's transaction is open) around
    one statement."""

    __slots__ = ("_locked", "_store")

    def __init__(self, store: StoreBase) -> None:
        self._store = store
        self._locked = False

    async def __aenter__(self) -> aiosqlite.Connection:
        store = self._store
        owner = store._owner
        if owner is not None and owner is current_task():
            return store._require()
        await store._lock.acquire()
        conn = store._conn
        if conn is None:
            store._lock.release()
            store._require()  # raises StoreClosedError
        self._locked = True
        return cast(aiosqlite.Connection, conn)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._locked:
            self._locked = False
            self._store._lock.release()


# `BEGIN <mode>` texts, built once (a backtest begins some 6,000 transactions).
_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED"}


class _Transaction:
    """`StoreBase._tx`: ``BEGIN <mode>`` under the store's lock, COMMIT on a clean exit,
    ROLLBACK on any exception (the exception goes on). Inside a transaction this task
    already owns, it joins it instead."""

    __slots__ = ("_begin", "_conn", "_store")

    def __init__(self, store: StoreBase, mode: str) -> None:
        self._store = store
        self._begin = _BEGIN.get(mode) or f"BEGIN {mode}"
        self._conn: aiosqlite.Connection | None = None

    async def __aenter__(self) -> aiosqlite.Connection:
        store = self._store
        owner = store._owner
        task = current_task()
        if owner is not None and owner is task:
            return store._require()
        await store._lock.acquire()
        try:
            conn = store._require()
            begin = self._begin
            sync = store._sync
            try:
                if sync is not None:
                    sync.run(begin)  # as `_write` does: no coroutine for it
                else:
                    await conn.execute(begin)
            except sqlite3.OperationalError as exc:
                await store._begin_failed(conn, begin, exc)
        except BaseException:
            store._lock.release()
            raise
        store._owner = task
        self._conn = conn
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return  # joined the owner's transaction: it commits or rolls back
        self._conn = None
        store = self._store
        try:
            if exc_type is None:
                try:
                    sync = store._sync
                    if sync is not None:
                        sync.run("COMMIT")
                    else:
                        await conn.execute("COMMIT")
                except BaseException:
                    await store._rollback(conn)
                    raise
            else:
                await store._rollback(conn)
        finally:
            store._owner = None
            store._lock.release()


class _Block:
    """`StoreBase.transaction`: a `_Transaction` whose block gets no connection."""

    __slots__ = ("_tx",)

    def __init__(self, tx: _Transaction) -> None:
        self._tx = tx

    async def __aenter__(self) -> None:
        await self._tx.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._tx.__aexit__(exc_type, exc, tb)


def _prepare_path(path: Path) -> Path:
    """Create the parent directories and an empty database file readable only by the user
    (SQLite gives the -wal and -shm files the same mode). An existing file is left alone."""
    path = path.expanduser()
    if path.is_dir():
        raise StoreError(
            f"--db {path} is a directory; give a file path such as {path / 'sim.sqlite'}"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return path
    except OSError as exc:
        raise StoreError(f"cannot create database {path}: {exc}") from exc
    os.close(fd)
    return path


async def _configure(
    conn: aiosqlite.Connection, path: Path, synchronous: Synchronous, busy_timeout_ms: int
) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = await _enable_wal(conn, busy_timeout_ms)
    if mode != "wal":
        raise StoreError(
            f"{path}: SQLite refused WAL mode (journal_mode={mode}); the store needs WAL. "
            "Network file systems do not support it: put the database on a local disk"
        )
    await conn.execute(f"PRAGMA synchronous = {synchronous}")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _enable_wal(conn: aiosqlite.Connection, busy_timeout_ms: int) -> str:
    """Switch the file to WAL. The switch upgrades a read lock to a write lock, and SQLite
    answers "database is locked" at once, without its busy handler, when two connections do
    that together (waiting could deadlock). So retry here for up to the busy timeout; once
    the file is in WAL mode the pragma is a cheap no-op."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + busy_timeout_ms / 1000
    delay = 0.005
    while True:
        try:
            rows = list(await conn.execute_fetchall("PRAGMA journal_mode = WAL"))
            return str(rows[0][0]).lower() if rows else "?"
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)
