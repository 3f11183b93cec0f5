"""Backtests over the real price files, checked for internal consistency: the ledger balances
(`Store.verify_ledger`), equity = cash + marked positions every day (rebuilt from the stored
fills), strategies add up to the account, and fills happen at prices the day could trade at."""

from __future__ import annotations

import csv
import math
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from bt_helpers import CSV_SYMBOLS, sma_csv

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.consistency import check_attribution, check_equity_curve
from engine.backtest.runner import run_backtest_sync


def _closes(prices_dir, symbol: str) -> dict[date, float]:
    with (prices_dir / f"{symbol}.csv").open() as fh:
        return {date.fromisoformat(r["date"]): float(r["adj_close"]) for r in csv.DictReader(fh)}


def test_sma_over_two_years_of_real_prices_when_run_then_every_check_holds(prices_dir):
    res = run_backtest_sync(sma_csv(prices_dir, date(2018, 1, 2), date(2019, 12, 31)))
    spy = _closes(prices_dir, "SPY")
    assert list(res.sessions) == sorted(
        d for d in spy if date(2018, 1, 2) <= d <= date(2019, 12, 31)
    )
    assert res.summary.trades >= 20
    assert res.checks.ledger == ()
    assert res.checks.equity == ()
    assert res.checks.attribution == ()
    assert res.checks.max_equity_error < 0.01
    # Every day's marks are that session's (adjusted) closes from the file.
    files = {s: _closes(prices_dir, s) for s in CSV_SYMBOLS}
    assert sum(1 for d in res.daily if d.marks) > 100
    for d in res.daily:
        for sym, mark in d.marks.items():
            assert mark == pytest.approx(files[sym][d.session], rel=1e-12)
    # The benchmark is SPY's adjusted close series.
    assert res.summary.benchmark_return == pytest.approx(
        spy[date(2019, 12, 31)] / spy[date(2017, 12, 29)] - 1.0
    )


def test_fills_when_sma_trades_real_prices_then_within_that_days_range_plus_costs(prices_dir):
    res = run_backtest_sync(sma_csv(prices_dir, date(2019, 1, 2), date(2019, 9, 30)))
    assert res.fills
    ranges: dict[str, dict[date, tuple[float, float]]] = {}
    for sym in CSV_SYMBOLS:
        with (prices_dir / f"{sym}.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        ranges[sym] = {
            date.fromisoformat(r["date"]): (
                float(r["low"]) * float(r["adj_close"]) / float(r["close"]),
                float(r["high"]) * float(r["adj_close"]) / float(r["close"]),
            )
            for r in rows
        }
    for f in res.fills:
        lo, hi = ranges[f.symbol][f.ts.date()]
        # Far side of a 2 bp quote plus 2 bp slippage, rounded to the cent.
        assert lo * 0.999 - 0.01 <= float(f.price) <= hi * 1.001 + 0.01, f


def test_several_registry_strategies_on_real_prices_minute_step_then_checks_hold(prices_dir):
    cfg = BacktestConfig(
        strategies=("index_baseline", "wheel", "debit_spreads", "sma_cross"),
        start=date(2019, 3, 4),
        end=date(2019, 3, 5),
        data=DataSpec("csv", prices_dir),
        symbols=("SPY", "QQQ", "AAPL", "JPM"),
        step="minute",
        capital=Decimal(80_000),
        params={"sma_cross": {"fast": 2, "slow": 5, "symbols": ["AAPL", "JPM"]}},
    )
    res = run_backtest_sync(cfg)
    assert res.step == "minute"
    traded = {f.strategy for f in res.fills}
    assert "index_baseline" in traded, "the index sleeve buys on its first scan"
    assert res.errors == ()
    assert res.checks.ok, res.checks
    assert {a.strategy for a in res.attribution} >= {"index_baseline", "wheel", "sma_cross"}
    total = math.fsum(a.pnl for a in res.attribution)
    assert total == pytest.approx(res.summary.end_equity - res.start_equity, abs=0.01)


def test_equity_check_when_a_day_is_misreported_then_it_is_caught(prices_dir):
    res = run_backtest_sync(sma_csv(prices_dir, date(2019, 1, 2), date(2019, 3, 29)))
    held_days = [i for i, d in enumerate(res.daily) if d.holdings]
    assert held_days
    i = held_days[len(held_days) // 2]
    bad = list(res.daily)
    bad[i] = replace(bad[i], equity=bad[i].equity + 5.0)
    from engine.data.calendar import default_calendar

    closes = [default_calendar().session_close(d.session) for d in bad]
    problems, worst = check_equity_curve(bad, res.fills, closes, Decimal(100_000))
    assert len(problems) == 1
    assert str(bad[i].session) in problems[0]
    assert worst == pytest.approx(5.0)
    # A lost fill breaks every later day's cash.
    problems, _ = check_equity_curve(res.daily, res.fills[1:], closes, Decimal(100_000))
    assert problems
    assert check_attribution(bad, 100_000.0)
