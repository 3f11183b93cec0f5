"""Same seed, same market, byte for byte; a different seed, a different market."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import numpy as np

from engine.data import SimulatedMarket, sim_start_time


def _fingerprint(seed: int, make_clock: type) -> str:
    clock = make_clock(sim_start_time())
    market = SimulatedMarket(clock, seed=seed)
    h = hashlib.sha256()
    p = market.paths
    for arr in (p.open, p.high, p.low, p.close, p.volume, p.base_iv, p.regime):
        h.update(np.ascontiguousarray(arr).tobytes())
    clock.set(market.start_time + timedelta(hours=2, minutes=17))
    for sym in ("SPY", "NVDA", "GME", "SPX", "VIX"):
        m = market.minute_arrays(sym, market.start)
        for arr in (m.open, m.high, m.low, m.close, m.volume):
            h.update(arr.tobytes())
        h.update(repr(market.latest_quote_sync(sym)).encode())
    today = market.start
    for und in ("SPY", "AAPL", "SPX"):
        chain = market.option_chain_sync(und, today, today + timedelta(days=60))
        h.update(repr(chain).encode())
    h.update(repr(market.earnings_events(today, today + timedelta(days=365))).encode())
    return h.hexdigest()


def test_build_when_same_seed_then_identical_bytes(make_clock: type) -> None:
    assert _fingerprint(7, make_clock) == _fingerprint(7, make_clock)


def test_build_when_seed_differs_then_market_differs(make_clock: type) -> None:
    assert _fingerprint(7, make_clock) != _fingerprint(8, make_clock)


def test_build_when_universe_is_a_subset_then_shared_symbols_have_identical_paths(
    sim: SimulatedMarket, make_clock: type
) -> None:
    small = SimulatedMarket(make_clock(sim.start_time), universe=["AAPL", "TQQQ"])
    assert list(small.symbols()) == ["AAPL", "QQQ", "TQQQ"]  # TQQQ pulls in its underlying
    for sym in ("AAPL", "TQQQ"):
        np.testing.assert_array_equal(
            small.paths.close[:, small.paths.column(sym)], sim.paths.close[:, sim.paths.column(sym)]
        )
    assert small.earnings_events(sim.start, sim.start + timedelta(days=365)) == [
        e
        for e in sim.earnings_events(sim.start, sim.start + timedelta(days=365))
        if e.symbol == "AAPL"
    ]
