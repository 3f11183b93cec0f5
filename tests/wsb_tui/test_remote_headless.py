"""Headless support: SIGHUP reload applies only what is safe, JSON logs are redacted, the
systemd unit runs the engine, and `wsb status` reads a live engine or says it fell back."""

from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.runtime.config import load_config
from engine.runtime.control.harness import serve_embedded
from engine.runtime.engine import RunBudget
from engine.runtime.gate import GateMode
from engine.strategies.index_baseline import IndexBaseline
from wsb_tui.commands_remote import status as status_cmd
from wsb_tui.remote.endpoint import Endpoint
from wsb_tui.remote.logfmt import JsonFormatter, RedactingFilter, configure_logging
from wsb_tui.remote.reload import apply_reload
from wsb_tui.remote.status import print_status
from wsb_tui.remote.systemd import systemd_unit


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="wsbh-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _cfg(**sections):
    return load_config(None, environ={}, overrides=sections)


async def test_reload_when_config_changes_then_safe_parts_applied_rest_reported(short_dir):
    old = _cfg(engine={"gate": "auto", "confirm_timeout_s": 300})
    async with serve_embedded(
        short_dir, strategies=[IndexBaseline.from_profile("research_2024")], gate="auto"
    ) as served:
        eng = served.engine
        await eng.set_profile("index_baseline", "research_2024")
        new = _cfg(
            engine={"gate": "confirm", "confirm_timeout_s": 60, "speed": 5.0},
            risk={
                "max_order_notional": 1234.0,
                "max_orders_per_second": 3.0,
                "max_cancels_per_second": 4.0,
                "tail_hedge": True,
            },
            data={"seed": 99},
            strategies={"profile": "wsb_2025"},
        )
        rep = await apply_reload(eng, old, new)
        assert eng.risk.limits.max_order_notional == 1234.0
        assert eng.risk.throttle is not None
        assert eng.risk.throttle.per_second == 3.0
        assert eng.risk.cancel_throttle.per_second == 4.0
        # The hedger is built at start: switching it on says so instead of claiming it.
        assert any("risk.tail_hedge " in r for r in rep.needs_restart)
        assert eng.gate.timeout.total_seconds() == 60
        assert eng.gate.mode is GateMode.CONFIRM
        assert eng.manager.get("index_baseline").profile == "wsb_2025"
        assert "[data]" in rep.needs_restart
        assert any("speed" in r for r in rep.needs_restart)
        assert any("SIGHUP reload" in line for line in eng.log_lines)
        # Loosening the gate is never applied live; a trader's live profile switch survives.
        await eng.set_profile("index_baseline", "research_2024")
        again = _cfg(
            engine={"gate": "auto", "confirm_timeout_s": 60, "speed": 5.0},
            risk={
                "max_order_notional": 1234.0,
                "max_orders_per_second": 3.0,
                "max_cancels_per_second": 4.0,
                "tail_hedge": True,
            },
            data={"seed": 99},
            strategies={"profile": "wsb_2025"},
        )
        rep2 = await apply_reload(eng, new, again)
        assert eng.gate.mode is GateMode.CONFIRM
        assert any("gate = auto" in r for r in rep2.needs_restart)
        assert eng.manager.get("index_baseline").profile == "research_2024"


def test_json_logs_when_secrets_logged_then_redacted_and_one_object_per_line():
    buf = io.StringIO()
    handler = configure_logging("json", stream=buf)
    try:
        from wsb_tui.remote.logfmt import redactor

        redactor().add("s3cr3t-token-value")
        log = logging.getLogger("wsb_tui.test")
        log.info("hello %s", "world")
        log.warning("client sent token s3cr3t-token-value by mistake")
        log.warning("config api_key=ABCDEF123 password: hunter2")
        try:
            raise ValueError("boom s3cr3t-token-value")
        except ValueError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert [r["message"] for r in lines[:1]] == ["hello world"]
    text = buf.getvalue()
    for secret in ("s3cr3t-token-value", "ABCDEF123", "hunter2"):
        assert secret not in text
    assert lines[-1]["level"] == "error"
    assert "ValueError" in lines[-1]["exc"]
    with pytest.raises(ValueError, match="'text' and 'json'"):
        configure_logging("xml")
    assert RedactingFilter(["abc"]).scrub("x abc y token=zzz") == "x *** y token=***"
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "m"})), str)


def test_systemd_unit_when_printed_then_runs_engine_json_logs_and_reloads_with_hup():
    unit = systemd_unit(["--socket", "/run/user/1000/wsb-tui/engine.sock", "--print-systemd-unit"])
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert " engine --socket /run/user/1000/wsb-tui/engine.sock --log-format json" in exec_line
    assert "--print-systemd-unit" not in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "KillSignal=SIGTERM" in unit
    assert "[Install]" in unit


async def test_status_when_engine_running_then_live_else_database_with_note(short_dir, capsys):
    async with serve_embedded(
        short_dir, strategies=[IndexBaseline.from_profile("research_2024")], gate="auto"
    ) as served:
        await served.engine.advance(RunBudget(sessions=1))
        code = await print_status(Endpoint(socket_path=served.socket_path), None, as_json=True)
        out = json.loads(capsys.readouterr().out)
        assert code == 0
        assert out["source"] == "engine"
        assert out["ts"] == served.engine.clock.now().isoformat()
        assert out["positions"], "the index sleeve bought on day one"
        assert out["strategies"]["index_baseline"]["state"] == "running"
        db = served.emb.db_path
        code = await print_status(Endpoint(socket_path=short_dir / "nope.sock"), db, as_json=True)
        out = json.loads(capsys.readouterr().out)
        assert code == 0
        assert out["source"] == "database"
        assert out["live"] is False
        assert "no engine is running" in out["note"]


def test_status_cli_when_no_engine_and_no_database_then_says_so(short_dir):
    res = CliRunner().invoke(
        status_cmd, ["--socket", str(short_dir / "x.sock"), "--db", str(short_dir / "none.db")]
    )
    assert res.exit_code == 1
    assert "no engine is running" in res.output
