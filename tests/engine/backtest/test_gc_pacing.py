"""The replay's collector pacing is raised for a run and restored exactly afterwards."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from datetime import date

import pytest

from engine.backtest import gc_pacing
from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.examples import SmaCross
from engine.backtest.gc_pacing import REPLAY_GEN0_THRESHOLD, fewer_collections
from engine.backtest.runner import run_backtest_sync


@pytest.fixture
def threshold() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_fewer_collections_when_block_ends_then_threshold_restored(
    threshold: tuple[int, int, int],
) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (REPLAY_GEN0_THRESHOLD, 10, 10)
    assert gc.get_threshold() == threshold


def test_fewer_collections_when_block_raises_then_threshold_restored(
    threshold: tuple[int, int, int],
) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("boom")
    assert gc.get_threshold() == threshold
    assert gc_pacing._depth == 0


def test_fewer_collections_when_nested_then_restored_by_the_outermost_only(
    threshold: tuple[int, int, int],
) -> None:
    with fewer_collections():
        with fewer_collections():
            pass
        assert gc.get_threshold()[0] == REPLAY_GEN0_THRESHOLD  # the outer run goes on
    assert gc.get_threshold() == threshold


def test_fewer_collections_when_threshold_already_higher_then_never_lowered() -> None:
    saved = gc.get_threshold()
    gc.set_threshold(10 * REPLAY_GEN0_THRESHOLD, 5, 5)
    try:
        with fewer_collections():
            assert gc.get_threshold() == (10 * REPLAY_GEN0_THRESHOLD, 5, 5)
        assert gc.get_threshold() == (10 * REPLAY_GEN0_THRESHOLD, 5, 5)
    finally:
        gc.set_threshold(*saved)


def test_fewer_collections_when_runs_overlap_in_threads_then_restored_after_last(
    threshold: tuple[int, int, int],
) -> None:
    inside = threading.Barrier(2)
    first_done = threading.Event()
    seen: list[tuple[int, int, int]] = []

    def first() -> None:
        with fewer_collections():
            inside.wait()
        first_done.set()

    def second() -> None:
        with fewer_collections():
            inside.wait()
            first_done.wait(5)
            seen.append(gc.get_threshold())  # the first run ended, this one has not

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [(REPLAY_GEN0_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == threshold


def test_run_backtest_when_finished_then_threshold_back(threshold: tuple[int, int, int]) -> None:
    cfg = BacktestConfig(
        strategies=("sma_cross",), start=date(2024, 1, 2), end=date(2024, 1, 10),
        data=DataSpec("sim"), symbols=("SPY",), step="day", seed=7,
        params={"sma_cross": {"symbols": ["SPY"], "fast": 2, "slow": 3}},
    )  # fmt: skip
    res = run_backtest_sync(
        cfg, strategies=[SmaCross.from_profile("wsb_2025", cfg.params["sma_cross"])]
    )
    assert res.sessions
    assert gc.get_threshold() == threshold
