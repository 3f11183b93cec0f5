"""`ChainRead` and `prefetch_chains`: tell a feed which option chains are about to be read at
this instant, so it can price (or fetch) them together.

Prefetching is an optional capability of a feed (`prefetch_chains`) and only a hint: the
reads that follow return exactly what they would have without it, and a feed without it (or
a read it cannot serve) loses nothing but speed. The simulator prices every missing expiry of
the announced reads in one vectorised pass instead of one pass per name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.data.protocol import MarketData
from engine.domain import OptionRight


@dataclass(frozen=True, slots=True)
class ChainRead:
    """The arguments of one `MarketData.option_chain` call."""

    underlying: str
    min_expiry: date
    max_expiry: date
    right: OptionRight | None = None
    strikes: tuple[float, float] | None = None


async def prefetch_chains(market: MarketData, reads: Sequence[ChainRead]) -> None:
    prefetch: Any = getattr(market, "prefetch_chains", None)
    if prefetch is not None and reads:
        await prefetch(reads)
