"""No look-ahead: a strategy that would profit only by reading tomorrow's bar earns nothing.

The `Peek` strategy asks every read a strategy has for data after now and trades on tomorrow's
close when it finds one. Through the engine on the real price files it never finds one, so it
never trades. The same strategy handed an oracle (tomorrow's closes read straight from the
file) makes money in the same engine run: the test could see a leak if there were one.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync
from engine.data.csv_replay import CsvReplayMarket
from engine.data.protocol import DataUnavailable
from engine.data.simulator import SimulatedMarket
from engine.domain import (
    Bar,
    BarInterval,
    Equity,
    OrderLeg,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.runtime.clock import ReplayClock
from engine.strategies.base import Strategy, StrategyContext, StrategyParams

START, END = date(2019, 1, 2), date(2019, 6, 28)


class _PeekParams(StrategyParams):
    pass


def _spy_order(
    strategy: Strategy, ctx: StrategyContext, side: Side, quantity: int, reason: str
) -> list[TradeProposal]:
    """A market order for SPY shares: buy to open, sell to close."""
    opening = side is Side.BUY
    leg = OrderLeg(Equity("SPY"), side, 1, PositionEffect.OPEN if opening else PositionEffect.CLOSE)
    return [
        strategy.propose(
            ctx,
            legs=(leg,),
            quantity=quantity,
            reason=reason,
            limit_price=None,
            intent=ProposalIntent.OPEN if opening else ProposalIntent.CLOSE,
        )
    ]


class Peek(Strategy):
    """Long SPY overnight whenever tomorrow closes higher, if it can learn tomorrow's close."""

    name: ClassVar[str] = "peek"
    title: ClassVar[str] = "Peek"
    params_model: ClassVar[type[StrategyParams]] = _PeekParams
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False

    def __init__(self, oracle: Mapping[date, float] | None = None) -> None:
        super().__init__(_PeekParams())
        self.oracle = oracle
        self.reads = 0
        self.future_seen = 0

    def universe(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def _tomorrow(self, ctx: StrategyContext) -> float | None:
        today = ctx.today
        if self.oracle is not None:
            return self.oracle.get(ctx.calendar.next_session(today))
        self.reads += 1
        later = await ctx.market.daily_bars("SPY", today + timedelta(days=10), 10)
        ahead = [b for b in later if b.session_date > today]
        minutes = await ctx.market.intraday_bars(
            "SPY", BarInterval.MINUTE, ctx.now, ctx.now + timedelta(days=2)
        )
        hours = await ctx.market.intraday_bars(
            "SPY", BarInterval.HOUR, ctx.now - timedelta(hours=1), ctx.now + timedelta(days=2)
        )
        quote = await ctx.market.latest_quote("SPY")
        peeked = [b for b in (*minutes, *hours) if b.end > ctx.now]
        if quote.ts > ctx.now:
            self.future_seen += 1
        if ahead or peeked:
            self.future_seen += 1
            return (ahead or peeked)[-1].close
        return None

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        bar = bars.get("SPY")
        if bar is None or ctx.has_pending("SPY"):
            return []
        nxt = await self._tomorrow(ctx)
        if nxt is None:
            return []
        held = ctx.positions.get("SPY")
        qty = held.quantity if held is not None else 0
        if nxt > bar.close and qty == 0:
            n = int(ctx.equity * ctx.allocation_cap * 0.95 // bar.close)
            return _spy_order(self, ctx, Side.BUY, n, "up tomorrow")
        if nxt <= bar.close and qty > 0:
            return _spy_order(self, ctx, Side.SELL, qty, "down tomorrow")
        return []


def _config(prices_dir: Any) -> BacktestConfig:
    return BacktestConfig(
        strategies=("peek",),
        start=START,
        end=END,
        data=DataSpec("csv", prices_dir),
        symbols=("SPY",),
        step="day",
        capital=Decimal(100_000),
    )


def _oracle(prices_dir: Any) -> dict[date, float]:
    with (prices_dir / "SPY.csv").open() as fh:
        return {date.fromisoformat(r["date"]): float(r["adj_close"]) for r in csv.DictReader(fh)}


def test_peeking_strategy_when_run_through_engine_then_finds_no_future_and_earns_nothing(
    prices_dir,
):
    peek = Peek()
    res = run_backtest_sync(_config(prices_dir), strategies=[peek])
    assert peek.reads == len(res.sessions)  # it tried every session
    assert peek.future_seen == 0
    assert res.fills == ()
    assert res.summary.end_equity == 100_000.0
    assert res.checks.ok


def test_same_strategy_when_given_an_oracle_then_it_profits_so_the_test_can_see_a_leak(prices_dir):
    res = run_backtest_sync(_config(prices_dir), strategies=[Peek(oracle=_oracle(prices_dir))])
    assert len(res.fills) > 20
    assert res.summary.win_rate > 0.9
    assert res.summary.end_equity > 100_500.0
    assert res.checks.ok


def test_csv_daily_bars_at_when_session_not_in_its_last_minute_then_refused(prices_dir):
    clock = ReplayClock(datetime.fromisoformat("2019-03-05T14:30:00+00:00"))
    market = CsvReplayMarket(prices_dir, clock, symbols=["SPY"])
    cal = market.calendar
    day = date(2019, 3, 5)
    with pytest.raises(ValueError, match="look ahead"):
        market.daily_bars_at(day)
    with pytest.raises(ValueError, match="look ahead"):
        market.daily_bars_at(cal.next_session(day))
    clock.jump_to(cal.session_close(day) - timedelta(minutes=1, seconds=1))
    with pytest.raises(ValueError, match="look ahead"):
        market.daily_bars_at(day)
    clock.jump_to(cal.session_close(day) - timedelta(seconds=1))
    bar = market.daily_bars_at(day)["SPY"]
    assert bar.session_date == day
    # What daily_bars serves at the same instant ends the session before: still in progress.
    assert market.daily_bars_sync("SPY", day, 1)[-1].session_date == cal.previous_session(day)
    with pytest.raises(DataUnavailable):
        market.daily_bars_at(date(2019, 3, 9))  # a Saturday


def test_sim_daily_bars_at_when_future_session_then_refused():
    clock = ReplayClock(datetime.fromisoformat("2026-01-05T14:30:00+00:00"))
    market = SimulatedMarket(clock, seed=1, history_days=5, horizon_days=5, universe=["SPY"])
    cal = market.calendar
    day = date(2026, 1, 5)
    with pytest.raises(ValueError, match="look ahead"):
        market.daily_bars_at(cal.next_session(day))
    clock.jump_to(cal.session_close(day) - timedelta(seconds=1))
    assert set(market.daily_bars_at(day)) == set(market.symbols())
    with pytest.raises(ValueError, match="look ahead"):
        market.daily_bars_at(cal.next_session(day))


class LastMinute(Strategy):
    """Buys SPY whenever the session's close (in the daily bar it is handed) is above the price
    it can buy at now, and sells the next session: free money if a daily step let orders trade
    at a price from before the close the strategy already knows."""

    name: ClassVar[str] = "last_minute"
    title: ClassVar[str] = "Last minute"
    params_model: ClassVar[type[StrategyParams]] = _PeekParams
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__(_PeekParams())
        self.looks = 0

    def universe(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        bar = bars.get("SPY")
        if bar is None or ctx.has_pending("SPY"):
            return []
        held = ctx.positions.get("SPY")
        if held is not None and held.quantity > 0:
            return _spy_order(self, ctx, Side.SELL, held.quantity, "next day")
        self.looks += 1
        quote = await ctx.market.latest_quote("SPY")
        if bar.close <= quote.ask:
            return []
        n = int(ctx.equity * ctx.allocation_cap * 0.95 // quote.ask)
        return _spy_order(self, ctx, Side.BUY, n, "below close")


@pytest.mark.parametrize("data", ["csv", "sim"])
def test_daily_step_when_strategy_knows_the_close_then_it_cannot_buy_below_it(data, prices_dir):
    # A daily step hands strategies the session's bar, close included, in its last minute.
    # Orders placed then trade at that close (the closing auction), so the last-minute move
    # is never on offer: the ask is at or above the close, and the strategy never buys.
    spec = DataSpec("csv", prices_dir) if data == "csv" else DataSpec("sim")
    cfg = BacktestConfig(
        strategies=("last_minute",),
        start=START,
        end=END,
        data=spec,
        symbols=("SPY",),
        step="day",
        capital=Decimal(100_000),
    )
    strat = LastMinute()
    res = run_backtest_sync(cfg, strategies=[strat])
    assert strat.looks == len(res.sessions)
    assert res.fills == ()
    assert res.summary.end_equity == 100_000.0
    assert "market-on-close" in res.model


def test_closing_auction_when_off_then_last_minute_trades_at_the_minute_before_the_close(
    prices_dir,
):
    # The market without the auction (minute steps, live): in the last minute the price is
    # the previous minute's close, which differs from the session's close on most days; the
    # daily step's market quotes the close itself.
    day = date(2019, 3, 5)
    start = datetime.fromisoformat("2019-03-05T14:30:00+00:00")
    moc_clock, plain_clock = ReplayClock(start), ReplayClock(start)
    moc = CsvReplayMarket(prices_dir, moc_clock, symbols=["SPY"], closing_auction=True)
    plain = CsvReplayMarket(prices_dir, plain_clock, symbols=["SPY"])
    cal = moc.calendar
    differ = 0
    for d in cal.sessions(day, day + timedelta(days=30)):
        at = cal.session_close(d) - timedelta(seconds=1)
        moc_clock.jump_to(at)
        plain_clock.jump_to(at)
        close = moc.daily_bars_at(d)["SPY"].close
        assert moc.latest_quote_sync("SPY").last == close
        assert moc.latest_quote_sync("SPY").ask > close
        differ += plain.latest_quote_sync("SPY").last != close
    assert differ > 10
