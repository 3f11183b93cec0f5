"""The HTML report and CSVs, and the `wsb backtest` command."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import click
import pytest
from bt_helpers import sma_csv
from click.testing import CliRunner

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync
from wsb_tui.commands_backtest import register


@pytest.fixture(scope="module")
def result(prices_dir):  # one real-price run shared by the report tests
    return run_backtest_sync(sma_csv(prices_dir, date(2018, 10, 1), date(2019, 3, 29)))


def test_report_when_written_then_offline_html_with_four_charts_and_csvs(result, tmp_path):
    pytest.importorskip("matplotlib")
    from engine.backtest.report import write_report

    files = write_report(result, tmp_path / "rep")
    page = files.html.read_text()
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 4
    assert not re.search(r"(src|href)=\"https?://", page), "the report must open offline"
    assert "Monthly returns" in page
    assert f"{result.summary.sharpe:,.3f}" in page
    with files.trades_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.trades)
    closed = [r for r in rows if r["exit_ts"]]
    assert sum(float(r["pnl"]) for r in closed) == pytest.approx(
        sum(t.pnl for t in result.trades if t.closed), abs=0.05
    )
    with files.daily_csv.open() as fh:
        days = list(csv.DictReader(fh))
    assert [d["session"] for d in days] == [s.isoformat() for s in result.sessions]
    assert float(days[-1]["equity"]) == pytest.approx(result.summary.end_equity, abs=0.01)


def _cli() -> click.Group:
    @click.group()
    def main() -> None:
        pass

    register(main)
    return main


def test_cli_when_json_then_parsable_result_with_checks(prices_dir, tmp_path):
    out = CliRunner().invoke(
        _cli(),
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--data",
            f"csv:{prices_dir}",
            "--symbols",
            "SPY,AAPL",
            "--start",
            "2019-01-02",
            "--end",
            "2019-03-29",
            "--param",
            "sma_cross.fast=3",
            "--param",
            "sma_cross.slow=10",
            "--param",
            'sma_cross.symbols=["SPY","AAPL"]',
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["checks"]["ok"] is True
    assert doc["config"]["params"] == {
        "sma_cross": {"fast": 3, "slow": 10, "symbols": ["SPY", "AAPL"]}
    }
    assert doc["sessions"] == 61
    assert doc["summary"]["trades"] >= 1


def test_cli_when_report_dir_then_files_written_and_named(prices_dir, tmp_path):
    pytest.importorskip("matplotlib")
    out = CliRunner().invoke(
        _cli(),
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--data",
            f"csv:{prices_dir}",
            "--start",
            "2019-01-02",
            "--end",
            "2019-02-28",
            "--report",
            str(tmp_path / "r"),
        ],
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r" / "report.html").exists()
    assert "sharpe" in out.output
    # Figures carry their units: dollars, sessions.
    assert re.search(r"start_equity\s+\$100,000\.00\n", out.output)
    assert re.search(r"max_drawdown_duration\s+\d+ sessions\n", out.output)
    assert re.search(r"recovery_periods\s+(\d+ sessions|not recovered)\n", out.output)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "strategy nope: allowed"),
        (["--strategy", "sma_cross", "--data", "ftp:x"], "use 'sim', 'csv:DIR'"),
        (["--strategy", "sma_cross", "--param", "fast=3"], "use STRATEGY.FIELD=VALUE"),
        (["--strategy", "sma_cross", "--capital", "lots"], "'lots' is not a number"),
        (["--strategy", "sma_cross", "--profile", "yolo"], "profile='yolo'"),
    ],
)
def test_cli_when_bad_input_then_usage_error_names_it(args, message):
    out = CliRunner().invoke(
        _cli(), ["backtest", "--start", "2026-01-05", "--end", "2026-02-27", *args]
    )
    assert out.exit_code == 2
    assert message in out.output


def test_config_when_bad_values_then_errors_name_field_and_value(prices_dir: Path):
    with pytest.raises(ValueError, match="end=2026-01-01 is before start=2026-02-01"):
        BacktestConfig(strategies=("sma_cross",), start=date(2026, 2, 1), end=date(2026, 1, 1))
    with pytest.raises(ValueError, match=r"params for \['wheel'\]"):
        BacktestConfig(
            strategies=("sma_cross",),
            start=date(2026, 1, 5),
            end=date(2026, 2, 1),
            params={"wheel": {}},
        )
    with pytest.raises(ValueError, match=r"price files in .* cover"):
        run_backtest_sync(
            BacktestConfig(
                strategies=("sma_cross",),
                start=date(2030, 1, 2),
                end=date(2030, 2, 1),
                data=DataSpec("csv", prices_dir),
            )
        )
    assert DataSpec.parse("csv:/x/y") == DataSpec("csv", Path("/x/y"))


def test_cli_when_sweep_with_walk_forward_then_table_ranks_is_with_oos(tmp_path):
    out = CliRunner().invoke(
        _cli(),
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--data",
            "sim",
            "--symbols",
            "SPY,QQQ,AAPL",
            "--start",
            "2026-01-05",
            "--end",
            "2026-04-30",
            "--param",
            'sma_cross.symbols=["SPY","QQQ","AAPL"]',
            "--sweep",
            "fast=2,3",
            "--sweep",
            "slow=8",
            "--walk-forward",
            "40:20",
            "--workers",
            "0",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert len(doc["splits"]) == 2  # 81 sessions: folds at 0 and 20
    assert [r["rank"] for r in doc["rows"]] == [1, 2]
    assert {r["params"]["fast"] for r in doc["rows"]} == {2, 3}
    first, second = doc["rows"]
    assert (first["is_sharpe"] or -1e9) >= (second["is_sharpe"] or -1e9)
    assert "oos_sharpe" in first
