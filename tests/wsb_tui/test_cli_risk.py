"""`wsb risk var` on the shared SPY history against the independent reference values."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from wsb_tui.cli import main


@pytest.mark.parametrize(
    ("end", "expected_var"),
    [
        # shared/reference README headline table: simple returns, 99 %, historical (linear)
        ("2022-09-15", 0.034193),
        ("2009-12-31", 0.064137),
    ],
)
def test_risk_var_cli_when_reference_window_then_matches_reference(prices_dir, end, expected_var):
    res = CliRunner().invoke(
        main,
        [
            "risk",
            "var",
            "--csv",
            str(prices_dir / "SPY.csv"),
            "--confidence",
            "0.99",
            "--method",
            "historical",
            "--window",
            "500",
            "--end",
            end,
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["n_returns"] == 500
    assert out["var"] == pytest.approx(expected_var, abs=5e-7)
    assert out["cvar"] >= out["var"]


def test_risk_var_cli_when_confidence_out_of_range_then_clear_error(prices_dir):
    res = CliRunner().invoke(
        main, ["risk", "var", "--csv", str(prices_dir / "SPY.csv"), "--confidence", "99"]
    )
    assert res.exit_code == 2
    assert "between 0.5 and 1" in res.output
