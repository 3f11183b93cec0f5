"""`ControlServer`: the engine's remote-control endpoint (Unix socket, optional loopback TCP).

It runs in the engine's event loop and never blocks it: each connection has its own reader
task and event pump; a slow client only backs up its own bus subscription, which coalesces
and, past its bound, drops (the client is told and re-syncs from a full snapshot). A client
that breaks the protocol gets one error message and is disconnected; the engine carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.runtime.bus import Subscription
from engine.runtime.control.auth import (
    TokenFile,
    TokenSet,
    check_bind_host,
    grant_role,
    is_loopback,
    peer_uid,
)
from engine.runtime.control.dispatch import Dispatcher, Outcome
from engine.runtime.control.paths import (
    check_socket_path,
    default_socket_path,
    default_token_path,
    ensure_private_dir,
)
from engine.runtime.control.protocol import (
    CLOSING_ERRORS,
    HELLO_TIMEOUT_S,
    MAX_CLIENT_LINE,
    METHODS,
    PROTOCOL_VERSION,
    ErrorCode,
    ProtocolError,
    Role,
    decode_line,
    encode,
    error_message,
    event_message,
    method_spec,
    parse_hello,
    parse_params,
    parse_request,
    response,
    welcome_message,
)
from engine.runtime.engine import Engine
from engine.store.codec import CodecError, JSONObject, event_to_json, to_jsonable

log = logging.getLogger("engine.runtime.control")

SERVER_NAME = "wsb-tui-engine"
WRITE_TIMEOUT_S = 30.0  # a client that reads nothing for this long is cut off
MAX_IN_FLIGHT = 4  # concurrent requests per connection; further reads wait
SUBSCRIPTION_BOUND = 5_000  # non-coalescable events buffered per slow client


@dataclass(frozen=True, slots=True)
class ClientInfo:
    client_id: str
    role: Role
    transport: str
    subscribed: bool
    connected_at: float


class ControlServer:
    """Serve `engine` on a Unix socket (always) and optionally on TCP with a token."""

    def __init__(
        self,
        engine: Engine,
        *,
        socket_path: Path | None = None,
        tcp_port: int | None = None,
        tcp_host: str = "127.0.0.1",
        allow_exposed: bool = False,
        token_path: Path | None = None,
        unix_role: Role = Role.TRADER,
    ) -> None:
        check_bind_host(tcp_host, allow_exposed=allow_exposed)
        if tcp_port is not None and not 0 <= tcp_port <= 65535:
            raise ValueError(f"tcp port {tcp_port} must be between 0 (any free port) and 65535")
        self.engine = engine
        self.socket_path = check_socket_path(socket_path or default_socket_path())
        self.tcp_host = tcp_host
        self.tcp_port = tcp_port
        self.allow_exposed = allow_exposed
        self.token_path = token_path or (
            default_token_path() if socket_path is None else self.socket_path.with_suffix(".token")
        )
        self.unix_role = unix_role
        self.tokens: TokenSet | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.started_at = time.monotonic()
        self.connections_total = 0
        self.protocol_errors = 0
        self._ids = itertools.count(1)
        self._unix: asyncio.AbstractServer | None = None
        self._tcp: asyncio.AbstractServer | None = None
        self._socket_inode: int | None = None
        self._conns: dict[int, _Connection] = {}
        self._closing = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        ensure_private_dir(self.socket_path.parent)
        sock = await self._bind_unix()
        self._unix = await asyncio.start_unix_server(
            self._on_unix, sock=sock, limit=MAX_CLIENT_LINE + 2
        )
        log.info("control socket %s (mode 0600)", self.socket_path)
        if self.tcp_port is not None:
            await self._start_tcp(self.tcp_port)

    async def _bind_unix(self) -> socket.socket:
        path = self.socket_path
        if path.exists() or path.is_symlink():
            await self._clear_stale(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # The directory is already 0700; the umask closes the instant between bind and chmod
        # as well, for a runtime dir the user chose themselves.
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        except OSError:
            sock.close()
            raise
        finally:
            os.umask(old)
        path.chmod(0o600)
        self._socket_inode = path.stat().st_ino
        sock.listen(64)
        sock.setblocking(False)
        return sock

    async def _clear_stale(self, path: Path) -> None:
        _refuse_non_socket(path)
        try:
            _r, w = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 2.0)
        except (OSError, TimeoutError):
            _unlink(path)  # a socket left by an engine that died
            return
        w.close()
        with contextlib.suppress(OSError):
            await w.wait_closed()
        raise RuntimeError(
            f"another engine is already serving on {path}; stop it first (or pass --socket)"
        )

    async def _start_tcp(self, port: int) -> None:
        if not is_loopback(self.tcp_host):
            log.warning(
                "control TCP is bound to %s, which is NOT loopback: anyone who can reach "
                "this port and holds the token can steer the engine",
                self.tcp_host,
            )
        self.tokens = TokenSet.generate()
        self._tcp = await asyncio.start_server(
            self._on_tcp, self.tcp_host, port, limit=MAX_CLIENT_LINE + 2
        )
        sockname = self._tcp.sockets[0].getsockname()
        self.tcp_address = (str(sockname[0]), int(sockname[1]))
        ensure_private_dir(self.token_path.parent)
        TokenFile(self.tcp_address[0], self.tcp_address[1], self.tokens).write(self.token_path)
        log.info(
            "control TCP %s:%d (token in %s, mode 0600)",
            self.tcp_address[0],
            self.tcp_address[1],
            self.token_path,
        )

    async def close(self) -> None:
        """Stop listening, disconnect every client, remove the socket and token files."""
        if self._closing:
            return
        self._closing = True
        for srv in (self._unix, self._tcp):
            if srv is not None:
                srv.close()
        conns = list(self._conns.values())
        if self.engine.bus.subscriber_count == 0:
            # The engine has stopped and closed its bus: let each pump deliver what is left
            # (engine_stopped) before the goodbye.
            pumps = [c.pump for c in conns if c.pump is not None and not c.pump.done()]
            if pumps:
                await asyncio.wait(pumps, timeout=1.0)
        for conn in conns:
            await conn.shut(ErrorCode.SERVER_STOPPING, "the engine is shutting down")
        for conn in conns:
            await conn.finished()
        for srv in (self._unix, self._tcp):
            if srv is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(srv.wait_closed(), 5.0)
        self._remove_files()
        log.info("control server closed")

    def _remove_files(self) -> None:
        with contextlib.suppress(OSError):
            # Only our own socket: a newer engine may have replaced a stale one.
            if self._socket_inode is not None and self.socket_path.stat().st_ino == (
                self._socket_inode
            ):
                self.socket_path.unlink()
        if self.tokens is not None:
            with contextlib.suppress(OSError):
                tf = TokenFile.read(self.token_path)
                if tf.tokens == self.tokens:
                    self.token_path.unlink()

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ queries

    @property
    def client_count(self) -> int:
        return sum(1 for c in self._conns.values() if c.client_id)

    def clients(self) -> list[ClientInfo]:
        return [c.info() for c in self._conns.values() if c.client_id]

    def status(self) -> JSONObject:
        eng = self.engine
        return {
            "server": SERVER_NAME,
            "protocol": PROTOCOL_VERSION,
            "uptime_s": round(time.monotonic() - self.started_at, 3),
            "clients": [
                {"client_id": c.client_id, "role": c.role.value, "transport": c.transport}
                for c in self.clients()
            ],
            "connections_total": self.connections_total,
            "engine": {
                "ts": to_jsonable(eng.clock.now()),
                "ticks": eng.ticks,
                "fills": eng.fills_recorded,
                "proposals": eng.proposals_seen,
                "events_published": eng.bus.published,
                "subscribers": eng.bus.subscriber_count,
            },
        }

    # ------------------------------------------------------------------ connections

    async def _on_unix(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock: Any = writer.get_extra_info("socket")
        uid = peer_uid(sock)
        # A peer of another uid cannot normally open a 0600 socket; root can, and is refused.
        ceiling = self.unix_role if uid is None or uid == os.getuid() else None
        await self._serve(reader, writer, "unix", lambda _h: ceiling)

    async def _on_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tokens = self.tokens
        await self._serve(
            reader, writer, "tcp", lambda h: tokens.role_for(h.token) if tokens else None
        )

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str, auth: Any
    ) -> None:
        n = next(self._ids)
        self.connections_total += 1
        conn = _Connection(self, n, transport, reader, writer, auth)
        self._conns[n] = conn
        try:
            await conn.run()
        finally:
            self._conns.pop(n, None)


class _Connection:
    def __init__(
        self,
        server: ControlServer,
        n: int,
        transport: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        auth: Any,
    ) -> None:
        self.server = server
        self.n = n
        self.transport = transport
        self.reader = reader
        self.writer = writer
        self.auth = auth
        self.client_id = ""
        self.role = Role.MONITOR
        self.connected_at = time.monotonic()
        self._write_lock = asyncio.Lock()
        self._sub: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._done = asyncio.Event()
        self._closed = False
        self._seq = 0
        self._dispatcher: Dispatcher | None = None

    @property
    def pump(self) -> asyncio.Task[None] | None:
        return self._pump

    def info(self) -> ClientInfo:
        return ClientInfo(
            self.client_id, self.role, self.transport, self._sub is not None, self.connected_at
        )

    @property
    def label(self) -> str:
        return self.client_id or f"{self.transport}-{self.n} (before hello)"

    async def finished(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), 10.0)

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        try:
            await self._handshake()
            while not self._closed:
                line = await self._read_line()
                if line is None:
                    break
                req = parse_request(decode_line(line))
                spec = method_spec(req.method)
                params = parse_params(spec, req.params)
                await self._slots.acquire()
                task = asyncio.create_task(self._handle(req.id, spec, params))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
        except ProtocolError as exc:
            self.server.protocol_errors += 1
            log.warning("closing %s: %s (%s)", self.label, exc.code.value, exc.message)
            await self.shut(exc.code, exc.message)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to tell it
        except Exception:
            log.exception("control connection %s failed", self.label)
        finally:
            await self._teardown()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handshake(self) -> None:
        try:
            line = await asyncio.wait_for(self._read_line(), HELLO_TIMEOUT_S)
        except TimeoutError:
            raise ProtocolError(
                ErrorCode.HELLO_TIMEOUT, f"no hello within {HELLO_TIMEOUT_S:.0f}s"
            ) from None
        if line is None:
            raise ConnectionResetError
        hello = parse_hello(decode_line(line))
        role = grant_role(ceiling=self.auth(hello), hello=hello)
        self.role = role
        self.client_id = f"{self.transport}-{self.n}:{hello.client}"
        self._dispatcher = Dispatcher(self.server.engine, client_id=self.client_id, role=role)
        await self._send(
            welcome_message(
                client_id=self.client_id,
                role=role,
                server=SERVER_NAME,
                methods=sorted(METHODS),
            )
        )
        log.info("client %s attached as %s", self.client_id, role.value)

    async def _read_line(self) -> bytes | None:
        try:
            line = await self.reader.readline()
        except ValueError:  # the stream's limit: a line longer than MAX_CLIENT_LINE
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"message longer than {MAX_CLIENT_LINE} bytes"
            ) from None
        if not line:
            return None
        return line

    # ------------------------------------------------------------------ requests

    async def _handle(self, rid: int, spec: Any, params: Any) -> None:
        try:
            if spec.audited:
                # A command runs to the end even if its client vanishes or the server stops:
                # cancelling the engine half-way through a confirm would lose track of it.
                outcome = await asyncio.shield(self._outcome(spec, params))
            else:
                outcome = await self._outcome(spec, params)
            await self._send(
                response(
                    rid,
                    ok=outcome.ok,
                    message=outcome.message,
                    data=outcome.data,
                    error=outcome.error,
                )
            )
        except TimeoutError:
            await self.shut(None, "", abort=True)
        except ConnectionError:
            await self.shut(None, "")
        except Exception:
            log.exception("request %s from %s failed", spec.name, self.label)
            with contextlib.suppress(Exception):
                await self._send(
                    response(rid, ok=False, message="internal error", error=ErrorCode.INTERNAL)
                )

    async def _outcome(self, spec: Any, params: Any) -> Outcome:
        assert self._dispatcher is not None
        if spec.audited:
            return await self._dispatcher.command(spec, params)
        if spec.name == "subscribe":
            return self._subscribe()
        if spec.name == "unsubscribe":
            await self._unsubscribe()
            return Outcome(True, "unsubscribed")
        if spec.name == "status":
            return Outcome(True, "", self.server.status())
        return await self._dispatcher.read(spec.name, params)

    def _subscribe(self) -> Outcome:
        """Subscribe, then snapshot, with no await between: every event after the snapshot
        reaches this subscription, none before it does. A second subscribe re-syncs."""
        old, self._sub = self._sub, None
        if old is not None:
            old.close()
        if self._pump is not None:
            self._pump.cancel()
        sub = self.server.engine.bus.subscribe(maxsize=SUBSCRIPTION_BOUND)
        snap = to_jsonable(self.server.engine.snapshot())
        self._sub = sub
        self._seq = 0
        # The pump starts on the next loop turn, after this response has been queued for write
        # under the same lock it uses, so the snapshot always precedes the first event.
        self._pump = asyncio.create_task(self._pump_events(sub))
        return Outcome(True, "subscribed", {"snapshot": snap})

    async def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.close()
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None

    async def _pump_events(self, sub: Subscription) -> None:
        await asyncio.sleep(0)  # let the subscribe response take the write lock first
        async with self._write_lock:
            pass
        try:
            async for ev in sub:
                try:
                    body = event_to_json(ev)
                except CodecError:
                    log.exception("event %s cannot be encoded; skipped", ev.kind)
                    continue
                self._seq += 1
                await self._send(event_message(self._seq, body))
        except TimeoutError:
            await self.shut(None, "", abort=True)
            return
        except ConnectionError:
            await self.shut(None, "")
            return
        if self._sub is sub:
            # The bus closed: the engine stopped. Tell the client by closing; it reconnects.
            await self.shut(None, "")

    # ------------------------------------------------------------------ output / teardown

    async def _send(self, message: JSONObject) -> None:
        if self._closed:
            raise ConnectionResetError("connection closed")
        data = encode(message)
        async with self._write_lock:
            self.writer.write(data)
            await asyncio.wait_for(self.writer.drain(), WRITE_TIMEOUT_S)

    async def shut(self, code: ErrorCode | None, message: str, *, abort: bool = False) -> None:
        """Send a closing error (if any), then close the connection. Idempotent. `abort`
        drops it at once: a client that stopped reading would keep a flushing close open."""
        if self._closed:
            return
        if code is not None and code in CLOSING_ERRORS and not abort:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._send(error_message(code, message)), 2.0)
        self._closed = True
        await self._unsubscribe()
        if abort and self.writer.transport is not None:
            log.warning("cut off %s: it stopped reading", self.label)
            self.writer.transport.abort()
        else:
            self.writer.close()

    async def _teardown(self) -> None:
        if not self._closed:
            self._closed = True
            await self._unsubscribe()
            self.writer.close()
        if self._tasks:
            # Requests in flight finish (their reply fails fast on the closed connection).
            await asyncio.wait(list(self._tasks), timeout=WRITE_TIMEOUT_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        if self.client_id:
            log.info("client %s detached", self.client_id)
        self._done.set()


def _refuse_non_socket(path: Path) -> None:
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise FileExistsError(
            f"{path} exists and is not a socket; refusing to replace it (choose another --socket)"
        )


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


async def start_control_server(
    engine: Engine,
    *,
    socket_path: Path | None = None,
    tcp_port: int | None = None,
    tcp_host: str = "127.0.0.1",
    allow_exposed: bool = False,
    token_path: Path | None = None,
) -> ControlServer:
    """Start serving `engine`; call ``await server.close()`` when the engine stops.

    `socket_path` None = ``$WSB_RUNTIME_DIR/engine.sock`` (or the platform runtime dir).
    `tcp_port` None = no TCP; 0 = any free port (see ``server.tcp_address``). A non-loopback
    `tcp_host` raises ValueError unless `allow_exposed`.
    """
    server = ControlServer(
        engine,
        socket_path=socket_path,
        tcp_port=tcp_port,
        tcp_host=tcp_host,
        allow_exposed=allow_exposed,
        token_path=token_path,
    )
    try:
        await server.start()
    except OSError as exc:
        await server.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                exc.errno, f"control TCP port {tcp_host}:{tcp_port} is already in use"
            ) from None
        raise
    except BaseException:
        await server.close()
        raise
    return server
