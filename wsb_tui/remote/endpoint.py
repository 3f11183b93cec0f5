"""Where a remote engine listens: a Unix socket path, or loopback TCP with a token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.runtime.control.auth import TokenFile
from engine.runtime.control.paths import default_socket_path, default_token_path
from engine.runtime.control.protocol import Role


@dataclass(frozen=True, slots=True)
class Endpoint:
    socket_path: Path | None = None
    host: str | None = None
    port: int | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        if (self.socket_path is None) == (self.host is None):
            raise ValueError("an endpoint is either a socket path or a host and port")
        if self.host is not None and not (self.port and 0 < self.port < 65536):
            raise ValueError(f"port {self.port} must be between 1 and 65535")

    @property
    def label(self) -> str:
        if self.socket_path is not None:
            return str(self.socket_path)
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:  # never show the token
        return f"Endpoint({self.label})"


def resolve_endpoint(
    *,
    socket_path: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    token_file: Path | None = None,
    role: Role | None = None,
) -> Endpoint:
    """The endpoint the CLI options describe: a socket (default: the runtime dir's), or TCP
    whose token comes from the token file the engine wrote (default: the runtime dir's)."""
    if host is None and port is None:
        return Endpoint(socket_path=socket_path or default_socket_path())
    if socket_path is not None:
        raise ValueError("--socket and --host/--port are alternatives: give one or the other")
    tf = TokenFile.read(token_file or default_token_path())
    token = tf.tokens.token(role or Role.TRADER)
    return Endpoint(host=host or tf.host, port=port or tf.port, token=token)
