"""Option chains: listings, parity, spreads, liquidity and the earnings IV cycle."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.data import DataUnavailable, SimulatedMarket
from engine.domain import OptionContract, OptionQuote, OptionRight


def _at(sim: SimulatedMarket, clock, d: date, minutes: int = 60) -> None:  # type: ignore[no-untyped-def]
    clock.set(sim.calendar.session_open(d) + timedelta(minutes=minutes))


def _first_weekday(sim: SimulatedMarket, weekday: int) -> date:
    return next(d for d in sim.sessions if d >= sim.start and d.weekday() == weekday)


def _atm(rows: tuple[OptionQuote, ...], spot: float) -> OptionQuote:
    return min(rows, key=lambda q: abs(float(q.contract.strike) - spot))


def test_option_chain_when_tuesday_then_zero_dte_for_spy_qqq_spx_not_iwm(
    sim: SimulatedMarket, sim_clock
) -> None:
    tuesday = _first_weekday(sim, 1)
    _at(sim, sim_clock, tuesday)
    for und in ("SPY", "QQQ", "SPX"):
        chain = sim.option_chain_sync(und, tuesday, tuesday)
        assert chain.expiries == (tuesday,), und
        assert len(chain.for_expiry(tuesday, OptionRight.PUT)) > 20
    assert len(sim.option_chain_sync("IWM", tuesday, tuesday)) == 0
    wednesday = sim.calendar.next_session(tuesday)
    _at(sim, sim_clock, wednesday)
    assert sim.option_chain_sync("IWM", wednesday, wednesday).expiries == (wednesday,)
    assert sim.option_chain_sync("AAPL", wednesday, wednesday).expiries == ()


def test_expiries_when_listed_then_weeklies_monthlies_and_leaps(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start)
    exps = sim.listed_expiries("AAPL")
    fridays = [e for e in exps if e.weekday() == 4 and (e - sim.start).days <= 56]
    assert len(fridays) >= 7
    leaps = [e for e in exps if 365 <= (e - sim.start).days <= 730]
    assert len(leaps) >= 2
    chain = sim.option_chain_sync(
        "AAPL", sim.start + timedelta(days=365), sim.start + timedelta(days=730)
    )
    assert set(chain.expiries) == set(leaps)


def test_quotes_when_any_chain_then_valid_and_greeks_filled(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 200)
    for und in ("SPY", "SPX", "NVDA", "AMC", "TQQQ", "KO"):
        chain = sim.option_chain_sync(und, sim.start, sim.start + timedelta(days=800))
        assert len(chain) > 100
        for q in chain:
            assert 0 <= q.bid <= q.ask
            assert q.ask > 0
            assert q.iv is not None
            assert 0.03 <= q.iv <= 5.0
            assert q.delta is not None
            assert math.isfinite(q.delta)
            assert q.open_interest >= 0
            assert q.volume >= 0


def test_option_chain_when_spx_european_then_put_call_parity_holds(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 120)
    chain = sim.option_chain_sync(
        "SPX", sim.start + timedelta(days=25), sim.start + timedelta(days=40)
    )
    expiry = chain.expiries[0]
    t = (sim.calendar.session_close(expiry) - chain.ts).total_seconds() / (365 * 86400)
    q = sim.spec("SPX").div_yield
    calls = {c.contract.strike: c for c in chain.for_expiry(expiry, OptionRight.CALL)}
    puts = {p.contract.strike: p for p in chain.for_expiry(expiry, OptionRight.PUT)}
    checked = 0
    for k, call in calls.items():
        if abs(float(k) / chain.spot - 1) > 0.05:
            continue
        put = puts[k]
        parity = chain.spot * math.exp(-q * t) - float(k) * math.exp(-sim.rate * t)
        tolerance = 0.5 * (call.ask - call.bid + put.ask - put.bid) + 0.1
        assert abs((call.mid - put.mid) - parity) <= tolerance
        checked += 1
    assert checked > 20


def test_spreads_when_out_of_the_money_or_short_dated_then_wider(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 120)
    spot = sim.latest_quote_sync("AAPL").last
    chain = sim.option_chain_sync("AAPL", sim.start, sim.start + timedelta(days=70))
    month = chain.nearest_expiry(sim.start, 45)
    week = chain.expiries[0]
    assert month is not None
    calls = chain.for_expiry(month, OptionRight.CALL)
    atm = _atm(calls, spot)
    otm = _atm(calls, spot * 1.12)
    assert otm.spread_pct_of_mid > atm.spread_pct_of_mid
    assert (otm.ask - otm.bid) / otm.ask >= (atm.ask - atm.bid) / atm.ask
    near_atm = _atm(chain.for_expiry(week, OptionRight.CALL), spot)
    assert near_atm.spread_pct_of_mid > atm.spread_pct_of_mid
    assert otm.open_interest < atm.open_interest


def test_spreads_when_illiquid_name_then_wider_than_liquid(sim: SimulatedMarket, sim_clock) -> None:
    _at(sim, sim_clock, sim.start, 120)

    def atm_spread(sym: str) -> float:
        spot = sim.latest_quote_sync(sym).last
        chain = sim.option_chain_sync(
            sym, sim.start + timedelta(days=25), sim.start + timedelta(days=50)
        )
        return _atm(chain.for_expiry(chain.expiries[0], OptionRight.CALL), spot).spread_pct_of_mid

    assert atm_spread("OKTA") > atm_spread("MSFT")


def test_option_quote_when_same_instant_then_equals_chain_row(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 95)
    chain = sim.option_chain_sync("TSLA", sim.start, sim.start + timedelta(days=30))
    for row in chain.quotes[::37]:
        assert sim.option_quote_sync(row.contract) == row


def test_option_quote_when_strike_off_ladder_then_priced_consistently(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 95)
    spot = sim.latest_quote_sync("SPY").last
    expiry = sim.listed_expiries("SPY")[5]
    deep = OptionContract("SPY", expiry, Decimal(100), OptionRight.CALL)
    quote = sim.option_quote_sync(deep)
    assert quote.bid <= spot - 100 <= quote.ask + 1.0
    assert quote.delta is not None
    assert quote.delta > 0.99


def test_option_quote_when_expired_or_unlisted_then_data_unavailable(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start + timedelta(days=10))
    expired = OptionContract("AAPL", sim.start + timedelta(days=4), Decimal(230), OptionRight.PUT)
    with pytest.raises(DataUnavailable, match="not listed"):
        sim.option_quote_sync(expired)
    with pytest.raises(DataUnavailable, match="no options"):
        sim.option_chain_sync("VIX", sim.start, sim.start + timedelta(days=30))


def test_american_put_when_deep_in_the_money_then_worth_at_least_intrinsic(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 95)
    spot = sim.latest_quote_sync("KO").last
    chain = sim.option_chain_sync(
        "KO", sim.start + timedelta(days=300), sim.start + timedelta(days=500)
    )
    puts = chain.for_expiry(chain.expiries[-1], OptionRight.PUT)
    deep = max(puts, key=lambda p: p.contract.strike)
    assert float(deep.contract.strike) > spot * 1.2
    assert deep.ask >= float(deep.contract.strike) - spot


def test_implied_vol_when_earnings_pass_then_runs_up_before_and_crushes_after(
    sim: SimulatedMarket, sim_clock
) -> None:
    event = next(
        e
        for e in sim.earnings_events(
            sim.start + timedelta(days=20), sim.start + timedelta(days=200)
        )
        if e.symbol == "NVDA"
    )
    reaction = event.date if event.timing.value == "bmo" else sim.calendar.next_session(event.date)
    before = sim.calendar.previous_session(reaction)
    week_before = sim.sessions[sim.sessions.index(before) - 5]

    def atm_iv(d: date) -> tuple[float, date]:
        _at(sim, sim_clock, d, 300)
        spot = sim.latest_quote_sync("NVDA").last
        chain = sim.option_chain_sync("NVDA", reaction, reaction + timedelta(days=10))
        expiry = chain.expiries[0]
        iv = _atm(chain.for_expiry(expiry, OptionRight.CALL), spot).iv
        assert iv is not None
        return iv, expiry

    iv_week_before, exp1 = atm_iv(week_before)
    iv_before, exp2 = atm_iv(before)
    iv_after, exp3 = atm_iv(reaction)
    assert exp1 == exp2 == exp3
    assert iv_before > iv_week_before
    assert iv_after < 0.8 * iv_before


def test_option_quote_when_asked_before_chain_then_chain_agrees_and_prices_match_full_build(
    sim: SimulatedMarket, sim_clock, make_clock: type
) -> None:
    _at(sim, sim_clock, sim.start, 211)
    expiry = sim.listed_expiries("AMD")[3]
    spot = sim.latest_quote_sync("AMD").last
    strike = Decimal(int(spot // 5 * 5))
    contract = OptionContract("AMD", expiry, strike, OptionRight.PUT)
    alone = sim.option_quote_sync(contract)  # priced alone: no chain built yet this minute
    chain = sim.option_chain_sync("AMD", expiry, expiry)
    assert chain.find(contract) == alone
    fresh = SimulatedMarket(make_clock(sim_clock.now()), universe=["AMD"])
    full = fresh.option_chain_sync("AMD", expiry, expiry).find(contract)
    assert full is not None
    assert (full.bid, full.ask, full.open_interest) == (alone.bid, alone.ask, alone.open_interest)
    assert full.iv == pytest.approx(alone.iv, rel=1e-12)


def test_option_quotes_when_batch_then_same_as_one_by_one_and_skips_expired(
    sim: SimulatedMarket, sim_clock
) -> None:
    _at(sim, sim_clock, sim.start, 77)
    expiry = sim.listed_expiries("SPY")[2]
    wanted = [
        OptionContract("SPY", expiry, Decimal(k), right)
        for k in (580, 590, 600)
        for right in (OptionRight.CALL, OptionRight.PUT)
    ]
    expired = OptionContract("SPY", sim.start - timedelta(days=3), Decimal(590), OptionRight.PUT)
    batch = sim.option_quotes_sync([*wanted, expired])
    assert set(batch) == set(wanted)
    for c in wanted:
        assert sim.option_quote_sync(c) == batch[c]
