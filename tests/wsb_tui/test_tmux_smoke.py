"""The desk started under tmux as a person would: drawn, y confirms, n rejects, q quits.

Runs scripts/tmux_smoke.sh against the real `wsb` (embedded simulator). Needs tmux;
CI installs it (`apt-get install -y tmux`, see scripts/test.sh).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "tmux_smoke.sh"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install -y tmux)"
)
def test_tmux_when_person_drives_desk_then_drawn_confirmed_rejected_and_quit(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env={**os.environ, "WSB_SMOKE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok" in done.stdout
    assert (tmp_path / "exit_code").read_text().strip() == "0"
    assert "CONFIRM" in (tmp_path / "proposal1.txt").read_text()
