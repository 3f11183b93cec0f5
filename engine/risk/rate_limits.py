"""Order-rate limits: a wall-clock submit throttle and per-minute order counts.

Two clocks on purpose.  The per-second throttle (spec §4, 100/s by default) protects the
broker's API from a runaway loop, so it counts real seconds.  The per-minute limits of the
compliance layer (60 orders/min, 10/min per symbol) are about trading behaviour, so they
count market time (the engine's clock): a simulated session at full speed is judged by
the same rules as a live one.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

__all__ = ["OrderRateLog", "RateThrottle"]


class RateThrottle:
    """Sliding one-second window of order actions (spec: 100 per second by default); one each
    for submits, modifies/replaces and cancels."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_second > 0:
            raise ValueError(f"per_second={per_second!r} must be > 0 orders per second")
        self.per_second = per_second
        self._clock = clock
        self._stamps: deque[float] = deque()

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    def count(self) -> int:
        now = self._clock()
        while self._stamps and now - self._stamps[0] >= 1.0:
            self._stamps.popleft()
        return len(self._stamps)

    def allow(self) -> bool:
        return self.count() < self.per_second

    def record(self) -> None:
        self._stamps.append(self._clock())


class OrderRateLog:
    """Orders submitted in the last `window` of market time, in total and per symbol.

    O(1) amortised per record/count: entries leave the window once, in order.
    """

    def __init__(self, window: timedelta = timedelta(minutes=1)) -> None:
        if window <= timedelta(0):
            raise ValueError(f"window={window!r} must be a positive duration")
        self.window = window
        self._entries: deque[tuple[datetime, str]] = deque()
        # A plain dict: Counter's missing-key and delete hooks are Python calls, and each
        # proposal counts and each order records.
        self._by_symbol: dict[str, int] = {}

    def _prune(self, now: datetime) -> None:
        cutoff = now - self.window
        while self._entries and self._entries[0][0] <= cutoff:
            _, sym = self._entries.popleft()
            left = self._by_symbol.get(sym, 0) - 1
            if left <= 0:
                self._by_symbol.pop(sym, None)
            else:
                self._by_symbol[sym] = left

    def record(self, symbol: str, at: datetime) -> None:
        self._prune(at)
        self._entries.append((at, symbol))
        self._by_symbol[symbol] = self._by_symbol.get(symbol, 0) + 1

    def counts(self, symbol: str, now: datetime) -> tuple[int, int]:
        """(orders in the window, orders for `symbol` in the window) as of `now`."""
        self._prune(now)
        return len(self._entries), self._by_symbol.get(symbol, 0)
