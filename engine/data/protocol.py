"""The `MarketData` protocol every source implements: simulator, CSV replay, yfinance, Alpaca.

Sources are async because real ones do I/O. They never return data from after `now`
(the engine's clock) so a strategy cannot look ahead; the simulator and replay enforce this
through the clock they are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from engine.domain import (
    Bar,
    BarInterval,
    EarningsEvent,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
)


class DataUnavailable(LookupError):
    """The source has no data for this request (unknown symbol, outside its history)."""


@runtime_checkable
class MarketData(Protocol):
    """Read-only market access. All timestamps are UTC."""

    @property
    def name(self) -> str:
        """Short source name for the UI and logs: ``sim``, ``csv``, ``alpaca``, ``yfinance``."""
        ...

    def symbols(self) -> Sequence[str]:
        """The universe this source can serve."""
        ...

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        """Up to `count` completed daily bars ending on or before `end`, oldest first.

        A session still in progress is not included (it is not complete)."""
        ...

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        """Completed intraday bars with start in [start, end), oldest first."""
        ...

    async def latest_quote(self, symbol: str) -> Quote:
        """The current top of book at the clock's now. Raises DataUnavailable."""
        ...

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        """Every listed contract with expiry in [min_expiry, max_expiry] at the clock's now;
        only calls or only puts with `right`, only strikes in [lo, hi] with `strikes` (what
        a strategy reads, at a fraction of the pricing or download). An expiry with no
        strike in the band is left out."""
        ...

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        """The current quote of one contract (the paper broker fills against it)."""
        ...

    async def earnings_calendar(self, start: date, end: date) -> Sequence[EarningsEvent]:
        """Scheduled earnings in [start, end]."""
        ...
