"""`wsb engine` headless and `wsb status` reading what it stored."""

from __future__ import annotations

import json

from click.testing import CliRunner

from wsb_tui.cli import main


def test_engine_then_status_when_one_day_run_then_json_matches_stored_state(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[strategies]\nenabled = ["index_baseline"]\n')
    db = tmp_path / "s.sqlite"
    runner = CliRunner()
    res = runner.invoke(
        main,
        ["engine", "--config", str(cfg), "--db", str(db), "--run-for", "1d", "--json", "--quiet"],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["strategies"]["index_baseline"]["state"] == "running"
    assert summary["ticks"] == 390  # one full regular session, minute by minute

    st = runner.invoke(main, ["status", "--db", str(db), "--json"])
    assert st.exit_code == 0, st.output
    status = json.loads(st.output)
    assert status["source"] == "database"
    held = {p["symbol"]: p["quantity"] for p in status["positions"]}
    assert held == summary["positions"]
    assert status["account"]["cash"] == summary["cash"]
    assert status["last_equity_snapshot"] is not None


def test_status_when_no_database_then_error_and_nonzero(tmp_path):
    res = CliRunner().invoke(main, ["status", "--db", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 1
    assert "no database" in res.output


def test_strategies_cli_when_json_then_all_ten_with_params_under_profile():
    res = CliRunner().invoke(main, ["strategies", "--profile", "wsb_2025", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 10
    wheel = next(r for r in rows if r["name"] == "wheel")
    assert wheel["profile"] == "wsb_2025"
    assert wheel["allocation_cap"] == 0.42
    assert wheel["params"]["min_iv_rank"] == 25
