"""`option_quotes`: one batch where the feed has one, else one by one; nothing quotable lost."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from engine.data import SimulatedMarket
from engine.data.batch_quotes import option_quotes
from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import BadMarketData, OptionContract, OptionQuote, OptionRight


def _contract(strike: int, expiry: date = date(2030, 1, 18)) -> OptionContract:
    return OptionContract("XYZ", expiry, Decimal(strike), OptionRight.CALL)


class OneByOne:
    """A feed without a batch: strike 13 has no quote, strike 66 has bad data."""

    def __init__(self) -> None:
        self.asked: list[OptionContract] = []

    async def option_quote(self, contract: OptionContract) -> OptionQuote:
        self.asked.append(contract)
        if contract.strike == 13:
            raise DataUnavailable("not listed")
        if contract.strike == 66:
            raise BadMarketData("crossed")
        return cast(OptionQuote, ("quote", contract.strike))


class Batching(OneByOne):
    def __init__(self, fail: bool) -> None:
        super().__init__()
        self.fail = fail
        self.batches = 0

    async def option_quotes(
        self, contracts: Sequence[OptionContract]
    ) -> dict[OptionContract, OptionQuote]:
        self.batches += 1
        if self.fail:
            raise BadMarketData("one row bad")
        return {c: cast(OptionQuote, ("batch", c.strike)) for c in contracts}


async def test_option_quotes_when_no_batch_then_each_asked_and_unquotable_left_out() -> None:
    feed = OneByOne()
    wanted = [_contract(10), _contract(13), _contract(66), _contract(20)]
    got: dict[Any, Any] = await option_quotes(cast(MarketData, feed), wanted)
    assert feed.asked == wanted
    assert got == {wanted[0]: ("quote", 10), wanted[3]: ("quote", 20)}


async def test_option_quotes_when_feed_batches_then_one_call() -> None:
    feed = Batching(fail=False)
    wanted = [_contract(10), _contract(20)]
    got: dict[Any, Any] = await option_quotes(cast(MarketData, feed), wanted)
    assert feed.batches == 1
    assert feed.asked == []
    assert got == {wanted[0]: ("batch", 10), wanted[1]: ("batch", 20)}


async def test_option_quotes_when_batch_fails_then_the_good_ones_still_quoted() -> None:
    feed = Batching(fail=True)
    wanted = [_contract(10), _contract(66)]
    got: dict[Any, Any] = await option_quotes(cast(MarketData, feed), wanted)
    assert feed.batches == 1
    assert got == {wanted[0]: ("quote", 10)}


async def test_option_quotes_when_simulator_then_equal_to_single_quotes(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=33))
    today = sim.start_time.date()
    chain = sim.option_chain_sync("NVDA", today, today + timedelta(days=40))
    picks = [chain.quotes[0].contract, chain.quotes[len(chain.quotes) // 2].contract]
    expired = OptionContract("NVDA", today - timedelta(days=7), Decimal(100), OptionRight.PUT)
    got = await option_quotes(sim, [*picks, expired])
    assert set(got) == set(picks)
    for c in picks:
        assert got[c] == sim.option_quote_sync(c)
