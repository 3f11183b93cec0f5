"""`WallPacedClock`, the real-account engine's clock: market time never ahead of the wall."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from engine.runtime.clock import WallPacedClock


async def test_now_when_created_then_tracks_the_wall_clock() -> None:
    clock = WallPacedClock()
    first = clock.now()
    assert abs((first - datetime.now(UTC)).total_seconds()) < 0.5
    await asyncio.sleep(0.05)
    assert clock.now() - first >= timedelta(seconds=0.04)  # it moves on its own


async def test_advance_when_target_ahead_then_waits_for_wall_and_runs_on_minute_after() -> None:
    seen: list[tuple[datetime, datetime]] = []
    clock = WallPacedClock()

    async def on_minute(when: datetime) -> None:
        seen.append((when, datetime.now(UTC)))

    clock.on_minute = on_minute
    target = datetime.now(UTC) + timedelta(milliseconds=150)
    started = time.monotonic()
    await clock.advance_to(target)
    assert time.monotonic() - started >= 0.12  # it waited for the wall clock
    assert len(seen) == 1
    when, called_at = seen[0]
    assert when == target
    assert called_at >= target  # the feed refresh runs only once the minute has passed
    assert clock.now() >= target


async def test_advance_when_target_in_past_then_returns_at_once_and_still_refreshes() -> None:
    refreshed: list[datetime] = []

    async def on_minute(when: datetime) -> None:
        refreshed.append(when)

    clock = WallPacedClock(on_minute)
    past = datetime.now(UTC) - timedelta(minutes=5)
    started = time.monotonic()
    await clock.advance_to(past)
    assert time.monotonic() - started < 0.05
    assert refreshed == [past]
    assert clock.now() > past  # never behind the wall, whatever it was advanced to


async def test_jump_when_target_beyond_wall_then_stops_at_the_wall() -> None:
    clock = WallPacedClock()
    clock.jump_to(datetime.now(UTC) + timedelta(days=2))  # "the next session opens Monday"
    assert clock.now() - datetime.now(UTC) < timedelta(seconds=1)  # no skipping real time


async def test_sleep_until_when_clock_advanced_then_sleeper_wakes() -> None:
    clock = WallPacedClock()
    target = datetime.now(UTC) + timedelta(milliseconds=80)
    sleeper = asyncio.create_task(clock.sleep_until(target))
    await asyncio.sleep(0.01)
    assert not sleeper.done()
    await clock.advance_to(target)
    await asyncio.wait_for(sleeper, 1.0)
