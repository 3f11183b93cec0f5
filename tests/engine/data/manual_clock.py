"""A settable clock for the market data tests (a module, so tests can import it)."""

from __future__ import annotations

from datetime import datetime


class ManualClock:
    """A test clock that can be set to any instant (forwards or back) between checks."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, ts: datetime) -> None:
        self._now = ts

    async def sleep_until(self, when: datetime) -> None:
        self._now = max(self._now, when)
