"""One protocol connection to a running engine: hello, requests by id, pushed events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.runtime.control.protocol import (
    MAX_SERVER_LINE,
    ErrorCode,
    ProtocolError,
    Role,
    decode_line,
    encode,
    hello_message,
    request_message,
)
from engine.store.codec import JSONObject, JSONValue
from wsb_tui.remote.endpoint import Endpoint

log = logging.getLogger("wsb_tui.remote")

CONNECT_TIMEOUT_S = 10.0


class RemoteError(ConnectionError):
    """The engine closed the connection with an error (code and message from the server)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def fatal(self) -> bool:
        """Retrying cannot help: the versions differ or the credentials are refused."""
        return self.code in {ErrorCode.VERSION_MISMATCH.value, ErrorCode.AUTH_FAILED.value}


class ConnectionLost(ConnectionError):
    pass


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    message: str
    data: JSONValue
    error: str | None


EventHandler = Callable[[int, JSONObject], None]


class Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: EventHandler,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._write_lock = asyncio.Lock()
        self._reader_task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.server_error: RemoteError | None = None
        self.welcome: JSONObject = {}

    # ------------------------------------------------------------------ open / close

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        *,
        client_name: str,
        role: Role | None,
        on_event: EventHandler,
        timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> Connection:
        limit = MAX_SERVER_LINE + 2
        if endpoint.socket_path is not None:
            opening: Any = asyncio.open_unix_connection(str(endpoint.socket_path), limit=limit)
        else:
            opening = asyncio.open_connection(endpoint.host, endpoint.port, limit=limit)
        reader, writer = await asyncio.wait_for(opening, timeout_s)
        conn = cls(reader, writer, on_event)
        try:
            await conn._hello(client_name, role, endpoint.token, timeout_s)
        except BaseException:
            conn.abort()
            raise
        conn._reader_task = asyncio.create_task(conn._read_loop(), name="remote reader")
        return conn

    async def _hello(
        self, client_name: str, role: Role | None, token: str | None, timeout_s: float
    ) -> None:
        await self._write(hello_message(client_name, role=role, token=token))
        line = await asyncio.wait_for(self._reader.readline(), timeout_s)
        if not line:
            raise ConnectionLost("the engine closed the connection during the hello")
        msg = decode_line(line, limit=MAX_SERVER_LINE)
        if msg.get("type") == "error":
            raise RemoteError(str(msg.get("error", "")), str(msg.get("message", "")))
        if msg.get("type") != "welcome":
            raise ProtocolError(ErrorCode.MALFORMED, "the engine did not answer with a welcome")
        self.welcome = msg

    @property
    def client_id(self) -> str:
        return str(self.welcome.get("client_id", ""))

    @property
    def role(self) -> Role:
        return Role(str(self.welcome.get("role", Role.MONITOR.value)))

    def abort(self) -> None:
        """Drop the connection at once (no goodbye), as a dead network would."""
        transport = self._writer.transport
        if transport is not None:
            transport.abort()
        self._finish("aborted")

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
        self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)
        self._finish("closed by client")

    def _finish(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        err: Exception = self.server_error or ConnectionLost(reason)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(err)
        self._pending.clear()
        self.closed.set()

    # ------------------------------------------------------------------ traffic

    async def _write(self, message: JSONObject) -> None:
        data = encode(message)
        async with self._write_lock:
            self._writer.write(data)
            await self._writer.drain()

    async def request(
        self, method: str, params: JSONObject | None = None, *, timeout_s: float = 30.0
    ) -> Reply:
        if self.closed.is_set():
            raise self.server_error or ConnectionLost(self.close_reason or "not connected")
        rid = next(self._ids)
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self._write(request_message(rid, method, params))
            return await asyncio.wait_for(fut, timeout_s)
        except (OSError, RuntimeError) as exc:
            raise ConnectionLost(f"sending {method} failed: {exc}") from None
        finally:
            self._pending.pop(rid, None)

    async def _read_loop(self) -> None:
        reason = "the engine closed the connection"
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                msg = decode_line(line, limit=MAX_SERVER_LINE)
                kind = msg.get("type")
                if kind == "event":
                    seq, body = msg.get("seq"), msg.get("event")
                    if isinstance(seq, int) and isinstance(body, dict):
                        self._on_event(seq, body)
                elif kind == "response":
                    self._resolve(msg)
                elif kind == "error":
                    self.server_error = RemoteError(
                        str(msg.get("error", "")), str(msg.get("message", ""))
                    )
                    reason = f"engine error {self.server_error.code}: {self.server_error.message}"
                    break
        except (ConnectionError, ValueError, ProtocolError) as exc:
            reason = f"connection failed: {exc}"
        except asyncio.CancelledError:
            reason = "closed by client"
            raise
        finally:
            self._writer.close()
            self._finish(reason)

    def _resolve(self, msg: JSONObject) -> None:
        rid = msg.get("id")
        fut = self._pending.get(rid) if isinstance(rid, int) else None
        if fut is None or fut.done():
            return
        err = msg.get("error")
        fut.set_result(
            Reply(
                bool(msg.get("ok")),
                str(msg.get("message", "")),
                msg.get("data"),
                str(err) if err is not None else None,
            )
        )
