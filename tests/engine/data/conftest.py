"""Fixtures for the market data sources: a settable clock and one shared simulated market."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from engine.data import SimulatedMarket, sim_start_time


class ManualClock:
    """A test clock that can be set to any instant (forwards or back) between checks."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, ts: datetime) -> None:
        self._now = ts

    async def sleep_until(self, when: datetime) -> None:
        self._now = max(self._now, when)


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
