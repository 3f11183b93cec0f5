"""Failover: the primary stops answering, the feed switches, risk blocks while no source is
healthy, and everything recovers when the primary answers again."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.data.failover import AllSourcesDown, FailoverFeed
from engine.data.memory import InMemoryMarketData
from engine.data.protocol import DataUnavailable
from engine.domain import (
    Bar,
    BarInterval,
    Equity,
    OptionRight,
    OrderLeg,
    OrderType,
    Portfolio,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.risk.pretrade import PreTradeInputs, PreTradeRisk, RiskLimits
from engine.runtime.clock import SimulatedClock

OPEN = datetime(2025, 3, 3, 14, 31, tzinfo=UTC)  # Monday, one minute after the open


class Flaky:
    """A real source that can be made to stop answering (hang) or fail, like a dead link."""

    def __init__(self, inner: InMemoryMarketData) -> None:
        self.inner = inner
        self.hang = False
        self.calls = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def symbols(self) -> Sequence[str]:
        return self.inner.symbols()

    async def _gate(self) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(3600)

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        await self._gate()
        return await self.inner.intraday_bars(symbol, interval, start, end)

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        await self._gate()
        return await self.inner.daily_bars(symbol, end, count)

    async def latest_quote(self, symbol: str):
        await self._gate()
        return await self.inner.latest_quote(symbol)

    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
    ):
        await self._gate()
        return await self.inner.option_chain(underlying, min_expiry, max_expiry, right)

    async def option_quote(self, contract):
        await self._gate()
        return await self.inner.option_quote(contract)

    async def earnings_calendar(self, start: date, end: date):
        await self._gate()
        return await self.inner.earnings_calendar(start, end)


def source(clock: SimulatedClock, name: str, price: float) -> Flaky:
    src = InMemoryMarketData(clock, name=name)
    src.add_symbol("SPY")
    src.add_intraday_bars(
        Bar(
            "SPY",
            OPEN + timedelta(minutes=i - 1),
            price,
            price + 0.2,
            price - 0.2,
            price + 0.1,
            1e5,
            BarInterval.MINUTE,
        )
        for i in range(30)
    )
    return Flaky(src)


def stale_check(feed: FailoverFeed, clock: SimulatedClock):
    proposal = TradeProposal(
        proposal_id="p-1",
        strategy="index_baseline",
        created_at=clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY),),
        quantity=1,
        reason="test",
        order_type=OrderType.LIMIT,
        limit_price=Decimal("580"),
    )
    inputs = PreTradeInputs(
        now=clock.now(),
        portfolio=Portfolio(ts=clock.now(), cash=Decimal(100_000)),
        trading_state="ACTIVE",
        market_open=True,
        leg_prices={"SPY": 580.0},
        underlying_prices={"SPY": 580.0},
        last_data_at=feed.last_data_at,
    )
    decision = PreTradeRisk(RiskLimits(stale_data_seconds=120)).check(proposal, inputs)
    return next(c for c in decision.checks if c.name == "stale_data")


async def tick(feed: FailoverFeed, clock: SimulatedClock) -> int:
    await clock.advance_to(clock.now() + timedelta(minutes=1))
    return await feed.refresh(clock.now(), ["SPY"])


async def test_failover_when_primary_stops_then_switch_block_during_gap_and_recover() -> None:
    clock = SimulatedClock(OPEN)
    alpaca, yahoo = source(clock, "alpaca", 580.0), source(clock, "yfinance", 579.0)
    feed = FailoverFeed(
        [alpaca, yahoo],
        clock=clock,
        timeout_s=0.05,
        max_errors=1,
        stale_after=timedelta(minutes=2),
        probe_every=timedelta(minutes=1),
    )

    assert await tick(feed, clock) == 1
    assert feed.active.name == "alpaca"
    assert stale_check(feed, clock).passed
    assert feed.minute_bars_at(clock.now())["SPY"].open == 580.0

    # The primary stops answering: the next call times out and yfinance answers instead.
    alpaca.hang = True
    assert await tick(feed, clock) == 1
    assert feed.active.name == "yfinance"
    assert feed.minute_bars_at(clock.now())["SPY"].open == 579.0
    health = {h.name: h for h in feed.health()}
    assert not health["alpaca"].up
    assert health["alpaca"].last_error == "timed out"
    assert "(failover)" in feed.status().detail
    assert "down: alpaca" in feed.status().detail

    # Now nothing answers: data goes stale, the engine's feed refuses, risk blocks new trades.
    yahoo.hang = True
    for _ in range(3):
        assert await tick(feed, clock) == 0
    assert feed.stale
    with pytest.raises(AllSourcesDown):
        feed.minute_bars_at(clock.now())
    blocked = stale_check(feed, clock)
    assert not blocked.passed
    assert "old" in blocked.message
    assert "STALE" in feed.status().detail
    assert not feed.status().healthy

    # The primary comes back: the probe finds it, it takes over, trading is allowed again.
    alpaca.hang = False
    assert await tick(feed, clock) == 1
    assert feed.active.name == "alpaca"
    assert not feed.stale
    assert stale_check(feed, clock).passed
    assert feed.switches == 2


async def test_failover_when_primary_has_no_such_symbol_then_secondary_answers_without_blame() -> (
    None
):
    clock = SimulatedClock(OPEN + timedelta(minutes=5))
    alpaca, yahoo = source(clock, "alpaca", 580.0), source(clock, "yfinance", 579.0)
    yahoo.inner.add_symbol("QQQ")
    yahoo.inner.add_intraday_bars(
        [Bar("QQQ", OPEN, 500.0, 500.5, 499.5, 500.2, 1e5, BarInterval.MINUTE)]
    )
    feed = FailoverFeed([alpaca, yahoo], clock=clock, timeout_s=0.05, max_errors=1)
    bars = await feed.intraday_bars("QQQ", BarInterval.MINUTE, OPEN, OPEN + timedelta(minutes=1))
    assert [b.close for b in bars] == [500.2]
    assert all(h.up for h in feed.health())
    assert feed.active.name == "alpaca"  # "no data" is an answer, not an outage


async def test_failover_when_everything_down_then_all_sources_down_names_each() -> None:
    clock = SimulatedClock(OPEN + timedelta(minutes=5))
    alpaca, yahoo = source(clock, "alpaca", 580.0), source(clock, "yfinance", 579.0)
    alpaca.hang = yahoo.hang = True
    feed = FailoverFeed([alpaca, yahoo], clock=clock, timeout_s=0.02)
    with pytest.raises(AllSourcesDown, match="alpaca: timed out; yfinance: timed out"):
        await feed.latest_quote("SPY")
    assert issubclass(AllSourcesDown, DataUnavailable)


def test_failover_when_simulator_mixed_with_real_source_then_refused() -> None:
    clock = SimulatedClock(OPEN)
    with pytest.raises(ValueError, match="sim is simulated"):
        FailoverFeed([source(clock, "alpaca", 1.0), source(clock, "sim", 1.0)], clock=clock)
