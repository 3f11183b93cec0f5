"""Between the engine's event stream and the UI: a bounded, coalescing buffer.

The reader task appends every event; the UI drains the buffer whenever it gets to it. While
the UI is busy (a slow repaint, a big table), snapshot-like events (portfolio, bars) replace
the older copy still waiting, so the UI always renders the newest state instead of replaying
a backlog. Ordinary events keep their order; past `max_events` the oldest are dropped and
counted, and the app resynchronises from a full snapshot.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from engine.domain import EngineEvent

DEFAULT_MAX_EVENTS = 5_000


@dataclass(frozen=True, slots=True)
class Drained:
    events: tuple[EngineEvent, ...]
    dropped: int
    coalesced: int


class EventBuffer:
    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS) -> None:
        if max_events <= 0:
            raise ValueError(f"max_events {max_events} must be positive")
        self._queue: deque[EngineEvent] = deque()
        self._latest: OrderedDict[str, EngineEvent] = OrderedDict()
        self._max = max_events
        self._dropped = 0
        self._coalesced = 0
        self._signalled = False

    def __len__(self) -> int:
        return len(self._queue) + len(self._latest)

    def add(self, event: EngineEvent) -> bool:
        """Buffer `event`. True when the UI should be told (nothing told since last drain)."""
        key = event.coalesce_key
        if key is not None:
            if self._latest.pop(key, None) is not None:
                self._coalesced += 1
            self._latest[key] = event
        else:
            if len(self._queue) >= self._max:
                self._queue.popleft()
                self._dropped += 1
            self._queue.append(event)
        if self._signalled:
            return False
        self._signalled = True
        return True

    def drain(self) -> Drained:
        """Everything waiting: ordered events first, then the newest of each snapshot kind
        (they describe the state after all of them)."""
        events = (*self._queue, *self._latest.values())
        out = Drained(events, self._dropped, self._coalesced)
        self._queue.clear()
        self._latest.clear()
        self._dropped = 0
        self._coalesced = 0
        self._signalled = False
        return out
