"""Remote control of a running engine: versioned NDJSON over a Unix socket or loopback TCP.

`start_control_server(engine, ...)` serves it; `wsb_tui.remote.RemoteEngineClient` speaks it.
The wire format is specified in docs/remote-protocol.md.
"""

from engine.runtime.control.auth import TokenFile, TokenSet, check_bind_host, is_loopback
from engine.runtime.control.paths import (
    ENV_RUNTIME_DIR,
    default_socket_path,
    default_token_path,
    runtime_dir,
)
from engine.runtime.control.protocol import (
    MAX_CLIENT_LINE,
    MAX_SERVER_LINE,
    PROTOCOL_VERSION,
    ErrorCode,
    ProtocolError,
    Role,
)
from engine.runtime.control.server import ControlServer, start_control_server

__all__ = [
    "ENV_RUNTIME_DIR",
    "MAX_CLIENT_LINE",
    "MAX_SERVER_LINE",
    "PROTOCOL_VERSION",
    "ControlServer",
    "ErrorCode",
    "ProtocolError",
    "Role",
    "TokenFile",
    "TokenSet",
    "check_bind_host",
    "default_socket_path",
    "default_token_path",
    "is_loopback",
    "runtime_dir",
    "start_control_server",
]
