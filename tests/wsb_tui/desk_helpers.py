"""Helpers for the desk's tests: build an app on the fake client, wait for a condition."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fake_client import FakeEngineClient

from wsb_tui.app import WsbApp

TEST_SETTINGS = {
    "auto_open_confirm": False,
    "confirm_key_guard_seconds": 0,
    "refresh_seconds": 30,
}


def write_settings(cfg: Path, **overrides: Any) -> Path:
    path = cfg / "settings.json"
    path.write_text(json.dumps({**TEST_SETTINGS, **overrides}))
    return path


def make_app(
    cfg: Path,
    client: Any | None = None,
    *,
    theme: str | None = None,
    mode: str = "SIM",
    **settings: Any,
) -> WsbApp:
    path = write_settings(cfg, **settings)
    app = WsbApp(
        client or FakeEngineClient(mode=mode), title_mode=mode, theme=theme, settings_path=path
    )
    app.cursor_blink = False
    return app


async def wait_until(pred: Callable[[], bool], within: float = 5.0, step: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(step)
