"""The database schema as an ordered list of versioned migrations.

`PRAGMA user_version` is the authority on which migrations ran; `schema_migrations` keeps a
human-readable history. Each migration runs in its own ``BEGIN IMMEDIATE`` transaction
together with the version bump, so a failed migration leaves the previous version intact.
Never edit a released migration: append a new one.

Conventions in every table: money and prices are exact ``Decimal`` text, timestamps are
fixed-width ISO-8601 UTC text (so text order is time order), JSON columns hold the codec's
encoding, analytics (VaR and friends) are REAL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from engine.store.codec import format_ts
from engine.store.errors import MigrationError, NotAStoreDatabaseError, SchemaTooNewError

# "wsbt": marks the file as ours, so a stray SQLite file is never migrated by accident.
APPLICATION_ID = 0x77736274


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    script: str


_V1 = """
CREATE TABLE schema_migrations (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
);

-- The paper account's cash and collateral: one row, rebuilt-from and checked-against the
-- append-only cash_ledger (account.cash = sum(cash_ledger.amount)).
CREATE TABLE account (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    cash                TEXT NOT NULL,
    reserved_collateral TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE cash_ledger (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      TEXT NOT NULL,
    kind    TEXT NOT NULL,           -- fill | deposit | withdrawal | adjustment | ...
    ref     TEXT,                    -- fill_id for fills
    amount  TEXT NOT NULL,
    balance TEXT NOT NULL,
    note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cash_ledger_ref ON cash_ledger (ref);

-- seq is the order fills were applied in; replaying fills in seq order rebuilds positions.
CREATE TABLE fills (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    fill_id         TEXT NOT NULL UNIQUE,
    client_order_id TEXT NOT NULL,
    broker_order_id TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    instrument      TEXT NOT NULL,
    side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    price           TEXT NOT NULL,
    commission      TEXT NOT NULL,
    ts              TEXT NOT NULL,
    leg_index       INTEGER NOT NULL,
    strategy        TEXT,
    liquidity       TEXT NOT NULL,
    cash_delta      TEXT NOT NULL
);
CREATE INDEX fills_ts ON fills (ts);
CREATE INDEX fills_strategy ON fills (strategy, seq);
CREATE INDEX fills_order ON fills (client_order_id);

CREATE TABLE positions (
    symbol        TEXT PRIMARY KEY,
    instrument    TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    avg_price     TEXT NOT NULL,
    realized_pnl  TEXT NOT NULL,
    opened_at     TEXT,
    updated_at    TEXT NOT NULL,
    last_fill_seq INTEGER NOT NULL REFERENCES fills (seq)
);

CREATE TABLE strategy_positions (
    strategy      TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    instrument    TEXT NOT NULL,
    quantity      INTEGER NOT NULL,
    avg_price     TEXT NOT NULL,
    realized_pnl  TEXT NOT NULL,
    opened_at     TEXT,
    updated_at    TEXT NOT NULL,
    last_fill_seq INTEGER NOT NULL REFERENCES fills (seq),
    PRIMARY KEY (strategy, symbol)
) WITHOUT ROWID;

CREATE TABLE orders (
    client_order_id TEXT PRIMARY KEY,
    broker_order_id TEXT NOT NULL,
    strategy        TEXT,
    proposal_id     TEXT,
    status          TEXT NOT NULL,
    is_open         INTEGER NOT NULL CHECK (is_open IN (0, 1)),
    quantity        INTEGER NOT NULL,
    filled_quantity INTEGER NOT NULL,
    avg_fill_price  TEXT,
    reject_reason   TEXT,
    request         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX orders_open ON orders (is_open, created_at);
CREATE INDEX orders_broker ON orders (broker_order_id);

CREATE TABLE proposals (
    proposal_id TEXT PRIMARY KEY,
    strategy    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL
);
CREATE INDEX proposals_state ON proposals (state, created_at);

CREATE TABLE risk_decisions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    proposal_id       TEXT NOT NULL,
    approved          INTEGER NOT NULL CHECK (approved IN (0, 1)),
    approved_quantity INTEGER NOT NULL,
    decided_at        TEXT NOT NULL,
    reason            TEXT NOT NULL
);
CREATE INDEX risk_decisions_proposal ON risk_decisions (proposal_id, id);

CREATE TABLE risk_checks (
    decision_id        INTEGER NOT NULL REFERENCES risk_decisions (id) ON DELETE CASCADE,
    seq                INTEGER NOT NULL,
    name               TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    value              REAL,
    limit_value        REAL,
    message            TEXT NOT NULL,
    suggested_quantity INTEGER,
    PRIMARY KEY (decision_id, seq)
) WITHOUT ROWID;

CREATE TABLE equity_snapshots (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    ts                  TEXT NOT NULL,
    cash                TEXT NOT NULL,
    equity              TEXT NOT NULL,
    buying_power        TEXT NOT NULL,
    reserved_collateral TEXT NOT NULL,
    positions_value     TEXT NOT NULL,
    day_pnl             TEXT
);
CREATE INDEX equity_snapshots_ts ON equity_snapshots (ts);

CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_kind ON events (kind, id);

CREATE TABLE strategy_state (
    strategy   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    profile    TEXT,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE commands (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ts           TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    role         TEXT,
    command      TEXT NOT NULL,
    args         TEXT NOT NULL,
    result       TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    completed_at TEXT
);
CREATE INDEX commands_ts ON commands (ts);

CREATE TABLE risk_snapshots (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      TEXT NOT NULL,
    var     REAL,
    cvar    REAL,
    lvar    REAL,
    details TEXT NOT NULL
);
CREATE INDEX risk_snapshots_ts ON risk_snapshots (ts);

-- The ledger's history is append-only: positions can always be recomputed from it.
CREATE TRIGGER fills_no_update BEFORE UPDATE ON fills
BEGIN SELECT RAISE(ABORT, 'fills are append-only'); END;
CREATE TRIGGER fills_no_delete BEFORE DELETE ON fills
BEGIN SELECT RAISE(ABORT, 'fills are append-only'); END;
CREATE TRIGGER cash_ledger_no_update BEFORE UPDATE ON cash_ledger
BEGIN SELECT RAISE(ABORT, 'cash_ledger is append-only'); END;
CREATE TRIGGER cash_ledger_no_delete BEFORE DELETE ON cash_ledger
BEGIN SELECT RAISE(ABORT, 'cash_ledger is append-only'); END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
"""

# A decision's checks as one JSON array on its row (engine.store.check_codec): one row per
# check cost more to write than the rest of the decision. NULL: the decision was stored by
# v1, its checks are rows in risk_checks (kept, and still read).
_V2 = """
ALTER TABLE risk_decisions ADD COLUMN checks TEXT;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "risk checks stored on the decision row", _V2),
)
LATEST_VERSION = MIGRATIONS[-1].version


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (semicolons inside triggers or strings stay).

    `executescript` cannot be used: it commits any open transaction first, and a migration
    must run inside one together with its version bump.
    """
    statements: list[str] = []
    *pieces, rest = script.split(";")
    buf = ""
    for piece in pieces:
        buf += piece + ";"
        if sqlite3.complete_statement(buf):
            if _has_sql(buf):
                statements.append(buf.strip())
            buf = ""
    if _has_sql(buf + rest):
        raise ValueError(
            f"incomplete SQL statement at the end of a migration (missing ';' or END): "
            f"{(buf + rest).strip()!r}"
        )
    return statements


def _has_sql(text: str) -> bool:
    lines = [ln.split("--", 1)[0].strip() for ln in text.splitlines()]
    return any(ln and ln != ";" for ln in lines)


def _check_ordered(migrations: Sequence[Migration]) -> None:
    for expected, m in enumerate(migrations, start=1):
        if m.version != expected:
            raise ValueError(
                f"migration versions must run 1, 2, 3...: found {m.version} at position {expected}"
            )


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = list(await conn.execute_fetchall(sql))
    return int(rows[0][0])


async def schema_version(conn: aiosqlite.Connection) -> int:
    return await _scalar(conn, "PRAGMA user_version")


async def migrate(
    conn: aiosqlite.Connection, path: Path, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database at `path` up to the last migration; return the final version.

    Refuses a database from a newer wsb-tui and a SQLite file that is not ours. The version
    is re-read inside each write transaction, so two processes opening a fresh file at once
    do not both run the same migration.
    """
    _check_ordered(migrations)
    latest = migrations[-1].version if migrations else 0
    version = await schema_version(conn)
    await _check_identity(conn, path, version, latest)
    for m in migrations[version:]:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await schema_version(conn)
            if current >= m.version:
                await conn.execute("COMMIT")
                continue
            for stmt in split_statements(m.script):
                await conn.execute(stmt)
            if m.version == 1:
                await conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            await conn.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (m.version, m.description, format_ts(datetime.now(UTC))),
            )
            # PRAGMA takes no bound parameters; the version is an int we produced.
            await conn.execute(f"PRAGMA user_version = {int(m.version)}")
            await conn.execute("COMMIT")
        except BaseException as exc:
            await conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise MigrationError(
                    f"{path}: migration {m.version} ({m.description}) failed and was rolled "
                    f"back; the database stays at version {m.version - 1}: {exc}"
                ) from exc
            raise
    return await schema_version(conn)


async def _check_identity(
    conn: aiosqlite.Connection, path: Path, version: int, latest: int
) -> None:
    if version > latest:
        raise SchemaTooNewError(
            f"{path} has schema version {version}, but this wsb-tui only knows versions up to "
            f"{latest}: it was written by a newer wsb-tui. Upgrade wsb-tui, or pass --db with "
            "another file; the database was not changed."
        )
    app_id = await _scalar(conn, "PRAGMA application_id")
    if version > 0 and app_id != APPLICATION_ID:
        raise NotAStoreDatabaseError(
            f"{path} is a SQLite database of another application (application_id={app_id:#x}, "
            f"expected {APPLICATION_ID:#x}); refusing to touch it"
        )
    if version == 0:
        tables = await _scalar(conn, "SELECT count(*) FROM sqlite_master")
        if tables:
            raise NotAStoreDatabaseError(
                f"{path} already holds {tables} schema objects but no wsb-tui schema version; "
                "it is not a wsb-tui database, refusing to touch it"
            )
