"""SPX Credit Spreads (spec §9): testable behaviour 1-5, every exit rule, filters, data guards."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from strat_fixtures_b import NY, Market, context, contract, et, oq, position, steady

from engine.domain import (
    EarningsEvent,
    ExitReason,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
    TimeInForce,
)
from engine.strategies.base import ParameterError
from engine.strategies.spx_credit_spreads import (
    CreditSpreadParams,
    SpxCreditSpreads,
    spread_width,
)

NOW = et(2024, 6, 12, 10, 30)  # Wednesday
TODAY = NOW.astimezone(NY).date()
FRI = date(2024, 6, 14)  # 2 DTE
MONTHLY = date(2024, 7, 12)  # 30 DTE
P, C = OptionRight.PUT, OptionRight.CALL

# strike: (delta, mid) for the Eng put side, spot 500
PUTS = {490: (-0.42, 2.60), 485: (-0.36, 1.80), 480: (-0.30, 1.20), 475: (-0.22, 0.80),
        470: (-0.16, 0.55), 465: (-0.12, 0.40), 460: (-0.09, 0.30)}  # fmt: skip


def quotes(m: Market, expiry: date, right: OptionRight, table: dict, sym: str = "SPY"):
    return [
        oq(contract(sym, expiry, k, right), mid - 0.05, mid + 0.05, ts=m.now, delta=d)
        for k, (d, mid) in table.items()
    ]


def eng(**over: object) -> SpxCreditSpreads:
    return SpxCreditSpreads(CreditSpreadParams(watchlist=("SPY",), **over))  # type: ignore[arg-type]


def profile(name: str, **over: object) -> SpxCreditSpreads:
    return SpxCreditSpreads.from_profile(name, {"watchlist": ("SPY",), **over})


def test_width_when_spot_500_then_15_and_clamped() -> None:
    p = CreditSpreadParams()
    assert spread_width(500.0, p) == pytest.approx(15.0)
    assert spread_width(100.0, p) == 5.0
    assert spread_width(1000.0, p) == 20.0


async def test_entry_when_480p_at_30_delta_then_put_spread_credit_080_3_contracts() -> None:
    # Scenario 1 + 4: spot 500 -> width 15; short 480P 1.20 (Δ -0.30), long 465P 0.40 ->
    # credit 0.80, max loss 14.20, PoP 70% -> accepted; $100k × 5% / $1,420 -> 3 contracts.
    m = Market(NOW)
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng()
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.intent is ProposalIntent.OPEN
    assert [(leg.side, leg.instrument) for leg in p.legs] == [
        (Side.SELL, contract("SPY", FRI, 480, P)),
        (Side.BUY, contract("SPY", FRI, 465, P)),
    ]
    assert p.limit_price == Decimal("-0.80")  # a net credit
    assert p.quantity == 3
    assert p.max_loss == Decimal("4260.00")
    assert p.max_profit == Decimal("240.00")
    assert p.breakevens == (pytest.approx(479.2),)
    assert "credit 0.80, width 15, max loss 14.20, PoP 70%" in p.reason


async def test_entry_when_nearest_short_has_45_delta_then_rejected_for_pop_55() -> None:
    # Scenario 2.
    m = Market(NOW)
    table = {490: (-0.45, 2.80), 475: (-0.12, 0.60), 470: (-0.10, 0.45)}
    m.chain("SPY", 500.0, quotes(m, FRI, P, table))
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "PoP 55% < 60%" in strat.skips.by_symbol["SPY"]


async def test_entry_when_budget_below_one_max_loss_then_skip() -> None:
    m = Market(NOW)
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng()
    assert await strat.on_bar(context(m, cash=20_000), {}) == []  # $1,000 < $1,420
    assert "max loss $1,420" in strat.skips.by_symbol["SPY"]


async def test_entry_when_credit_below_minimum_then_rejected() -> None:
    m = Market(NOW)
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng(min_credit=0.90)
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "credit 0.80 < 0.90" in strat.skips.by_symbol["SPY"]


async def test_entry_when_at_or_after_15_et_then_refused() -> None:
    m = Market(et(2024, 6, 12, 15, 0))
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "entries only 09:30-15:00 ET" in strat.skips.by_symbol["*"]


async def test_entry_when_chain_stale_or_missing_then_no_trade() -> None:
    m = Market(NOW - timedelta(hours=1))
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    m.move_to(NOW)
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "stale option chain" in strat.skips.by_symbol["SPY"]
    empty = Market(NOW)
    assert await strat.on_bar(context(empty, cash=100_000), {}) == []
    assert "no option chain" in strat.skips.by_symbol["SPY"]


async def test_entry_when_w25_then_0dte_preferred_over_better_scored_2dte() -> None:
    m = Market(NOW)
    zero = {480: (-0.20, 0.60), 465: (-0.05, 0.15)}  # credit 0.45, PoP 80
    two = {480: (-0.20, 1.50), 465: (-0.06, 0.40)}  # credit 1.10: better score
    m.chain("SPY", 500.0, quotes(m, TODAY, P, zero) + quotes(m, FRI, P, two))
    strat = profile("wsb_2025")
    props = await strat.on_bar(context(m, cash=100_000, profile="wsb_2025"), {})
    assert len(props) == 1, strat.skips.by_symbol
    assert props[0].legs[0].instrument.expiry == TODAY
    assert "(0 DTE)" in props[0].reason


async def test_entry_when_proposed_minute_ago_then_cooldown_until_15_minutes() -> None:
    m = Market(NOW)
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng()
    assert len(await strat.on_bar(context(m, cash=100_000), {})) == 1
    m.move_to(NOW + timedelta(minutes=14))
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "cooling down" in strat.skips.by_symbol["SPY"]
    m.move_to(NOW + timedelta(minutes=15))
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    assert len(await strat.on_bar(context(m, cash=100_000), {})) == 1


# -- R24 iron condor ---------------------------------------------------------------------------

CONDOR_PUTS = {470: (-0.20, 3.00), 460: (-0.15, 2.20), 450: (-0.10, 1.50), 440: (-0.07, 1.00),
               430: (-0.05, 0.70), 420: (-0.04, 0.50)}  # fmt: skip
CONDOR_CALLS = {530: (0.20, 2.80), 540: (0.15, 2.00), 550: (0.10, 1.30), 560: (0.07, 0.90),
                570: (0.05, 0.60), 580: (0.03, 0.40)}  # fmt: skip


def condor_market(now=NOW) -> Market:
    m = Market(now)
    m.chain(
        "SPY",
        500.0,
        quotes(m, MONTHLY, P, CONDOR_PUTS)
        + quotes(m, MONTHLY, C, CONDOR_CALLS)
        + quotes(m, FRI, P, PUTS),  # too short for R24's 28-35 DTE target
    )
    m.daily("SPY", steady(480.0, 30))
    return m


async def test_entry_when_r24_and_vix_24_then_iron_condor_at_30_dte() -> None:
    m = condor_market()
    strat = profile("research_2024")
    props = await strat.on_bar(context(m, cash=100_000, vix=24.0), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert [(leg.side, leg.instrument) for leg in p.legs] == [
        (Side.SELL, contract("SPY", MONTHLY, 460, P)),
        (Side.BUY, contract("SPY", MONTHLY, 430, P)),  # |Δ| 0.05 wing
        (Side.SELL, contract("SPY", MONTHLY, 540, C)),
        (Side.BUY, contract("SPY", MONTHLY, 570, C)),
    ]
    assert p.limit_price == Decimal("-2.90")
    assert p.quantity == 1  # $5,000 // $2,710
    assert p.breakevens == (pytest.approx(457.1), pytest.approx(542.9))
    assert "iron condor" in p.reason
    assert "PoP 68%" in p.reason  # 0.8 × 85
    assert "VIX 24.0 <= 25" in p.reason


async def test_entry_when_r24_and_vix_27_then_no_new_condor() -> None:
    # Scenario 5.
    m = condor_market()
    strat = profile("research_2024")
    assert await strat.on_bar(context(m, cash=100_000, vix=27.0), {}) == []
    assert "VIX 27.0 > 25" in strat.skips.by_symbol["SPY"]


async def test_entry_when_r24_without_vix_then_realised_vol_proxy_decides() -> None:
    m = condor_market()
    strat = profile("research_2024")
    assert len(await strat.on_bar(context(m, cash=100_000), {})) == 1  # calm SPY: ~6% vol
    wild = condor_market()
    wild.daily("SPY", [480.0 * (1.04 if i % 2 else 1.0) for i in range(30)])
    strat2 = profile("research_2024")
    assert await strat2.on_bar(context(wild, cash=100_000), {}) == []
    assert "realised vol (VIX proxy)" in strat2.skips.by_symbol["SPY"]


async def test_entry_when_r24_afternoon_or_earnings_day_then_no_condor() -> None:
    m = condor_market(et(2024, 6, 12, 13, 0))
    strat = profile("research_2024")
    assert await strat.on_bar(context(m, cash=100_000, vix=15.0), {}) == []
    assert "entries only 09:30-12:00 ET" in strat.skips.by_symbol["*"]
    m2 = condor_market()
    m2.data.add_earnings([EarningsEvent("SPY", TODAY)])
    assert await strat.on_bar(context(m2, cash=100_000, vix=15.0), {}) == []
    assert "earnings day" in strat.skips.by_symbol["SPY"]


# -- exits ------------------------------------------------------------------------------------


def spread_legs(expiry: date = FRI, qty: int = 3):
    short = position(
        contract("SPY", expiry, 480, P), -qty, 1.20, opened_at=NOW - timedelta(hours=1)
    )
    long = position(contract("SPY", expiry, 465, P), qty, 0.40, opened_at=NOW - timedelta(hours=1))
    return [short, long]


def marked(now, short_mid: float, long_mid: float, expiry: date = FRI) -> Market:
    m = Market(now)
    m.chain(
        "SPY",
        500.0,
        [
            oq(contract("SPY", expiry, 480, P), short_mid - 0.05, short_mid + 0.05, ts=now),
            oq(contract("SPY", expiry, 465, P), max(0.0, long_mid - 0.05), long_mid + 0.05, ts=now),
        ],
    )
    return m


@pytest.mark.parametrize(
    ("short_mid", "long_mid", "expected"),
    [
        (0.65, 0.05, ExitReason.TAKE_PROFIT),  # spread 0.60: +0.20 = 25% of 0.80
        (0.66, 0.05, None),  # spread 0.61
        (1.60, 0.20, ExitReason.STOP),  # spread 1.40: loss 0.60 = 75% of 0.80
        (1.59, 0.20, None),  # spread 1.39
    ],
)
async def test_exit_when_eng_credit_080_then_profit_at_060_and_stop_at_140(
    short_mid: float, long_mid: float, expected: ExitReason | None
) -> None:
    # Scenario 3.
    strat = eng()
    m = marked(NOW, short_mid, long_mid)
    props = [
        p for p in await strat.on_bar(context(m, positions=spread_legs()), {})
        if p.intent is ProposalIntent.CLOSE
    ]  # fmt: skip
    assert [p.exit_reason for p in props] == ([] if expected is None else [expected])
    for p in props:
        assert p.quantity == 3
        long_bid = max(0.0, long_mid - 0.05)
        legs = {480: (Side.BUY, PositionEffect.CLOSE)}  # buy back the short
        if long_bid > 0:  # a long nobody bids for is left to expire
            legs[465] = (Side.SELL, PositionEffect.CLOSE)  # sell the long
        assert {leg.instrument.strike: (leg.side, leg.effect) for leg in p.legs} == legs
        # Decided on mids, sent IOC at the far side: the short's ask less the long's bid.
        natural = (short_mid + 0.05) - long_bid
        assert p.limit_price == Decimal(f"{natural:.2f}")  # net debit to close
        assert p.time_in_force is TimeInForce.IOC


async def test_exit_when_0dte_short_bought_back_and_long_wing_unbid_then_nothing_more_to_close() -> (
    None
):
    # The short leg was bought back earlier; the long wing left has no bid: nothing can be
    # sold, so no close is proposed (one a minute, never fillable, would only add noise).
    strat = eng()
    at = et(2024, 6, 12, 15, 10)
    (_, long) = spread_legs(TODAY)
    ctx = context(marked(at, 1.00, 0.04, TODAY), positions=[long])
    assert [x for x in await strat.on_bar(ctx, {}) if x.intent is ProposalIntent.CLOSE] == []


async def test_exit_when_0dte_at_1500_then_ioc_at_far_side_so_it_fills_now() -> None:
    strat = eng()
    at = et(2024, 6, 12, 15, 0)
    [p] = await strat.on_bar(
        context(marked(at, 1.00, 0.10, TODAY), positions=spread_legs(TODAY)), {}
    )
    assert p.time_in_force is TimeInForce.IOC
    assert p.limit_price == Decimal("1.00")  # 480P ask 1.05 - 465P bid 0.05


async def test_exit_when_r24_condor_then_50pct_target_and_2_2x_stop() -> None:
    strat = profile("research_2024")
    legs = spread_legs(MONTHLY)
    m = marked(NOW, 0.75, 0.35, MONTHLY)  # spread 0.40: +0.40 = 50%
    [p] = await strat.on_bar(context(m, positions=legs, vix=30.0), {})
    assert p.exit_reason is ExitReason.TAKE_PROFIT
    m2 = marked(NOW, 2.80, 0.20, MONTHLY)  # spread 2.60: loss 1.80 = 2.25 × credit
    [s] = await strat.on_bar(context(m2, positions=legs, vix=30.0), {})
    assert s.exit_reason is ExitReason.STOP
    m3 = marked(NOW, 2.70, 0.20, MONTHLY)  # loss 1.70 < 1.76
    assert await strat.on_bar(context(m3, positions=legs, vix=30.0), {}) == []


async def test_exit_when_0dte_at_1500_then_close_and_1459_holds() -> None:
    strat = eng()
    at = et(2024, 6, 12, 15, 0)
    [p] = await strat.on_bar(
        context(marked(at, 1.00, 0.10, TODAY), positions=spread_legs(TODAY)), {}
    )
    assert p.exit_reason is ExitReason.EXPIRY
    assert "0DTE at 15:00 ET" in p.reason
    before = et(2024, 6, 12, 14, 59)
    ctx = context(marked(before, 1.00, 0.10, TODAY), positions=spread_legs(TODAY))
    assert [x for x in await strat.on_bar(ctx, {}) if x.intent is ProposalIntent.CLOSE] == []


async def test_exit_when_60_minutes_to_expiry_then_close() -> None:
    strat = eng(zero_dte_exit=time(15, 45))
    at = et(2024, 6, 12, 15, 5)
    legs = spread_legs(TODAY)
    [p] = await strat.on_bar(context(marked(at, 1.00, 0.10, TODAY), positions=legs), {})
    assert p.exit_reason is ExitReason.EXPIRY
    assert "55 min to expiry <= 60" in p.reason


async def test_exit_when_early_close_day_then_60_minutes_before_1300() -> None:
    d = date(2024, 7, 3)  # NYSE closes at 13:00 ET
    strat = eng()
    at = et(2024, 7, 3, 12, 0)
    [p] = await strat.on_bar(context(marked(at, 1.00, 0.10, d), positions=spread_legs(d)), {})
    assert p.exit_reason is ExitReason.EXPIRY
    assert "60 min to expiry" in p.reason
    before = et(2024, 7, 3, 11, 55)
    ctx = context(marked(before, 1.00, 0.10, d), positions=spread_legs(d))
    assert [x for x in await strat.on_bar(ctx, {}) if x.intent is ProposalIntent.CLOSE] == []


async def test_exit_when_r24_at_21_dte_then_roll_and_22_holds() -> None:
    strat = profile("research_2024")
    exp21 = TODAY + timedelta(days=21)
    [p] = await strat.on_bar(
        context(marked(NOW, 1.00, 0.30, exp21), positions=spread_legs(exp21), vix=30.0), {}
    )
    assert p.exit_reason is ExitReason.ROLL
    assert "21 DTE <= roll at 21" in p.reason
    exp22 = TODAY + timedelta(days=22)
    ctx = context(marked(NOW, 1.00, 0.30, exp22), positions=spread_legs(exp22), vix=30.0)
    assert await strat.on_bar(ctx, {}) == []


async def test_exit_when_leg_quote_missing_then_no_price_exit_and_reason() -> None:
    strat = eng()
    m = Market(NOW)
    assert await strat.on_bar(context(m, positions=spread_legs()), {}) == []
    assert "no quote" in strat.skips.by_symbol["SPY"]


async def test_entry_when_structure_held_then_no_second_entry_on_underlying() -> None:
    m = marked(NOW, 1.00, 0.30)
    m.chain("SPY", 500.0, quotes(m, FRI, P, PUTS))
    strat = eng()
    props = await strat.on_bar(context(m, positions=spread_legs()), {})
    assert all(p.intent is ProposalIntent.CLOSE for p in props)


def test_params_when_out_of_range_then_error_names_field() -> None:
    with pytest.raises(ParameterError, match=r"short_delta=0\.45"):
        SpxCreditSpreads.from_profile("research_2024", {"short_delta": 0.45})
    with pytest.raises(ParameterError, match="target_dte"):
        SpxCreditSpreads.from_profile("research_2024", {"target_dte": (40, 50)})


def test_profiles_when_loaded_then_spec_values() -> None:
    r24 = SpxCreditSpreads.from_profile("research_2024").params
    w25 = SpxCreditSpreads.from_profile("wsb_2025").params
    e = CreditSpreadParams()
    assert (e.short_delta, r24.short_delta, w25.short_delta) == (0.30, 0.15, 0.20)
    assert (e.min_credit, r24.min_credit, w25.min_credit) == (0.10, 1.00, 0.40)
    assert (e.stop_multiple, r24.stop_multiple, w25.stop_multiple) == (0.75, 2.2, 3.0)
    assert (e.max_positions, r24.max_positions, w25.max_positions) == (3, 3, 12)
    assert r24.target_dte == (28, 35)
    assert r24.roll_dte == 21
    assert r24.vix_max == 25.0
    assert w25.prefer_0dte
    assert SpxCreditSpreads.from_profile("wsb_2025").universe() == {"SPY", "QQQ", "IWM"}
