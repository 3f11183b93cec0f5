"""Canonical markets of one (universe, calendar, seed) share one generation of the paths."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from engine.data.calendar import default_calendar
from engine.data.simulator import SimulatedMarket
from engine.data.simulator.market import DEFAULT_SIM_START, forget_generated_paths
from engine.runtime.clock import ReplayClock

SYMBOLS = ["SPY", "AAPL", "TSLA"]


def _market(seed: int, start_offset: int = 0, *, symbols: list[str] = SYMBOLS) -> SimulatedMarket:
    cal = default_calendar()
    start = cal.sessions(
        DEFAULT_SIM_START, DEFAULT_SIM_START.replace(year=DEFAULT_SIM_START.year + 1)
    )[start_offset]
    return SimulatedMarket(
        ReplayClock(datetime(2000, 1, 1, tzinfo=UTC)),
        seed=seed,
        start=start,
        history_days=20,
        horizon_days=40,
        universe=symbols,
        calendar=cal,
        canonical=True,
    )


def test_windows_of_one_seed_share_the_generated_span() -> None:
    a, b = _market(11), _market(11, start_offset=5)
    assert a.paths.close.base is not None
    assert np.shares_memory(a.paths.close, b.paths.close)
    # The windows are the same market: a session's prices do not depend on the window.
    i, j = a.sessions.index(b.sessions[0]), 0
    assert (a.paths.close[i] == b.paths.close[j]).all()


def test_shared_paths_are_read_only() -> None:
    m = _market(12)
    with pytest.raises(ValueError, match="read-only"):
        m.paths.close[0, 0] = 1.0


def test_another_seed_or_universe_is_generated_afresh() -> None:
    a, b = _market(13), _market(14)
    assert not np.shares_memory(a.paths.close, b.paths.close)
    assert not (a.paths.close == b.paths.close).all()
    c = _market(13, symbols=["SPY", "AAPL"])
    assert not np.shares_memory(a.paths.close, c.paths.close)
    # A name's path is its own stream: the same in either universe.
    assert (
        a.paths.close[:, a.paths.column("AAPL")] == c.paths.close[:, c.paths.column("AAPL")]
    ).all()


def test_forgotten_paths_are_generated_again_identically() -> None:
    a = _market(15)
    forget_generated_paths()
    b = _market(15)
    assert not np.shares_memory(a.paths.close, b.paths.close)
    assert (a.paths.close == b.paths.close).all()  # same seed, same market
