"""`engine.backtest`: history replayed through the live engine path, measured and checked.

run_backtest(BacktestConfig(...)) -> BacktestResult      (async; run_backtest_sync too)
walk_forward_splits(sessions, train=, test=) -> [Split]
run_sweep(config, strategy, grid, splits=...) -> SweepResult   (processes or Dask)
write_report(result, directory) -> ReportFiles                  (engine.backtest.report)

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS: dict[str, tuple[str, str]] = {
    "BacktestConfig": ("engine.backtest.config", "BacktestConfig"),
    "DataSpec": ("engine.backtest.config", "DataSpec"),
    "BacktestResult": ("engine.backtest.result", "BacktestResult"),
    "ConsistencyReport": ("engine.backtest.result", "ConsistencyReport"),
    "DailyRecord": ("engine.backtest.result", "DailyRecord"),
    "BacktestCancelled": ("engine.backtest.runner", "BacktestCancelled"),
    "CancelFn": ("engine.backtest.runner", "CancelFn"),
    "ProgressFn": ("engine.backtest.runner", "ProgressFn"),
    "prepare_data": ("engine.backtest.runner", "prepare_data"),
    "run_backtest": ("engine.backtest.runner", "run_backtest"),
    "run_backtest_sync": ("engine.backtest.runner", "run_backtest_sync"),
    "SweepResult": ("engine.backtest.sweep", "SweepResult"),
    "SweepRow": ("engine.backtest.sweep", "SweepRow"),
    "param_grid": ("engine.backtest.sweep", "param_grid"),
    "run_sweep": ("engine.backtest.sweep", "run_sweep"),
    "Split": ("engine.backtest.walkforward", "Split"),
    "walk_forward_splits": ("engine.backtest.walkforward", "walk_forward_splits"),
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
