"""Widgets see engine *types* only; the engine never sees the UI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_ENGINE = ("engine.domain", "engine.runtime.views", "engine.runtime.client_api")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_widgets_and_screens_when_importing_engine_then_types_only() -> None:
    files = [
        *(ROOT / "widgets").rglob("*.py"),
        *(ROOT / "wsb_tui" / "screens").rglob("*.py"),
        ROOT / "wsb_tui" / "commands.py",
        ROOT / "wsb_tui" / "bindings.py",
    ]
    bad = {
        f"{f.relative_to(ROOT)}: {m}"
        for f in files
        for m in _imports(f)
        if m.startswith("engine") and not m.startswith(ALLOWED_ENGINE)
    }
    assert bad == set()


def test_engine_when_imported_then_no_textual_or_ui_modules() -> None:
    code = (
        "import sys, engine.domain, engine.runtime.views, engine.runtime.client_api;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('textual','widgets','wsb_tui','themes')];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
