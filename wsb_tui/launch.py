"""`wsb` with no command: the TUI over an embedded engine.

What the person waits for is the desk, so it comes first. Textual alone paints the dashboard
in about half a second; reading the configuration needs pydantic and the strategy base (which
pulls in exchange_calendars and pandas) and building the engine needs NumPy and SciPy, well
over a second more on a small machine. So the desk paints, shows "starting the engine…", and
only then are the config read and the engine's modules imported, in a thread, with the
engine built in the app's loop behind the painted dashboard.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runtime.client_api import EngineClient
    from engine.runtime.config import WsbConfig

CONFIG_ERROR_EXIT = 2
FULL_START_EXIT = 3


def run_embedded_tui(cfg: WsbConfig, *, db_path: Path | None, speed: float | None) -> None:
    """Open the desk for an already loaded config; the engine is built and run inside the
    app's event loop after the first paint."""
    from wsb_tui.app import run_embedded

    run_embedded(cfg, db_path=db_path, speed=speed)


def simulated_only(cfg: WsbConfig) -> bool:
    """The embedded simulator with the paper broker: nothing to prompt for or connect to."""
    return cfg.data.kind == "sim" and cfg.broker.kind == "paper" and cfg.engine.mode == "paper"


def _load_off_loop(config: Path | None, overrides: Mapping[str, Any]) -> WsbConfig:
    """Runs in a thread: config models, validation and, for the simulator, the engine's
    modules. Raises `StartAborted` for config errors and for setups needing the full path."""
    from engine.runtime.config import ConfigError, load_config
    from engine.strategies.registry import available
    from wsb_tui.app import StartAborted

    try:
        cfg = load_config(config, overrides=overrides, known_strategies=frozenset(available()))
    except ConfigError as exc:
        raise StartAborted(
            "configuration error", return_code=CONFIG_ERROR_EXIT, detail=list(exc.problems)
        ) from None
    if not simulated_only(cfg):
        raise StartAborted("needs the full start path", return_code=FULL_START_EXIT)
    import engine.runtime.embedded  # noqa: F401 - the heavy part, still off the UI thread

    return cfg


def run_deferred_tui(
    config: Path | None,
    overrides: Mapping[str, Any],
    *,
    db_path: Path | None,
    speed: float | None,
) -> bool:
    """Open the desk at once and read `config` behind it.

    True when the desk ran (the person quit). False, before any engine started, when the
    config asks for a real broker or data feed or for live mode: the caller then takes the
    full start path (with its prompts). A bad config closes the desk and is reported on
    stderr with exit status 2, as `wsb config check` would report it."""
    import asyncio

    from wsb_tui.app import embedded_connect, run_tui

    if config is not None and not config.exists():
        return False  # reported at once by the full path, without flashing the desk

    async def connect() -> EngineClient:
        cfg = await asyncio.to_thread(_load_off_loop, config, overrides)
        from engine.runtime.embedded import build_embedded

        return await embedded_connect(build_embedded, cfg, db_path=db_path, speed=speed)()

    app = run_tui(None, connect=connect)
    aborted = app.start_aborted
    if aborted is None:
        return True
    if aborted.return_code == FULL_START_EXIT:
        return False
    problems = aborted.detail if isinstance(aborted.detail, list) else [aborted.reason]
    print("configuration error:", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    raise SystemExit(aborted.return_code)
