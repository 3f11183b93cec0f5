"""Parameter sweeps: every cell of a strategy's parameter grid, in sample and out of sample.

Jobs are whole backtests (`run_backtest_sync` on a config), so they run anywhere Python runs:
in this process (`executor="serial"`), across local processes (`"process"`, the default:
`concurrent.futures.ProcessPoolExecutor`) or on an existing Dask distributed cluster
(`cluster="tcp://host:8786"`; needs the optional ``distributed`` package). No home-made
distribution layer: the job function and its config are all that travel.

Results are ranked by the in-sample figure with the out-of-sample figure beside it, so a cell
that only shines in sample (overfitting) is plain to see.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from engine.analytics import PerformanceSummary
from engine.backtest.config import BacktestConfig
from engine.backtest.fastpath import SCREENS, ScreenScore, screen, window_closes
from engine.backtest.runner import run_backtest_sync
from engine.backtest.walkforward import Split

METRICS = ("sharpe", "sortino", "calmar", "total_return", "cagr")


def param_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of `grid`, keys in sorted order (a stable cell order)."""
    if not grid:
        return [{}]
    keys = sorted(grid)
    for k in keys:
        if len(grid[k]) == 0:
            raise ValueError(f"grid[{k!r}] is empty: give at least one value")
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(grid[k] for k in keys))
    ]


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a worker sends back: figures, not the whole run."""

    summary: PerformanceSummary
    fingerprint: str
    fills: int
    ok: bool
    errors: tuple[str, ...]


def run_job(config: BacktestConfig) -> JobResult:
    """One backtest; top-level so process pools and Dask can pickle it."""
    res = run_backtest_sync(config)
    return JobResult(res.summary, res.fingerprint(), len(res.fills), res.checks.ok, res.errors)


@dataclass(frozen=True, slots=True)
class SweepRow:
    """One cell of the grid: its figures in sample and out of sample, per split and averaged."""

    rank: int
    params: Mapping[str, Any]
    is_metric: float
    oos_metric: float
    is_results: tuple[JobResult, ...]
    oos_results: tuple[JobResult, ...]
    screened: float | None = None  # the vectorised screen's in-sample Sharpe, when screened

    @property
    def degradation(self) -> float:
        """OOS minus IS: strongly negative values are the signature of overfitting."""
        return self.oos_metric - self.is_metric


@dataclass(frozen=True, slots=True)
class SweepResult:
    strategy: str
    metric: str
    splits: tuple[Split, ...]
    rows: tuple[SweepRow, ...]
    screened_out: tuple[ScreenScore, ...] = ()

    def table(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            out.append(
                {
                    "rank": r.rank,
                    "params": dict(r.params),
                    f"is_{self.metric}": _num(r.is_metric),
                    f"oos_{self.metric}": _num(r.oos_metric),
                    "degradation": _num(r.degradation),
                    "is_trades": sum(j.summary.trades for j in r.is_results),
                    "oos_trades": sum(j.summary.trades for j in r.oos_results),
                    "screen_sharpe": _num(r.screened) if r.screened is not None else None,
                }
            )
        return out


def _num(x: float) -> float | None:
    return round(x, 6) if math.isfinite(x) else None


def _metric(summary: PerformanceSummary, metric: str) -> float:
    value = getattr(summary, metric)
    return float(value) if value is not None else math.nan


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return math.fsum(finite) / len(finite) if finite else math.nan


Executor = Callable[[Sequence[BacktestConfig]], list[JobResult]]


def serial_executor(configs: Sequence[BacktestConfig]) -> list[JobResult]:
    return [run_job(c) for c in configs]


def process_executor(max_workers: int | None = None) -> Executor:
    def run(configs: Sequence[BacktestConfig]) -> list[JobResult]:
        workers = max(1, min(max_workers or os.cpu_count() or 1, len(configs)))
        # forkserver: workers fork from a clean server that imported the engine once, so they
        # inherit no event loop, thread or lock of the caller and skip the import cost.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return list(pool.map(run_job, configs))

    return run


def dask_executor(address: str) -> Executor:
    """Jobs on an existing Dask distributed scheduler at `address` (e.g. tcp://host:8786)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ValueError(
            f"--cluster {address}: needs Dask distributed (pip install 'dask[distributed]')"
        ) from exc

    def run(configs: Sequence[BacktestConfig]) -> list[JobResult]:
        client_cls: Any = Client  # distributed ships without type hints
        with client_cls(address, set_as_default=False) as client:
            futures = client.map(run_job, list(configs), pure=False)
            results: list[JobResult] = client.gather(futures)
        return results

    return run


def run_sweep(
    config: BacktestConfig,
    strategy: str,
    grid: Mapping[str, Sequence[Any]],
    *,
    splits: Sequence[Split] = (),
    metric: str = "sharpe",
    executor: Executor | None = None,
    screen_top: int | None = None,
) -> SweepResult:
    """Backtest every cell of `grid` for `strategy` (one of config.strategies).

    Without `splits` each cell runs once over the config's dates (reported as in-sample). With
    walk-forward `splits` each cell runs on every in-sample window and every out-of-sample
    window; cells are ranked by their mean in-sample `metric`, the out-of-sample mean beside it.
    `screen_top` first ranks the grid with the vectorised screen on the in-sample windows and
    runs only that many cells through the engine (strategies with a screen only).
    """
    if strategy not in config.strategies:
        raise ValueError(f"strategy {strategy!r} is not in the config's {list(config.strategies)}")
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: allowed {', '.join(METRICS)}")
    cells = param_grid(grid)
    run = executor or process_executor()
    windows = [(s.is_start, s.is_end) for s in splits] or [(config.start, config.end)]
    screened: dict[int, float] = {}
    dropped: list[ScreenScore] = []
    if screen_top is not None:
        if strategy not in SCREENS:
            raise ValueError(f"strategy {strategy!r} has no vectorised screen")
        scores = _screen_cells(config, strategy, cells, windows)
        order = sorted(
            range(len(cells)), key=lambda i: -scores[i] if math.isfinite(scores[i]) else math.inf
        )
        keep = sorted(order[:screen_top])
        dropped = [ScreenScore(cells[i], scores[i], math.nan) for i in order[screen_top:]]
        screened = {k: scores[k] for k in keep}
        cells = [cells[i] for i in keep]
    jobs: list[BacktestConfig] = []
    for params in cells:
        cfg = config.with_params(strategy, params)
        jobs.extend(cfg.window(a, b) for a, b in windows)
        jobs.extend(cfg.window(s.oos_start, s.oos_end) for s in splits)
    results = run(jobs)
    per = len(windows) + len(splits)
    rows: list[SweepRow] = []
    for k, params in enumerate(cells):
        chunk = results[k * per : (k + 1) * per]
        is_res, oos_res = tuple(chunk[: len(windows)]), tuple(chunk[len(windows) :])
        rows.append(
            SweepRow(
                rank=0,
                params=params,
                is_metric=_mean([_metric(j.summary, metric) for j in is_res]),
                oos_metric=_mean([_metric(j.summary, metric) for j in oos_res]),
                is_results=is_res,
                oos_results=oos_res,
                screened=list(screened.values())[k] if screened else None,
            )
        )
    rows.sort(
        key=lambda r: (-r.is_metric if math.isfinite(r.is_metric) else math.inf, str(r.params))
    )
    ranked = tuple(
        SweepRow(
            i + 1, r.params, r.is_metric, r.oos_metric, r.is_results, r.oos_results, r.screened
        )
        for i, r in enumerate(rows)
    )
    return SweepResult(strategy, metric, tuple(splits), ranked, tuple(dropped))


def _screen_cells(
    config: BacktestConfig,
    strategy: str,
    cells: Sequence[Mapping[str, Any]],
    windows: Sequence[tuple[Any, Any]],
) -> list[float]:
    """Mean in-sample screen Sharpe of each cell over the windows."""
    per_cell: list[list[float]] = [[] for _ in cells]
    history = 260
    for a, b in windows:
        closes, before = window_closes(config.window(a, b), strategy, cells[0], history)
        for i, score in enumerate(screen(strategy, closes, cells, warmup=before, ordered=False)):
            per_cell[i].append(score.sharpe)
    return [_mean(v) for v in per_cell]
