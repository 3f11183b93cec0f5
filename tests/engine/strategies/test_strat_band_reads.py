"""LEAPS and momentum entries read one expiry's narrow strike band when the feed lists
expiries (`listed_expiries`): the expiry, the strike and (LEAPS) the proposals and skips
are exactly those of a feed that cannot list them (which reads the window's whole ladders),
at a fraction of the pricing."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.data import SimulatedMarket, sim_start_time
from engine.data.calendar import default_calendar
from engine.data.simulator import options as sim_options
from engine.domain import OptionRight, Portfolio, TradeProposal
from engine.strategies.base import StrategyContext
from engine.strategies.chain_select import expiries, round_strike, rows, strike_nearest
from engine.strategies.leaps_tracker import LeapsTracker
from engine.strategies.market_guard import fresh_chain_first
from engine.strategies.momentum_weeklies import MomentumWeeklies

CAL = default_calendar()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


class _NoListing:
    """The same market without `listed_expiries` (as a feed that cannot list expiries)."""

    def __init__(self, inner: SimulatedMarket) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        if name == "listed_expiries":
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.fixture(scope="module")
def market() -> tuple[_Clock, SimulatedMarket]:
    clock = _Clock(sim_start_time())
    return clock, SimulatedMarket(clock)  # type: ignore[arg-type]


def _ctx(
    clock: _Clock, sim: SimulatedMarket, minutes: int, cash: int = 1_000_000
) -> StrategyContext:
    clock._now = sim.start_time + timedelta(minutes=minutes)
    now = clock.now()
    return StrategyContext(
        now=now, market=sim, calendar=CAL, portfolio=Portfolio(ts=now, cash=Decimal(cash)),
        positions={},
    )  # fmt: skip


def _decisions(props: Sequence[TradeProposal]) -> list[tuple[object, ...]]:
    return [(p.legs, p.quantity, p.limit_price, p.max_loss, p.reason) for p in props]


@pytest.mark.parametrize("minutes", [200, 1500, 3000, 5800])
@pytest.mark.parametrize("profile", ["wsb_2025", "research_2024"])
async def test_leaps_scan_when_feed_lists_expiries_then_same_decisions_fewer_rows(
    market: tuple[_Clock, SimulatedMarket],
    monkeypatch: pytest.MonkeyPatch,
    minutes: int,
    profile: str,
) -> None:
    clock, sim = market
    priced = [0]
    real = sim_options.build_expiries

    def counting(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        priced[0] += sum(len(b.quotes) for b in out)
        return out

    monkeypatch.setattr(sim_options, "build_expiries", counting)
    runs: list[tuple[list[tuple[object, ...]], dict[str, str], int]] = []
    for feed in (_NoListing(sim), sim):
        # Another instant first, so the scan starts with nothing priced.
        _ctx(clock, sim, minutes + 7)
        sim.option_chain_sync("SPY", clock.now().date(), clock.now().date() + timedelta(days=9))
        ctx = dataclasses.replace(_ctx(clock, sim, minutes), market=feed)  # type: ignore[arg-type]
        strat = LeapsTracker.from_profile(profile)
        strat.entry_gate = lambda s: ""  # type: ignore[method-assign]  # every name enters
        priced[0] = 0
        props = await strat.on_bar(ctx, sim.minute_bars_at(ctx.now))
        runs.append((_decisions(props), dict(strat.skips.by_symbol), priced[0]))
    (full, full_skips, full_rows), (band, band_skips, band_rows) = runs
    assert band == full
    assert band_skips == full_skips
    assert full  # the scan proposed: the band path was exercised
    assert band_rows < full_rows / 2


@pytest.mark.parametrize("minutes", [200, 3000])
@pytest.mark.parametrize("sym", ["NVDA", "SPY", "AMC", "IWM"])
async def test_band_chain_when_listed_then_same_expiry_and_nearest_strike_as_window(
    market: tuple[_Clock, SimulatedMarket], minutes: int, sym: str
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    strat = LeapsTracker.from_profile("wsb_2025")
    p = strat.params
    band = await strat._band_chain(ctx, sym)
    window = await fresh_chain_first(
        ctx, sym, p.min_dte, p.max_dte, right=OptionRight.CALL, first_span_days=(35, 120)
    )
    assert band is not None
    (expiry,) = expiries(band, OptionRight.CALL)
    assert expiry == expiries(window, OptionRight.CALL)[0]
    assert band.spot == window.spot
    assert band.ts == window.ts
    target = band.spot * (1.0 + p.otm_pct)
    assert strike_nearest(band, expiry, OptionRight.CALL, target) == strike_nearest(
        window, expiry, OptionRight.CALL, target
    )
    assert len(rows(band, expiry, OptionRight.CALL)) < len(rows(window, expiry, OptionRight.CALL))


@pytest.mark.parametrize("minutes", [5, 200, 1500, 3000, 4400, 5800])
@pytest.mark.parametrize("sym", ["SPY", "NVDA", "AMC", "TSLA"])
@pytest.mark.parametrize("profile", ["wsb_2025", "research_2024"])
async def test_momentum_band_chain_when_listed_then_same_expiry_and_strike_as_entry_chain(
    market: tuple[_Clock, SimulatedMarket], minutes: int, sym: str, profile: str
) -> None:
    clock, sim = market
    ctx = _ctx(clock, sim, minutes)
    strat = MomentumWeeklies.from_profile(profile)
    spot = sim.latest_quote_sync(sym).last
    full = await strat._entry_chain(ctx, sym)
    want_expiry = strat.pick_expiry(full, ctx.today)
    for otm in (0.01, 0.03, 0.08):
        target = round_strike(spot * (1.0 + otm), 0.1)
        got = await strat._band_chain(ctx, sym, target)
        if want_expiry is None:
            assert got is None
            continue
        if got is None:
            # no listed strike on one side of the target inside the band (a short ladder):
            # the entry reads its usual chain; liquid names always have both
            assert sym == "AMC"
            continue
        chain, expiry = got
        assert expiry == want_expiry
        assert chain.ts == full.ts
        want = strike_nearest(full, expiry, OptionRight.CALL, target)
        assert strike_nearest(chain, expiry, OptionRight.CALL, target) == want
        assert len(chain) <= len(full)
