"""Market data: the `MarketData` protocol and its sources (simulator, CSV replay, in-memory)."""

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.csv_replay import CsvReplayMarket
from engine.data.memory import InMemoryMarketData
from engine.data.protocol import DataUnavailable, MarketData
from engine.data.simulator import DEFAULT_SIM_START, Regime, SimulatedMarket, sim_start_time

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
