"""Wheel's collateral pre-check: the chain is not read when no put of the delta band can be
afforded, and that never changes what the full path (price the chain, pick, check) decides."""

from __future__ import annotations

import random

import numpy as np
import pytest
from strat_fixtures import (
    bs_chain,
    context,
    daily_bars,
    fresh_bar,
    market,
    sessions_before,
    spot_quote,
)
from test_strat_wheel import EXPIRIES, NOW, SYM, TODAY, rank_closes

from engine.data.memory import InMemoryMarketData
from engine.domain import OptionChain, OptionRight
from engine.pricing import black_scholes
from engine.strategies import wheel as wheel_mod
from engine.strategies.wheel import EPS, Wheel, WheelParams, lowest_put_strike


def test_lowest_put_strike_when_random_puts_in_band_then_none_is_below_the_bound() -> None:
    rng = np.random.default_rng(20261207)
    n = 400_000
    max_dte = 45
    m = 0.15 - EPS
    spot = np.exp(rng.uniform(np.log(1.0), np.log(3000.0), n))
    t = rng.uniform(1.0 / 365.0 / 24.0, (max_dte + 1) / 365.0, n)
    # vols around the worst case (sigma sqrt T = z) and anywhere up to 500%
    z = 1.0364333894937898  # -N^-1(0.15)
    sigma = np.where(rng.random(n) < 0.5, z / np.sqrt(t) * rng.uniform(0.8, 1.2, n), 0.0)
    sigma = np.where(sigma > 0.0, sigma, rng.uniform(0.01, 5.0, n))
    bound = lowest_put_strike(1.0, m, max_dte) * spot
    strike = bound * rng.uniform(0.3, 1.0, n)  # every strike tried is below the bound
    r = rng.uniform(0.0, 0.10, n)
    q = rng.uniform(0.0, 0.10, n)
    delta = np.abs(np.asarray(black_scholes(spot, strike, t, r, q, sigma, False).delta))
    assert float(delta.max()) < m  # none of them can be in the band
    assert float(delta.max()) > 0.9 * m  # and the bound is tight, not a loose guess


def _market(spot: float, strikes: list[float], sigma: float) -> InMemoryMarketData:
    _, data = market(NOW)
    closes = [c * spot / 100.0 for c in rank_closes(60.0)]
    data.add_daily_bars(daily_bars(SYM, closes, sessions_before(TODAY, len(closes))))
    data.set_quote(spot_quote(SYM, NOW, spot))
    data.set_chain(bs_chain(SYM, NOW, spot, EXPIRIES, strikes, sigma=sigma))
    return data


class _CountingMarket:
    """Delegates to an InMemoryMarketData and counts chain reads."""

    def __init__(self, inner: InMemoryMarketData) -> None:
        self._inner = inner
        self.chain_reads = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def option_chain(
        self, underlying: str, lo: object, hi: object, right: OptionRight | None = None
    ) -> OptionChain:
        self.chain_reads += 1
        return await self._inner.option_chain(underlying, lo, hi, right)  # type: ignore[arg-type]


async def _decide(
    data: object, equity: float, open_risk: float, *, precheck: bool
) -> tuple[list[str], str | None]:
    s = Wheel(WheelParams(watchlist=(SYM,), min_iv_rank=0.0, min_premium=0.0))
    ctx = context(NOW, data, equity=equity, open_risk=open_risk)  # type: ignore[arg-type]
    if precheck:
        props = await s.on_bar(ctx, {SYM: fresh_bar(SYM, NOW, 1.0)})
    else:
        real = wheel_mod.lowest_put_strike
        wheel_mod.lowest_put_strike = lambda *a: 0.0  # type: ignore[assignment]
        try:
            props = await s.on_bar(ctx, {SYM: fresh_bar(SYM, NOW, 1.0)})
        finally:
            wheel_mod.lowest_put_strike = real
    return [p.legs[0].instrument.symbol + f" @{p.limit_price}" for p in props], s.last_skip_reason


async def test_sell_put_when_random_spots_and_cash_then_precheck_decides_as_the_full_path() -> None:
    rng = random.Random(97)
    taken = skipped_early = 0
    for _ in range(120):
        spot = round(rng.uniform(3.0, 400.0), 2)
        step = max(0.5, round(spot / 40.0))
        strikes = [step * i for i in range(1, int(spot * 1.3 / step))]
        sigma = rng.choice([0.15, 0.3, 0.8, 1.5, 3.0])
        equity = rng.uniform(100.0, 60_000.0)
        open_risk = rng.choice([0.0, equity * rng.uniform(0.0, 0.9)])
        full = await _decide(_market(spot, strikes, sigma), equity, open_risk, precheck=False)
        counted = _CountingMarket(_market(spot, strikes, sigma))
        fast = await _decide(counted, equity, open_risk, precheck=True)
        assert fast[0] == full[0], (spot, sigma, equity, open_risk)
        if fast[0]:
            taken += 1
        elif counted.chain_reads == 0:
            skipped_early += 1
            assert "collateral >= $" in (fast[1] or "")
            assert "collateral" in (full[1] or "") or "no put" in (full[1] or "")
    assert taken >= 10  # both outcomes are exercised
    assert skipped_early >= 10


async def test_sell_put_when_spot_100_and_room_5000_then_skips_without_reading_the_chain() -> None:
    counted = _CountingMarket(_market(100.0, list(range(80, 116)), 0.3))
    props, why = await _decide(counted, 5_000.0, 0.0, precheck=True)
    assert props == []
    assert counted.chain_reads == 0
    assert why is not None
    assert "collateral >= $5,77" in why  # 100 x 57.7: the lowest strike of a 0.15-delta put


@pytest.mark.parametrize("min_delta", [0.0, 0.5, 0.9])
def test_lowest_put_strike_when_band_reaches_zero_or_atm_then_bound_is_zero_or_near_spot(
    min_delta: float,
) -> None:
    got = lowest_put_strike(100.0, min_delta, 30)
    if min_delta == 0.0:
        assert got == 0.0
    else:
        assert 99.0 < got < 100.0  # exp(-q T) only
    # W25's band (|delta| >= 0.25, 28 DTE): about 79% of spot
    assert lowest_put_strike(100.0, 0.25, 28) == pytest.approx(79.02, abs=0.01)
