"""Clocks: the only source of "now" for strategies, risk and the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Wait until the clock reads `when` (returns at once if it already does)."""
        ...


class WallClock:
    """Real time, for paper and live trading."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class SimulatedClock:
    """Market time driven by the engine's loop.

    `speed` is simulated seconds per real second (60 = one market minute per second);
    `None` means as fast as the CPU allows (replay / `--speed max`). The engine advances it
    with `advance_to`, which paces against real time when a speed is set.
    """

    def __init__(self, start: datetime, speed: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock start must be timezone-aware (UTC)")
        if speed is not None and speed <= 0:
            raise ValueError(f"speed {speed} must be positive, or None for max speed")
        self._now = start.astimezone(UTC)
        self.speed = speed
        self._loop_anchor: float | None = None
        self._sim_anchor = self._now
        self._tick = asyncio.Event()
        self._sleepers = 0  # tasks waiting on _tick in sleep_until

    def _moved(self) -> None:
        # Wake everyone waiting in sleep_until; they re-check against the new time. With
        # nobody waiting (a replay moves the clock twice a session) there is nobody to wake
        # and the unset event is kept.
        if self._sleepers:
            self._tick.set()
            self._tick = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        self._loop_anchor = None

    async def advance_to(self, when: datetime) -> None:
        """Move time forward to `when`, waiting in real time according to `speed`."""
        if when < self._now:
            raise ValueError(f"clock cannot go backwards: {when} < {self._now}")
        if self.speed is not None:
            loop = asyncio.get_running_loop()
            if self._loop_anchor is None:
                self._loop_anchor = loop.time()
                self._sim_anchor = self._now
            target = self._loop_anchor + (when - self._sim_anchor).total_seconds() / self.speed
            delay = target - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            # Yield so other tasks (UI, clients, the fill loop) still run at max speed.
            await asyncio.sleep(0)
        self._now = when
        self._moved()

    def jump_to(self, when: datetime) -> None:
        """Skip time without pacing (nights, weekends): nothing trades in the gap."""
        if when < self._now:
            raise ValueError(f"clock cannot go backwards: {when} < {self._now}")
        self._now = when
        self._loop_anchor = None
        self._moved()

    async def sleep_until(self, when: datetime) -> None:
        while self._now < when:
            self._sleepers += 1
            try:
                await self._tick.wait()
            finally:
                self._sleepers -= 1


class WallPacedClock(SimulatedClock):
    """Market time that never runs ahead of the wall clock: the engine's minute loop on a real
    broker. `advance_to` waits for the wall clock, then runs `on_minute(when)` (the data feed's
    refresh) before the engine reads the minute's bars; `jump_to` (nights, weekends) moves only
    as far as the wall clock, so the loop then waits in `advance_to` instead of skipping time.
    """

    def __init__(self, on_minute: Callable[[datetime], Awaitable[object]] | None = None) -> None:
        super().__init__(datetime.now(UTC), speed=None)
        self.on_minute = on_minute

    def now(self) -> datetime:
        return max(self._now, datetime.now(UTC))

    async def advance_to(self, when: datetime) -> None:
        delay = (when - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        self._now = max(self._now, when)
        self._moved()
        if self.on_minute is not None:
            await self.on_minute(when)

    def jump_to(self, when: datetime) -> None:
        self._now = max(self._now, min(when, datetime.now(UTC)))
        self._moved()


class ReplayClock(SimulatedClock):
    """A simulated clock that never paces: backtests run as fast as the CPU allows."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start, speed=None)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ONE_MINUTE = timedelta(minutes=1)
