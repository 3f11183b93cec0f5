"""Contract selection helpers on hand-built chains."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import bs_chain, et, option_quote

from engine.domain import OptionChain, OptionRight
from engine.strategies import chain_select as cs

TODAY = date(2025, 3, 3)  # a Monday
NOW = et(TODAY, 11)
EXPIRIES = [TODAY + timedelta(days=d) for d in (4, 11, 25, 32, 46)]


def _chain() -> OptionChain:
    return bs_chain("XYZ", NOW, 100.0, EXPIRIES, range(80, 121), sigma=0.30)


def test_nearest_expiry_when_target_30_then_32_dte_and_window_limits() -> None:
    chain = _chain()
    assert cs.nearest_expiry(chain, TODAY, 30) == TODAY + timedelta(days=32)
    assert cs.nearest_expiry(chain, TODAY, 30, max_dte=28) == TODAY + timedelta(days=25)
    assert cs.nearest_expiry(chain, TODAY, 30, min_dte=50) is None
    assert cs.expiries_in_window(chain, TODAY, 10, 30) == (
        TODAY + timedelta(days=11),
        TODAY + timedelta(days=25),
    )


def test_nearest_expiry_when_tie_then_earlier() -> None:
    chain = _chain()
    # 25 and 32 DTE are 3.5 away from 28.5 -> integer target 28 is 3 from 25, 4 from 32
    assert cs.nearest_expiry(chain, TODAY, 28) == TODAY + timedelta(days=25)
    chain2 = bs_chain("XYZ", NOW, 100.0, [TODAY + timedelta(days=d) for d in (10, 20)], [100])
    assert cs.nearest_expiry(chain2, TODAY, 15) == TODAY + timedelta(days=10)


def test_first_on_or_after_and_last_on_or_before() -> None:
    chain = _chain()
    assert cs.first_expiry_on_or_after(chain, TODAY + timedelta(days=12)) == EXPIRIES[2]
    assert cs.first_expiry_on_or_after(chain, EXPIRIES[1]) == EXPIRIES[1]
    assert cs.last_expiry_on_or_before(chain, TODAY + timedelta(days=12)) == EXPIRIES[1]
    assert cs.last_expiry_on_or_before(chain, TODAY) is None


def test_strike_nearest_when_target_112_35_then_112_and_band() -> None:
    chain = _chain()
    q = cs.strike_nearest(chain, EXPIRIES[3], OptionRight.CALL, 112.35)
    assert q is not None
    assert q.contract.strike == Decimal(112)
    assert cs.strike_nearest(chain, EXPIRIES[3], OptionRight.CALL, 130.0) is not None
    assert (
        cs.strike_nearest(chain, EXPIRIES[3], OptionRight.CALL, 130.0, max_distance_pct=0.02)
        is None
    )


def test_nearest_delta_when_target_030_put_then_abs_delta_closest() -> None:
    chain = _chain()
    q = cs.nearest_delta(chain, EXPIRIES[3], OptionRight.PUT, 0.30, NOW)
    assert q is not None
    assert q.delta is not None
    deltas = [abs(r.delta or 0) for r in chain.for_expiry(EXPIRIES[3], OptionRight.PUT)]
    assert abs(abs(q.delta) - 0.30) == pytest.approx(min(abs(d - 0.30) for d in deltas))
    assert float(q.contract.strike) < 100.0


def test_option_delta_when_quote_has_no_greeks_then_black_scholes_from_mid() -> None:
    with_g = _chain()
    without = bs_chain("XYZ", NOW, 100.0, EXPIRIES, range(80, 121), with_greeks=False)
    for strike in (90, 100, 110):
        a = cs.find_strike(with_g, EXPIRIES[3], OptionRight.CALL, strike)
        b = cs.find_strike(without, EXPIRIES[3], OptionRight.CALL, strike)
        assert a is not None
        assert b is not None
        assert b.delta is None
        # IV implied from a 2%-wide mid is within a hair of the 30% used to build the chain
        assert cs.option_delta(b, 100.0, NOW) == pytest.approx(a.delta or 0.0, abs=0.01)


def test_option_delta_when_mid_below_intrinsic_then_fallback_sigma() -> None:
    q = option_quote("XYZ", EXPIRIES[3], 80, OptionRight.CALL, NOW, 5.0, 5.2)  # intrinsic 20
    d30 = cs.option_delta(q, 100.0, NOW, fallback_sigma=0.30)
    d80 = cs.option_delta(q, 100.0, NOW, fallback_sigma=0.80)
    assert 0.9 < d30 <= 1.0
    assert d80 < d30


def test_implied_vol_round_trips_and_rejects_impossible_prices() -> None:
    t = 30 / 365
    price = cs.bs_value(100, 105, t, 0.45, True)
    assert cs.implied_vol(price, 100, 105, t, True) == pytest.approx(0.45, abs=1e-4)
    assert cs.implied_vol(0.5, 100, 80, t, True) is None  # below intrinsic
    assert cs.implied_vol(150.0, 100, 80, t, True) is None  # above spot


def test_liquidity_filter_when_each_rule_fails_then_reason_names_it() -> None:
    f = cs.LiquidityFilter(min_volume=50, min_open_interest=100, max_spread_pct=0.10, min_bid=0.05)
    ok = option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1.00, 1.05, volume=50, oi=100)
    assert f.passes(ok)
    thin = option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1.0, 1.05, volume=49)
    assert "volume 49" in f.why_not(thin)
    low_oi = option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1.0, 1.05, oi=99)
    assert "OI 99" in f.why_not(low_oi)
    wide = option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1.0, 1.2)
    assert "spread" in f.why_not(wide)
    nobid = option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 0.04, 0.044)
    assert "bid" in f.why_not(nobid)
    either = cs.LiquidityFilter(min_volume=10, min_open_interest=50, volume_or_oi=True)
    assert either.passes(
        option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1, 1.1, volume=0, oi=50)
    )
    assert not either.passes(
        option_quote("XYZ", EXPIRIES[0], 100, OptionRight.PUT, NOW, 1, 1.1, volume=9, oi=49)
    )


@pytest.mark.parametrize(
    ("price", "tick", "expected"),
    [
        (4.725, None, "4.75"),  # >= $3 trades in nickels
        (4.72, None, "4.70"),
        (2.345, None, "2.35"),  # < $3 in pennies
        (0.804, None, "0.80"),
        (-0.805, 0.01, "-0.81"),  # credits keep their sign
        (1.234, 0.05, "1.25"),
    ],
)
def test_round_to_tick(price: float, tick: float | None, expected: str) -> None:
    assert cs.round_to_tick(price, tick) == Decimal(expected)


def test_round_to_tick_when_nan_then_error_names_value() -> None:
    with pytest.raises(ValueError, match="price=nan"):
        cs.round_to_tick(float("nan"))


def test_round_strike_and_otm_strike() -> None:
    assert cs.round_strike(107 * 1.05) == 112.0
    assert cs.round_strike(103.06, 0.1) == pytest.approx(103.1)
    assert cs.otm_strike(100, 0.05, OptionRight.CALL) == pytest.approx(105)
    assert cs.otm_strike(100, 0.05, OptionRight.PUT) == pytest.approx(95)


def test_years_to_expiry_counts_to_4pm_new_york_and_floors_at_one_minute() -> None:
    assert cs.years_to_expiry(TODAY, et(TODAY, 10)) == pytest.approx(6 / (365 * 24))
    assert cs.years_to_expiry(TODAY, et(TODAY, 17)) == pytest.approx(60 / (365 * 86400))


def test_this_friday() -> None:
    assert cs.this_friday(date(2025, 3, 3)) == date(2025, 3, 7)
    assert cs.this_friday(date(2025, 3, 7)) == date(2025, 3, 7)
    assert cs.this_friday(date(2025, 3, 8)) == date(2025, 3, 14)


def test_chain_index_when_chain_dropped_then_its_entry_goes_with_it() -> None:
    """The per-chain index holds its chain weakly: a chain nobody holds any more is not kept
    alive (with its quotes) by the index, and a later chain reusing its id starts fresh."""
    import gc

    chain = _chain()
    key = id(chain)
    rows = cs.for_expiry(chain, EXPIRIES[1], OptionRight.CALL)
    assert rows == chain.for_expiry(EXPIRIES[1], OptionRight.CALL)
    assert key in cs._INDEX
    del chain, rows
    gc.collect()
    assert key not in cs._INDEX
