"""Fan-out of broker streams (fills, order updates) to subscribers, shared by every broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")


class FanOut(Generic[T]):
    """Fan-out to subscribers, each with its own queue, registered when subscribing.

    With `keep_backlog`, items published while nobody listens wait for the first subscriber:
    a fill must never be lost because the engine attached a moment late.
    """

    def __init__(self, *, keep_backlog: bool) -> None:
        self._queues: list[asyncio.Queue[T | None]] = []
        self._backlog: list[T] | None = [] if keep_backlog else None
        self._closed = False
        # Items in the subscribers' queues, kept as they are put and taken: `pending` is
        # asked after every order (the engine waits for zero), summing qsize() each time.
        self._queued = 0

    def publish(self, item: T) -> None:
        if not self._queues:
            if self._backlog is not None:
                self._backlog.append(item)
            return
        for q in self._queues:
            q.put_nowait(item)
        self._queued += len(self._queues)

    def subscribe(self) -> AsyncIterator[T]:
        queue: asyncio.Queue[T | None] = asyncio.Queue()
        if self._backlog:
            for item in self._backlog:
                queue.put_nowait(item)
            self._backlog.clear()
        if self._closed:
            queue.put_nowait(None)
        else:
            self._queues.append(queue)
            self._queued += queue.qsize()
        return self._iterate(queue)

    async def _iterate(self, queue: asyncio.Queue[T | None]) -> AsyncIterator[T]:
        try:
            while True:
                item = await queue.get()
                if queue in self._queues:
                    self._queued -= 1  # a counted item (or the end) left a live queue
                if item is None:
                    return
                yield item
        finally:
            if queue in self._queues:
                self._queues.remove(queue)
                self._queued -= queue.qsize()

    def pending(self) -> int:
        """Items published but not yet taken by every subscriber (or waiting for the first)."""
        backlog = len(self._backlog) if self._backlog is not None else 0
        return backlog + self._queued

    def close(self) -> None:
        self._closed = True
        for q in self._queues:
            q.put_nowait(None)
        self._queues.clear()
        self._queued = 0
