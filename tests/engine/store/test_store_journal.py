"""Equity curve (buffered), the event log (batched per tick) and risk snapshots."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest
from store_fixtures import SPY, T0, make_fill, raw_query

from engine.domain import LogLine, OrderFilled, Portfolio, Position, StrategyStatusChanged
from engine.store import EquitySnapshot, Store


def _snap(minutes: int, equity: str = "100000") -> EquitySnapshot:
    return EquitySnapshot(
        ts=T0 + timedelta(minutes=minutes),
        cash=Decimal("60000"),
        equity=Decimal(equity),
        buying_power=Decimal("55000"),
        reserved_collateral=Decimal("5000"),
        positions_value=Decimal(equity) - 60000,
        day_pnl=Decimal("12.5") if minutes else None,
    )


async def test_equity_snapshots_when_below_batch_then_buffered_until_flush(
    tmp_path: Path,
) -> None:
    path = tmp_path / "eq.sqlite"
    async with await Store.open(path, equity_batch=3, equity_flush_seconds=3600) as store:
        await store.record_equity_snapshot(_snap(0))
        await store.record_equity_snapshot(_snap(1))
        assert raw_query(path, "SELECT count(*) FROM equity_snapshots") == [(0,)]
        await store.record_equity_snapshot(_snap(2))  # the batch is full: written
        assert raw_query(path, "SELECT count(*) FROM equity_snapshots") == [(3,)]
        await store.record_equity_snapshot(_snap(3))
        # Reads flush first, so the store always answers with what it was given.
        last = await store.last_equity_snapshot()
        assert last == _snap(3)
    async with await Store.open(path) as store:
        assert [s.ts for s in await store.equity_curve()] == [_snap(i).ts for i in range(4)]


async def test_equity_snapshots_when_closed_then_buffer_is_flushed(tmp_path: Path) -> None:
    path = tmp_path / "eq.sqlite"
    store = await Store.open(path, equity_batch=1000, equity_flush_seconds=3600)
    await store.record_equity_snapshot(_snap(0))
    await store.close()
    assert raw_query(path, "SELECT equity, day_pnl FROM equity_snapshots") == [("100000", None)]


async def test_equity_snapshots_when_oldest_is_stale_then_flushed_by_age(tmp_path: Path) -> None:
    path = tmp_path / "eq.sqlite"
    async with await Store.open(path, equity_batch=1000, equity_flush_seconds=0) as store:
        await store.record_equity_snapshot(_snap(0))
        assert raw_query(path, "SELECT count(*) FROM equity_snapshots") == [(1,)]


async def test_equity_curve_when_range_given_then_inclusive_and_in_time_order(store: Store) -> None:
    for m in (5, 1, 3, 9):
        await store.record_equity_snapshot(_snap(m, equity=f"{100000 + m}"))
    curve = await store.equity_curve(T0 + timedelta(minutes=1), T0 + timedelta(minutes=5))
    assert [s.equity for s in curve] == [Decimal(100001), Decimal(100003), Decimal(100005)]
    assert (await store.last_equity_snapshot()).equity == Decimal(100009)  # type: ignore[union-attr]


def test_equity_snapshot_from_portfolio_when_marked_then_valuations_to_the_cent() -> None:
    pos = Position(SPY, 3, Decimal("100"), mark=101.333333)
    port = Portfolio(
        T0, Decimal("1000.005"), MappingProxyType({"SPY": pos}), Decimal("100"), Decimal("1200")
    )
    snap = EquitySnapshot.from_portfolio(port)
    assert snap.cash == Decimal("1000.005")  # the ledger's value, exactly
    assert snap.positions_value == Decimal("304.00")
    assert snap.equity == Decimal("1304.00")
    assert snap.buying_power == Decimal("900.005")
    assert snap.day_pnl == Decimal("104.00")


async def test_events_when_appended_in_a_tick_transaction_then_one_commit_and_decodable(
    store: Store, db_path: Path
) -> None:
    fill = make_fill(SPY, "buy", 1, "500")
    tick = [
        LogLine(T0, "info", "tick"),
        OrderFilled(T0, fill, Position(SPY, 1, Decimal(500))),
        StrategyStatusChanged(T0, "wheel", "paused", "by a person"),
    ]
    async with store.transaction():
        assert await store.append_events(tick) == 3
        await store.set_setting("trading_state", "REDUCING")
    records = await store.recent_events()
    assert [r.kind for r in records] == ["log", "order_filled", "strategy_status"]
    assert [r.decode() for r in records] == tick
    assert records[1].payload["fill"]["price"] == "500"  # type: ignore[index]
    assert [r.kind for r in await store.recent_events(kinds=["log", "strategy_status"])] == [
        "log",
        "strategy_status",
    ]
    assert [r.kind for r in await store.recent_events(limit=1)] == ["strategy_status"]
    assert [r.id for r in await store.events_after(records[0].id)] == [records[1].id, records[2].id]


async def test_transaction_when_block_raises_then_every_write_in_it_is_rolled_back(
    store: Store,
) -> None:
    await store.append_event(LogLine(T0, "info", "kept"))

    async def failing_tick() -> None:
        async with store.transaction():
            await store.append_events([LogLine(T0, "info", "lost")] * 5)
            await store.append_event(LogLine(T0, "info", "lost too"))
            await store.set_setting("trading_state", "HALTED")
            raise RuntimeError("mid-tick failure")

    with pytest.raises(RuntimeError, match="mid-tick"):
        await failing_tick()
    assert [r.payload["message"] for r in await store.recent_events()] == ["kept"]
    assert await store.get_setting("trading_state") is None


async def test_transaction_when_another_task_reads_meanwhile_then_it_waits_for_the_commit(
    store: Store,
) -> None:
    seen: list[int] = []
    inside = asyncio.Event()

    async def reader() -> None:
        await inside.wait()
        seen.append(len(await store.recent_events()))

    task = asyncio.create_task(reader())
    async with store.transaction():
        await store.append_event(LogLine(T0, "info", "1"))
        inside.set()
        await asyncio.sleep(0.01)  # the reader runs now, and must not see a half-done tick
        await store.append_event(LogLine(T0, "info", "2"))
    await task
    assert seen == [2]


async def test_risk_snapshots_when_recorded_then_latest_and_range_come_back(store: Store) -> None:
    await store.record_risk_snapshot(
        T0, var=3210.5, cvar=4020.0, lvar=None, details={"method": "historical"}
    )
    await store.record_risk_snapshot(
        T0 + timedelta(minutes=1),
        var=3300.0,
        cvar=math.inf,
        lvar=3400.0,
        details={"by": {"SPY": 1.5}},
    )
    last = await store.last_risk_snapshot()
    assert last is not None
    assert (last.var, last.cvar, last.lvar) == (3300.0, math.inf, 3400.0)
    assert last.details == {"by": {"SPY": 1.5}}
    assert [s.var for s in await store.risk_snapshots(end=T0)] == [3210.5]


async def test_prune_events_when_older_than_cutoff_then_only_those_deleted(store: Store) -> None:
    for m in range(4):
        await store.append_event(LogLine(T0 + timedelta(minutes=m), "info", str(m)))
    assert await store.prune_events(T0 + timedelta(minutes=2)) == 2
    assert [r.payload["message"] for r in await store.recent_events()] == ["2", "3"]
