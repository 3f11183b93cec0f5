"""Narrow chain reads pick exactly what the full-range chain would, on the simulated market."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.data import SimulatedMarket, sim_start_time
from engine.data.calendar import default_calendar
from engine.data.simulator import options as sim_options
from engine.domain import OptionChain, OptionRight, Portfolio, TradeProposal
from engine.strategies.base import StrategyContext
from engine.strategies.chain_select import (
    expiries,
    find_strike,
    first_expiry_on_or_after,
    last_expiry_on_or_before,
    nearest_expiry,
    rows,
)
from engine.strategies.earnings_protection import EarningsProtection
from engine.strategies.market_guard import fresh_chain, fresh_chain_first, fresh_chain_near
from engine.strategies.momentum_weeklies import MomentumWeeklies
from engine.strategies.registry import strategy_class

CAL = default_calendar()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


@pytest.fixture(scope="module")
def market() -> tuple[_Clock, SimulatedMarket]:
    clock = _Clock(sim_start_time())
    return clock, SimulatedMarket(clock)  # type: ignore[arg-type]


def _ctx(clock: _Clock, sim: SimulatedMarket, minutes: int) -> StrategyContext:
    clock._now = sim.start_time + timedelta(minutes=minutes)
    now = clock.now()
    return StrategyContext(
        now=now, market=sim, calendar=CAL, portfolio=Portfolio(ts=now, cash=Decimal(100_000)),
        positions={},
    )  # fmt: skip


# Instants spread over several weekdays, in session (minutes after the start session's open).
INSTANTS = (5, 200, 1500, 3000, 4400, 5800)


@pytest.mark.parametrize("minutes", INSTANTS)
@pytest.mark.parametrize(("sym", "target"), [("SPY", 21), ("NVDA", 21), ("AMC", 9), ("IWM", 30)])
async def test_fresh_chain_near_when_target_dte_then_same_expiry_and_quotes_as_full(
    market: tuple[_Clock, SimulatedMarket], minutes: int, sym: str, target: int
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    hi = 2 * target + 14
    full = await fresh_chain(
        ctx, sym, ctx.today + timedelta(days=1), ctx.today + timedelta(days=hi)
    )
    near = await fresh_chain_near(ctx, sym, 1, hi, target, right=OptionRight.CALL)
    want = nearest_expiry(full, ctx.today, target, min_dte=1, right=OptionRight.CALL)
    got = nearest_expiry(near, ctx.today, target, min_dte=1, right=OptionRight.CALL)
    assert want is not None
    assert got == want
    assert rows(near, got, OptionRight.CALL) == rows(full, want, OptionRight.CALL)
    assert len(near) < len(full)  # the point: fewer quotes priced


@pytest.mark.parametrize("minutes", INSTANTS[:3])
async def test_fresh_chain_first_when_leaps_window_then_same_first_expiry(
    market: tuple[_Clock, SimulatedMarket], minutes: int
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    full = await fresh_chain(
        ctx, "NVDA", ctx.today + timedelta(days=180), ctx.today + timedelta(days=540)
    )
    first = await fresh_chain_first(
        ctx, "NVDA", 180, 540, right=OptionRight.CALL, first_span_days=120
    )
    want = expiries(full, OptionRight.CALL)[0]
    assert expiries(first, OptionRight.CALL)[0] == want
    assert rows(first, want, OptionRight.CALL) == rows(full, want, OptionRight.CALL)


@pytest.mark.parametrize("minutes", INSTANTS)
@pytest.mark.parametrize(("lo", "hi"), [(180, 540), (365, 730), (300, 420)])
async def test_fresh_chain_first_when_span_cascade_then_same_first_expiry_and_fewer_quotes(
    market: tuple[_Clock, SimulatedMarket], minutes: int, lo: int, hi: int
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    full = await fresh_chain(
        ctx, "NVDA", ctx.today + timedelta(days=lo), ctx.today + timedelta(days=hi)
    )
    one = await fresh_chain_first(ctx, "NVDA", lo, hi, right=OptionRight.CALL, first_span_days=120)
    cascade = await fresh_chain_first(
        ctx, "NVDA", lo, hi, right=OptionRight.CALL, first_span_days=(35, 120)
    )
    want = expiries(full, OptionRight.CALL)[0]
    assert expiries(cascade, OptionRight.CALL)[0] == want
    assert rows(cascade, want, OptionRight.CALL) == rows(full, want, OptionRight.CALL)
    assert cascade.spot == full.spot
    assert cascade.ts == full.ts
    assert len(cascade) <= len(one)
    if lo == 180:  # monthlies are listed there: the 35-day read holds one expiry, not four
        assert len(cascade) < len(one)


@pytest.mark.parametrize("days_ahead", [3, 9, 16, 24])
async def test_earnings_event_chain_when_event_ahead_then_front_event_back_expiries_match(
    market: tuple[_Clock, SimulatedMarket], days_ahead: int
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, 200)
    strat = EarningsProtection.from_profile()
    event = ctx.today + timedelta(days=days_ahead)
    full = await fresh_chain(ctx, "AAPL", ctx.today, event + timedelta(days=45))
    got = await strat._event_chain(ctx, "AAPL", event)

    def picks(ch: OptionChain) -> tuple[date | None, ...]:
        return (
            first_expiry_on_or_after(ch, event),
            last_expiry_on_or_before(ch, event, OptionRight.CALL),
            next((e for e in ch.expiries if e > event), None),
        )

    assert picks(got) == picks(full)
    for e in picks(full):
        if e is not None:
            assert rows(got, e, OptionRight.CALL) == rows(full, e, OptionRight.CALL)


@pytest.mark.parametrize("minutes", INSTANTS)
@pytest.mark.parametrize("profile", ["research_2024", "wsb_2025"])
async def test_momentum_entry_chain_when_any_weekday_then_same_expiry_as_two_week_chain(
    market: tuple[_Clock, SimulatedMarket], minutes: int, profile: str
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    strat = MomentumWeeklies.from_profile(profile)
    for sym in ("SPY", "TSLA"):
        full = await fresh_chain(ctx, sym, ctx.today, ctx.today + timedelta(days=14))
        near = await strat._entry_chain(ctx, sym)
        assert strat.pick_expiry(near, ctx.today) == strat.pick_expiry(full, ctx.today)


async def test_chain_index_when_reused_then_same_rows_and_strikes_as_scanning(
    market: tuple[_Clock, SimulatedMarket],
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, 300)
    chain = await fresh_chain(ctx, "QQQ", ctx.today, ctx.today + timedelta(days=30))
    for e in chain.expiries:
        for right in OptionRight:
            listed = chain.for_expiry(e, right)
            assert rows(chain, e, right) == listed
            for q in listed[:: max(1, len(listed) // 7)]:
                assert find_strike(chain, e, right, float(q.contract.strike)) is q
            assert find_strike(chain, e, right, 0.125) is None
        assert expiries(chain, OptionRight.PUT) == tuple(
            sorted({q.contract.expiry for q in chain if q.contract.right is OptionRight.PUT})
        )


class _NoPrefetch:
    """The same market without the prefetch capability (as a feed that lacks it)."""

    def __init__(self, inner: SimulatedMarket) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        if name == "prefetch_chains":
            raise AttributeError(name)
        return getattr(self._inner, name)


def _decisions(props: Sequence[TradeProposal]) -> list[tuple[object, ...]]:
    return [(p.legs, p.quantity, p.limit_price, p.reason) for p in props]


@pytest.mark.parametrize("minutes", [200, 3000, 5800])
@pytest.mark.parametrize("name", ["debit_spreads", "earnings_protection", "leaps_tracker"])
async def test_prefetched_scan_when_strategy_announces_reads_then_same_decisions_fewer_passes(
    market: tuple[_Clock, SimulatedMarket],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    minutes: int,
) -> None:
    """A strategy that announces its chain reads decides exactly as it does on a feed that
    cannot prefetch, and its reads are priced in fewer vectorised passes."""
    clock, sim = market
    passes = [0]
    real = sim_options.build_expiries

    def counting(*args: Any, **kwargs: Any) -> Any:
        passes[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_options, "build_expiries", counting)
    runs: list[tuple[list[tuple[object, ...]], dict[str, str], int]] = []
    for feed in (_NoPrefetch(sim), sim):
        # Another instant first, so the scan starts with nothing priced.
        _ctx(clock, sim, minutes + 7)
        sim.option_chain_sync("SPY", clock.now().date(), clock.now().date() + timedelta(days=9))
        ctx = _ctx(clock, sim, minutes)
        ctx = dataclasses.replace(ctx, market=feed)  # type: ignore[arg-type]
        strat = strategy_class(name).from_profile("wsb_2025")
        passes[0] = 0
        props = await strat.on_bar(ctx, sim.minute_bars_at(ctx.now))
        runs.append((_decisions(props), dict(strat.skips.by_symbol), passes[0]))
    (plain, plain_skips, plain_passes), (pre, pre_skips, pre_passes) = runs
    assert pre == plain
    assert pre_skips == plain_skips
    assert plain_passes >= 1
    assert pre_passes < plain_passes if plain_passes > 1 else pre_passes <= plain_passes
