"""The backtest store commits every COMMIT_EVERY_SESSIONS sessions and at the end: another
reader sees whole groups only, and the finished file holds every session's rows."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from bt_helpers import sma_sim

from engine.backtest import runner
from engine.backtest.result import DailyRecord
from engine.data.calendar import default_calendar
from engine.runtime.engine import SETTING_CLOCK


def _committed_clock(path: Path) -> str | None:
    with sqlite3.connect(path) as other:  # a second connection: committed data only
        row = other.execute("SELECT value FROM settings WHERE key = ?", (SETTING_CLOCK,)).fetchone()
    return None if row is None else str(json.loads(row[0]))


async def test_backtest_store_when_run_then_commits_in_groups_and_file_holds_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Groups of a few sessions, so that this short run spans several (the runner's own
    # cadence is about a year of daily sessions).
    monkeypatch.setattr(runner, "COMMIT_EVERY_SESSIONS", 16)
    every = runner.COMMIT_EVERY_SESSIONS
    path = tmp_path / "bt.sqlite"
    cal = default_calendar()
    seen: dict[int, str | None] = {}

    def progress(done: int, total: int, rec: DailyRecord) -> None:
        seen[done] = _committed_clock(path)

    res = await runner.run_backtest(sma_sim(), db_path=path, progress=progress)
    n = len(res.sessions)
    assert n > every + 1, "the run must span more than one group"
    assert n % every, "the run must end inside a group"
    closes = [cal.session_close(s).isoformat() for s in res.sessions]
    for done, visible in seen.items():
        last_group = done - done % every
        # What another reader sees is the clock of the last committed group's last session.
        assert visible == (closes[last_group - 1] if last_group else None), done
    # Closing the store committed the final, partial group.
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == len(res.fills)
        stored = other.execute("SELECT value FROM settings WHERE key = ?", (SETTING_CLOCK,))
        assert json.loads(stored.fetchone()[0]) >= closes[-1]
        # A file the user keeps stays in WAL: killed mid-commit, it still opens.
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert res.checks.ok


async def test_backtest_when_no_db_given_then_scratch_file_journal_in_memory_and_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[Path, bool, str]] = []
    real = runner.open_backtest_store

    async def spy(path: Path, *, scratch: bool = False) -> Any:
        store = await real(path, scratch=scratch)
        mode = (await store._rows(store._conn, "PRAGMA journal_mode"))[0][0]  # type: ignore[arg-type]
        opened.append((path, scratch, str(mode)))
        return store

    monkeypatch.setattr(runner, "open_backtest_store", spy)
    kept = await runner.run_backtest(sma_sim(), db_path=tmp_path / "kept.sqlite")
    scratch = await runner.run_backtest(sma_sim())
    assert [(s, m) for _, s, m in opened] == [(False, "wal"), (True, "memory")]
    assert not opened[1][0].exists(), "the scratch file goes with its folder"
    # The journal changes how pages reach the disk, never what the run decides or stores.
    assert scratch.fingerprint() == kept.fingerprint()
    assert len(scratch.fills) == len(kept.fills) > 0
    assert scratch.checks.ok
    assert kept.checks.ok
