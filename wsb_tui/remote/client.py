"""`RemoteEngineClient`: the `EngineClient` over a socket to a headless `wsb engine`.

One connection carries requests and the event stream. When it breaks, the client says so: an
error `LogLine`, then every `events()` stream ends (the desk shows DISCONNECTED and calls
`events()` again), `snapshot()` raises and commands return a failed result. It reconnects with
exponential back-off and jitter, subscribes again and receives a full snapshot; the resumed
streams open with `EventsDropped`, so readers re-sync. Closing the client never stops the
engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from engine.domain import Bar, EngineEvent, LogLine, OptionChain, TradeProposal
from engine.runtime.bus import EventBus, EventsDropped
from engine.runtime.client_api import CommandResult
from engine.runtime.control.protocol import Role
from engine.runtime.views import EngineSnapshot, RiskReportView
from engine.store.codec import CodecError, JSONObject, event_from_json, from_jsonable, to_jsonable
from wsb_tui.remote.connection import Connection, ConnectionLost, RemoteError, Reply
from wsb_tui.remote.endpoint import Endpoint

log = logging.getLogger("wsb_tui.remote")

NOT_CONNECTED = "not connected to the engine (reconnecting); nothing was sent"


class RemoteEngineClient:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        client_name: str = "attach",
        role: Role | None = None,
        reconnect: bool = True,
        backoff_initial: float = 0.25,
        backoff_max: float = 10.0,
        request_timeout: float = 30.0,
        heartbeat_s: float = 10.0,
        event_buffer: int = 5_000,
    ) -> None:
        self.endpoint = endpoint
        self.client_name = client_name
        self.requested_role = role
        self.reconnect = reconnect
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.heartbeat_s = heartbeat_s
        self.last_snapshot: EngineSnapshot | None = None
        self.reconnects = 0
        self.fatal_error: RemoteError | None = None
        self._bus = EventBus(default_maxsize=event_buffer)
        self._conn: Connection | None = None
        self._expected_seq = 1
        self._supervisor: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._closing = False
        self._connected = asyncio.Event()

    # ------------------------------------------------------------------ connection

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed.is_set()

    @property
    def client_id(self) -> str:
        return self._conn.client_id if self._conn is not None else ""

    @property
    def role(self) -> Role | None:
        return self._conn.role if self._conn is not None else None

    async def connect(self) -> RemoteEngineClient:
        """The first connection; raises if the engine cannot be reached or refuses us."""
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="remote supervisor")
        if self.heartbeat_s > 0:
            self._heartbeat = asyncio.create_task(self._beat(), name="remote heartbeat")
        return self

    async def wait_connected(self, timeout_s: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def _open(self) -> None:
        conn = await Connection.open(
            self.endpoint,
            client_name=self.client_name,
            role=self.requested_role,
            on_event=self._on_event,
            timeout_s=min(self.request_timeout, 10.0),
        )
        try:
            reply = await conn.request("subscribe", timeout_s=self.request_timeout)
            if not reply.ok or not isinstance(reply.data, dict):
                raise ConnectionLost(f"subscribe refused: {reply.message}")
            self.last_snapshot = from_jsonable(EngineSnapshot, reply.data.get("snapshot"))
        except BaseException:
            await conn.close()
            raise
        self._expected_seq = 1
        self._conn = conn
        self._connected.set()
        log.info("attached to %s as %s (%s)", self.endpoint.label, conn.client_id, conn.role)

    async def _supervise(self) -> None:
        """Wait for the connection to break; reconnect with back-off until closed."""
        while not self._closing:
            conn = self._conn
            if conn is not None:
                await conn.closed.wait()
                if self._closing:
                    return
                self._connected.clear()
                why = conn.close_reason or "connection lost"
                if conn.server_error is not None and conn.server_error.fatal:
                    self.fatal_error = conn.server_error
                    self._publish_log("error", f"engine refused this client: {why}")
                    self._bus.close()
                    return
                self._publish_log("error", f"lost the engine at {self.endpoint.label}: {why}")
                # End every reader's stream: that is how a desk learns it is disconnected.
                # Their next `events()` waits for the reconnect and starts with a re-sync.
                self._bus.close()
            if not self.reconnect:
                return
            await self._reconnect_loop()

    async def _reconnect_loop(self) -> None:
        delay = self.backoff_initial
        while not self._closing:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                await self._open()
            except RemoteError as exc:
                if exc.fatal:
                    self.fatal_error = exc
                    self._publish_log("error", f"engine refused this client: {exc.message}")
                    self._closing = True
                    return
            except (OSError, TimeoutError, ConnectionError, ValueError, CodecError) as exc:
                log.debug("reconnect to %s failed: %s", self.endpoint.label, exc)
            else:
                self.reconnects += 1
                self._publish_log("info", "reconnected to the engine; re-synced from a snapshot")
                assert self.last_snapshot is not None
                # Readers treat this as "events were missed": they re-sync from a snapshot.
                self._bus.publish(EventsDropped(ts=self.last_snapshot.ts, count=0))
                return
            delay = min(delay * 2, self.backoff_max)

    async def _beat(self) -> None:
        """A connection that stops answering pings is dropped, so the supervisor reconnects."""
        while not self._closing:
            await asyncio.sleep(self.heartbeat_s)
            conn = self._conn
            if conn is None or conn.closed.is_set():
                continue
            try:
                await conn.request("ping", timeout_s=self.heartbeat_s)
            except (ConnectionError, TimeoutError):
                if not conn.closed.is_set():
                    log.warning("engine did not answer a ping; reconnecting")
                    conn.abort()

    def _on_event(self, seq: int, body: JSONObject) -> None:
        if seq != self._expected_seq:
            # Cannot happen on one ordered stream; if it does, re-sync rather than trust it.
            log.warning("event seq %d, expected %d; re-syncing", seq, self._expected_seq)
            self._bus.publish(EventsDropped(ts=datetime.now(UTC), count=0))
        self._expected_seq = seq + 1
        try:
            event = event_from_json(body)
        except CodecError as exc:
            log.warning("skipped an event this client cannot decode: %s", exc)
            return
        self._bus.publish(event)

    def _publish_log(self, level: str, message: str) -> None:
        ts = self.last_snapshot.ts if self.last_snapshot is not None else datetime.now(UTC)
        getattr(log, level)(message)
        self._bus.publish(LogLine(ts=ts, level=level, message=message))

    async def close(self) -> None:
        """Detach. The engine keeps running."""
        self._closing = True
        for task in (self._heartbeat, self._supervisor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._conn is not None:
            await self._conn.close()
        self._bus.close()

    # ------------------------------------------------------------------ EngineClient

    async def _request(self, method: str, params: JSONObject | None = None) -> Reply:
        conn = self._conn
        if conn is None or conn.closed.is_set():
            raise ConnectionLost(NOT_CONNECTED)
        return await conn.request(method, params, timeout_s=self.request_timeout)

    async def _read(self, method: str, params: JSONObject | None = None) -> Reply:
        reply = await self._request(method, params)
        if not reply.ok:
            raise RuntimeError(reply.message or f"{method} failed ({reply.error})")
        return reply

    async def snapshot(self) -> EngineSnapshot:
        reply = await self._read("snapshot")
        snap: EngineSnapshot = from_jsonable(EngineSnapshot, reply.data)
        self.last_snapshot = snap
        return snap

    @property
    def closed(self) -> bool:
        return self._closing

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Events until the connection breaks (or the client closes). Call again to resume:
        a stream that starts after a reconnect opens with `EventsDropped` (re-sync)."""
        if self._closing:
            return
        sub = self._bus.subscribe()
        try:
            if self.reconnects and self.connected and self.last_snapshot is not None:
                yield EventsDropped(ts=self.last_snapshot.ts, count=0)
            async for ev in sub:
                yield ev
        finally:
            sub.close()

    async def status(self) -> JSONObject:
        reply = await self._read("status")
        return reply.data if isinstance(reply.data, dict) else {}

    async def _command(self, method: str, params: JSONObject) -> CommandResult:
        try:
            reply = await self._request(method, params)
        except ConnectionLost as exc:
            if str(exc) == NOT_CONNECTED:
                return CommandResult(False, NOT_CONNECTED)
            return CommandResult(
                False,
                "the connection broke before the engine answered: the command may or may not "
                "have been applied; check the log",
            )
        except TimeoutError:
            return CommandResult(
                False, f"no answer from the engine within {self.request_timeout:.0f}s"
            )
        return CommandResult(reply.ok, reply.message)

    async def confirm(
        self, proposal_id: str, *, quantity: int | None = None, limit_price: Decimal | None = None
    ) -> CommandResult:
        params: JSONObject = {"proposal_id": proposal_id}
        if quantity is not None:
            params["quantity"] = quantity
        if limit_price is not None:
            params["limit_price"] = str(limit_price)
        return await self._command("confirm", params)

    async def reject(self, proposal_id: str, note: str = "") -> CommandResult:
        return await self._command("reject", {"proposal_id": proposal_id, "note": note})

    async def pause_strategy(self, name: str) -> CommandResult:
        return await self._command("pause_strategy", {"name": name})

    async def resume_strategy(self, name: str) -> CommandResult:
        return await self._command("resume_strategy", {"name": name})

    async def stop_strategy(self, name: str) -> CommandResult:
        return await self._command("stop_strategy", {"name": name})

    async def set_profile(self, name: str, profile: str) -> CommandResult:
        return await self._command("set_profile", {"name": name, "profile": profile})

    async def set_trading_state(self, state: str, reason: str = "") -> CommandResult:
        return await self._command("set_trading_state", {"state": state, "reason": reason})

    async def reset_breaker(self, name: str) -> CommandResult:
        return await self._command("reset_breaker", {"name": name})

    async def kill_switch(self, *, flatten: bool = False) -> CommandResult:
        return await self._command("kill_switch", {"flatten": flatten})

    async def cancel_order(self, client_order_id: str) -> CommandResult:
        return await self._command("cancel_order", {"client_order_id": client_order_id})

    async def replace_order(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
    ) -> CommandResult:
        params: JSONObject = {"client_order_id": client_order_id}
        if quantity is not None:
            params["quantity"] = quantity
        if limit_price is not None:
            params["limit_price"] = str(limit_price)
        return await self._command("replace_order", params)

    async def submit_proposal(self, proposal: TradeProposal) -> CommandResult:
        return await self._command("submit_proposal", {"proposal": to_jsonable(proposal)})

    async def option_chain(self, symbol: str, min_expiry: date, max_expiry: date) -> OptionChain:
        reply = await self._read(
            "option_chain",
            {
                "symbol": symbol,
                "min_expiry": min_expiry.isoformat(),
                "max_expiry": max_expiry.isoformat(),
            },
        )
        chain: OptionChain = from_jsonable(OptionChain, reply.data)
        return chain

    async def daily_bars(self, symbol: str, count: int) -> Sequence[Bar]:
        reply = await self._read("daily_bars", {"symbol": symbol, "count": count})
        bars: tuple[Bar, ...] = from_jsonable(tuple[Bar, ...], reply.data)
        return bars

    async def risk_report(self) -> RiskReportView:
        reply = await self._read("risk_report")
        report: RiskReportView = from_jsonable(RiskReportView, reply.data)
        return report
