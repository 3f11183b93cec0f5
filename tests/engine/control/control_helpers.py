"""Helpers for control-server tests (imported by name: test dirs have no __init__)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.runtime.control.harness import Served
from engine.runtime.engine import RunBudget


async def until(pred: Callable[[], bool], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(0.01)


async def until_waiting(served: Served, limit: int = 240) -> str:
    """Step the market a minute at a time until a proposal waits; its id."""
    eng = served.engine
    for _ in range(limit):
        pending = eng.snapshot().pending
        if pending:
            return pending[0].proposal.proposal_id
        await eng.advance(RunBudget(market_minutes=1))
    raise AssertionError("no proposal reached the confirmation gate")


class Raw:
    """A hand-driven protocol client, for sending exactly the bytes a test wants."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def unix(cls, path: Path) -> Raw:
        r, w = await asyncio.open_unix_connection(str(path), limit=64 * 1024 * 1024)
        return cls(r, w)

    @classmethod
    async def tcp(cls, host: str, port: int) -> Raw:
        r, w = await asyncio.open_connection(host, port, limit=64 * 1024 * 1024)
        return cls(r, w)

    async def send(self, obj: Any) -> None:
        data = obj if isinstance(obj, bytes) else (json.dumps(obj) + "\n").encode()
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, within: float = 5.0) -> dict[str, Any] | None:
        line = await asyncio.wait_for(self.reader.readline(), within)
        if not line:
            return None
        msg = json.loads(line)
        self.received.append(msg)
        return msg

    async def hello(self, **kw: Any) -> dict[str, Any] | None:
        await self.send({"type": "hello", "protocol": 1, "client": "raw", **kw})
        return await self.recv()

    async def call(self, rid: int, method: str, **params: Any) -> dict[str, Any]:
        await self.send({"type": "request", "id": rid, "method": method, "params": params})
        while True:
            msg = await self.recv()
            assert msg is not None, "connection closed while waiting for a response"
            if msg.get("type") == "response" and msg.get("id") == rid:
                return msg

    async def closed(self, within: float = 5.0) -> bool:
        """True once the server has closed the connection (reads drained)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        while loop.time() < end:
            try:
                line = await asyncio.wait_for(self.reader.readline(), end - loop.time())
            except ConnectionError:
                return True
            except TimeoutError:
                return False
            if not line:
                return True
            self.received.append(json.loads(line))
        return False

    def close(self) -> None:
        self.writer.close()
