"""Batched pricing and the simulator's read caches give exactly what one-at-a-time reads give."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from engine.data import SimulatedMarket
from engine.data.simulator.options import (
    ExpiryRequest,
    build_expiries,
    build_expiry,
    listed_expiries,
)
from engine.domain import BarInterval, OptionContract, OptionQuote, OptionRight

SYMBOLS = ("SPY", "SPX", "NVDA", "AMC", "IWM")


def _requests(sim: SimulatedMarket) -> list[ExpiryRequest]:
    out: list[ExpiryRequest] = []
    for i, sym in enumerate(SYMBOLS):
        inputs, today = sim._chain_inputs(sym)
        exps = listed_expiries(inputs.style.daily_expiries, today, sim.calendar)
        for e in (exps[0], exps[min(3, len(exps) - 1)], exps[-1]):
            close = sim.calendar.session_close(e)
            strikes = None
            if i % 2:  # a few chosen strikes for some, whole ladders for the others
                full = build_expiry(inputs, e, close)
                ks = sorted({float(q.contract.strike) for q in full.quotes})
                strikes = np.array(ks[:: max(1, len(ks) // 3)], dtype=np.float64)
            out.append(ExpiryRequest(inputs, e, close, strikes))
    return out


def test_build_expiries_when_many_expiries_share_a_pass_then_each_equals_pricing_it_alone(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=97))
    reqs = _requests(sim)
    together = build_expiries(reqs)
    assert len(together) == len(reqs)
    for req, block in zip(reqs, together, strict=True):
        alone = build_expiries([req])[0]
        assert block.expiry == req.expiry
        assert block.quotes == alone.quotes  # float for float
        assert list(block.by_key) == list(alone.by_key)


def test_option_quote_when_priced_in_a_batch_then_equals_the_quote_in_its_chain(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=45))
    today = sim_clock.now().date()
    picks: list[OptionContract] = []
    for sym in ("NVDA", "SPY", "AMC"):
        chain = sim.option_chain_sync(sym, today, today + timedelta(days=40))
        rows = chain.for_expiry(chain.expiries[-1])
        picks += [rows[0].contract, rows[len(rows) // 2].contract]
    # One minute later: ask them one by one (the first prices all recently asked ones).
    for c in picks:
        sim.option_quote_sync(c)
    sim_clock.set(sim_clock.now() + timedelta(minutes=1))
    singles = [sim.option_quote_sync(c) for c in picks]
    batch = sim.option_quotes_sync(picks)
    for c, q in zip(picks, singles, strict=True):
        assert batch[c] is q
        chain = sim.option_chain_sync(c.underlying, c.expiry, c.expiry)
        assert chain.find(c) == q
        assert q.ts == chain.ts


def test_option_quotes_sync_when_a_contract_is_expired_then_it_is_left_out(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=30))
    today = sim_clock.now().date()
    live = sim.option_chain_sync("SPY", today, today + timedelta(days=7)).quotes[0].contract
    dead = OptionContract("SPY", date(2025, 12, 19), live.strike, live.right)
    got = sim.option_quotes_sync([live, dead])
    assert set(got) == {live}


def test_intraday_bars_when_asked_again_later_then_same_as_a_fresh_market(
    sim: SimulatedMarket, sim_clock
) -> None:
    cal = sim.calendar
    start = cal.session_open(cal.sessions_ending(sim.start_time.date() + timedelta(days=7), 5)[0])
    fresh = SimulatedMarket(sim_clock, seed=sim.seed)
    for minutes in (0, 14, 15, 16, 389, 390, 391, 1200, 1830, 2300):
        sim_clock.set(sim.start_time + timedelta(days=7, minutes=minutes))
        now = sim_clock.now()
        for interval in (BarInterval.FIVE_MINUTES, BarInterval.FIFTEEN_MINUTES, BarInterval.HOUR):
            cached = sim.intraday_bars_sync("TSLA", interval, start, now)
            again = sim.intraday_bars_sync("TSLA", interval, start, now)
            assert cached == again == fresh.intraday_bars_sync("TSLA", interval, start, now)
            # complete bars only (an hour bar's nominal end may pass a 16:00 close)
            assert all(min(b.end, cal.session_close(b.session_date)) <= now for b in cached)
            cached.clear()  # callers own the list they get
            assert sim.intraday_bars_sync("TSLA", interval, start, now) == again


def _side(chain_quotes: tuple[OptionQuote, ...], right: OptionRight) -> tuple[OptionQuote, ...]:
    return tuple(q for q in chain_quotes if q.contract.right is right)


def test_option_chain_when_one_right_asked_then_equals_that_side_of_the_full_chain(
    sim: SimulatedMarket, sim_clock
) -> None:
    """A one-sided read (priced alone) equals the full chain's side, float for float, in
    either order of reads at one instant; and a full read after both sides is their union."""
    today = sim.start_time.date()
    lo, hi = today, today + timedelta(days=60)
    for minutes, sym in ((61, "NVDA"), (62, "SPX"), (63, "AMC")):
        # Sides first (each priced alone), then the full chain assembled from them.
        sim_clock.set(sim.start_time + timedelta(minutes=minutes))
        calls = sim.option_chain_sync(sym, lo, hi, OptionRight.CALL)
        puts = sim.option_chain_sync(sym, lo, hi, OptionRight.PUT)
        assembled = sim.option_chain_sync(sym, lo, hi)
        assert calls.quotes
        assert puts.quotes
        assert all(q.contract.right is OptionRight.CALL for q in calls.quotes)
        assert all(q.contract.right is OptionRight.PUT for q in puts.quotes)
        # Full first at a fresh instant: the sides are then cut from it.
        sim_clock.set(sim.start_time + timedelta(minutes=minutes + 30))
        sim_clock.set(sim.start_time + timedelta(minutes=minutes))
        full = sim.option_chain_sync(sym, lo, hi)
        assert full.quotes == assembled.quotes
        assert _side(full.quotes, OptionRight.CALL) == calls.quotes
        assert _side(full.quotes, OptionRight.PUT) == puts.quotes
        assert sim.option_chain_sync(sym, lo, hi, OptionRight.PUT).quotes == puts.quotes


def test_option_quote_when_its_side_was_read_then_the_same_object(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=77))
    today = sim.start_time.date()
    calls = sim.option_chain_sync("NVDA", today, today + timedelta(days=30), OptionRight.CALL)
    q = calls.quotes[len(calls.quotes) // 2]
    assert sim.option_quote_sync(q.contract) is q


def test_option_chain_when_strike_band_then_equals_the_full_chains_strikes_in_band(
    sim: SimulatedMarket, sim_clock
) -> None:
    """A band read prices only the listed strikes in [lo, hi]; its quotes equal the full
    chain's there (priced alone, or cut from a chain already priced), and an expiry with no
    strike in the band is left out."""
    today = sim.start_time.date()
    lo_d, hi_d = today, today + timedelta(days=45)
    for minutes, sym, right in ((91, "NVDA", OptionRight.CALL), (92, "AMC", None)):
        sim_clock.set(sim.start_time + timedelta(minutes=minutes))
        spot = sim.latest_quote_sync(sym).last
        band = (0.95 * spot, 1.10 * spot)
        banded = sim.option_chain_sync(sym, lo_d, hi_d, right, band)  # priced alone
        sim_clock.set(sim.start_time + timedelta(minutes=minutes + 30))
        sim.option_chain_sync(sym, lo_d, hi_d, right)  # another instant: caches dropped
        sim_clock.set(sim.start_time + timedelta(minutes=minutes))
        full = sim.option_chain_sync(sym, lo_d, hi_d, right)
        want = tuple(q for q in full.quotes if band[0] <= float(q.contract.strike) <= band[1])
        assert want
        assert len(want) < len(full.quotes)
        assert banded.quotes == want
        assert sim.option_chain_sync(sym, lo_d, hi_d, right, band).quotes == want  # cut
    far = (10_000.0, 20_000.0)
    assert sim.option_chain_sync("AMC", lo_d, hi_d, None, far).quotes == ()
