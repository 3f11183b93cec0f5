"""`var_from_csv`, the pure function behind `wsb risk var`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.risk import InsufficientData
from engine.risk.cli_var import load_price_history, var_from_csv


@pytest.mark.parametrize("kind", ["simple", "log"])
@pytest.mark.parametrize("level", ["0.95", "0.99"])
def test_var_from_csv_when_reference_window_then_matches_reference(
    prices_dir: Path, var_ref: dict[str, Any], kind: str, level: str
) -> None:
    out = var_from_csv(
        prices_dir / "SPY.csv",
        float(level),
        "historical",
        returns=kind,
        window=500,
        end="2022-09-15",
    )  # type: ignore[arg-type]
    lv = var_ref["windows"]["last_500"]["results"][kind]["levels"][level]
    assert out["var"] == pytest.approx(lv["historical"]["var_numpy_quantile"]["linear"], rel=1e-9)
    assert out["cvar"] == pytest.approx(
        lv["historical"]["cvar_mean_le_var_by_method"]["linear"], rel=1e-9
    )
    assert out["first_return_date"] == "2020-09-22"
    assert out["last_return_date"] == "2022-09-15"
    assert out["n_returns"] == 500
    assert out["symbol"] == "SPY"
    json.dumps(out)  # the CLI prints it with --json


def test_var_from_csv_when_end_date_then_window_ends_there(
    prices_dir: Path, var_ref: dict[str, Any]
) -> None:
    out = var_from_csv(prices_dir / "SPY.csv", 0.99, "normal", window=500, end="2009-12-31")
    ref = var_ref["windows"]["gfc_500"]["results"]["simple"]["levels"]["0.99"]["normal"]
    assert out["var"] == pytest.approx(ref["var_mean_ddof1"], rel=1e-9)
    assert out["first_return_date"] == "2008-01-09"


def test_var_from_csv_when_student_t_then_details_carry_fitted_df(
    prices_dir: Path, var_ref: dict[str, Any]
) -> None:
    out = var_from_csv(prices_dir / "SPY.csv", 0.99, "student_t", window=500, end="2020-12-31")
    ref = var_ref["windows"]["covid_500"]["results"]["simple"]
    assert out["df"] == pytest.approx(ref["student_t_fit"]["refined_mle"]["df"], rel=1e-3)
    assert out["var"] == pytest.approx(
        ref["levels"]["0.99"]["student_t"]["refined_mle"]["var"], rel=1e-4
    )


def test_var_from_csv_when_default_window_then_last_252_returns(prices_dir: Path) -> None:
    out = var_from_csv(prices_dir / "QQQ.csv", 0.99, "evt")
    assert out["n_returns"] == 252
    assert out["cvar"] >= out["var"] > 0
    assert "fallback" in out


def test_var_from_csv_when_window_under_30_then_insufficient_data(prices_dir: Path) -> None:
    with pytest.raises(InsufficientData, match="29 observations"):
        var_from_csv(prices_dir / "SPY.csv", 0.99, "historical", window=29)


def test_var_from_csv_when_bad_method_then_error_lists_methods(prices_dir: Path) -> None:
    with pytest.raises(ValueError, match="historical, normal, student_t"):
        var_from_csv(prices_dir / "SPY.csv", 0.99, "garch")


def test_load_price_history_when_bad_rows_then_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "BAD.csv"
    p.write_text(
        "date,open,high,low,close,adj_close,volume\n2020-01-02,1,1,1,1,10,0\n2020-01-03,1,1,1,1,-5,0\n"
    )
    with pytest.raises(ValueError, match=r"BAD.csv:3: adj_close=-5.0"):
        load_price_history(p)
    p.write_text(
        "date,open,high,low,close,adj_close,volume\n2020-01-03,1,1,1,1,10,0\n2020-01-02,1,1,1,1,11,0\n"
    )
    with pytest.raises(ValueError, match="not after"):
        load_price_history(p)
    with pytest.raises(FileNotFoundError):
        load_price_history(tmp_path / "missing.csv")
