"""`wsb engine --print-systemd-unit`: a systemd *user* unit that runs the engine headless."""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Sequence

DROP = {"--print-systemd-unit"}


def wsb_executable() -> list[str]:
    found = shutil.which("wsb")
    return [found] if found else [sys.executable, "-c", "from wsb_tui.cli import main; main()"]


def systemd_unit(engine_args: Sequence[str], *, description: str = "wsb-tui trading engine") -> str:
    """The unit text for `wsb engine ENGINE_ARGS` (with --print-systemd-unit removed)."""
    args = [a for a in engine_args if a not in DROP]
    if "--log-format" not in args:
        args += ["--log-format", "json"]
    exec_start = " ".join(shlex.quote(a) for a in [*wsb_executable(), "engine", *args])
    return f"""\
# Save as ~/.config/systemd/user/wsb-engine.service, then:
#   systemctl --user daemon-reload && systemctl --user enable --now wsb-engine
#   loginctl enable-linger "$USER"   # keep it running when you are logged out
#   journalctl --user -u wsb-engine -f
#   systemctl --user reload wsb-engine   # SIGHUP: re-read the config where safe
# Attach from this machine with `wsb attach`; from a laptop with `ssh -t HOST wsb attach`.
[Unit]
Description={description}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=on-failure
RestartSec=5
Environment=PYTHONUNBUFFERED=1
# API keys (real brokers) live in a file only you can read, never in the unit:
# EnvironmentFile=-%h/.config/wsb-tui/secrets.env
UMask=0077
NoNewPrivileges=yes
PrivateTmp=yes

[Install]
WantedBy=default.target
"""
