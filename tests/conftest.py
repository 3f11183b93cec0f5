"""Shared fixtures: where the shared market data and reference values live."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_PROJECT = Path(__file__).resolve().parent.parent


def _locate_shared() -> Path | None:
    env = os.environ.get("WSB_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(_PROJECT.parent / "shared")
    for cand in candidates:
        if (cand / "reference").is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The `shared/` folder beside the project (or `$WSB_SHARED`).

    Skips when absent, except under CI, where a missing folder is a failure: CI must
    exercise the reference checks, never silently skip them.
    """
    found = _locate_shared()
    if found is None:
        msg = "shared/ data not found: set WSB_SHARED or place shared/ beside the project"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return found


@pytest.fixture(scope="session")
def prices_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "prices"


@pytest.fixture(scope="session")
def reference_dir(shared_dir: Path) -> Path:
    return shared_dir / "reference"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the real user's config or data directories."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("WSB_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("WSB_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("WSB_RUNTIME_DIR", str(base / "run"))
    for name in list(os.environ):
        if name.startswith("WSB__"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Keep logging as each test found it.

    Some libraries configure logging on import (Dask's `dictConfig` disables every logger that
    already exists) and `wsb engine` installs a root handler; without this, a test that reads
    our log lines would pass or fail depending on which tests ran before it.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ours = {"engine", "wsb_tui", "widgets"}

    def our_loggers() -> list[tuple[str, logging.Logger]]:
        return [
            (name, lg)
            for name, lg in list(logging.root.manager.loggerDict.items())
            if isinstance(lg, logging.Logger) and name.split(".")[0] in ours
        ]

    levels = {}
    for name, lg in our_loggers():
        lg.disabled = False
        levels[name] = lg.level
    yield
    for name, lg in our_loggers():
        lg.setLevel(levels.get(name, logging.NOTSET))
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
