"""Where the control socket and token live: the user's runtime directory, private to the user.

``$WSB_RUNTIME_DIR`` when set, else ``platformdirs.user_runtime_path("wsb-tui")`` (on Linux
``/run/user/UID/wsb-tui``). The directory is made 0700; the socket and the token file are 0600.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import platformdirs

APP_NAME = "wsb-tui"
ENV_RUNTIME_DIR = "WSB_RUNTIME_DIR"
SOCKET_NAME = "engine.sock"
TOKEN_NAME = "engine.token"  # noqa: S105 (a file name, not a secret)
# sun_path is 108 bytes on Linux (104 on macOS); a longer path cannot be bound at all.
MAX_SOCKET_PATH = 104


class RuntimeDirError(OSError):
    """The runtime directory cannot be made private to this user."""


def runtime_dir() -> Path:
    override = os.environ.get(ENV_RUNTIME_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs falls back to /tmp/runtime-UID and warns;
        # `ensure_private_dir` refuses that directory unless it is ours and makes it 0700.
        warnings.simplefilter("ignore")
        return platformdirs.user_runtime_path(APP_NAME)


def default_socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def default_token_path() -> Path:
    return runtime_dir() / TOKEN_NAME


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (0700) or check an existing one is ours; tighten group/other bits."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid():
        raise RuntimeDirError(
            f"runtime directory {path} belongs to uid {st.st_uid}, not to you (uid "
            f"{os.getuid()}); set {ENV_RUNTIME_DIR} to a directory you own"
        )
    if stat.S_IMODE(st.st_mode) & 0o077:
        try:
            path.chmod(0o700)
        except OSError as exc:
            raise RuntimeDirError(
                f"runtime directory {path} is accessible to other users and cannot be made "
                f"private: {exc.strerror}"
            ) from None
    return path


def check_socket_path(path: Path) -> Path:
    if len(os.fsencode(path)) >= MAX_SOCKET_PATH:
        raise ValueError(
            f"socket path {path} is {len(os.fsencode(path))} bytes; Unix sockets allow at most "
            f"{MAX_SOCKET_PATH - 1}: choose a shorter --socket or {ENV_RUNTIME_DIR}"
        )
    return path


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to a file that is 0600 from its first byte (no window where it is readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
