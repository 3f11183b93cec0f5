"""`wsb data fetch` / `wsb data ls` on a recorded Yahoo source (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from yahoo_frames import RecordedYahoo

import wsb_tui.commands_data as commands_data


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> click.Group:
    from engine.data import yfinance_history

    monkeypatch.setattr(yfinance_history, "YFinanceClient", RecordedYahoo)

    @click.group()
    def main() -> None:
        pass

    commands_data.register(main)
    return main


def test_fetch_then_ls_when_recorded_source_then_rows_stored_and_listed(
    cli: click.Group, tmp_path: Path
) -> None:
    runner = CliRunner()
    cache = str(tmp_path / "c")
    res = runner.invoke(
        cli,
        [
            "data",
            "fetch",
            "nvda",
            "MSFT",
            "--start",
            "2024-06-05",
            "--end",
            "2024-06-12",
            "--cache-dir",
            cache,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NVDA" in res.output
    assert "6 rows" in res.output
    assert "5 rows" in res.output
    listed = runner.invoke(cli, ["data", "ls", "--json", "--cache-dir", cache])
    assert listed.exit_code == 0, listed.output
    rows = {(e["symbol"], e["interval"]): e["rows"] for e in json.loads(listed.output)}
    assert rows == {("MSFT", "1d"): 5, ("NVDA", "1d"): 6}


def test_fetch_when_end_before_start_then_usage_error_naming_both(
    cli: click.Group, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        cli,
        [
            "data",
            "fetch",
            "NVDA",
            "--start",
            "2024-06-12",
            "--end",
            "2024-06-01",
            "--cache-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "--end 2024-06-01 is before --start 2024-06-12" in res.output


def test_fetch_when_bad_symbol_then_usage_error(cli: click.Group, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["data", "fetch", "NV$DA", "--start", "2024-06-05", "--cache-dir", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "not a valid ticker" in res.output


def test_ls_when_cache_empty_then_says_so(cli: click.Group, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["data", "ls", "--cache-dir", str(tmp_path / "none")])
    assert res.exit_code == 0
    assert "cache empty" in res.output
