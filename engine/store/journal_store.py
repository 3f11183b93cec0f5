"""Time series written often: the equity curve (buffered), the event log, risk snapshots."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime

from engine.domain.events import EngineEvent
from engine.store.base import StoreBase, json_text
from engine.store.codec import event_to_json, format_ts, parse_decimal, parse_ts, to_jsonable
from engine.store.records import EquitySnapshot, EventRecord, RiskSnapshotRecord
from engine.store.rows import Row, json_object, parse_dec_or_none

_INSERT_EQUITY = (
    "INSERT INTO equity_snapshots (ts, cash, equity, buying_power, reserved_collateral, "
    "positions_value, day_pnl) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_EQUITY_COLUMNS = "ts, cash, equity, buying_power, reserved_collateral, positions_value, day_pnl"
_INSERT_EVENT = "INSERT INTO events (ts, kind, payload) VALUES (?, ?, ?)"


class JournalStore(StoreBase):
    """Equity curve, event log, risk snapshots."""

    # ------------------------------------------------------------------ equity curve (buffered)

    async def record_equity_snapshot(self, snapshot: EquitySnapshot) -> None:
        """Buffered: written in batches (see `Store.open`). Call `flush()` to force it."""
        self._require()
        row = (
            format_ts(snapshot.ts, field="snapshot ts"),
            str(snapshot.cash),
            str(snapshot.equity),
            str(snapshot.buying_power),
            str(snapshot.reserved_collateral),
            str(snapshot.positions_value),
            None if snapshot.day_pnl is None else str(snapshot.day_pnl),
        )
        if not self._equity_buf:
            self._equity_buf_since = time.monotonic()
        self._equity_buf.append(row)
        if (
            len(self._equity_buf) >= self._equity_batch
            or time.monotonic() - self._equity_buf_since >= self._equity_flush_seconds
        ):
            await self.flush()

    async def flush(self) -> None:
        """Write buffered equity snapshots now."""
        if not self._equity_buf:
            return
        rows, self._equity_buf = self._equity_buf, []
        try:
            async with self._tx() as conn:
                await conn.executemany(_INSERT_EQUITY, rows)
        except BaseException:
            self._equity_buf = rows + self._equity_buf
            raise

    async def last_equity_snapshot(self) -> EquitySnapshot | None:
        await self.flush()
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {_EQUITY_COLUMNS} FROM equity_snapshots ORDER BY ts DESC, id DESC LIMIT 1",  # noqa: S608
            )
        return self._equity(rows[0]) if rows else None

    async def equity_curve(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[EquitySnapshot]:
        """Snapshots with start <= ts <= end, in time order."""
        await self.flush()
        clauses: list[str] = []
        params: list[object] = []
        if start is not None:
            clauses.append("ts >= ?")
            params.append(format_ts(start, field="start"))
        if end is not None:
            clauses.append("ts <= ?")
            params.append(format_ts(end, field="end"))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {_EQUITY_COLUMNS} FROM equity_snapshots {where} ORDER BY ts, id",  # noqa: S608
                params,
            )
        return [self._equity(r) for r in rows]

    @staticmethod
    def _equity(row: Row) -> EquitySnapshot:
        f = "equity_snapshots"
        return EquitySnapshot(
            ts=parse_ts(row[0], field=f"{f}.ts"),
            cash=parse_decimal(row[1], field=f"{f}.cash"),
            equity=parse_decimal(row[2], field=f"{f}.equity"),
            buying_power=parse_decimal(row[3], field=f"{f}.buying_power"),
            reserved_collateral=parse_decimal(row[4], field=f"{f}.reserved_collateral"),
            positions_value=parse_decimal(row[5], field=f"{f}.positions_value"),
            day_pnl=parse_dec_or_none(row[6], field=f"{f}.day_pnl"),
        )

    # ------------------------------------------------------------------ event log

    @staticmethod
    def _event_row(event: EngineEvent) -> tuple[str, str, str]:
        return (
            format_ts(event.ts, field=f"{event.kind} ts"),
            event.kind,
            json_text(event_to_json(event)),
        )

    async def append_event(self, event: EngineEvent) -> int:
        """Append one event; returns its id."""
        row = self._event_row(event)
        async with self._single() as conn:
            cur = await conn.execute(_INSERT_EVENT, row)
            event_id = cur.lastrowid
        assert event_id is not None
        return event_id

    async def append_events(self, events: Iterable[EngineEvent]) -> int:
        """Append many events with one statement (in the caller's transaction if inside
        ``store.transaction()``); returns how many."""
        rows = [self._event_row(e) for e in events]
        if rows:
            async with self._tx() as conn:
                await conn.executemany(_INSERT_EVENT, rows)
        return len(rows)

    async def recent_events(
        self, limit: int = 100, kinds: Iterable[str] | None = None
    ) -> list[EventRecord]:
        """The last `limit` events (optionally of some kinds), oldest first."""
        clauses: list[str] = []
        params: list[object] = []
        if kinds is not None:
            wanted = list(kinds)
            if not wanted:
                return []
            clauses.append(f"kind IN ({', '.join('?' * len(wanted))})")
            params += wanted
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT id, ts, kind, payload FROM events {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
                params,
            )
        return [self._event_record(r) for r in reversed(rows)]

    async def events_after(self, event_id: int, limit: int = 1000) -> list[EventRecord]:
        """Events with id > `event_id`, oldest first (for tailing the log and replay)."""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT id, ts, kind, payload FROM events WHERE id > ? ORDER BY id LIMIT ?",
                (event_id, limit),
            )
        return [self._event_record(r) for r in rows]

    async def prune_events(self, before: datetime) -> int:
        """Delete events older than `before` (a server running for weeks keeps the log
        bounded); returns how many. Fills, orders and the cash ledger are never pruned."""
        async with self._single() as conn:
            cur = await conn.execute(
                "DELETE FROM events WHERE ts < ?", (format_ts(before, field="before"),)
            )
            return cur.rowcount

    @staticmethod
    def _event_record(row: Row) -> EventRecord:
        eid, ts, kind, payload = row
        return EventRecord(
            int(eid),
            parse_ts(ts, field="events.ts"),
            kind,
            json_object(payload, field=f"events[{eid}].payload"),
        )

    # ------------------------------------------------------------------ risk snapshots

    async def record_risk_snapshot(
        self,
        ts: datetime,
        *,
        var: float | None,
        cvar: float | None,
        lvar: float | None,
        details: Mapping[str, object] | None = None,
    ) -> int:
        row = (
            format_ts(ts, field="ts"),
            var,
            cvar,
            lvar,
            json_text(to_jsonable(dict(details or {}))),
        )
        async with self._single() as conn:
            cur = await conn.execute(
                "INSERT INTO risk_snapshots (ts, var, cvar, lvar, details) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            snapshot_id = cur.lastrowid
        assert snapshot_id is not None
        return snapshot_id

    async def last_risk_snapshot(self) -> RiskSnapshotRecord | None:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT ts, var, cvar, lvar, details FROM risk_snapshots ORDER BY ts DESC, id DESC LIMIT 1",
            )
        return self._risk(rows[0]) if rows else None

    async def risk_snapshots(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[RiskSnapshotRecord]:
        clauses: list[str] = []
        params: list[object] = []
        if start is not None:
            clauses.append("ts >= ?")
            params.append(format_ts(start, field="start"))
        if end is not None:
            clauses.append("ts <= ?")
            params.append(format_ts(end, field="end"))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT ts, var, cvar, lvar, details FROM risk_snapshots {where} ORDER BY ts, id",  # noqa: S608
                params,
            )
        return [self._risk(r) for r in rows]

    @staticmethod
    def _risk(row: Row) -> RiskSnapshotRecord:
        ts, var, cvar, lvar, details = row
        return RiskSnapshotRecord(
            parse_ts(ts, field="risk_snapshots.ts"),
            var,
            cvar,
            lvar,
            json_object(details, field="risk_snapshots.details"),
        )
