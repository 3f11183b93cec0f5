"""The plain-language notes a backtest result carries about how the run went."""

from __future__ import annotations

from datetime import date

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync


def _run(strategies: tuple[str, ...], step: str) -> tuple[int, tuple[str, ...]]:
    cfg = BacktestConfig(
        strategies=strategies,
        start=date(2024, 1, 2),
        end=date(2024, 1, 31),
        data=DataSpec("sim"),
        symbols=("SPY", "QQQ", "AAPL", "IWM"),
        step=step,
        seed=7,
        profile="wsb_2025",
    )
    res = run_backtest_sync(cfg)
    return len(res.fills), res.notes


def test_notes_when_intraday_strategy_idle_on_daily_step_then_named_with_the_fix() -> None:
    # The lotto scanner's entries close at 15:30 ET; a daily step ticks at 15:59:59.
    fills, notes = _run(("lotto_scanner", "index_baseline"), "day")
    assert fills > 0  # the index baseline traded: only the idle one is named
    (note,) = [n for n in notes if "made no trades" in n]
    assert note.startswith("lotto_scanner made no trades")
    assert "--step minute" in note


def test_notes_when_only_daily_strategies_then_no_idle_note() -> None:
    _, notes = _run(("index_baseline",), "day")
    assert not [n for n in notes if "made no trades" in n]
