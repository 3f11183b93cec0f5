"""Fixtures for the market data sources: a settable clock and one shared simulated market."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from manual_clock import ManualClock

from engine.data import SimulatedMarket, sim_start_time


@pytest.fixture(scope="session")
def _shared_sim() -> tuple[ManualClock, SimulatedMarket]:
    clock = ManualClock(sim_start_time())
    return clock, SimulatedMarket(clock)


@pytest.fixture
def sim(_shared_sim: tuple[ManualClock, SimulatedMarket]) -> Iterator[SimulatedMarket]:
    """The default market (seed 7) with its clock reset to the start session's open."""
    clock, market = _shared_sim
    clock.set(market.start_time)
    yield market
    clock.set(market.start_time)


@pytest.fixture
def sim_clock(_shared_sim: tuple[ManualClock, SimulatedMarket]) -> ManualClock:
    return _shared_sim[0]


@pytest.fixture(scope="session")
def make_clock() -> type[ManualClock]:
    return ManualClock
