"""`option_quotes`: quotes of many contracts, in one batch where the feed can price or fetch
them together (the simulator prices a whole book in one vectorised pass), else one by one.

The batch is an optional capability of a feed (`option_quotes`), not part of `MarketData`:
a feed without it loses nothing but speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import BadMarketData, OptionContract, OptionQuote


async def option_quotes(
    market: MarketData, contracts: Sequence[OptionContract]
) -> dict[OptionContract, OptionQuote]:
    """The quotes that can be had; a contract that cannot be quoted (expired, unknown, bad
    data) is left out, as `option_quote` raising for it would leave it out."""
    batch: Any = getattr(market, "option_quotes", None)
    if batch is not None:
        try:
            got: dict[OptionContract, OptionQuote] = await batch(contracts)
            return got
        except (DataUnavailable, BadMarketData):
            pass  # one bad contract must not cost the others their quotes
    out: dict[OptionContract, OptionQuote] = {}
    for c in contracts:
        try:
            out[c] = await market.option_quote(c)
        except (DataUnavailable, BadMarketData):
            continue
    return out
