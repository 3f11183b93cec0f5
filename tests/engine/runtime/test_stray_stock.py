"""Shares an options-only strategy never meant to hold (an exercised or assigned option) are
closed at market on its next scan; stock strategies keep theirs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import pytest

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync
from engine.data.calendar import default_calendar
from engine.domain import (
    Bar,
    Equity,
    ExitReason,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    Portfolio,
    Position,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.runtime.manager import StrategyManager, StrategySlot
from engine.strategies.base import Strategy, StrategyContext, StrategyParams

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # 10:00 New York, a Monday session
CALL = OptionContract("GOOGL", date(2026, 1, 16), Decimal(195), OptionRight.CALL)


SYMS = (
    "AMZN", "AMD", "NVDA", "MSFT", "META", "TSLA", "GOOGL", "AAPL", "AMC", "PLTR",
    "GME", "COIN", "ARM", "SMCI", "MSTR", "SPY", "QQQ", "IWM", "NFLX", "ADBE",
    "CRM", "VTI", "SMH", "SOXX", "ARKK", "AVGO", "COST", "V", "MA", "LIN",
)  # fmt: skip


class _P(StrategyParams):
    pass


class _OptionsOnly(Strategy):
    name: ClassVar[str] = "options_only"
    title: ClassVar[str] = "Options only"
    params_model: ClassVar[type[StrategyParams]] = _P
    trades_stock: ClassVar[bool] = False

    def universe(self) -> frozenset[str]:
        return frozenset({"GOOGL", "NVDA"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        return []


class _StockToo(_OptionsOnly):
    name: ClassVar[str] = "stock_too"
    trades_stock: ClassVar[bool] = True


def _book() -> dict[str, Position]:
    return {
        "GOOGL": Position(Equity("GOOGL"), 300, Decimal(195)),  # a call exercised
        "NVDA": Position(Equity("NVDA"), -100, Decimal(140)),  # a put exercised
        CALL.symbol: Position(CALL, 2, Decimal("7.05")),
    }


def _ctx_maker(
    *, now: datetime = T0, pending: tuple[TradeProposal, ...] = ()
) -> Callable[[StrategySlot | None], StrategyContext]:
    def make(slot: StrategySlot | None) -> StrategyContext:
        return StrategyContext(
            now=now,
            market=None,  # type: ignore[arg-type]  # never read here
            calendar=default_calendar(),
            portfolio=Portfolio(ts=now, cash=Decimal(100_000)),
            positions=_book(),
            pending=pending,
        )

    return make


async def _scan(
    strategy: Strategy,
    inline: bool,
    *,
    now: datetime = T0,
    pending: tuple[TradeProposal, ...] = (),
) -> list[TradeProposal]:
    mgr = StrategyManager([strategy], timeout=timedelta(seconds=5), inline=inline)
    mgr.start()
    try:
        make = _ctx_maker(now=now, pending=pending)
        return await mgr.scan(now, {}, make)
    finally:
        await mgr.stop()


@pytest.mark.parametrize("inline", [False, True])
async def test_options_only_strategy_when_holding_shares_then_closes_them_at_market(inline):
    got = await _scan(_OptionsOnly(_P()), inline)
    closes = {p.legs[0].symbol: p for p in got}
    assert set(closes) == {"GOOGL", "NVDA"}  # the option leg is the strategy's own business
    googl, nvda = closes["GOOGL"], closes["NVDA"]
    assert (googl.legs[0].side, googl.quantity) == (Side.SELL, 300)
    assert (nvda.legs[0].side, nvda.quantity) == (Side.BUY, 100)  # short shares are bought
    for p in got:
        assert p.order_type is OrderType.MARKET
        assert p.intent is ProposalIntent.CLOSE
        assert p.exit_reason is ExitReason.EXPIRY
        assert p.legs[0].effect is PositionEffect.CLOSE
        assert p.strategy == "options_only"
        assert "exercised or assigned" in p.reason


async def test_options_only_strategy_when_a_close_is_already_pending_then_not_doubled():
    pending_close = _OptionsOnly(_P()).propose(
        _ctx_maker()(None),
        legs=(OrderLeg(Equity("GOOGL"), Side.SELL, 1, PositionEffect.CLOSE),),
        quantity=300,
        reason="already closing",
        limit_price=None,
        intent=ProposalIntent.CLOSE,
    )
    got = await _scan(_OptionsOnly(_P()), True, pending=(pending_close,))
    assert [p.legs[0].symbol for p in got] == ["NVDA"]


async def test_stock_strategy_when_holding_shares_then_keeps_them():
    assert await _scan(_StockToo(_P()), True) == []


async def test_options_only_strategy_when_market_closed_then_waits_for_the_session():
    saturday = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
    assert await _scan(_OptionsOnly(_P()), True, now=saturday) == []


class _HoldsToExpiry(Strategy):
    """Buys one deep in-the-money NFLX call a week out and never exits: its exercise leaves
    shares that no rule of an options-only strategy manages. (The shipped strategies now
    close such positions before expiry: exits that must happen are priced at the natural
    price, so none is left to hold a winner through its expiry in this window.)"""

    name: ClassVar[str] = "holds_to_expiry"
    title: ClassVar[str] = "Holds to expiry"
    params_model: ClassVar[type[StrategyParams]] = _P
    trades_stock: ClassVar[bool] = False
    intraday: ClassVar[bool] = False  # decides on the daily bar

    def universe(self) -> frozenset[str]:
        return frozenset({"NFLX"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        if ctx.positions or ctx.pending or "NFLX" not in bars:
            return []
        spot = bars["NFLX"].close
        chain = await ctx.market.option_chain(
            "NFLX",
            ctx.today + timedelta(days=5),
            ctx.today + timedelta(days=12),
            right=OptionRight.CALL,
            strikes=(0.7 * spot, 0.9 * spot),
        )
        quotes = sorted((q for q in chain if q.bid > 0), key=lambda q: q.contract.expiry)
        if not quotes:
            return []
        q = quotes[0]
        return [
            self.propose(
                ctx,
                legs=(OrderLeg(q.contract, Side.BUY, 1, PositionEffect.OPEN),),
                quantity=1,
                reason="hold to expiry",
                limit_price=Decimal(str(q.ask)),
            )
        ]


def test_options_only_backtest_when_call_exercised_then_shares_sold_next_session():
    cfg = BacktestConfig(
        strategies=("holds_to_expiry",),
        start=date(2020, 1, 2),
        end=date(2020, 2, 28),
        data=DataSpec("sim"),
        symbols=("NFLX",),
        step="day",
        seed=7,
        profile="research_2024",
        capital=Decimal(1_000_000),  # one deep ITM NFLX call fits the 5% position cap
    )
    res = run_backtest_sync(cfg, strategies=[_HoldsToExpiry(_P())])
    stock = [t for t in res.trades if t.kind != "option"]
    assert {t.symbol for t in stock} == {"NFLX"}, "expected the exercise"
    cal = default_calendar()
    for t in stock:
        assert t.closed, f"{t.symbol} shares still held at the end"
        assert t.exit_ts is not None
        entry, exit_ = t.entry_ts.date(), t.exit_ts.date()
        assert exit_ == cal.next_session(cal.session_on_or_before(entry)), (t.symbol, entry, exit_)
    assert res.checks.ok
