"""Market data: the `MarketData` protocol and its sources (simulator, CSV replay, in-memory).

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.data.calendar import MarketCalendar, default_calendar
    from engine.data.csv_replay import CsvReplayMarket
    from engine.data.memory import InMemoryMarketData
    from engine.data.protocol import DataUnavailable, MarketData
    from engine.data.simulator import DEFAULT_SIM_START, Regime, SimulatedMarket, sim_start_time

_EXPORTS: dict[str, tuple[str, str]] = {
    "MarketCalendar": ("engine.data.calendar", "MarketCalendar"),
    "default_calendar": ("engine.data.calendar", "default_calendar"),
    "CsvReplayMarket": ("engine.data.csv_replay", "CsvReplayMarket"),
    "InMemoryMarketData": ("engine.data.memory", "InMemoryMarketData"),
    "DataUnavailable": ("engine.data.protocol", "DataUnavailable"),
    "MarketData": ("engine.data.protocol", "MarketData"),
    "DEFAULT_SIM_START": ("engine.data.simulator", "DEFAULT_SIM_START"),
    "Regime": ("engine.data.simulator", "Regime"),
    "SimulatedMarket": ("engine.data.simulator", "SimulatedMarket"),
    "sim_start_time": ("engine.data.simulator", "sim_start_time"),
}

__all__ = [
    "DEFAULT_SIM_START",
    "CsvReplayMarket",
    "DataUnavailable",
    "InMemoryMarketData",
    "MarketCalendar",
    "MarketData",
    "Regime",
    "SimulatedMarket",
    "default_calendar",
    "sim_start_time",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
