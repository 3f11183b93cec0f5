"""Fixtures for engine tests: a real embedded engine (simulator, paper broker, SQLite file)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.config import WsbConfig, load_config
from engine.runtime.embedded import Embedded, build_embedded
from engine.strategies.base import Strategy

SMALL_UNIVERSE = ("SPY", "QQQ", "IWM", "DIA", "VTI", "ARKK", "AAPL", "MSFT", "VIX")

BuildFn = Callable[..., Any]


def make_config(**sections: dict[str, Any]) -> WsbConfig:
    return load_config(None, environ={}, overrides=sections)


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[BuildFn]:
    """Build embedded engines on a small universe; all are closed after the test."""
    made: list[Embedded] = []

    async def _build(
        *,
        strategies: Sequence[Strategy] | None = None,
        gate: str = "auto",
        db: Path | None = None,
        universe: Sequence[str] = SMALL_UNIVERSE,
        **sections: dict[str, Any],
    ) -> Embedded:
        engine_cfg = {"gate": gate, **sections.pop("engine", {})}
        cfg = make_config(engine=engine_cfg, **sections)
        emb = await build_embedded(
            cfg,
            db_path=db or tmp_path / "engine.sqlite",
            universe=universe,
            strategies=strategies,
        )
        made.append(emb)
        return emb

    yield _build
    for emb in made:
        await emb.close()
