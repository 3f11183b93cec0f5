"""Earnings Protection (spec §2): scenarios, near misses, exits, stale or missing data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import (
    CAL,
    LOOSE,
    alternating_closes,
    bs_chain,
    context,
    daily_bars,
    et,
    fresh_bar,
    market,
    option_quote,
    position,
    replace_rows,
    sessions_before,
    spot_quote,
)

from engine.data.memory import InMemoryMarketData
from engine.data.protocol import DataUnavailable
from engine.domain import (
    EarningsEvent,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.earnings_protection import (
    EarningsParams,
    EarningsProtection,
    choose_structure,
    crush_risk,
)

SYM = "NFLX"
TODAY = date(2025, 3, 12)  # Wednesday
NOW = et(TODAY, 11)
EXPIRIES = [date(2025, 3, 14), date(2025, 3, 21), date(2025, 3, 28), date(2025, 4, 17)]
# Old high-vol days in the year of 20-day realised vols: how many put the ATM IV of 30% at
# roughly the wanted percentile (checked against the strategy's own measure below).
HIGH_VOL_DAYS = {85: 40, 75: 67, 65: 92, 50: 130}


def pct_closes(pct: int) -> list[float]:
    h = HIGH_VOL_DAYS[pct]
    return alternating_closes(100.0, [0.04] * h + [0.005] * (272 - h))


def chain_with_move(
    move: float, *, atm_expiry: date = EXPIRIES[1], now: datetime = NOW
) -> OptionChain:
    """BS chain (σ 30%) whose ATM straddle at `atm_expiry` costs move × spot (IV 30%)."""
    base = bs_chain(SYM, now, 100.0, EXPIRIES, range(70, 131))
    half = 100.0 * move / 2
    atm = [
        option_quote(
            SYM, atm_expiry, 100, r, now, round(half - 0.02, 2), round(half + 0.02, 2), iv=0.30
        )
        for r in (OptionRight.CALL, OptionRight.PUT)
    ]
    return replace_rows(base, atm)


def setup(
    pct: int, move: float, event: date, *, now: datetime = NOW, atm_expiry: date = EXPIRIES[1]
) -> InMemoryMarketData:
    _, data = market(now)
    closes = pct_closes(pct)
    closes = [c * 100.0 / closes[-1] for c in closes]
    data.add_daily_bars(daily_bars(SYM, closes, sessions_before(TODAY, len(closes))))
    data.set_quote(spot_quote(SYM, now, 100.0))
    data.set_chain(chain_with_move(move, atm_expiry=atm_expiry, now=now))
    data.add_earnings([EarningsEvent(SYM, event)])
    return data


def strat(profile: str | None = None, **kw: object) -> EarningsProtection:
    over = {"watchlist": (SYM,), **kw}
    if profile:
        return EarningsProtection.from_profile(profile, over)
    return EarningsProtection(EarningsParams(**over))  # type: ignore[arg-type]


async def scan(s: EarningsProtection, data: InMemoryMarketData, now: datetime = NOW, **kw: object):
    return await s.on_bar(context(now, data, **kw), {SYM: fresh_bar(SYM, now, 100.0)})  # type: ignore[arg-type]


IN_5D = TODAY + timedelta(days=5)


# -- the decision rule ---------------------------------------------------------------------

ENG = ("deep_itm", "calendar", "protective_hedge")


@pytest.mark.parametrize(
    ("iv_pct", "move", "expected"),
    [
        (85, 0.09, "deep_itm"),  # scenario 1
        (65, 0.06, "calendar"),  # scenario 2
        (75, 0.045, "protective_hedge"),  # scenario 3
        (80, 0.09, "calendar"),  # needs IV pct > 80 for deep ITM
        (85, 0.08, "calendar"),  # and move > 8%
        (60, 0.06, None),
        (70, 0.045, None),
    ],
)
def test_choose_structure_eng(iv_pct: float, move: float, expected: str | None) -> None:
    assert choose_structure(iv_pct, move, ENG) == expected


def test_choose_structure_when_profile_lists_vol_structures_then_they_follow_protection() -> None:
    assert choose_structure(50, 0.03, ("long_straddle", "reverse_iron_condor")) == "long_straddle"
    assert (
        choose_structure(85, 0.09, ("long_straddle", "strangle", "calendar", "protective_hedge"))
        == "calendar"
    )
    assert choose_structure(50, 0.03, ENG) is None


def test_crush_risk_labels() -> None:
    assert [crush_risk(iv, 0.25) for iv in (0.55, 0.40, 0.31, 0.29)] == [
        "extreme",
        "high",
        "medium",
        "low",
    ]


# -- scenario 1 ----------------------------------------------------------------------------


async def test_entry_when_earnings_5d_ivpct_85_move_9pct_then_deep_itm_call_full_size() -> None:
    props = await scan(strat(), setup(85, 0.09, IN_5D))
    assert len(props) == 1
    p = props[0]
    assert p.meta["structure"] == "deep_itm"
    assert p.meta["iv_percentile"] == pytest.approx(85, abs=1.5)
    assert p.meta["implied_move"] == pytest.approx(0.09)
    (leg,) = p.legs
    c = leg.instrument
    assert isinstance(c, OptionContract)
    assert leg.side is Side.BUY
    assert c.right is OptionRight.CALL
    assert c.strike == Decimal(85)  # 0.85 × 100
    assert c.expiry == EXPIRIES[1]  # first expiry on/after the 17th
    assert p.limit_price is not None
    assert p.quantity == int(15_000 // (p.limit_price * 100))  # full 15% budget
    assert p.quantity > 0
    assert "implied move 9.0%" in p.reason
    assert "full size" in p.reason
    assert float(p.meta["iv_sensitivity"]) < 0.5


# -- scenario 2 ----------------------------------------------------------------------------


async def test_entry_when_ivpct_65_move_6pct_w25_then_call_calendar_half_size() -> None:
    s = strat("wsb_2025")
    props = await scan(s, setup(65, 0.06, IN_5D))
    assert len(props) == 1
    p = props[0]
    assert p.meta["structure"] == "calendar"
    back, front = p.legs
    assert (back.side, back.instrument.expiry) == (Side.BUY, EXPIRIES[1])  # type: ignore[union-attr]
    assert (front.side, front.instrument.expiry) == (Side.SELL, EXPIRIES[0])  # type: ignore[union-attr]
    assert back.instrument.strike == front.instrument.strike == Decimal(100)  # type: ignore[union-attr]
    assert p.limit_price is not None
    assert p.limit_price > 0
    assert p.quantity == int(7_500 // (p.limit_price * 100))  # half of 15%
    assert "half size" in p.reason


async def test_entry_when_ivpct_65_under_eng_then_rejected_by_min_iv_percentile_70() -> None:
    s = strat()
    assert await scan(s, setup(65, 0.06, IN_5D)) == []
    assert "IV percentile 65 < 70" in (s.last_skip_reason or "")


# -- scenario 3 ----------------------------------------------------------------------------


async def test_entry_when_ivpct_75_move_45pct_then_protective_hedge_one_third() -> None:
    props = await scan(strat(), setup(75, 0.045, IN_5D))
    assert len(props) == 1
    p = props[0]
    assert p.meta["structure"] == "protective_hedge"
    call, put = p.legs
    assert (call.side, call.instrument.right, call.instrument.strike) == (
        Side.BUY,
        OptionRight.CALL,
        Decimal(105),
    )  # type: ignore[union-attr]
    assert (put.side, put.instrument.right, put.instrument.strike) == (
        Side.BUY,
        OptionRight.PUT,
        Decimal(95),
    )  # type: ignore[union-attr]
    assert p.limit_price is not None
    assert p.quantity == int(5_000 // (p.limit_price * 100))  # one third of 15%
    assert "one-third size" in p.reason
    assert len(p.breakevens) == 2


async def test_entry_when_move_below_4pct_then_rejected() -> None:
    s = strat()
    assert await scan(s, setup(75, 0.035, IN_5D)) == []
    assert "implied move 3.5% < 4.0%" in (s.last_skip_reason or "")


# -- scenario 4 ----------------------------------------------------------------------------


async def test_entry_when_earnings_in_10d_then_rejected_eng_eligible_r24() -> None:
    in_10 = TODAY + timedelta(days=10)
    s = strat()
    assert await scan(s, setup(85, 0.09, in_10, atm_expiry=EXPIRIES[2])) == []
    assert "earnings in 10 d outside 1-7 d" in (s.last_skip_reason or "")
    r24 = strat("research_2024")
    props = await scan(r24, setup(85, 0.09, in_10, atm_expiry=EXPIRIES[2]))
    assert len(props) == 1
    assert props[0].meta["structure"] == "long_straddle"  # R24's listed structure
    assert {leg.instrument.right for leg in props[0].legs} == {OptionRight.CALL, OptionRight.PUT}  # type: ignore[union-attr]
    assert {leg.instrument.expiry for leg in props[0].legs} == {EXPIRIES[2]}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("profile", "trades"), [(None, False), ("research_2024", False), ("wsb_2025", True)]
)
async def test_entry_when_ivpct_50_then_rejected_unless_w25(
    profile: str | None, trades: bool
) -> None:
    event = TODAY + timedelta(days=8) if profile == "research_2024" else IN_5D  # inside each window
    atm = EXPIRIES[1]  # first expiry on/after the 17th and the 20th
    s = strat(profile)
    props = await scan(s, setup(50, 0.05, event, atm_expiry=atm))
    assert bool(props) is trades
    if trades:
        assert props[0].meta["structure"] == "long_straddle"
    else:
        assert "IV percentile 50 < 70" in (s.last_skip_reason or "")


async def test_entry_when_r24_ric_only_then_strangle_legs_and_wings() -> None:
    s = strat("research_2024", structures=("reverse_iron_condor",))
    in_10 = TODAY + timedelta(days=10)
    props = await scan(s, setup(85, 0.09, in_10, atm_expiry=EXPIRIES[2]))
    assert len(props) == 1
    p = props[0]
    sides = sorted((leg.side.value, leg.instrument.right.value) for leg in p.legs)  # type: ignore[union-attr]
    assert sides == [("buy", "C"), ("buy", "P"), ("sell", "C"), ("sell", "P")]
    assert p.max_profit is not None
    assert p.max_loss is not None
    assert p.max_loss > 0


# -- data problems -------------------------------------------------------------------------


class NoCalendar(InMemoryMarketData):
    async def earnings_calendar(self, start: date, end: date):  # type: ignore[override]
        raise DataUnavailable("earnings feed down")


async def test_entry_when_earnings_calendar_unavailable_then_no_trade() -> None:
    clock, _ = market(NOW)
    data = NoCalendar(clock, calendar=CAL)
    data.add_daily_bars(daily_bars(SYM, pct_closes(85), sessions_before(TODAY, 273)))
    data.set_quote(spot_quote(SYM, NOW, 100.0))
    s = strat()
    assert await scan(s, data) == []
    assert "earnings feed down" in (s.last_skip_reason or "")


async def test_entry_when_bar_stale_or_chain_stale_then_no_trade() -> None:
    data = setup(85, 0.09, IN_5D)
    s = strat()
    assert (
        await s.on_bar(
            context(NOW, data), {SYM: fresh_bar(SYM, NOW - timedelta(minutes=45), 100.0)}
        )
        == []
    )
    assert "stale bar" in (s.last_skip_reason or "")
    later = NOW + timedelta(hours=2)
    data2 = setup(85, 0.09, IN_5D, now=later)
    data2.set_quote(spot_quote(SYM, later, 100.0))
    _, fresh = market(later)
    fresh.add_daily_bars(daily_bars(SYM, pct_closes(85), sessions_before(TODAY, 273)))
    fresh.set_quote(spot_quote(SYM, later, 100.0))
    fresh.set_chain(chain_with_move(0.09))  # stamped two hours earlier
    fresh.add_earnings([EarningsEvent(SYM, IN_5D)])
    assert await scan(s, fresh, later) == []
    assert "stale option chain" in (s.last_skip_reason or "")


# -- exits ---------------------------------------------------------------------------------

DEEP = OptionContract(SYM, EXPIRIES[1], Decimal(85), OptionRight.CALL)


async def exit_scan(
    mark: float,
    *,
    today: date,
    s: EarningsProtection | None = None,
    calendar_event: date | None = IN_5D,
):
    now = et(today, 11)
    _, data = market(now)
    q = option_quote(SYM, DEEP.expiry, 85, OptionRight.CALL, now, mark - 0.05, mark + 0.05)
    data.set_chain(OptionChain(SYM, now, 100.0, (q,)))
    if calendar_event is not None:
        data.add_earnings([EarningsEvent(SYM, calendar_event)])
    s = s or strat()
    pos = position(DEEP, 5, 16.00, opened_at=NOW)
    props = await s.on_bar(context(now, data, positions=[pos], limits=LOOSE), {})
    return s, [p for p in props if p.intent is ProposalIntent.CLOSE]


async def test_exit_when_earnings_day_then_close_event() -> None:
    _, props = await exit_scan(16.5, today=IN_5D)
    assert len(props) == 1
    p = props[0]
    assert p.exit_reason is ExitReason.EVENT
    assert p.legs[0].side is Side.SELL
    assert p.legs[0].effect is PositionEffect.CLOSE
    assert p.quantity == 5
    assert "earnings 2025-03-17 (today)" in p.reason


async def test_exit_when_gain_25pct_before_earnings_then_take_profit_24pct_holds() -> None:
    _, props = await exit_scan(20.0, today=TODAY)  # +25%
    assert len(props) == 1
    assert props[0].exit_reason is ExitReason.TAKE_PROFIT
    assert "+25%" in props[0].reason
    _, hold = await exit_scan(19.8, today=TODAY)  # +23.75%
    assert hold == []
    _, r24 = await exit_scan(20.0, today=TODAY, s=strat("research_2024"))
    assert r24 == []  # R24 target is +50%


async def test_exit_uses_persisted_event_date_over_calendar_and_skips_when_unknown() -> None:
    s = strat()
    s.restore({"events": {SYM: TODAY.isoformat()}})
    _, props = await exit_scan(16.0, today=TODAY, s=s, calendar_event=None)
    assert props[0].exit_reason is ExitReason.EVENT
    fresh = strat()
    _, none = await exit_scan(16.0, today=TODAY, s=fresh, calendar_event=None)
    assert none == []
    assert "no earnings date known" in (fresh.last_skip_reason or "")


async def test_exit_when_calendar_spread_on_earnings_day_then_both_legs_close_for_a_credit() -> (
    None
):
    back = OptionContract(SYM, EXPIRIES[1], Decimal(100), OptionRight.CALL)
    front = OptionContract(SYM, EXPIRIES[0], Decimal(100), OptionRight.CALL)
    now = et(IN_5D, 10)
    _, data = market(now)
    rows = (
        option_quote(SYM, back.expiry, 100, OptionRight.CALL, now, 2.95, 3.05),
        option_quote(SYM, front.expiry, 100, OptionRight.CALL, now, 0.95, 1.05),
    )
    data.set_chain(OptionChain(SYM, now, 100.0, rows))
    data.add_earnings([EarningsEvent(SYM, IN_5D)])
    held = [position(back, 4, 3.20, opened_at=NOW), position(front, -4, 1.60, opened_at=NOW)]
    props = await strat().on_bar(context(now, data, positions=held), {})
    assert len(props) == 1
    p = props[0]
    assert p.exit_reason is ExitReason.EVENT
    assert {(leg.instrument, leg.side) for leg in p.legs} == {(back, Side.SELL), (front, Side.BUY)}
    assert p.limit_price == Decimal("-2.00")  # receive 3.00 - 1.00 per calendar
    assert p.quantity == 4


async def _straddle_exit(
    strike: int, call_quote: tuple[float, float], put_quote: tuple[float, float]
) -> tuple[OptionContract, OptionContract, TradeProposal]:
    """The event exit of a held 3-lot straddle at `strike`, spot 100, with these bid/asks."""
    call = OptionContract(SYM, EXPIRIES[0], Decimal(strike), OptionRight.CALL)
    put = OptionContract(SYM, EXPIRIES[0], Decimal(strike), OptionRight.PUT)
    now = et(IN_5D, 10)
    _, data = market(now)
    rows = (
        option_quote(SYM, call.expiry, strike, OptionRight.CALL, now, *call_quote),
        option_quote(SYM, put.expiry, strike, OptionRight.PUT, now, *put_quote),
    )
    data.set_chain(OptionChain(SYM, now, 100.0, rows))
    data.add_earnings([EarningsEvent(SYM, IN_5D)])
    held = [position(call, 3, 4.00, opened_at=NOW), position(put, 3, 3.50, opened_at=NOW)]
    (p,) = await strat().on_bar(context(now, data, positions=held), {})
    assert p.exit_reason is ExitReason.EVENT
    return call, put, p


async def test_exit_when_straddle_put_has_no_bid_then_call_closes_alone_and_put_expires() -> None:
    # The January scenario from the 2019 AAPL backtest: the stock ran away from the strike,
    # the put has no bid, and a straddle close that must sell it could never trade.
    call, put, p = await _straddle_exit(90, (9.90, 10.10), (0.00, 0.05))
    assert [(leg.instrument, leg.side) for leg in p.legs] == [(call, Side.SELL)]
    assert p.quantity == 3
    assert p.limit_price == Decimal("10.00")
    assert f"{put.symbol} left to expire (no bid)" in p.reason


async def test_exit_when_every_straddle_leg_is_bid_then_both_close_as_one_combo() -> None:
    call, put, p = await _straddle_exit(100, (1.90, 2.10), (1.40, 1.60))
    assert {(leg.instrument, leg.side) for leg in p.legs} == {(call, Side.SELL), (put, Side.SELL)}
    assert p.limit_price == Decimal("-3.50")
    assert "left to expire" not in p.reason


def test_params_validation() -> None:
    from engine.strategies.base import ParameterError

    with pytest.raises(ParameterError, match="min_days_to_earnings"):
        EarningsProtection.from_profile("research_2024", {"max_days_to_earnings": 3})
    with pytest.raises(ParameterError, match="structures"):
        EarningsProtection.from_profile("research_2024", {"structures": ("iron_butterfly",)})
