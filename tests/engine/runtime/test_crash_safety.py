"""Crash safety: `wsb engine` killed with SIGKILL mid-run, restarted on the same database.

Every recorded fill is still there, positions equal the sum of fills, no client order id
appears twice and no order was executed beyond its quantity.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import Store

CONFIG = """
[strategies]
enabled = ["index_baseline", "debit_spreads", "wheel"]

[engine]
equity_snapshot_minutes = 5
"""


def _fill_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM fills").fetchone()[0])
    except sqlite3.Error:
        return 0


def _wsb(*args: str, env: dict[str, str]) -> list[str]:
    return [sys.executable, "-m", "wsb_tui", *args]


@pytest.mark.slow
def test_sigkill_when_fills_recorded_then_restart_keeps_every_fill_and_no_duplicates(tmp_path):
    db = tmp_path / "crash.sqlite"
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        _wsb(
            "engine",
            "--config",
            str(cfg),
            "--db",
            str(db),
            "--seed",
            "7",
            "--speed",
            "max",
            "--run-for",
            "30d",
            "--quiet",
            env=env,
        ),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while _fill_count(db) < 3:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "engine produced no fills in time"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)  # mid-run: no chance to flush or say goodbye
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:
        before = {row[0] for row in conn.execute("SELECT fill_id FROM fills")}
    assert len(before) >= 3

    out = subprocess.run(
        _wsb(
            "engine",
            "--config",
            str(cfg),
            "--db",
            str(db),
            "--seed",
            "7",
            "--speed",
            "max",
            "--run-for",
            "2d",
            "--quiet",
            "--json",
            env=env,
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]

    async def check() -> None:
        store = await Store.open(db)
        try:
            fills = await store.load_fills()
            after = {f.fill_id for f in fills}
            assert before <= after, "a fill recorded before the crash is missing"
            assert await store.verify_ledger() == []
            positions = await store.load_positions()
            net: dict[str, int] = {}
            for f in fills:
                net[f.symbol] = net.get(f.symbol, 0) + f.signed_quantity
            assert {s: q for s, q in net.items() if q} == {
                s: p.quantity for s, p in positions.items() if p.quantity
            }
            orders = await store.load_orders()
            ids = [o.client_order_id for o in orders]
            assert len(ids) == len(set(ids))
            for o in orders:
                for i, leg in enumerate(o.request.legs):
                    done = sum(
                        f.quantity
                        for f in fills
                        if f.client_order_id == o.client_order_id and f.leg_index == i
                    )
                    assert done <= o.request.quantity * leg.ratio, o.client_order_id
        finally:
            await store.close()

    asyncio.run(check())
