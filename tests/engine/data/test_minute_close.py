"""`minute_closes` gives exactly `minute_path`'s closes, and the simulator's in-session price
read through it equals the full minute path's close (the daily replay's closing quote)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from manual_clock import ManualClock

from engine.data import SimulatedMarket, sim_start_time
from engine.data.simulator.intraday import minute_path
from engine.data.simulator.minute_close import minute_closes
from engine.domain import BarInterval

prices = st.floats(min_value=0.01, max_value=20000.0, allow_nan=False, allow_infinity=False)


@st.composite
def daily_bars(draw: st.DrawFn) -> tuple[float, float, float, float, int]:
    a, b, c, d = sorted(round(draw(prices), 2) for _ in range(4))
    o, cl = draw(st.permutations([b, c]))
    minutes = draw(st.sampled_from([1, 7, 29, 30, 60, 210, 390]))
    return o, d, a, cl, minutes


@settings(max_examples=300, deadline=None)
@given(bar=daily_bars(), seed=st.integers(min_value=0, max_value=2**32))
def test_minute_closes_when_any_valid_daily_bar_then_equal_to_minute_path_closes(
    bar: tuple[float, float, float, float, int], seed: int
) -> None:
    o, h, low, c, n = bar
    full = minute_path(o, h, low, c, 1e6, n, np.random.default_rng(seed))
    alone = minute_closes(o, h, low, c, n, np.random.default_rng(seed))
    assert alone.tobytes() == full.close.tobytes()


def test_price_in_session_when_path_not_built_then_equal_to_full_path_close() -> None:
    clock = ManualClock(sim_start_time())
    fresh = SimulatedMarket(clock)  # nothing cached: closes are built alone
    assert "SPX" in fresh.symbols()  # scaled from SPY: that branch is covered too
    sessions = fresh.sessions[fresh._anchor : fresh._anchor + 6]
    for session in sessions:
        t = fresh._index[session]
        close = fresh._closes[t]
        for ts in (close - timedelta(seconds=1), fresh._opens[t] + timedelta(minutes=37)):
            clock.set(ts)
            for sym in fresh.symbols():
                price = fresh._price_at(sym, ts)
                k = int((ts - fresh._opens[t]) // timedelta(minutes=1))
                full = fresh.minute_arrays(sym, session).close[k - 1]
                assert price == float(full), (sym, session, ts)


def test_minute_closes_when_session_changes_then_memo_holds_only_current_session() -> None:
    clock = ManualClock(sim_start_time())
    market = SimulatedMarket(clock)
    a, b = market.sessions[market._anchor], market.sessions[market._anchor + 1]
    for session in (a, b):
        clock.set(market._closes[market._index[session]] - timedelta(seconds=1))
        market.latest_quote_sync("AAPL")
        assert set(market._closes_memo) == {market._col["AAPL"]}
        assert market._closes_session == market._index[session]


def test_minute_path_when_closes_were_read_first_then_built_from_the_same_draws(
    make_clock: type[ManualClock],
) -> None:
    """A quote read first keeps the session's draws; the intraday bars built after it (from
    those draws, without drawing again) equal the bars of a market that never quoted."""
    markets = []
    for quote_first in (True, False):
        clock = make_clock(sim_start_time())
        sim = SimulatedMarket(clock)
        clock.set(sim.start_time + timedelta(minutes=200))
        if quote_first:
            sim.latest_quote_sync("NVDA")
        markets.append((sim, clock))
    got = [
        sim.intraday_bars_sync("NVDA", BarInterval.FIVE_MINUTES, sim.start_time, clock.now())
        for sim, clock in markets
    ]
    assert len(got[0]) == 40
    assert got[0] == got[1]
    assert markets[0][0].latest_quote_sync("NVDA") == markets[1][0].latest_quote_sync("NVDA")
