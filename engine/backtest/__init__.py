"""`engine.backtest`: history replayed through the live engine path, measured and checked.

run_backtest(BacktestConfig(...)) -> BacktestResult      (async; run_backtest_sync too)
walk_forward_splits(sessions, train=, test=) -> [Split]
run_sweep(config, strategy, grid, splits=...) -> SweepResult   (processes or Dask)
write_report(result, directory) -> ReportFiles                  (engine.backtest.report)
"""

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.result import BacktestResult, ConsistencyReport, DailyRecord
from engine.backtest.runner import (
    BacktestCancelled,
    CancelFn,
    ProgressFn,
    prepare_data,
    run_backtest,
    run_backtest_sync,
)
from engine.backtest.sweep import SweepResult, SweepRow, param_grid, run_sweep
from engine.backtest.walkforward import Split, walk_forward_splits

__all__ = [
    "BacktestCancelled",
    "BacktestConfig",
    "BacktestResult",
    "CancelFn",
    "ConsistencyReport",
    "DailyRecord",
    "DataSpec",
    "ProgressFn",
    "Split",
    "SweepResult",
    "SweepRow",
    "param_grid",
    "prepare_data",
    "run_backtest",
    "run_backtest_sync",
    "run_sweep",
    "walk_forward_splits",
]
