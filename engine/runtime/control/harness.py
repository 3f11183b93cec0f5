"""An embedded engine served on a control socket, in this process: for tests, benchmarks
and demos that need a real engine and real sockets without a `wsb engine` subprocess."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.runtime.config import load_config
from engine.runtime.control.server import ControlServer, start_control_server
from engine.runtime.embedded import Embedded, build_embedded
from engine.runtime.engine import Engine
from engine.strategies.base import Strategy


@dataclass
class Served:
    emb: Embedded
    server: ControlServer

    @property
    def engine(self) -> Engine:
        return self.emb.engine

    @property
    def socket_path(self) -> Path:
        return self.server.socket_path


@asynccontextmanager
async def serve_embedded(
    directory: Path,
    *,
    strategies: Sequence[Strategy] | None = None,
    gate: str = "confirm",
    sections: dict[str, dict[str, Any]] | None = None,
    tcp_port: int | None = None,
    tcp_host: str = "127.0.0.1",
    allow_exposed: bool = False,
    start_engine: bool = True,
    speed: float | None = None,
) -> AsyncIterator[Served]:
    """Build a simulator engine (database and socket under `directory`), serve it, and on
    exit close the server, stop the engine and close the store."""
    secs = dict(sections or {})
    secs["engine"] = {"gate": gate, **secs.get("engine", {})}
    cfg = load_config(None, environ={}, overrides=secs)
    emb = await build_embedded(
        cfg, db_path=directory / "engine.sqlite", strategies=strategies, speed=speed
    )
    server: ControlServer | None = None
    try:
        server = await start_control_server(
            emb.engine,
            socket_path=directory / "engine.sock",
            tcp_port=tcp_port,
            tcp_host=tcp_host,
            allow_exposed=allow_exposed,
            token_path=directory / "engine.token",
        )
        if start_engine:
            await emb.engine.start()
        yield Served(emb, server)
    finally:
        if server is not None:
            await server.close()
        await emb.engine.stop("harness closed")
        await emb.close()
