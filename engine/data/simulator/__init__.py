"""The embedded simulated market: seeded, correlated daily paths with volatility regimes and
earnings, exact-aggregating minute bars, and option chains from a volatility surface."""

from engine.data.simulator.market import (
    DEFAULT_SIM_START,
    MinuteSnapshot,
    SimulatedMarket,
    sim_start_time,
)
from engine.data.simulator.regimes import Regime
from engine.data.simulator.universe import DEFAULT_UNIVERSE, Kind, SymbolSpec

__all__ = [
    "DEFAULT_SIM_START",
    "DEFAULT_UNIVERSE",
    "Kind",
    "MinuteSnapshot",
    "Regime",
    "SimulatedMarket",
    "SymbolSpec",
    "sim_start_time",
]
