"""Builders for domain values used across the store tests."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from engine.domain import Equity, Fill, Instrument, OptionContract, OptionRight, Side

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
SPY = Equity("SPY")
AAPL_P170 = OptionContract("AAPL", date(2024, 4, 19), Decimal("170"), OptionRight.PUT)

_ids = itertools.count()


def make_fill(
    instrument: Instrument,
    side: Side | str,
    quantity: int,
    price: str,
    *,
    fill_id: str | None = None,
    commission: str = "0",
    strategy: str | None = None,
    ts: datetime | None = None,
) -> Fill:
    n = next(_ids)
    return Fill(
        fill_id=fill_id or f"fill-{n}",
        client_order_id=f"coid-{n}",
        broker_order_id=f"boid-{n}",
        instrument=instrument,
        side=Side(side),
        quantity=quantity,
        price=Decimal(price),
        commission=Decimal(commission),
        ts=ts or T0 + timedelta(minutes=n),
        strategy=strategy,
    )


def raw_query(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the file with a separate plain sqlite3 connection (what another process sees)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def raw_execute(path: Path, script: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(script)
    finally:
        conn.close()
