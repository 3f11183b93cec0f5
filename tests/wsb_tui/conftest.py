"""Fixtures for the desk's tests: an isolated config dir and an app builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import make_app

from wsb_tui.app import WsbApp


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the real user's settings."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    monkeypatch.setenv("WSB_CONFIG_DIR", str(cfg))
    return cfg


@pytest.fixture
def app_factory(isolated_config: Path) -> Callable[..., WsbApp]:
    def build(client: Any | None = None, **kw: Any) -> WsbApp:
        return make_app(isolated_config, client, **kw)

    return build
