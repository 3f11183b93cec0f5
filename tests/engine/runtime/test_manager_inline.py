"""The strategy manager's inline mode (replays) gives what its task mode gives."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from engine.data.calendar import default_calendar
from engine.data.memory import InMemoryMarketData
from engine.domain import (
    Bar,
    Equity,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    Portfolio,
    PositionEffect,
    ProposalIntent,
    Quote,
    Side,
    TradeProposal,
)
from engine.runtime.clock import SimulatedClock
from engine.runtime.manager import StrategyManager, StrategySlot
from engine.runtime.views import StrategyRunState
from engine.strategies.base import Strategy, StrategyContext, StrategyParams

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


class _P(StrategyParams):
    pass


class _Buyer(Strategy):
    name: ClassVar[str] = "buyer"
    title: ClassVar[str] = "Buyer"
    params_model: ClassVar[type[StrategyParams]] = _P

    def universe(self) -> frozenset[str]:
        return frozenset({"SPY", "QQQ"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        return [
            self.propose(
                ctx,
                legs=(OrderLeg(Equity(sym), Side.BUY, 1, PositionEffect.OPEN),),
                quantity=1,
                reason=f"saw {sym}",
                limit_price=None,
                key=sym,
            )
            for sym in sorted(bars)
        ]


class _Broken(_Buyer):
    name: ClassVar[str] = "broken"

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        raise RuntimeError("bug in scan")


def _bars() -> dict[str, Bar]:
    return {
        s: Bar(s, T0 - timedelta(minutes=1), 10.0, 10.0, 10.0, 10.0, 100.0)
        for s in ("SPY", "QQQ", "IWM")
    }


def _ctx(slot: StrategySlot) -> StrategyContext:
    return StrategyContext(
        now=T0,
        market=None,  # type: ignore[arg-type]  # these strategies never read the market
        calendar=default_calendar(),
        portfolio=Portfolio(ts=T0, cash=Decimal(1000)),
        positions={},
    )


@pytest.mark.parametrize("inline", [False, True])
async def test_scan_when_one_strategy_raises_then_isolated_and_others_propose(inline):
    errors: list[tuple[str, str]] = []
    mgr = StrategyManager(
        [_Broken(_P()), _Buyer(_P())], timeout=timedelta(seconds=5), inline=inline
    )
    mgr.on_error = lambda name, what: errors.append((name, what))
    mgr.start()
    try:
        out = await mgr.scan(T0, _bars(), _ctx)
    finally:
        await mgr.stop()
    # Only the strategy's own universe is handed in, and proposals keep registry order.
    assert [p.reason for p in out] == ["saw QQQ", "saw SPY"]
    assert mgr.get("broken").state is StrategyRunState.ERRORED
    assert errors == [("broken", "RuntimeError: bug in scan")]
    assert mgr.get("buyer").proposals_today == 2
    assert mgr.get("buyer").last_reason == "saw SPY"


async def test_scan_when_inline_then_same_proposals_as_tasks():
    got = []
    for inline in (False, True):
        mgr = StrategyManager([_Buyer(_P())], timeout=timedelta(seconds=5), inline=inline)
        mgr.start()
        got.append(await mgr.scan(T0, _bars(), _ctx))
        await mgr.stop()
    assert got[0] == got[1]
    assert len(got[0]) == 2


class _Stopper(_Buyer):
    """Stops out of SPY shares at the last price, as a strategy's exit would be priced."""

    name: ClassVar[str] = "stopper"

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        return [
            self.propose(
                ctx,
                legs=(OrderLeg(Equity("SPY"), Side.SELL, 1, PositionEffect.CLOSE),),
                quantity=5,
                reason="loss >= stop",
                limit_price=Decimal("10.00"),
                intent=ProposalIntent.CLOSE,
                exit_reason=ExitReason.STOP,
            )
        ]


@pytest.mark.parametrize("inline", [False, True])
async def test_scan_when_strategy_stops_out_then_exit_priced_at_the_bid(inline):
    data = InMemoryMarketData(SimulatedClock(T0), calendar=default_calendar())
    data.set_quote(Quote("SPY", T0, bid=9.95, ask=10.05, last=10.0))

    def ctx(slot: StrategySlot) -> StrategyContext:
        return replace(_ctx(slot), market=data)

    mgr = StrategyManager([_Stopper(_P())], timeout=timedelta(seconds=5), inline=inline)
    mgr.start()
    try:
        (p,) = await mgr.scan(T0, _bars(), ctx)
    finally:
        await mgr.stop()
    assert p.limit_price == Decimal("9.95")
    assert "natural price" in p.reason


class _Waiter(_Buyer):
    """Suspends on the loop (a data request in flight) `naps` times, then proposes."""

    name: ClassVar[str] = "waiter"
    naps: ClassVar[int] = 3
    nap_s: ClassVar[float] = 0.0

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        for _ in range(self.naps):
            await asyncio.sleep(self.nap_s)
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(fut.set_result, 1)
        await fut
        return await super().on_bar(ctx, bars)


class _Sleeper(_Waiter):
    name: ClassVar[str] = "sleeper"
    naps: ClassVar[int] = 1
    nap_s: ClassVar[float] = 30.0


@pytest.mark.parametrize("inline", [False, True])
async def test_scan_when_strategy_suspends_then_its_proposals_come_back(inline):
    mgr = StrategyManager([_Waiter(_P())], timeout=timedelta(seconds=5), inline=inline)
    mgr.start()
    try:
        out = await mgr.scan(T0, _bars(), _ctx)
    finally:
        await mgr.stop()
    assert [p.reason for p in out] == ["saw QQQ", "saw SPY"]
    assert mgr.get("waiter").state is StrategyRunState.RUNNING


@pytest.mark.parametrize("inline", [False, True])
async def test_scan_when_strategy_outlasts_its_timeout_then_errored_and_others_propose(inline):
    errors: list[tuple[str, str]] = []
    mgr = StrategyManager(
        [_Sleeper(_P()), _Buyer(_P())], timeout=timedelta(seconds=0.05), inline=inline
    )
    mgr.on_error = lambda name, what: errors.append((name, what))
    mgr.start()
    try:
        out = await asyncio.wait_for(mgr.scan(T0, _bars(), _ctx), timeout=10)
    finally:
        await mgr.stop()
    assert [p.reason for p in out] == ["saw QQQ", "saw SPY"]
    assert mgr.get("sleeper").state is StrategyRunState.ERRORED
    assert errors == [("sleeper", "timed out")]


async def test_scan_when_caller_cancelled_while_strategy_waits_then_strategy_sees_it():
    seen: list[str] = []

    class _Noting(_Sleeper):
        name: ClassVar[str] = "noting"

        async def on_bar(
            self, ctx: StrategyContext, bars: Mapping[str, Bar]
        ) -> Sequence[TradeProposal]:
            try:
                return await super().on_bar(ctx, bars)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

    mgr = StrategyManager([_Noting(_P())], timeout=timedelta(seconds=60), inline=True)
    scan = asyncio.ensure_future(mgr.scan(T0, _bars(), _ctx))
    await asyncio.sleep(0.01)
    scan.cancel()
    with pytest.raises(asyncio.CancelledError):
        await scan
    assert seen == ["cancelled"]


class _DeadCallSeller(_Buyer):
    """Stops out of a call whose quote has no bid."""

    name: ClassVar[str] = "dead_call"
    CALL: ClassVar[OptionContract] = OptionContract(
        "SPY", date(2026, 1, 9), Decimal(700), OptionRight.CALL
    )

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        return [
            self.propose(
                ctx,
                legs=(OrderLeg(self.CALL, Side.SELL, 1, PositionEffect.CLOSE),),
                quantity=1,
                reason="loss >= stop",
                limit_price=Decimal("0.01"),
                intent=ProposalIntent.CLOSE,
                exit_reason=ExitReason.STOP,
            )
        ]


@pytest.mark.parametrize("inline", [False, True])
async def test_scan_when_a_stop_sells_an_unbid_option_then_held_and_shown(inline):
    data = InMemoryMarketData(SimulatedClock(T0), calendar=default_calendar())
    call = _DeadCallSeller.CALL
    quote = OptionQuote(call, T0, bid=0.0, ask=0.02, last=0.01, volume=0, open_interest=10)
    data.set_chain(OptionChain("SPY", T0, 600.0, (quote,)))

    def ctx(slot: StrategySlot) -> StrategyContext:
        return replace(_ctx(slot), market=data)

    mgr = StrategyManager([_DeadCallSeller(_P())], timeout=timedelta(seconds=5), inline=inline)
    mgr.start()
    try:
        out = await mgr.scan(T0, _bars(), ctx)
    finally:
        await mgr.stop()
    assert out == []  # nothing to send: no one would buy it
    slot = mgr.get("dead_call")
    assert slot.state is StrategyRunState.RUNNING
    assert slot.proposals_today == 0
    assert slot.last_reason == f"loss >= stop; held: no bid for {call.symbol}"
