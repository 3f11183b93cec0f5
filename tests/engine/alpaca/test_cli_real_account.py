"""`wsb engine` and `wsb` on the real-account path, against the fake Alpaca: broker/data
flags, the live gate (headless --confirm-live and the desk's typed confirmation), missing
keys, and secrets kept out of everything printed."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from alpaca_fake import KEY_ID, SECRET, FakeAlpaca, Fault
from click.testing import CliRunner, Result
from real_account_env import LIVE_NUMBER

from wsb_tui.cli import main

CONFIG = """
[alpaca]
use_stream = false
secondary = "none"
poll_seconds = 0.05
reconcile_seconds = 0.05
symbols = ["AAPL", "SPY"]

[strategies]
enabled = []
"""
REAL = ["--broker", "alpaca", "--data", "alpaca"]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "wsb.toml"
    path.write_text(CONFIG)
    return path


def run_engine(config_file: Path, db: Path, *extra: str) -> Result:
    args = ["engine", "--config", str(config_file), "--db", str(db), *REAL]
    args += ["--run-for", "2m", "--json", "--quiet", *extra]
    return CliRunner().invoke(main, args)


def summary(result: Result) -> dict[str, Any]:
    last = result.stdout.strip().splitlines()[-1]
    out: dict[str, Any] = json.loads(last)
    return out


def stored_events(db: Path, kind: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM events WHERE kind = ?", (kind,)).fetchall()
    return [json.loads(r[0]) for r in rows]


# -- wsb engine ---------------------------------------------------------------------------


def test_engine_when_alpaca_broker_and_data_then_runs_the_budget_on_the_account(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    db = tmp_path / "paper.sqlite"
    result = run_engine(config_file, db)
    assert result.exit_code == 0, result.output
    out = summary(result)
    assert out["ticks"] == 2
    assert out["market_time"].startswith("2025-03-03T15:0")  # the warped Monday morning
    assert out["cash"] == "100000"  # the Alpaca account's cash, not the simulator's
    assert out["db"] == str(db)
    assert real_env.count("GET", "/v2/account") >= 1
    assert real_env.count("GET", "/v2/stocks/bars") >= 2  # history, then one batch a minute
    [started] = stored_events(db, "engine_started")
    assert (started["mode"], started["broker"]) == ("PAPER", "alpaca")
    assert "Traceback" not in result.output


def test_engine_when_live_without_confirm_live_then_refused_before_anything_runs(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    db = tmp_path / "live.sqlite"
    result = run_engine(config_file, db, "--live")
    assert result.exit_code == 2
    assert "--confirm-live SUFFIX" in result.stderr
    assert "Traceback" not in result.output
    assert not db.exists()
    assert real_env.count("POST", "/v2/orders") == 0


def test_engine_when_confirm_live_wrong_then_refused_without_revealing_the_suffix(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    db = tmp_path / "live.sqlite"
    result = run_engine(config_file, db, "--live", "--confirm-live", "0000")
    assert result.exit_code == 2
    assert "does not match" in result.stderr
    assert "4635" not in result.output
    assert not db.exists()


def test_engine_when_confirm_live_right_then_live_under_conservative_limits(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    db = tmp_path / "live.sqlite"
    result = run_engine(config_file, db, "--live", "--confirm-live", "4635")
    assert result.exit_code == 0, result.output
    assert summary(result)["ticks"] == 2
    [started] = stored_events(db, "engine_started")
    assert started["mode"] == "LIVE"
    assert "risk.max_position_pct = 0.05 (conservative profile" in result.stderr
    assert "risk.max_total_risk_pct = 0.1 (conservative profile" in result.stderr


def test_engine_when_live_and_limit_set_in_config_then_that_limit_kept_and_said(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    config_file.write_text(CONFIG + "\n[risk]\nmax_position_pct = 0.2\n")
    result = run_engine(config_file, tmp_path / "l.sqlite", "--live", "--confirm-live", "4635")
    assert result.exit_code == 0, result.output
    assert "risk.max_position_pct = 0.2 set explicitly: kept for live trading" in result.stderr
    assert "risk.max_total_risk_pct = 0.1 (conservative profile" in result.stderr


def test_engine_when_keys_missing_then_names_both_variables_and_exits_2(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_SECRET_KEY")
    result = run_engine(config_file, tmp_path / "k.sqlite")
    assert result.exit_code == 2
    assert "ALPACA_API_KEY" in result.stderr
    assert "ALPACA_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert real_env.log == []


def test_engine_when_server_echoes_the_secret_then_output_shows_it_masked_only(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path
) -> None:
    real_env.fault(
        "GET /v2/stocks/bars",
        Fault(500, {"code": 50010000, "message": f"internal error for key {SECRET}"}),
    )
    db = str(tmp_path / "s.sqlite")
    args = ["engine", "--config", str(config_file), "--db", db, *REAL, "--run-for", "1m"]
    result = CliRunner().invoke(main, [*args, "--json", "--log-format", "json"])
    assert result.exit_code == 0, result.output
    assert "internal error for key ****" in result.stderr  # the line was logged, masked
    assert SECRET not in result.output
    assert KEY_ID not in result.output


# -- wsb (the desk) -------------------------------------------------------------------------


@pytest.fixture
def desk_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replaces the Textual app: records how the desk would have been started."""
    calls: list[dict[str, Any]] = []

    def fake_run_tui(client: object = None, **kw: Any) -> None:
        calls.append(kw)

    monkeypatch.setattr("wsb_tui.app.run_tui", fake_run_tui)
    return calls


def run_desk(config_file: Path, db: Path, *extra: str, typed: str | None = None) -> Result:
    args = ["--config", str(config_file), "--db", str(db), *REAL, *extra]
    return CliRunner().invoke(main, args, input=typed)


def test_desk_when_live_and_suffix_typed_then_desk_starts_a_live_engine(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, desk_runs: list[dict[str, Any]]
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    db = tmp_path / "desk.sqlite"
    result = run_desk(config_file, db, "--live", typed="4635\n")
    assert result.exit_code == 0, result.output
    assert "Type the last four digits of the account number" in result.output
    [call] = desk_runs  # the prompt came first, then the desk
    builder, cfg = call["builder"], call["config"]
    assert cfg.engine.mode == "live"

    async def build() -> tuple[str, float | None]:
        emb = await builder(cfg, db_path=db, headless=False, speed=call["speed"])
        try:
            return emb.engine.mode_label, emb.engine.risk.limits.max_position_pct
        finally:
            await emb.close()

    assert asyncio.run(build()) == ("LIVE", 0.05)


@pytest.mark.parametrize("typed", ["1234\n", "\n", "PA3XYZ\n"])
def test_desk_when_live_and_wrong_answer_then_canceled_before_the_desk(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    typed: str,
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    db = tmp_path / "desk.sqlite"
    result = run_desk(config_file, db, "--live", typed=typed)
    assert result.exit_code == 2
    assert "did not match" in result.stderr
    assert "Traceback" not in result.output
    assert desk_runs == []
    assert not db.exists()


def test_desk_when_live_on_a_paper_account_then_refused_without_asking(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, desk_runs: list[dict[str, Any]]
) -> None:
    result = run_desk(config_file, tmp_path / "d.sqlite", "--live", typed="9876\n")
    assert result.exit_code == 2
    assert "PAPER account" in result.stderr
    assert "Type the last four digits" not in result.output
    assert desk_runs == []


def test_desk_when_alpaca_broker_and_keys_missing_then_names_both_and_exits_2(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_SECRET_KEY")
    result = CliRunner().invoke(main, ["--config", str(config_file), "--broker", "alpaca"])
    assert result.exit_code == 2
    assert "ALPACA_API_KEY" in result.stderr
    assert "ALPACA_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert desk_runs == []


def test_desk_when_paper_account_then_no_prompt_and_paper_builder(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, desk_runs: list[dict[str, Any]]
) -> None:
    result = run_desk(config_file, tmp_path / "p.sqlite")
    assert result.exit_code == 0, result.output
    assert "last four digits" not in result.output
    [call] = desk_runs
    assert call["config"].engine.mode == "paper"
    # One look at the account before the desk (the keys work); the desk builds the engine.
    assert real_env.log == [("GET", "/v2/account")]


def test_desk_when_live_on_the_simulator_then_refused_naming_the_broker_flag(
    config_file: Path, desk_runs: list[dict[str, Any]]
) -> None:
    result = CliRunner().invoke(main, ["--config", str(config_file), "--live"])
    assert result.exit_code == 2
    assert "needs --broker alpaca" in result.stderr
    assert desk_runs == []


# -- wsb (the desk) on a paper account: the keys are checked before the desk opens -----------


def test_desk_when_paper_keys_refused_then_401_reported_before_the_desk_and_exit_2(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "wrong-secret-value-0123456789"
    monkeypatch.setenv("ALPACA_SECRET_KEY", wrong)
    db = tmp_path / "p.sqlite"
    result = run_desk(config_file, db)
    assert result.exit_code == 2
    assert "error: paper account: Alpaca refused the API keys" in result.stderr
    assert "HTTP 401" in result.stderr
    assert "ALPACA_SECRET_KEY" in result.stderr
    assert wrong not in result.output
    assert KEY_ID not in result.output
    assert "Traceback" not in result.output
    assert desk_runs == []  # refused on the plain terminal: the desk never opened
    assert not db.exists()
    assert real_env.log == [("GET", "/v2/account")]


def test_desk_when_the_401_echoes_the_keys_then_output_shows_them_masked_only(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, desk_runs: list[dict[str, Any]]
) -> None:
    echoed = f"request is not authorized for {KEY_ID} / {SECRET}"
    real_env.fault("GET /v2/account", Fault(401, {"code": 40110000, "message": echoed}))
    result = run_desk(config_file, tmp_path / "p.sqlite")
    assert result.exit_code == 2
    assert "refused the API keys" in result.stderr
    assert "request is not authorized for" in result.stderr
    assert SECRET not in result.output
    assert KEY_ID not in result.output
    assert desk_runs == []


def test_desk_when_paper_secret_missing_then_names_the_missing_variable_and_asks_nothing(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALPACA_SECRET_KEY")
    result = run_desk(config_file, tmp_path / "p.sqlite")
    assert result.exit_code == 2
    assert "no secret: set ALPACA_SECRET_KEY" in result.stderr
    assert KEY_ID not in result.output
    assert desk_runs == []
    assert real_env.log == []  # nothing sent to Alpaca with half a key pair


def test_desk_when_paper_trading_url_unreachable_then_says_so_before_the_desk(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("WSB_ALPACA_TRADING_URL", dead)
    config_file.write_text(
        CONFIG.replace("use_stream = false", "use_stream = false\nmax_retries = 0")
    )
    result = run_desk(config_file, tmp_path / "p.sqlite")
    assert result.exit_code == 2
    assert f"error: paper account: cannot read the Alpaca account at {dead}" in result.stderr
    assert SECRET not in result.output
    assert KEY_ID not in result.output
    assert "Traceback" not in result.output
    assert desk_runs == []


def test_desk_when_alpaca_broker_on_simulated_data_then_refused_before_any_request(
    real_env: FakeAlpaca, config_file: Path, desk_runs: list[dict[str, Any]]
) -> None:
    result = CliRunner().invoke(main, ["--config", str(config_file), "--broker", "alpaca"])
    assert result.exit_code == 2
    assert "never fed simulated prices; add --data alpaca" in result.stderr
    assert desk_runs == []
    assert real_env.log == []


DATA_ONLY = ["--broker", "paper", "--data", "alpaca"]


def test_desk_when_alpaca_data_keys_refused_then_reported_before_the_desk(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "wrong-secret-value-0123456789"
    monkeypatch.setenv("ALPACA_SECRET_KEY", wrong)
    args = ["--config", str(config_file), "--db", str(tmp_path / "d.sqlite"), *DATA_ONLY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "Alpaca market data refused the API keys" in result.stderr
    assert "HTTP 401" in result.stderr
    assert wrong not in result.output
    assert KEY_ID not in result.output
    assert desk_runs == []
    assert real_env.count("GET", "/v2/account") == 0  # the paper broker needs no account


def test_desk_when_alpaca_data_keys_accepted_then_desk_opens_after_one_quote(
    real_env: FakeAlpaca, config_file: Path, tmp_path: Path, desk_runs: list[dict[str, Any]]
) -> None:
    args = ["--config", str(config_file), "--db", str(tmp_path / "d.sqlite"), *DATA_ONLY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    [call] = desk_runs
    assert (call["config"].broker.kind, call["config"].data.kind) == ("paper", "alpaca")
    assert real_env.log == [("GET", "/v2/stocks/snapshots")]


def test_desk_when_engine_refuses_after_the_check_then_desk_closes_and_exit_2(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys revoked between the check and the build: the desk does not stay open engineless."""
    from wsb_tui.app import StartAborted

    db = tmp_path / "p.sqlite"

    def app_connecting(client: object = None, **kw: Any) -> SimpleNamespace:
        # What the app does with its connect factory (WsbApp._connect_engine).
        real_env.fault("GET /v2/account", Fault(401, {"code": 40110000, "message": "revoked"}))
        try:
            asyncio.run(kw["builder"](kw["config"], db_path=db, headless=False, speed=1.0))
        except StartAborted as exc:
            return SimpleNamespace(start_aborted=exc)
        raise AssertionError("the engine started on revoked keys")

    monkeypatch.setattr("wsb_tui.app.run_tui", app_connecting)
    result = run_desk(config_file, db)
    assert result.exit_code == 2
    assert "error: Alpaca refused the API keys" in result.stderr
    assert "revoked" in result.stderr
    assert SECRET not in result.output
    assert real_env.count("GET", "/v2/account") == 2  # the check, then the engine's own read


def test_desk_when_alpaca_data_unreachable_then_desk_opens_after_one_try(
    real_env: FakeAlpaca,
    config_file: Path,
    tmp_path: Path,
    desk_runs: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feed that is down is the failover's business, not a reason to refuse the start."""
    real_env.fault("GET /v2/stocks/snapshots", Fault(503, {"message": "down"}))
    real_env.fault("GET /v2/stocks/snapshots", Fault(503, {"message": "down"}))
    args = ["--config", str(config_file), "--db", str(tmp_path / "d.sqlite"), *DATA_ONLY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(desk_runs) == 1
    assert real_env.log == [("GET", "/v2/stocks/snapshots")]  # not retried before the desk
