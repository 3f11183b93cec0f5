"""Fixtures for the desk's tests: an isolated config dir, the fake client, app builders."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fake_client import FakeEngineClient

from wsb_tui.app import WsbApp

TEST_SETTINGS = {
    "auto_open_confirm": False,
    "confirm_key_guard_seconds": 0,
    "refresh_seconds": 30,
}


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the real user's settings."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    monkeypatch.setenv("WSB_CONFIG_DIR", str(cfg))
    return cfg


def write_settings(cfg: Path, **overrides: Any) -> Path:
    path = cfg / "settings.json"
    path.write_text(json.dumps({**TEST_SETTINGS, **overrides}))
    return path


def make_app(cfg: Path, client: Any | None = None, *, theme: str | None = None, mode: str = "SIM", **settings: Any) -> WsbApp:
    path = write_settings(cfg, **settings)
    app = WsbApp(client or FakeEngineClient(mode=mode), title_mode=mode, theme=theme, settings_path=path)
    app.cursor_blink = False
    return app


async def wait_until(pred: Callable[[], bool], timeout: float = 5.0, step: float = 0.02) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


@pytest.fixture
def app_factory(isolated_config: Path) -> Callable[..., WsbApp]:
    def build(client: Any | None = None, **kw: Any) -> WsbApp:
        return make_app(isolated_config, client, **kw)

    return build


Ready = Callable[[Any], Awaitable[None]]
