"""SimulatedClock.sleep_until wakes its sleepers as market time passes their deadlines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from engine.runtime.clock import SimulatedClock

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


async def test_sleep_until_when_clock_moves_then_each_sleeper_wakes_at_its_time() -> None:
    clock = SimulatedClock(T0)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, minutes: int) -> None:
        await clock.sleep_until(T0 + timedelta(minutes=minutes))
        woke.append((name, clock.now()))

    clock.jump_to(T0 + timedelta(seconds=1))  # nobody waits yet: nothing to wake
    tasks = [asyncio.create_task(sleeper("a", 1)), asyncio.create_task(sleeper("b", 3))]
    await asyncio.sleep(0)
    await clock.advance_to(T0 + timedelta(minutes=1))
    await asyncio.sleep(0)
    assert woke == [("a", T0 + timedelta(minutes=1))]
    clock.jump_to(T0 + timedelta(minutes=2))
    await asyncio.sleep(0)
    assert len(woke) == 1  # b's time has not come
    clock.jump_to(T0 + timedelta(minutes=5))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert woke[1] == ("b", T0 + timedelta(minutes=5))
    # A sleeper whose time has already come returns at once; later ones still wake.
    await asyncio.wait_for(clock.sleep_until(T0), timeout=5)
    late = asyncio.create_task(sleeper("c", 6))
    await asyncio.sleep(0)
    clock.jump_to(T0 + timedelta(minutes=6))
    await asyncio.wait_for(late, timeout=5)
    assert woke[2] == ("c", T0 + timedelta(minutes=6))
