"""Security of the control endpoint: file modes, tokens, loopback, hostile input, secrets."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import subprocess
import sys

import pytest
from control_helpers import Raw, until

from engine.runtime.control import server as server_mod
from engine.runtime.control.auth import TokenFile
from engine.runtime.control.protocol import MAX_CLIENT_LINE
from engine.runtime.control.server import ControlServer, start_control_server
from engine.runtime.engine import RunBudget
from wsb_tui.remote import Endpoint, RemoteEngineClient, RemoteError, resolve_endpoint


async def test_start_when_serving_then_socket_0600_dir_0700_token_file_0600(serve, short_dir):
    served = await serve(tcp_port=0)
    assert stat.S_IMODE(served.socket_path.stat().st_mode) == 0o600
    assert stat.S_ISSOCK(served.socket_path.stat().st_mode)
    assert stat.S_IMODE(short_dir.stat().st_mode) == 0o700
    token_path = served.server.token_path
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    tf = TokenFile.read(token_path)
    assert (tf.host, tf.port) == served.server.tcp_address
    assert tf.tokens.trader != tf.tokens.monitor
    assert len(tf.tokens.trader) >= 40


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a probe as another user")
async def test_connect_when_other_user_then_denied_by_file_modes(serve):
    served = await serve()
    probe = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('denied')\n"
        "else:\n    print('connected')\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, str(served.socket_path), stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    assert out.decode().strip() == "denied"


async def test_tcp_when_token_missing_or_wrong_then_refused_closed_and_engine_unharmed(serve):
    served = await serve(tcp_port=0)
    host, port = served.server.tcp_address
    for hello in ({}, {"token": "not-the-token"}, {"token": ""}, {"token": 12345}):
        raw = await Raw.tcp(host, port)
        reply = await raw.hello(**hello)
        assert reply is not None, hello
        assert reply["type"] == "error", hello
        assert reply["error"] in {"auth_failed", "malformed"}
        assert await raw.closed(), "the connection is closed after a bad token"
        raw.close()
    # The engine runs on, and the right token works (with its role).
    await served.engine.advance(RunBudget(market_minutes=2))
    tf = TokenFile.read(served.server.token_path)
    for token, role in ((tf.tokens.trader, "trader"), (tf.tokens.monitor, "monitor")):
        raw = await Raw.tcp(host, port)
        welcome = await raw.hello(token=token)
        assert welcome is not None
        assert welcome["type"] == "welcome"
        assert welcome["role"] == role
        pong = await raw.call(1, "ping")
        assert pong["ok"]
        raw.close()
    # A monitor token cannot be talked up to trader.
    raw = await Raw.tcp(host, port)
    reply = await raw.hello(token=tf.tokens.monitor, role="trader")
    assert reply is not None
    assert reply["error"] == "auth_failed"
    raw.close()


async def test_remote_client_when_tcp_with_token_file_then_attaches_with_that_role(serve):
    served = await serve(tcp_port=0)
    host, port = served.server.tcp_address
    for role in (None, "monitor"):
        from engine.runtime.control.protocol import Role

        ep = resolve_endpoint(
            host=host,
            port=port,
            token_file=served.server.token_path,
            role=Role(role) if role else None,
        )
        c = RemoteEngineClient(
            ep, client_name="tcp-desk", heartbeat_s=0, role=Role(role) if role else None
        )
        await c.connect()
        assert c.client_id.startswith("tcp-")
        assert c.role == (Role(role) if role else Role.TRADER)
        await c.close()
    bad = RemoteEngineClient(Endpoint(host=host, port=port, token="wrong"), heartbeat_s=0)
    with pytest.raises(RemoteError) as info:
        await bad.connect()
    assert info.value.fatal
    assert info.value.code == "auth_failed"


async def test_tcp_when_host_not_loopback_then_refused_unless_exposed_flag(serve, short_dir):
    served = await serve()
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError, match="i-know-this-is-exposed"):
            await start_control_server(
                served.engine, socket_path=short_dir / "b.sock", tcp_port=0, tcp_host=host
            )
    assert not (short_dir / "b.sock").exists()
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        ControlServer(served.engine, socket_path=short_dir / "c.sock", tcp_port=0, tcp_host=host)
    # With the explicit flag it binds, and the token is still required.
    exposed = await start_control_server(
        served.engine,
        socket_path=short_dir / "x.sock",
        tcp_port=0,
        tcp_host="0.0.0.0",
        allow_exposed=True,
    )
    try:
        port = exposed.tcp_address[1]
        raw = await Raw.tcp("127.0.0.1", port)
        reply = await raw.hello()
        assert reply is not None
        assert reply["error"] == "auth_failed"
        raw.close()
    finally:
        await exposed.close()


async def test_oversized_message_when_sent_then_rejected_closed_and_others_unharmed(serve):
    served = await serve()
    eng = served.engine
    bystander = RemoteEngineClient(Endpoint(socket_path=served.socket_path), heartbeat_s=0)
    await bystander.connect()
    seen: list[object] = []

    async def read() -> None:
        async for ev in bystander.events():
            seen.append(ev)

    reader = asyncio.create_task(read())
    raw = await Raw.unix(served.socket_path)
    assert (await raw.hello())["type"] == "welcome"
    big = (
        b'{"type":"request","id":1,"method":"ping","params":{"pad":"'
        + b"x" * (MAX_CLIENT_LINE + 10)
        + b'"}}\n'
    )
    await raw.send(big)
    reply = await raw.recv()
    assert reply is not None
    assert reply == {
        "type": "error",
        "error": "too_large",
        "message": f"message longer than {MAX_CLIENT_LINE} bytes",
    }
    assert await raw.closed()
    raw.close()
    # An oversized hello is refused the same way.
    raw2 = await Raw.unix(served.socket_path)
    await raw2.send(b"{" + b" " * (MAX_CLIENT_LINE + 100))
    reply2 = await raw2.recv()
    assert reply2 is not None
    assert reply2["error"] == "too_large"
    raw2.close()
    n = len(seen)
    await eng.advance(RunBudget(market_minutes=3))
    await until(lambda: len(seen) > n)
    assert (await bystander.snapshot()).ts == eng.clock.now()
    await bystander.close()
    await asyncio.wait_for(reader, 5)


MALFORMED = [
    b"not json at all\n",
    b"[1, 2, 3]\n",
    b'{"no_type": 1}\n',
    b'{"type": "request", "id": 1, "method": "ping"}\n',  # before hello
    b"\xff\xfe\n",
    b'{"type": "hello", "protocol": "one"}\n',
    b'{"type": "hello", "protocol": 1, "role": "admin"}\n',
    b'{"type": "hello", "protocol": 1, "surprise": true}\n',
    b'{"type": "hello", "protocol": 1, "x": NaN}\n',
]

AFTER_HELLO = [
    {"type": "request", "id": "seven", "method": "ping"},
    {"type": "request", "id": 1, "method": "drop_tables"},
    {"type": "request", "id": 1, "method": "confirm", "params": {"proposal_id": 5}},
    {"type": "request", "id": 1, "method": "confirm", "params": {"proposal_id": "p", "evil": 1}},
    {
        "type": "request",
        "id": 1,
        "method": "confirm",
        "params": {"proposal_id": "p", "limit_price": 1.5},
    },
    {
        "type": "request",
        "id": 1,
        "method": "daily_bars",
        "params": {"symbol": "SPY", "count": 10**9},
    },
    {"type": "request", "id": 1, "method": "ping", "params": []},
    {"type": "hello", "protocol": 1},
    {"type": "event", "seq": 1},
]


@pytest.mark.parametrize("payload", MALFORMED)
async def test_malformed_hello_when_sent_then_error_reply_and_closed(serve, payload):
    served = await serve()
    raw = await Raw.unix(served.socket_path)
    await raw.send(payload)
    reply = await raw.recv()
    assert reply is not None
    assert reply["type"] == "error"
    assert reply["error"] in {"malformed", "version_mismatch", "auth_failed"}
    assert await raw.closed()
    raw.close()
    assert served.server.client_count == 0
    await served.engine.advance(RunBudget(market_minutes=1))


@pytest.mark.parametrize("message", AFTER_HELLO)
async def test_malformed_request_when_sent_then_error_reply_closed_nothing_run(serve, message):
    served = await serve()
    raw = await Raw.unix(served.socket_path)
    assert (await raw.hello())["type"] == "welcome"
    await raw.send(message)
    reply = await raw.recv()
    assert reply is not None
    assert reply["type"] == "error"
    assert reply["error"] in {"malformed", "unknown_method"}
    assert await raw.closed()
    raw.close()
    assert await served.emb.store.recent_commands() == []  # nothing malformed reaches the engine
    await served.engine.advance(RunBudget(market_minutes=1))


async def test_hello_when_never_sent_then_timed_out_and_closed(serve, monkeypatch):
    monkeypatch.setattr(server_mod, "HELLO_TIMEOUT_S", 0.2)
    served = await serve()
    raw = await Raw.unix(served.socket_path)
    reply = await raw.recv()
    assert reply is not None
    assert reply["error"] == "hello_timeout"
    assert await raw.closed()
    raw.close()


async def test_start_when_socket_path_taken_then_stale_replaced_live_refused_file_kept(
    serve, short_dir
):
    served = await serve()
    with pytest.raises(RuntimeError, match="already serving"):
        await start_control_server(served.engine, socket_path=served.socket_path)
    assert served.socket_path.exists()  # the live one is untouched
    # A socket left by a dead engine is replaced.
    import socket as socket_

    stale = short_dir / "stale.sock"
    s = socket_.socket(socket_.AF_UNIX)
    s.bind(str(stale))
    s.close()
    srv = await start_control_server(served.engine, socket_path=stale)
    raw = await Raw.unix(stale)
    assert (await raw.hello())["type"] == "welcome"
    raw.close()
    await srv.close()
    assert not stale.exists()
    # A regular file is never deleted.
    plain = short_dir / "plain.sock"
    plain.write_text("precious")
    with pytest.raises(FileExistsError):
        await start_control_server(served.engine, socket_path=plain)
    assert plain.read_text() == "precious"


async def test_secrets_when_tokens_used_then_never_in_messages_logs_or_audit(serve, caplog):
    caplog.set_level(logging.DEBUG)
    served = await serve(tcp_port=0)
    host, port = served.server.tcp_address
    tf = TokenFile.read(served.server.token_path)
    mistyped = tf.tokens.trader[:-4] + "abcd"  # a near-miss is as secret as the real one
    received: list[dict] = []
    raw = await Raw.tcp(host, port)
    await raw.hello(token=mistyped)
    await raw.closed()
    received += raw.received
    raw.close()
    raw = await Raw.tcp(host, port)
    await raw.hello(token=tf.tokens.monitor, client="m")
    await raw.call(1, "reject", proposal_id="p-x", note="token=" + "z")
    await raw.call(2, "status")
    await raw.call(3, "subscribe")
    received += raw.received
    raw.close()
    client = RemoteEngineClient(
        resolve_endpoint(host=host, port=port, token_file=served.server.token_path), heartbeat_s=0
    )
    await client.connect()
    await client.reject("p-unknown", "no")
    await client.close()
    await served.engine.advance(RunBudget(market_minutes=1))
    rows = await served.emb.store.recent_commands()
    assert len(rows) == 2
    haystacks = [
        caplog.text,
        repr(received),
        repr(rows),
        repr(served.server.tokens),
        repr(tf),
        repr(client.endpoint),
    ]
    for secret in (tf.tokens.trader, tf.tokens.monitor, mistyped):
        for hay in haystacks:
            assert secret not in hay
    assert "attached" in caplog.text  # the log was captured, not empty


async def test_slow_reader_when_it_never_reads_then_engine_never_waits_and_it_is_cut_off(
    serve, monkeypatch
):
    monkeypatch.setattr(server_mod, "WRITE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(server_mod, "SUBSCRIPTION_BOUND", 50_000)
    served = await serve()
    eng = served.engine
    # A plain socket that never calls recv (an asyncio reader would drain it behind our back).
    stuck = socket.socket(socket.AF_UNIX)
    stuck.connect(str(served.socket_path))
    stuck.sendall(
        b'{"type":"hello","protocol":1,"client":"stuck"}\n'
        b'{"type":"request","id":1,"method":"subscribe","params":{}}\n'
    )
    await until(lambda: any(c.subscribed for c in served.server.clients()))
    healthy = RemoteEngineClient(Endpoint(socket_path=served.socket_path), heartbeat_s=0)
    await healthy.connect()
    got: list[object] = []

    async def read() -> None:
        async for ev in healthy.events():
            got.append(ev)

    reader = asyncio.create_task(read())
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(20_000):  # ~3 MB of log events: far more than the socket buffers hold
        eng.log("info", f"flood {i:05d} " + "x" * 100)
    assert loop.time() - t0 < 2.0, "publishing never waits for a reader"
    await until(lambda: served.server.client_count == 1, 10)
    assert [c.client_id for c in served.server.clients()] == [healthy.client_id]
    await until(lambda: len(got) >= 1000, 10)
    await eng.advance(RunBudget(market_minutes=1))
    assert eng.ticks > 0
    stuck.close()
    await healthy.close()
    await asyncio.wait_for(reader, 5)
