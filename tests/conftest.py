"""Shared fixtures: where the shared market data and reference values live."""

from __future__ import annotations

import os
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
