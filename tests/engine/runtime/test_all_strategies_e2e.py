"""Issue 5's end-to-end run: `wsb engine --seed 7 --speed max --run-for 60d` with no
configuration — all ten strategies, `auto` gate on the simulator — in which every strategy
proposes at least one trade, every proposal has a stored risk decision, and the ledger is
consistent at the end."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from engine.store import Store
from engine.strategies.registry import available


@pytest.mark.slow
def test_engine_60d_when_no_config_then_every_strategy_proposes_and_ledger_consistent(tmp_path):
    db = tmp_path / "e2e.sqlite"
    env = {**os.environ, "WSB_CONFIG_DIR": str(tmp_path / "noconfig")}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "wsb_tui",
            "engine",
            "--seed",
            "7",
            "--speed",
            "max",
            "--run-for",
            "60d",
            "--db",
            str(db),
            "--json",
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(summary["strategies"]) == set(available())
    assert len(available()) == 10
    errored = {n: s["error"] for n, s in summary["strategies"].items() if s["state"] == "errored"}
    assert errored == {}

    with sqlite3.connect(db) as conn:
        proposed = {
            r[0]: r[1] for r in conn.execute("SELECT strategy, count(*) FROM proposals GROUP BY 1")
        }
        undecided = conn.execute(
            "SELECT count(*) FROM proposals p WHERE NOT EXISTS "
            "(SELECT 1 FROM risk_decisions d WHERE d.proposal_id = p.proposal_id)"
        ).fetchone()[0]
    missing = sorted(set(available()) - set(proposed))
    assert missing == [], f"strategies that never proposed in 60 days: {missing}"
    assert undecided == 0

    async def ledger() -> list[object]:
        store = await Store.open(db)
        try:
            return list(await store.verify_ledger())
        finally:
            await store.close()

    assert asyncio.run(ledger()) == []
