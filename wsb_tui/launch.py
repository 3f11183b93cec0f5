"""`wsb` with no command: the TUI over an embedded engine."""

from __future__ import annotations

from pathlib import Path

from engine.runtime.config import WsbConfig


def run_embedded_tui(cfg: WsbConfig, *, db_path: Path | None, speed: float | None) -> None:
    """Open the desk; the engine is built and run inside the app's event loop."""
    from wsb_tui.app import run_embedded

    run_embedded(cfg, db_path=db_path, speed=speed)
