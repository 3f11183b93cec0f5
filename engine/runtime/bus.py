"""Event bus: fan-out to subscribers through bounded queues.

Publishing never blocks and never waits for a subscriber: a slow reader (a TUI repainting,
a remote client on a bad link) must not stall trading. Snapshot-like events (those with a
`coalesce_key`) replace the older one still waiting, so a slow reader gets the latest state
instead of a backlog. When a subscriber's queue is full of non-coalescable events, the oldest
is dropped and counted; the subscriber re-syncs from a full snapshot when it sees a gap.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from engine.domain import EngineEvent


@dataclass(frozen=True, slots=True)
class EventsDropped(EngineEvent):
    """Told to a subscriber that fell so far behind that events were discarded."""

    count: int = 0
    kind = "events_dropped"


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._maxsize = maxsize
        self._queue: deque[EngineEvent] = deque()
        self._latest: OrderedDict[str, EngineEvent] = OrderedDict()
        self._ready = asyncio.Event()
        self.dropped = 0
        self._closed = False

    def _put(self, event: EngineEvent) -> None:
        key = event.coalesce_key
        if key is not None:
            self._latest.pop(key, None)
            self._latest[key] = event
        else:
            if len(self._queue) >= self._maxsize:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(event)
        self._ready.set()

    def pending(self) -> int:
        return len(self._queue) + len(self._latest)

    async def get(self) -> EngineEvent | None:
        """Next event, or None once the subscription is closed and drained."""
        while True:
            if self.dropped:
                n, self.dropped = self.dropped, 0
                last = self._queue[0] if self._queue else None
                ts = last.ts if last is not None else next(iter(self._latest.values())).ts
                return EventsDropped(ts=ts, count=n)
            if self._queue:
                return self._queue.popleft()
            if self._latest:
                _, ev = self._latest.popitem(last=False)
                return ev
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._bus._remove(self)

    def __aiter__(self) -> AsyncIterator[EngineEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EngineEvent]:
        while True:
            ev = await self.get()
            if ev is None:
                return
            yield ev


class EventBus:
    def __init__(self, default_maxsize: int = 10_000) -> None:
        self._subs: list[Subscription] = []
        self._default_maxsize = default_maxsize
        self.published = 0

    def subscribe(self, maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, maxsize or self._default_maxsize)
        self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    @property
    def heard(self) -> bool:
        """Whether anyone subscribes. A publisher may skip building an event nobody would
        receive and `tally` it instead: `published` counts it all the same."""
        return bool(self._subs)

    def tally(self) -> None:
        """Count an event published while nobody listened (see `heard`)."""
        self.published += 1

    def publish(self, event: EngineEvent) -> None:
        self.published += 1
        for sub in self._subs:
            sub._put(event)

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
