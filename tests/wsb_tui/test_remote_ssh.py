"""The SSH door with asyncssh as the client on 127.0.0.1: public keys only, roles from the
authorized-keys file, enforced by the engine and recorded in its audit table."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.control.harness import Served, serve_embedded
from engine.runtime.engine import RunBudget
from engine.strategies.index_baseline import IndexBaseline

asyncssh = pytest.importorskip(
    "asyncssh", reason="asyncssh is the `remote` extra: pip install 'wsb-tui[remote]'"
)

from wsb_tui.ssh_door import (  # noqa: E402
    AuthorizedKeysError,
    SSHDoor,
    parse_authorized_keys,
    start_ssh_door,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="wsbs-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Keys:
    def __init__(self) -> None:
        self.trader = asyncssh.generate_private_key("ssh-ed25519")
        self.monitor = asyncssh.generate_private_key("ssh-ed25519")
        self.stranger = asyncssh.generate_private_key("ssh-ed25519")

    def authorized(self) -> str:
        def line(role: str, key: asyncssh.SSHKey, name: str) -> str:
            return f"{role} {key.export_public_key().decode().strip()} {name}"

        return "\n".join(
            [
                "# role keytype base64 name",
                line("trader", self.trader, "tina@desk"),
                line("monitor", self.monitor, "mo@laptop"),
                "",
            ]
        )


@pytest.fixture
async def door(short_dir: Path) -> AsyncIterator[tuple[Served, SSHDoor, Keys]]:
    keys = Keys()
    ak = short_dir / "authorized"
    ak.write_text(keys.authorized())
    ak.chmod(0o600)
    async with serve_embedded(
        short_dir,
        strategies=[IndexBaseline.from_profile("research_2024")],
        gate="confirm",
        sections={"engine": {"confirm_timeout_s": 86_400}},
    ) as served:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT)
        d = await start_ssh_door(
            port=0,
            host="127.0.0.1",
            socket_path=served.socket_path,
            authorized_keys=ak,
            host_key=short_dir / "host_key",
            child_env=env,
        )
        try:
            yield served, d, keys
        finally:
            await d.close()


def _connect(d: SSHDoor, **kw: Any) -> Any:
    kw.setdefault("username", "anyone")
    return asyncssh.connect(
        "127.0.0.1",
        d.port,
        known_hosts=None,
        agent_path=None,
        config=None,
        **kw,
    )


async def _waiting_pid(served: Served) -> str:
    for _ in range(240):
        pending = served.engine.snapshot().pending
        if pending:
            return pending[0].proposal.proposal_id
        await served.engine.advance(RunBudget(market_minutes=1))
    raise AssertionError("no proposal waited")


class Control:
    """The protocol over `ssh host control`."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    async def send(self, obj: dict[str, Any]) -> None:
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())

    async def recv(self) -> dict[str, Any]:
        line = await asyncio.wait_for(self.proc.stdout.readline(), 10)
        assert line, "channel closed"
        return json.loads(line)

    async def call(self, rid: int, method: str, **params: Any) -> dict[str, Any]:
        await self.send({"type": "request", "id": rid, "method": method, "params": params})
        while True:
            msg = await self.recv()
            if msg.get("type") == "response" and msg.get("id") == rid:
                return msg


async def test_ssh_when_key_unknown_then_refused(door):
    _served, d, keys = door
    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(d, client_keys=[keys.stranger]):
            pass


async def test_ssh_when_password_offered_then_refused(door):
    _served, d, _keys = door
    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(
            d, client_keys=None, password="hunter2", preferred_auth="password,keyboard-interactive"
        ):
            pass


async def test_ssh_when_monitor_key_confirms_then_engine_refuses_and_records(door):
    served, d, keys = door
    pid = await _waiting_pid(served)
    async with _connect(d, client_keys=[keys.monitor]) as conn:
        proc = await conn.create_process("control", encoding=None)
        ctl = Control(proc)
        # Asking for trader with a monitor key is refused by the door outright.
        await ctl.send({"type": "hello", "protocol": 1, "client": "sneaky", "role": "trader"})
        err = await ctl.recv()
        assert err["type"] == "error"
        assert err["error"] == "auth_failed"
        proc.close()
        proc = await conn.create_process("control", encoding=None)
        ctl = Control(proc)
        await ctl.send({"type": "hello", "protocol": 1, "client": "script"})
        welcome = await ctl.recv()
        assert welcome["type"] == "welcome"
        assert welcome["role"] == "monitor"
        assert welcome["client_id"].endswith("ssh:mo@laptop/script")
        sub = await ctl.call(1, "subscribe")
        assert pid in {p["proposal"]["proposal_id"] for p in sub["data"]["snapshot"]["pending"]}
        res = await ctl.call(2, "confirm", proposal_id=pid)
        assert res["ok"] is False
        assert res["error"] == "forbidden"
        proc.close()
    assert pid in {p.proposal.proposal_id for p in served.engine.snapshot().pending}
    rows = await served.emb.store.recent_commands()
    assert [(r.command, r.role, r.result) for r in rows] == [("confirm", "monitor", "refused")]
    assert rows[0].client_id == welcome["client_id"]


async def test_ssh_when_trader_key_confirms_then_engine_accepts_fills_and_records(door):
    served, d, keys = door
    pid = await _waiting_pid(served)
    w = next(p for p in served.engine.snapshot().pending if p.proposal.proposal_id == pid)
    assert w.proposal.limit_price is not None
    limit = (w.proposal.limit_price * Decimal("1.003")).quantize(Decimal("0.01"))
    async with _connect(d, client_keys=[keys.trader]) as conn:
        proc = await conn.create_process("control", encoding=None)
        ctl = Control(proc)
        await ctl.send({"type": "hello", "protocol": 1})
        welcome = await ctl.recv()
        assert welcome["role"] == "trader"
        assert welcome["client_id"].endswith("ssh:tina@desk")
        res = await ctl.call(1, "confirm", proposal_id=pid, limit_price=str(limit))
        assert res["ok"] is True, res
        proc.close()
    rows = await served.emb.store.recent_commands()
    assert [(r.command, r.role, r.result) for r in rows] == [("confirm", "trader", "ok")]
    fills = await served.emb.store.load_fills()
    assert fills
    assert fills[0].price <= limit


async def test_ssh_when_other_command_then_refused_with_hint(door):
    _served, d, keys = door
    async with _connect(d, client_keys=[keys.trader]) as conn:
        result = await conn.run("cat /etc/passwd", encoding=None)
        assert result.exit_status == 2
        assert b"desk only" in result.stderr
        assert b"root:" not in result.stdout


@pytest.mark.slow
async def test_ssh_when_pty_session_then_desk_attaches_in_its_own_pty_and_ends_with_it(door):
    served, d, keys = door
    async with _connect(d, client_keys=[keys.monitor]) as conn:
        proc = await conn.create_process(
            term_type="xterm-256color", term_size=(120, 40), encoding=None
        )
        seen = bytearray()

        async def read() -> None:
            while chunk := await proc.stdout.read(65536):
                seen.extend(chunk)

        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()
        end = loop.time() + 60
        while not any("ssh:mo@laptop" in c.client_id for c in served.server.clients()):
            assert loop.time() < end, bytes(seen[-2000:])
            await asyncio.sleep(0.1)
        ids = [c for c in served.server.clients() if "ssh:mo@laptop" in c.client_id]
        assert all(c.role.value == "monitor" for c in ids)
        while b"\x1b[" not in seen or b"equity" not in seen:
            assert loop.time() < end, bytes(seen[-2000:])
            await asyncio.sleep(0.1)
        proc.change_terminal_size(100, 30)
        await asyncio.sleep(0.3)
        assert d.children, "the desk runs as a child process"
        proc.close()
        reader.cancel()
    end = loop.time() + 15
    while d.children or any("ssh:" in c.client_id for c in served.server.clients()):
        assert loop.time() < end, "closing the session ends its desk"
        await asyncio.sleep(0.1)
    assert served.engine._started, "the engine keeps running"


def test_authorized_keys_when_bad_lines_then_clear_errors(tmp_path):
    key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    with pytest.raises(
        AuthorizedKeysError, match=r"f:2: role 'admin' is not one of monitor, trader"
    ):
        parse_authorized_keys(f"trader {key}\nadmin {key}\n", source="f")
    with pytest.raises(AuthorizedKeysError, match="f:1: expected 'ROLE KEYTYPE BASE64"):
        parse_authorized_keys("trader\n", source="f")
    with pytest.raises(AuthorizedKeysError, match="f:1: not a public key"):
        parse_authorized_keys("monitor ssh-ed25519 AAAAnotbase64!!\n", source="f")
    parsed = parse_authorized_keys(f"monitor {key} carol\n", source="f")
    assert [(k.role.value, k.name) for k in parsed.values()] == [("monitor", "carol")]


async def test_authorized_keys_when_group_writable_then_door_refuses_to_start(short_dir):
    ak = short_dir / "ak"
    ak.write_text("")
    ak.chmod(0o666)
    with pytest.raises(AuthorizedKeysError, match="writable by group or others"):
        await start_ssh_door(
            port=0, socket_path=short_dir / "x.sock", authorized_keys=ak, host_key=short_dir / "hk"
        )


async def test_ssh_when_key_removed_from_file_then_refused_without_restart(door, short_dir):
    _served, d, keys = door
    async with _connect(d, client_keys=[keys.monitor]):
        pass
    ak = d.keys.path
    ak.write_text(
        "\n".join(line for line in keys.authorized().splitlines() if "mo@laptop" not in line)
    )
    with pytest.raises(asyncssh.PermissionDenied):
        async with _connect(d, client_keys=[keys.monitor]):
            pass
    async with _connect(d, client_keys=[keys.trader]):
        pass
