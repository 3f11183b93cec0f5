"""The engine never imports the UI: proven in a fresh interpreter, as Harlequin does."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def _engine_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(engine.__path__, prefix="engine.")
        if "tests" not in m.name
    )


def test_import_every_engine_module_when_fresh_then_no_textual_rich_or_ui_package() -> None:
    mods = _engine_modules()
    assert len(mods) > 20  # the walk found the real package, not an empty shell
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'textual', 'rich', 'widgets', 'wsb_tui'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "", f"engine imported UI modules: {out.stdout.strip()}"
