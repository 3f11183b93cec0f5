"""`wsb risk stress --db PATH`: the stored portfolio through the six scenarios."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest

from engine.domain import Equity, Fill, OptionContract, OptionRight, Portfolio, Position, Side
from engine.risk.cli_stress import format_stress_text, stress_from_db, stress_report
from engine.risk.portfolio_model import MissingRiskInput
from engine.store import Store

AS_OF = datetime(2026, 1, 6, 20, 0, tzinfo=UTC)


def _port(cash: float, *ps: Position) -> Portfolio:
    return Portfolio(
        ts=AS_OF, cash=Decimal(str(cash)), positions=MappingProxyType({p.symbol: p for p in ps})
    )


def test_stress_report_when_100_spy_and_cash_then_hand_computed_pnl() -> None:
    spy = Position(Equity("SPY"), 100, Decimal(500))
    rep = stress_report(_port(50_000.0, spy), {"SPY": 500.0}, {}, as_of=AS_OF, marks_from="test")
    by = {r["key"]: r for r in rep["scenarios"]}
    # 2008: equity -50% on $50k = -25,000; liquidity 0.5 x 80% x 1% x 50,000 = 200.
    assert by["2008_financial_crisis"]["pnl"] == pytest.approx(-25_200.0)
    assert by["2008_financial_crisis"]["pnl_pct"] == pytest.approx(-0.252)
    assert not by["2008_financial_crisis"]["passed"]
    assert by["2008_financial_crisis"]["recovery_days"] == pytest.approx(730 * 1.5)
    # Flash crash: -20% = -10,000; liquidity 0.5 x 90% x 1% x 50,000 = 225.
    assert by["flash_crash_2010"]["pnl"] == pytest.approx(-10_225.0)
    assert by["flash_crash_2010"]["passed"]
    # AI bubble: no broad-equity shock, SPY's sector unknown -> only rotation cost.
    assert by["ai_bubble"]["market_pnl"] == pytest.approx(0.0)
    assert rep["value"] == pytest.approx(100_000.0)
    assert rep["passed"] == sum(r["passed"] for r in rep["scenarios"])
    json.dumps(rep)
    text = format_stress_text(rep)
    assert "2008 financial crisis" in text
    assert "FAIL" in text


def test_stress_report_when_no_positions_then_nothing_to_stress() -> None:
    rep = stress_report(_port(10_000.0), {}, {}, as_of=AS_OF)
    assert rep["scenarios"] == []
    assert rep["value"] == 10_000.0


def test_stress_report_when_option_has_no_vol_then_error_names_it() -> None:
    call = OptionContract("SPY", datetime(2026, 2, 20).date(), Decimal(520), OptionRight.CALL)
    with pytest.raises(MissingRiskInput, match=call.symbol):
        stress_report(_port(1e4, Position(call, 1, Decimal(3))), {"SPY": 500.0}, {}, as_of=AS_OF)


async def _db_with_spy(path: Path, *, snapshot: bool, clock: bool) -> None:
    store = await Store.open(path)
    try:
        await store.set_account(Decimal(100_000), Decimal(0), AS_OF)
        fill = Fill(
            "f1",
            "o1",
            "b1",
            Equity("SPY"),
            Side.BUY,
            100,
            Decimal(500),
            Decimal(0),
            AS_OF,
            strategy="index_baseline",
        )
        await store.record_fill(fill, account_cash=Decimal(50_000))
        if snapshot:
            await store.record_risk_snapshot(
                AS_OF, var=0.02, cvar=0.03, lvar=0.021,
                details={"book": {"spots": {"SPY": 450.0}, "ivs": {}, "rate": 0.04}},
            )  # fmt: skip
        if clock:
            await store.set_setting("sim_clock", AS_OF.isoformat())
    finally:
        await store.close()


async def test_stress_from_db_when_snapshot_has_marks_then_they_value_the_book(
    tmp_path: Path,
) -> None:
    db = tmp_path / "book.sqlite"
    await _db_with_spy(db, snapshot=True, clock=False)
    rep = await stress_from_db(db)
    assert rep["marks_from"].startswith("risk snapshot")
    assert rep["positions"] == 1
    assert rep["value"] == pytest.approx(50_000 + 100 * 450.0)
    by = {r["key"]: r for r in rep["scenarios"]}
    # index_baseline sensitivities: liquidity 0.2 x 80% x 1% x 45,000 = 72.
    assert by["2008_financial_crisis"]["pnl"] == pytest.approx(-22_500.0 - 72.0)


async def test_stress_from_db_when_no_snapshot_then_simulator_marks(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    await _db_with_spy(db, snapshot=False, clock=True)
    rep = await stress_from_db(db, seed=7)
    assert rep["marks_from"].startswith("simulator seed 7")
    assert rep["value"] > 50_000
    assert len(rep["scenarios"]) == 6


async def test_stress_from_db_when_nothing_to_mark_with_then_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "book.sqlite"
    await _db_with_spy(db, snapshot=False, clock=False)
    with pytest.raises(MissingRiskInput, match="no stored marks"):
        await stress_from_db(db)
    with pytest.raises(FileNotFoundError, match="no database"):
        await stress_from_db(tmp_path / "missing.sqlite")
