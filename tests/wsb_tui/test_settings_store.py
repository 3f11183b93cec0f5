"""Remembered settings: where they live, what survives a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsb_tui.settings import Settings, default_settings_path, load_settings, save_settings


def test_path_when_env_set_then_config_dir_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSB_CONFIG_DIR", str(tmp_path / "x"))
    assert default_settings_path() == tmp_path / "x" / "settings.json"


def test_save_then_load_when_round_tripped_then_equal(isolated_config: Path) -> None:
    s = Settings(theme="wsb-light", keymap={"dashboard.confirm": "Y"}, refresh_seconds=2.5)
    path = save_settings(s)
    assert path.parent == isolated_config
    assert load_settings().settings == s
    assert not list(isolated_config.glob(".settings-*"))  # no temp file left behind


def test_load_when_file_missing_then_defaults_without_warning(isolated_config: Path) -> None:
    result = load_settings()
    assert result.settings == Settings()
    assert result.warnings == ()


def test_load_when_json_broken_then_defaults_and_warning_names_file(isolated_config: Path) -> None:
    path = isolated_config / "settings.json"
    path.write_text("{theme: dark")
    result = load_settings()
    assert result.settings == Settings()
    assert str(path) in result.warnings[0]
    assert "not valid JSON" in result.warnings[0]


def test_load_when_values_bad_then_bad_ones_dropped_good_ones_kept(isolated_config: Path) -> None:
    (isolated_config / "settings.json").write_text(
        json.dumps(
            {
                "theme": "wsb-light",
                "refresh_seconds": 0,
                "auto_open_confirm": "yes",
                "colour": 1,
                "confirm_key_guard_seconds": True,
            }
        )
    )
    result = load_settings()
    assert result.settings.theme == "wsb-light"
    assert result.settings.refresh_seconds == Settings().refresh_seconds
    assert result.settings.auto_open_confirm is True
    text = "\n".join(result.warnings)
    assert "refresh_seconds=0" in text
    assert "unknown setting 'colour'" in text
    assert "auto_open_confirm='yes'" in text
    assert "confirm_key_guard_seconds=True" in text
