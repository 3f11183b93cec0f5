"""`wsb engine` on a real account stops at once when asked, even while the wall-paced clock
waits for the next market minute (or, at a weekend, for Monday's open)."""

from __future__ import annotations

import asyncio
import functools
import time
from pathlib import Path

import pytest
from alpaca_fake import FakeAlpaca
from real_account_env import WarpedWallClock, real_config

from engine.runtime.embedded import build_embedded
from wsb_tui.headless import _Stopper


async def test_stop_when_loop_waits_for_next_minute_then_run_ends_promptly_and_cleanly(
    real_env: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real-time pacing: the next market minute is ~30 s away, far beyond this test.
    monkeypatch.setattr(
        "engine.runtime.clock.WallPacedClock", functools.partial(WarpedWallClock, rate=1.0)
    )
    emb = await build_embedded(real_config(), db_path=tmp_path / "stop.sqlite", strategies=[])
    stopper = _Stopper(emb)
    run = asyncio.create_task(stopper.run(None))
    try:
        for _ in range(250):  # until the loop sits in the clock's wait
            if stopper._waiting:
                break
            await asyncio.sleep(0.02)
        assert stopper._waiting
        asked = time.monotonic()
        stopper.request()
        await asyncio.wait_for(run, 3.0)
        assert time.monotonic() - asked < 1.0
    finally:
        if not run.done():
            run.cancel()
        await emb.close()
    assert emb.engine.ticks == 0  # the wait was ended, no minute was invented
    kinds = [e.kind for e in await reopen_events(tmp_path / "stop.sqlite")]
    assert kinds[-1] == "engine_stopped"  # the engine's own stop ran


async def reopen_events(db: Path) -> list[object]:
    from engine.store import Store

    store = await Store.open(db)
    try:
        return list(await store.events_after(0))
    finally:
        await store.close()
