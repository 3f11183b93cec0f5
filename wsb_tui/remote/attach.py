"""`wsb attach`: the desk against a running headless engine.

Also runnable as ``python -m wsb_tui.remote.attach`` (the SSH door starts it that way in each
session's pty). The engine is probed first, so a wrong socket, a refused token or another
protocol version is a one-line error before the TUI takes the screen.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from engine.runtime.client_api import EngineClient
from engine.runtime.control.protocol import Role
from wsb_tui.remote.client import RemoteEngineClient
from wsb_tui.remote.connection import RemoteError
from wsb_tui.remote.endpoint import Endpoint

PROBE_TIMEOUT_S = 10.0


class AttachError(Exception):
    """A reason the desk cannot attach, worded for the person at the terminal."""


def explain(endpoint: Endpoint, exc: BaseException) -> str:
    where = endpoint.label
    if isinstance(exc, RemoteError):
        return f"the engine at {where} refused this client: {exc.message}"
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return (
            f"no engine is listening at {where}: start one with `wsb engine` "
            "(or point --socket / --host --port at it)"
        )
    if isinstance(exc, PermissionError):
        return f"cannot open {where}: permission denied (is the engine run by another user?)"
    if isinstance(exc, TimeoutError):
        return f"the engine at {where} did not answer within {PROBE_TIMEOUT_S:.0f}s"
    return f"cannot attach to {where}: {type(exc).__name__}: {exc}"


async def probe(endpoint: Endpoint, *, role: Role | None, client_name: str) -> str:
    """Connect once and return the engine's mode label (SIM/PAPER/LIVE), or raise AttachError."""
    client = RemoteEngineClient(
        endpoint,
        client_name=f"{client_name}-probe",
        role=role,
        reconnect=False,
        heartbeat_s=0,
        request_timeout=PROBE_TIMEOUT_S,
    )
    try:
        await asyncio.wait_for(client.connect(), PROBE_TIMEOUT_S)
    except (OSError, TimeoutError, RemoteError) as exc:
        raise AttachError(explain(endpoint, exc)) from None
    try:
        snap = client.last_snapshot
        return snap.mode if snap is not None else "SIM"
    finally:
        await client.close()


def run_attach(
    endpoint: Endpoint,
    *,
    role: Role | None = None,
    client_name: str = "attach",
    theme: str | None = None,
    settings_path: Path | None = None,
) -> int:
    """Open the desk on the remote engine until the person quits. Returns an exit code."""
    try:
        mode = asyncio.run(probe(endpoint, role=role, client_name=client_name))
    except AttachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from wsb_tui.app import run_tui

    async def connect() -> EngineClient:
        client = RemoteEngineClient(endpoint, client_name=client_name, role=role)
        return await client.connect()

    kwargs: dict[str, Any] = {"title_mode": mode, "theme": theme}
    if settings_path is not None:
        kwargs["settings_path"] = settings_path
    run_tui(connect=connect, **kwargs)
    return 0


def main(argv: list[str] | None = None) -> None:
    from wsb_tui.commands_remote import attach

    attach.main(args=argv, prog_name="wsb attach")


if __name__ == "__main__":
    main()
