"""The SSH door: `wsb serve --ssh --port N`, so `ssh -p N host` shows the desk with no install.

- Public-key authentication only (no passwords, no keyboard-interactive), against a
  role-carrying authorized-keys file: one key per line, ``ROLE KEYTYPE BASE64 [NAME]``, e.g.
  ``trader ssh-ed25519 AAAAC3Nza... alice@laptop``. ROLE is ``monitor`` (sees everything,
  changes nothing) or ``trader`` (may confirm, reject and steer). The file is re-read when it
  changes, so removing a line revokes that key for new sessions.
- An interactive session (a pty) runs `wsb attach` as a child process in its own
  pseudo-terminal, bridged to the SSH channel: the child is an ordinary attach client of the
  engine's Unix socket, started with the key's role. Textual drives the pty exactly as it
  drives a local terminal; window-size changes are passed on (TIOCSWINSZ + SIGWINCH).
- ``ssh -p N host control`` (or the ``wsb-control`` subsystem) bridges the raw protocol for
  scripts: the door rewrites the client's hello so the role can only be the key's or lower.

Roles are enforced by the engine on every command (the hello the engine sees carries the
key's role); the door only decides which role a key gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import stat
import struct
import sys
import termios
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from engine.runtime.control.paths import default_socket_path
from engine.runtime.control.protocol import (
    MAX_CLIENT_LINE,
    ErrorCode,
    ProtocolError,
    Role,
    decode_line,
    encode,
    error_message,
    hello_message,
    parse_hello,
)

log = logging.getLogger("wsb_tui.ssh_door")

CONTROL_SUBSYSTEM = "wsb-control"
CHILD_STOP_GRACE_S = 5.0


class AuthorizedKeysError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AuthorizedKey:
    role: Role
    name: str
    fingerprint: str


def default_authorized_keys_path() -> Path:
    from engine.runtime.config import default_config_path

    return default_config_path().parent / "ssh_authorized_keys"


def default_host_key_path() -> Path:
    from engine.store.paths import data_dir

    return data_dir() / "ssh_host_ed25519_key"


def parse_authorized_keys(text: str, *, source: str) -> dict[bytes, AuthorizedKey]:
    """``ROLE KEYTYPE BASE64 [NAME]`` per line; blank lines and ``#`` comments skipped."""
    keys: dict[bytes, AuthorizedKey] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        where = f"{source}:{n}"
        if len(parts) < 3:
            raise AuthorizedKeysError(
                f"{where}: expected 'ROLE KEYTYPE BASE64 [NAME]', e.g. "
                "'trader ssh-ed25519 AAAA... alice@laptop'"
            )
        role_s, ktype, b64 = parts[0], parts[1], parts[2]
        try:
            role = Role(role_s)
        except ValueError:
            raise AuthorizedKeysError(
                f"{where}: role {role_s!r} is not one of {', '.join(r.value for r in Role)}"
            ) from None
        try:
            key = asyncssh.import_public_key(f"{ktype} {b64}")
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise AuthorizedKeysError(f"{where}: not a public key ({exc})") from None
        name = parts[3].strip() if len(parts) > 3 else key.get_fingerprint()
        keys[key.public_data] = AuthorizedKey(role, name, key.get_fingerprint())
    return keys


class AuthorizedKeys:
    """The role-carrying keys file, re-read whenever it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[bytes, AuthorizedKey] = {}
        self.reload()

    def _check_mode(self) -> os.stat_result:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise AuthorizedKeysError(
                f"authorized keys file {self.path} does not exist; create it with lines like "
                "'trader ssh-ed25519 AAAA... alice@laptop' (roles: monitor, trader)"
            ) from None
        if st.st_mode & 0o022:
            raise AuthorizedKeysError(
                f"authorized keys file {self.path} is writable by group or others (mode "
                f"{stat.S_IMODE(st.st_mode):o}); chmod 600 it"
            )
        if st.st_uid != os.getuid():
            raise AuthorizedKeysError(
                f"authorized keys file {self.path} is owned by uid {st.st_uid}, not by you"
            )
        return st

    def reload(self) -> None:
        st = self._check_mode()
        self._keys = parse_authorized_keys(
            self.path.read_text(encoding="utf-8"), source=str(self.path)
        )
        self._stamp = (st.st_mtime_ns, st.st_size)
        log.info("ssh door: %d authorized keys from %s", len(self._keys), self.path)

    def lookup(self, key: asyncssh.SSHKey) -> AuthorizedKey | None:
        try:
            st = self._check_mode()
            if (st.st_mtime_ns, st.st_size) != self._stamp:
                self.reload()
        except (AuthorizedKeysError, OSError) as exc:
            # Fail closed: a file that became unsafe or unreadable admits nobody.
            log.error("ssh door: refusing all keys: %s", exc)
            return None
        return self._keys.get(key.public_data)

    def __len__(self) -> int:
        return len(self._keys)


def load_or_create_host_key(path: Path) -> asyncssh.SSHKey:
    if path.exists():
        return asyncssh.read_private_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.export_private_key())
    log.info("ssh door: new host key %s (%s)", path, key.get_fingerprint())
    return key


class _DoorServer(asyncssh.SSHServer):
    """One per SSH connection: public keys only, and remembers which key (role) got in."""

    def __init__(self, keys: AuthorizedKeys) -> None:
        self._keys = keys
        self.key: AuthorizedKey | None = None
        self.peer = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        found = self._keys.lookup(key)
        if found is None:
            log.warning(
                "ssh door: unknown key %s from %s refused", key.get_fingerprint(), self.peer
            )
            return False
        # asyncssh verifies the signature after this returns; the last key validated before
        # auth completes is the one that authenticated.
        self.key = found
        return True

    def auth_completed(self) -> None:
        if self.key is not None:
            log.info(
                "ssh door: %s (%s) authenticated from %s", self.key.name, self.key.role, self.peer
            )


class SSHDoor:
    def __init__(
        self,
        *,
        keys: AuthorizedKeys,
        host_key: asyncssh.SSHKey,
        socket_path: Path,
        host: str = "127.0.0.1",
        port: int = 2222,
        attach_argv: list[str] | None = None,
        child_env: Mapping[str, str] | None = None,
    ) -> None:
        self.keys = keys
        self.host_key = host_key
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.attach_argv = attach_argv or [sys.executable, "-m", "wsb_tui.remote.attach"]
        self.child_env = dict(child_env) if child_env is not None else None
        self.children: dict[int, asyncio.subprocess.Process] = {}
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        self._acceptor = await asyncssh.create_server(
            lambda: _DoorServer(self.keys),
            self.host,
            self.port,
            server_host_keys=[self.host_key],
            process_factory=self._session,
            encoding=None,
            line_editor=False,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_pty=True,
            keepalive_interval=30,
        )
        self.port = self._acceptor.get_port()
        log.info("ssh door on %s:%d -> engine %s", self.host, self.port, self.socket_path)

    async def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        for proc in list(self.children.values()):
            await _stop_child(proc)

    # ------------------------------------------------------------------ sessions

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        owner: Any = process.get_extra_info("connection").get_owner()
        key: AuthorizedKey | None = getattr(owner, "key", None)
        if key is None:  # cannot happen after public-key auth; refuse rather than guess
            process.exit(1)
            return
        label = f"ssh:{key.name}"
        try:
            if process.subsystem == CONTROL_SUBSYSTEM or process.command == "control":
                await self._bridge(process, key, label)
            elif process.command or process.subsystem:
                process.stderr.write(
                    b"this door runs the wsb desk only: `ssh -t -p PORT host` for the desk, "
                    b"`ssh -p PORT host control` for the protocol\r\n"
                )
                process.exit(2)
            elif process.get_terminal_type() is None:
                process.stderr.write(b"the desk needs a terminal: use `ssh -t`\r\n")
                process.exit(2)
            else:
                await self._tui(process, key, label)
        except (asyncssh.BreakReceived, asyncssh.SignalReceived, ConnectionError):
            process.exit(0)
        except Exception:
            log.exception("ssh session of %s failed", label)
            process.exit(1)

    async def _bridge(
        self, process: asyncssh.SSHServerProcess[bytes], key: AuthorizedKey, label: str
    ) -> None:
        """The protocol over the channel; the hello's role is capped at the key's role."""
        first = await _read_line(process.stdin, MAX_CLIENT_LINE)
        try:
            hello = parse_hello(decode_line(first))
            wanted = hello.role or key.role
            if not key.role.allows(wanted):
                raise ProtocolError(
                    ErrorCode.AUTH_FAILED,
                    f"role {wanted.value!r} is not allowed for this key (at most {key.role.value!r})",
                )
        except ProtocolError as exc:
            process.stdout.write(encode(error_message(exc.code, exc.message)))
            process.exit(1)
            return
        name = label if hello.client == "anonymous" else f"{label}/{hello.client}"
        reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        writer.write(encode(hello_message(name, role=wanted)))
        await writer.drain()

        async def upstream() -> None:
            while data := await process.stdin.read(65536):
                writer.write(data)
                await writer.drain()
            writer.write_eof()

        async def downstream() -> None:
            while data := await reader.read(65536):
                process.stdout.write(data)
                await process.stdout.drain()

        up, down = asyncio.create_task(upstream()), asyncio.create_task(downstream())
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (up, down):
                t.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            writer.close()
        process.exit(0)

    async def _tui(
        self, process: asyncssh.SSHServerProcess[bytes], key: AuthorizedKey, label: str
    ) -> None:
        """`wsb attach` in its own pty, bridged to the channel."""
        master, slave = os.openpty()
        cols, rows, _, _ = process.get_terminal_size()
        _set_winsize(master, rows or 24, cols or 80)
        env = dict(self.child_env if self.child_env is not None else os.environ)
        env.update(TERM=process.get_terminal_type() or "xterm-256color", COLORTERM="truecolor")
        env.setdefault("LANG", "C.UTF-8")
        argv = [
            *self.attach_argv,
            "--socket",
            str(self.socket_path),
            "--role",
            key.role.value,
            "--client-name",
            label,
        ]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                env=env,
                close_fds=True,
            )
        finally:
            os.close(slave)
        self.children[proc.pid] = proc
        os.set_blocking(master, False)
        out = asyncio.create_task(_pump_pty_out(master, process))
        inp = asyncio.create_task(_pump_pty_in(master, process, proc))
        try:
            await proc.wait()
        finally:
            inp.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await inp
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(out, 2.0)
            await _stop_child(proc)
            self.children.pop(proc.pid, None)
            os.close(master)
        log.info("ssh desk of %s ended (exit %s)", label, proc.returncode)
        process.exit(proc.returncode if proc.returncode and proc.returncode > 0 else 0)


async def _read_line(stream: asyncssh.SSHReader[bytes], limit: int) -> bytes:
    buf = b""
    while b"\n" not in buf:
        chunk = await stream.read(4096)
        if not chunk:
            break
        buf += chunk
        if len(buf) > limit + 1:
            return buf  # decode_line reports it as too large
    return buf


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


async def _pump_pty_out(master: int, process: asyncssh.SSHServerProcess[bytes]) -> None:
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(master, ready.set)
    try:
        while True:
            await ready.wait()
            ready.clear()
            try:
                data = os.read(master, 65536)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the child closed its side of the pty
                return
            if not data:
                return
            process.stdout.write(data)
            await process.stdout.drain()
    finally:
        loop.remove_reader(master)


async def _pump_pty_in(
    master: int, process: asyncssh.SSHServerProcess[bytes], proc: asyncio.subprocess.Process
) -> None:
    while True:
        try:
            data = await process.stdin.read(4096)
        except asyncssh.TerminalSizeChanged as change:
            _set_winsize(master, change.height or 24, change.width or 80)
            # The child has no controlling tty (it runs in its own session), so tell it.
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGWINCH)
            continue
        if not data:
            break
        view = memoryview(data)
        while view:
            try:
                n = os.write(master, view)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            view = view[n:]
    # The SSH client went away: end the desk (detaching never stops the engine).
    await _stop_child(proc)


async def _stop_child(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), CHILD_STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def start_ssh_door(
    *,
    port: int,
    host: str = "127.0.0.1",
    socket_path: Path | None = None,
    authorized_keys: Path | None = None,
    host_key: Path | None = None,
    attach_argv: list[str] | None = None,
    child_env: Mapping[str, str] | None = None,
) -> SSHDoor:
    keys = AuthorizedKeys(authorized_keys or default_authorized_keys_path())
    door = SSHDoor(
        keys=keys,
        host_key=load_or_create_host_key(host_key or default_host_key_path()),
        socket_path=socket_path or default_socket_path(),
        host=host,
        port=port,
        attach_argv=attach_argv,
        child_env=child_env,
    )
    await door.start()
    return door
