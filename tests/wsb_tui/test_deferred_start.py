"""`wsb` paints the desk first: nothing heavy before the paint, the config read behind it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from wsb_tui.app import StartAborted, WsbApp
from wsb_tui.launch import CONFIG_ERROR_EXIT, FULL_START_EXIT, _load_off_loop

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "pandas", "pydantic", "exchange_calendars", "engine.runtime.embedded")


def test_start_path_when_imported_then_no_heavy_engine_modules_loaded() -> None:
    code = (
        "import sys, wsb_tui.cli, wsb_tui.launch, wsb_tui.app;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_load_when_config_invalid_then_aborts_with_each_problem_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\nseed = -5\n[nonsense]\nx = 1\n")
    with pytest.raises(StartAborted) as info:
        _load_off_loop(bad, {})
    assert info.value.return_code == CONFIG_ERROR_EXIT
    problems = "\n".join(info.value.detail)  # type: ignore[arg-type]
    assert "data.seed = -5" in problems
    assert "nonsense" in problems


def test_load_when_config_needs_real_broker_then_hands_back_to_full_start(tmp_path: Path) -> None:
    cfg = tmp_path / "alpaca.toml"
    cfg.write_text('[broker]\nkind = "alpaca"\n[data]\nkind = "alpaca"\n')
    with pytest.raises(StartAborted) as info:
        _load_off_loop(cfg, {})
    assert info.value.return_code == FULL_START_EXIT


def test_load_when_simulator_config_then_returns_it_with_seed_override(tmp_path: Path) -> None:
    cfg = _load_off_loop(None, {"data": {"seed": 11}})
    assert cfg.data.kind == "sim"
    assert cfg.data.seed == 11
    assert "engine.runtime.embedded" in sys.modules  # imported here, off the UI's thread


async def test_app_when_connect_aborts_then_exits_with_its_code_and_keeps_reason(
    isolated_config: Path,
) -> None:
    async def connect() -> object:
        raise StartAborted("configuration error", return_code=2, detail=["x: bad"])

    app = WsbApp(None, connect=connect, settings_path=isolated_config / "settings.json")  # type: ignore[arg-type]
    async with app.run_test() as pilot:
        for _ in range(50):
            if app.start_aborted is not None:
                break
            await asyncio.sleep(0.02)
        await pilot.pause()
    assert app.start_aborted is not None
    assert app.start_aborted.detail == ["x: bad"]
    assert app.return_code == 2
