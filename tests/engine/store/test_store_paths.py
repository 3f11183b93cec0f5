"""Where the database lives: one file per profile in the user's data dir, or WSB_DATA_DIR."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from engine.store import ENV_DATA_DIR, Store, default_db_path


def test_default_db_path_when_env_override_set_then_file_per_profile_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "wsb"))
    assert default_db_path() == tmp_path / "wsb" / "sim.sqlite"
    assert default_db_path("alpaca-paper") == tmp_path / "wsb" / "alpaca-paper.sqlite"
    assert not (tmp_path / "wsb").exists()  # resolving a path creates nothing


def test_default_db_path_when_no_override_then_platform_user_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_DATA_DIR, raising=False)
    expected = platformdirs.user_data_path("wsb-tui") / "sim.sqlite"
    assert default_db_path("sim") == expected
    monkeypatch.setenv(ENV_DATA_DIR, "   ")  # blank means unset
    assert default_db_path("sim") == expected


@pytest.mark.parametrize("profile", ["", "../escape", "Sim", "a/b", "x" * 65, ".hidden"])
def test_default_db_path_when_profile_unsafe_then_error_names_value_and_rule(profile: str) -> None:
    with pytest.raises(ValueError, match=r"profile=.*lower-case a-z, 0-9"):
        default_db_path(profile)


async def test_open_when_default_path_under_override_then_directories_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DATA_DIR, str(tmp_path / "nested" / "dir"))
    async with await Store.open(default_db_path("alpaca-paper")) as store:
        assert store.path == tmp_path / "nested" / "dir" / "alpaca-paper.sqlite"
    assert store.path.is_file()
