"""What `wsb engine` needs to be steerable: the control server, redacted logs, SIGHUP reload.

`headless.py` calls `start_headless_control` after building the engine and `close()` after
the run; `cli.py` decorates the `engine` command with `control_options`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.runtime.config import ConfigError, WsbConfig
from engine.runtime.control.server import ControlServer, start_control_server
from engine.runtime.engine import Engine
from wsb_tui.remote.logfmt import redactor
from wsb_tui.remote.reload import apply_reload

log = logging.getLogger("wsb_tui.headless")


@dataclass(frozen=True, slots=True)
class ControlOptions:
    socket: Path | None = None
    tcp_port: int | None = None
    tcp_host: str = "127.0.0.1"
    exposed: bool = False
    log_format: str = "text"


class HeadlessControl:
    def __init__(self, server: ControlServer) -> None:
        self.server = server
        self._reload_task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, ValueError, RuntimeError):
            loop.remove_signal_handler(signal.SIGHUP)
        if self._reload_task is not None:
            with contextlib.suppress(Exception):
                await self._reload_task
        await self.server.close()


async def start_headless_control(
    engine: Engine,
    opts: ControlOptions,
    *,
    config: WsbConfig,
    reload_config: Callable[[], WsbConfig] | None = None,
) -> HeadlessControl:
    """Serve `engine`; SIGHUP calls `reload_config()` and applies what is safe live."""
    server = await start_control_server(
        engine,
        socket_path=opts.socket,
        tcp_port=opts.tcp_port,
        tcp_host=opts.tcp_host,
        allow_exposed=opts.exposed,
    )
    if server.tokens is not None:
        redactor().add(server.tokens.trader)
        redactor().add(server.tokens.monitor)
    ctl = HeadlessControl(server)
    current = [config]

    async def reload() -> None:
        if reload_config is None:
            engine.log("warning", "SIGHUP: no configuration file to reload")
            return
        try:
            new = reload_config()
        except ConfigError as exc:
            engine.log("error", f"SIGHUP reload refused, config kept: {'; '.join(exc.problems)}")
            return
        await apply_reload(engine, current[0], new)
        current[0] = new

    def on_hup() -> None:
        if ctl._reload_task is None or ctl._reload_task.done():
            ctl._reload_task = asyncio.create_task(reload(), name="sighup reload")

    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_hup)
    return ctl
