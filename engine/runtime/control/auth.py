"""Who may connect and with which role.

- Unix socket: the file is 0600 in a 0700 directory, and the peer's uid (SO_PEERCRED) must be
  ours. Such a client may act as `trader`, or ask for less (`monitor`).
- TCP (loopback only unless explicitly exposed): the hello must carry a token. The token file
  holds two random tokens, one per role; the matching token sets the highest role allowed.
- A client can always ask for a lower role than its credential allows, never a higher one.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from engine.runtime.control.paths import write_private_file
from engine.runtime.control.protocol import ErrorCode, Hello, ProtocolError, Role

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class TokenSet:
    """One random token per role. `repr` hides them: tokens must never reach a log line."""

    trader: str
    monitor: str

    @classmethod
    def generate(cls) -> TokenSet:
        return cls(secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES))

    def role_for(self, presented: str | None) -> Role | None:
        """The role a presented token grants, compared in constant time; None if no match."""
        if not presented:
            return None
        given = presented.encode("utf-8", "surrogateescape")
        granted: Role | None = None
        # Both comparisons always run, so timing does not tell which token was close.
        if hmac.compare_digest(given, self.trader.encode()):
            granted = Role.TRADER
        if hmac.compare_digest(given, self.monitor.encode()):
            granted = granted or Role.MONITOR
        return granted

    def token(self, role: Role) -> str:
        return self.trader if role is Role.TRADER else self.monitor

    def __repr__(self) -> str:
        return "TokenSet(trader=***, monitor=***)"


@dataclass(frozen=True, slots=True)
class TokenFile:
    """What `wsb engine` writes for TCP clients: where to connect and the tokens (0600)."""

    host: str
    port: int
    tokens: TokenSet

    def write(self, path: Path) -> None:
        body = {
            "host": self.host,
            "port": self.port,
            "trader": self.tokens.trader,
            "monitor": self.tokens.monitor,
        }
        write_private_file(path, json.dumps(body) + "\n")

    @classmethod
    def read(cls, path: Path) -> TokenFile:
        try:
            st = path.stat()
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"token file {path} does not exist: is `wsb engine --tcp-port N` running "
                "as this user? (or pass --token-file)"
            ) from None
        if st.st_mode & 0o077:
            raise PermissionError(
                f"token file {path} is readable by other users (mode {st.st_mode & 0o777:o}); "
                "refusing to use it: chmod 600 it or restart the engine"
            )
        try:
            data = json.loads(raw)
            return cls(
                str(data["host"]),
                int(data["port"]),
                TokenSet(str(data["trader"]), str(data["monitor"])),
            )
        except (ValueError, KeyError, TypeError):
            raise ValueError(
                f"token file {path} is not a wsb token file (expected JSON with host, port, "
                "trader, monitor)"
            ) from None

    def __repr__(self) -> str:
        return f"TokenFile(host={self.host!r}, port={self.port}, tokens=***)"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_host(host: str, *, allow_exposed: bool) -> None:
    if is_loopback(host):
        return
    if not allow_exposed:
        raise ValueError(
            f"tcp host={host!r} is not a loopback address; the control port binds to "
            "127.0.0.1 / ::1 only. Forward it with `ssh -L` instead, or pass "
            "--i-know-this-is-exposed to bind it anyway (the token still applies)"
        )


def peer_uid(sock: socket.socket | None) -> int | None:
    """The uid of the process on the other end of a Unix socket, where the OS tells it."""
    if sock is None:
        return None
    so_peercred = getattr(socket, "SO_PEERCRED", None)
    if so_peercred is not None:
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        except OSError:
            return None
        _pid, uid, _gid = struct.unpack("3i", raw)
        return int(uid)
    getpeereid = getattr(os, "getpeereid", None)  # BSD/macOS, when present
    if getpeereid is not None:
        try:
            return int(getpeereid(sock.fileno())[0])
        except OSError:
            return None
    return None


def grant_role(*, ceiling: Role | None, hello: Hello) -> Role:
    """The connection's role: what the credential allows, lowered to what the client asked."""
    if ceiling is None:
        raise ProtocolError(ErrorCode.AUTH_FAILED, "authentication failed")
    wanted = hello.role or ceiling
    if not ceiling.allows(wanted):
        raise ProtocolError(
            ErrorCode.AUTH_FAILED,
            f"role {wanted.value!r} is not allowed for this credential (at most {ceiling.value!r})",
        )
    return wanted
