"""The hook between the engine and live risk monitoring (breakers, snapshots, gauges).

The engine calls `on_tick` once per tick with a read-only view and applies what comes back:
a new trading state, breaker trips, the gauges clients see. Heavy measurement (VaR, stress)
belongs off the event loop (`asyncio.to_thread`) inside the monitor; the engine only awaits it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from engine.data.protocol import MarketData
from engine.domain import Bar, Fill, Portfolio, Position
from engine.runtime.views import GaugeReading, TradingState


@dataclass(frozen=True, slots=True)
class MonitorView:
    now: datetime
    portfolio: Portfolio
    strategy_positions: Mapping[str, Mapping[str, Position]]
    bars: Mapping[str, Bar]
    market: MarketData
    trading_state: TradingState
    tripped_breakers: tuple[str, ...]
    last_data_at: datetime | None
    errors_last_minute: int = 0
    consecutive_losses: int = 0
    market_open: bool = True


@dataclass(frozen=True, slots=True)
class MonitorUpdate:
    """What changed. None / empty means "no change"."""

    trading_state: TradingState | None = None
    trip: tuple[tuple[str, str], ...] = ()  # (breaker name, reason) newly tripped
    clear: tuple[str, ...] = ()  # breakers that reset themselves (cool-down elapsed)
    gauges: tuple[GaugeReading, ...] = ()
    var99_pct: float | None = None  # for the pre-trade VaR budget check
    note: str = ""
    cancel_open_orders: bool = False
    flatten: bool = False
    details: Mapping[str, object] = field(default_factory=dict)


class RiskMonitor(Protocol):
    async def on_tick(self, view: MonitorView) -> MonitorUpdate: ...

    def on_fill(self, fill: Fill, realized_pnl_change: float) -> None:
        """Called after each stored fill (consecutive-loss tracking)."""
        ...

    def on_error(self, what: str, now: datetime) -> None:
        """Called for each order rejection or engine-side error (error-rate breaker)."""
        ...
