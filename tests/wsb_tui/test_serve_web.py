"""`wsb serve --web`: the desk served to a browser on loopback with textual-serve.

A real `wsb serve --web` subprocess on a free 127.0.0.1 port; the page is fetched over HTTP
with urllib. The page alone needs no engine (textual-serve starts the attach command only
when a browser opens the websocket), so none is started here.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SERVE = "from wsb_tui.cli import main; main()"
has_textual_serve = importlib.util.find_spec("textual_serve") is not None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["WSB_CONFIG_DIR"] = str(tmp_path / "config")
    env["WSB_RUNTIME_DIR"] = str(tmp_path / "run")
    return env


def _fetch(url: str, deadline: float) -> tuple[int, str, str]:
    """GET `url`, retrying until the server listens or `deadline` passes."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                body = resp.read().decode("utf-8")
                return resp.status, resp.headers.get("Content-Type", ""), body
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.skipif(
    not has_textual_serve,
    reason="textual-serve is not installed (pip install 'wsb-tui[web]' or 'textual-serve')",
)
def test_serve_web_when_started_on_loopback_then_serves_the_desk_page(tmp_path: Path) -> None:
    port = _free_port()
    sock = tmp_path / "run" / "engine.sock"
    cmd = [sys.executable, "-c", SERVE, "serve", "--web", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--socket", str(sock)]
    proc = subprocess.Popen(
        cmd,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            status, ctype, body = _fetch(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
        except (ConnectionError, urllib.error.URLError):
            proc.kill()
            out = proc.communicate(timeout=10)[0].decode(errors="replace")
            pytest.fail(f"wsb serve --web never answered on port {port}; output:\n{out}")
        assert status == 200
        assert ctype.startswith("text/html")
        assert "<div>wsb</div>" in body  # the application name passed as title="wsb"
        # The browser's terminal connects back to the same loopback address and port.
        assert f"ws://127.0.0.1:{port}/ws" in body
        assert proc.poll() is None, "the server exited after serving one page"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    # SIGTERM is a clean stop: no traceback, and the port is free again.
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert "Traceback" not in out, out
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_serve_web_when_host_is_not_loopback_then_refuses_without_the_exposed_flag() -> None:
    from click.testing import CliRunner

    from wsb_tui.cli import main

    args = ["serve", "--web", "--host", "0.0.0.0", "--port", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "not loopback" in result.output
    assert "--i-know-this-is-exposed" in result.output
