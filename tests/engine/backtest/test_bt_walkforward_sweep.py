"""Walk-forward splits, parameter grids, sweeps (serial, local processes, Dask) and the
vectorised screen."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from bt_helpers import sma_csv, sma_sim

from engine.backtest.examples import sma_cross_positions
from engine.backtest.fastpath import screen, vector_returns
from engine.backtest.runner import run_backtest_sync
from engine.backtest.sweep import (
    dask_executor,
    param_grid,
    process_executor,
    run_sweep,
    serial_executor,
)
from engine.backtest.walkforward import walk_forward_splits

DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]


def test_splits_when_rolling_then_windows_follow_each_other():
    splits = walk_forward_splits(DAYS, train=4, test=2)
    assert [(s.is_start.day, s.is_end.day, s.oos_start.day, s.oos_end.day) for s in splits] == [
        (1, 4, 5, 6),
        (3, 6, 7, 8),
        (5, 8, 9, 10),
    ]


def test_splits_when_anchored_then_in_sample_grows_from_the_first_session():
    splits = walk_forward_splits(DAYS, train=4, test=3, anchored=True)
    assert [(s.is_start.day, s.is_end.day, s.oos_end.day) for s in splits] == [
        (1, 4, 7),
        (1, 7, 10),
    ]


def test_splits_when_range_too_short_then_error_says_why():
    with pytest.raises(ValueError, match="cannot hold train=8 \\+ test=3"):
        walk_forward_splits(DAYS, train=8, test=3)


def test_param_grid_when_two_fields_then_cartesian_product_in_stable_order():
    grid = param_grid({"slow": [20, 30], "fast": [5, 10]})
    assert grid == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
    ]
    with pytest.raises(ValueError, match="grid\\['fast'\\] is empty"):
        param_grid({"fast": []})


GRID = {"fast": [2, 4], "slow": [10]}


def test_sweep_when_walk_forward_then_ranked_by_in_sample_with_oos_beside():
    cfg = sma_sim(end=date(2026, 4, 30))
    sessions = [d.session for d in run_backtest_sync(cfg).daily]
    splits = walk_forward_splits(sessions, train=50, test=25, step=30)
    res = run_sweep(cfg, "sma_cross", GRID, splits=splits, executor=serial_executor)
    assert len(res.rows) == 2
    assert [r.rank for r in res.rows] == [1, 2]
    assert res.rows[0].is_metric >= res.rows[1].is_metric
    for row in res.rows:
        assert len(row.is_results) == len(splits) == len(row.oos_results)
        assert math.isfinite(row.oos_metric)
    table = res.table()
    assert set(table[0]) >= {"is_sharpe", "oos_sharpe", "degradation", "params"}
    # Each cell's in-sample figure is the mean of the per-split runs it reports.
    first = res.rows[0]
    assert first.is_metric == pytest.approx(np.mean([j.summary.sharpe for j in first.is_results]))


@pytest.mark.slow
def test_sweep_when_local_processes_then_same_figures_as_serial():
    cfg = sma_sim(end=date(2026, 2, 27))
    serial = run_sweep(cfg, "sma_cross", GRID, executor=serial_executor)
    parallel = run_sweep(cfg, "sma_cross", GRID, executor=process_executor(2))
    assert [r.params for r in serial.rows] == [r.params for r in parallel.rows]
    assert [r.is_results[0].fingerprint for r in serial.rows] == [
        r.is_results[0].fingerprint for r in parallel.rows
    ]


@pytest.mark.slow
def test_sweep_when_dask_local_cluster_then_same_figures_as_serial():
    distributed = pytest.importorskip("distributed")
    cfg = sma_sim(end=date(2026, 2, 27))
    serial = run_sweep(cfg, "sma_cross", GRID, executor=serial_executor)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        res = run_sweep(cfg, "sma_cross", GRID, executor=dask_executor(cluster.scheduler_address))
    assert [r.is_results[0].fingerprint for r in res.rows] == [
        r.is_results[0].fingerprint for r in serial.rows
    ]


def test_vector_twin_when_compared_with_engine_holdings_then_same_days_long(prices_dir):
    """The screen's signal is the strategy's: on real prices the days the engine held each
    symbol are the days the vectorised twin says long."""
    cfg = sma_csv(prices_dir, date(2019, 1, 2), date(2019, 12, 31))
    res = run_backtest_sync(cfg)
    from engine.backtest.fastpath import window_closes

    closes, before = window_closes(cfg, "sma_cross", {}, 40)
    pos = sma_cross_positions(closes, 5, 20)[before:]
    symbols = sorted(cfg.params["sma_cross"]["symbols"])
    held = np.array(
        [[1.0 if d.holdings.get(s, (0, 1))[0] > 0 else 0.0 for s in symbols] for d in res.daily]
    )
    assert held.shape == pos.shape
    agree = (held == pos).mean()
    assert agree > 0.99, agree


def test_screen_when_grid_scored_then_best_first_and_costs_lower_returns():
    rng = np.random.default_rng(5)
    closes = 100 * np.cumprod(1 + rng.normal(0.0005, 0.01, (300, 3)), axis=0)
    grid = param_grid({"fast": [3, 5, 10], "slow": [20, 40]})
    scores = screen("sma_cross", closes, grid)
    assert [s.sharpe for s in scores] == sorted((s.sharpe for s in scores), reverse=True)
    pos = sma_cross_positions(closes, 5, 20)
    assert vector_returns(closes, pos, 10.0).sum() < vector_returns(closes, pos, 0.0).sum()


def test_sweep_when_screen_top_then_only_best_cells_run_through_engine():
    cfg = sma_sim(end=date(2026, 2, 27))
    grid = {"fast": [2, 3, 4], "slow": [8, 12]}
    res = run_sweep(cfg, "sma_cross", grid, executor=serial_executor, screen_top=2)
    assert len(res.rows) == 2
    assert len(res.screened_out) == 4
    kept = min(r.screened for r in res.rows if r.screened is not None)
    assert all(s.sharpe <= kept or math.isnan(s.sharpe) for s in res.screened_out)
