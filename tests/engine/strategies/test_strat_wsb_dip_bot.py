"""WSB Dip Bot (spec §1): the spec's scenarios, their near misses, every exit, stale data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import (
    CAL,
    context,
    daily_bars,
    et,
    fresh_bar,
    intraday_bar,
    market,
    option_quote,
    position,
    sessions_before,
    spot_quote,
)

from engine.data.memory import InMemoryMarketData
from engine.domain import (
    BadMarketData,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
)
from engine.strategies.wsb_dip_bot import DipBotParams, WsbDipBot

SYM = "NVDA"
TODAY = date(2025, 3, 12)  # Wednesday
NOW = et(TODAY, 11)
FRIDAYS = [TODAY + timedelta(days=d) for d in (2, 9, 16, 23, 30, 44)]  # 30 DTE = 2025-04-11


def linear_run(n: int, start: float = 100.0, end: float = 111.0) -> list[float]:
    return [start + (end - start) * i / (n - 1) for i in range(n)]


def call_rows(expiry: date, strikes_bids: dict[float, float], **kw: object) -> list:
    """Calls whose ask is bid × 1.04: equal relative spreads, so the target strike decides."""
    return [
        option_quote(SYM, expiry, k, OptionRight.CALL, NOW, b, round(b * 1.04, 2), **kw)  # type: ignore[arg-type]
        for k, b in strikes_bids.items()
    ]


STANDARD_BIDS = {
    109.0: 3.50,
    110.0: 3.25,
    111.0: 3.00,
    112.0: 2.75,
    113.0: 2.50,
    114.0: 2.25,
    115.0: 2.00,
}


def setup(
    closes: Sequence[float],
    last: float,
    *,
    chain_rows: list | None = None,
    expiries: Sequence[date] = FRIDAYS,
) -> InMemoryMarketData:
    _, data = market(NOW)
    data.add_daily_bars(daily_bars(SYM, closes, sessions_before(TODAY, len(closes))))
    data.set_quote(spot_quote(SYM, NOW, last))
    rows = chain_rows
    if rows is None:
        rows = [q for e in expiries for q in call_rows(e, STANDARD_BIDS)]
    data.set_chain(OptionChain(SYM, NOW, last, tuple(rows)))
    return data


def only(universe: str = SYM, **overrides: object) -> dict[str, object]:
    return {"watchlist": (universe,), **overrides}


async def run(strategy: WsbDipBot, data: InMemoryMarketData, last: float, **ctx_kw: object):
    ctx = context(NOW, data, **ctx_kw)  # type: ignore[arg-type]
    return await strategy.on_bar(ctx, {SYM: fresh_bar(SYM, NOW, last)})


# -- scenario 1 ----------------------------------------------------------------------------


async def test_entry_when_eng_run_11pct_and_dip_36pct_then_one_call_strike_112_nearest_30_dte() -> (
    None
):
    bot = WsbDipBot(DipBotParams(**only()))  # Eng defaults
    data = setup(linear_run(10), 107.0)
    props = await run(bot, data, 107.0)
    assert len(props) == 1
    p = props[0]
    assert p.intent is ProposalIntent.OPEN
    assert len(p.legs) == 1
    leg = p.legs[0]
    assert isinstance(leg.instrument, OptionContract)
    assert leg.side is Side.BUY
    assert leg.instrument.right is OptionRight.CALL
    assert leg.instrument.strike == Decimal(112)  # 107 × 1.05 = 112.35 -> 112
    assert leg.instrument.expiry == date(2025, 4, 11)  # 30 DTE
    assert p.limit_price == Decimal("2.81")  # mid of 2.75/2.86, to the penny below $3
    assert p.quantity == 35  # floor(10% × 100k / 281)
    assert p.max_loss == Decimal("2.81") * 35 * 100
    assert "+11.0%" in p.reason
    assert "-3.6%" in p.reason
    assert "NVDA 250411C112" in p.reason


async def test_entry_when_tighter_spread_inside_2pct_band_then_it_wins() -> None:
    rows = call_rows(FRIDAYS[4], STANDARD_BIDS)
    tight = option_quote(SYM, FRIDAYS[4], 113.0, OptionRight.CALL, NOW, 2.50, 2.55)
    rows = [q for q in rows if q.contract.strike != Decimal(113)] + [tight]
    data = setup(linear_run(10), 107.0, chain_rows=rows)
    props = await run(WsbDipBot(DipBotParams(**only())), data, 107.0)
    assert props[0].legs[0].instrument.strike == Decimal(113)


async def test_entry_when_only_strikes_outside_band_or_illiquid_then_no_trade() -> None:
    far = call_rows(FRIDAYS[4], {120.0: 1.0})  # 120 is 7% from 112
    thin = call_rows(FRIDAYS[4], {112.0: 2.75}, volume=10)  # needs volume > 10
    data = setup(linear_run(10), 107.0, chain_rows=far + thin)
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data, 107.0) == []
    assert bot.last_skip_reason is not None
    assert "no liquid call" in bot.last_skip_reason


# -- scenario 2 ----------------------------------------------------------------------------


async def test_entry_when_dip_22pct_under_eng_then_no_signal() -> None:
    bot = WsbDipBot(DipBotParams(**only()))
    data = setup(linear_run(10), 108.6)
    assert await run(bot, data, 108.6) == []
    assert bot.last_skip_reason is not None
    assert "dip -2.2%" in bot.last_skip_reason


async def test_entry_when_dip_22pct_under_r24_and_7_close_run_over_8pct_then_signal() -> None:
    closes = [100.0] * 4 + linear_run(6, 100.0, 111.0)  # t-7 = 100 -> 7-close run +11%
    data = setup(closes, 108.6, expiries=[FRIDAYS[2], FRIDAYS[3], FRIDAYS[4]])
    rows = call_rows(FRIDAYS[3], STANDARD_BIDS)  # 23 DTE is nearest 21
    data.set_chain(OptionChain(SYM, NOW, 108.6, tuple(rows + call_rows(FRIDAYS[4], STANDARD_BIDS))))
    bot = WsbDipBot.from_profile("research_2024", only())
    props = await run(bot, data, 108.6)
    assert len(props) == 1
    c = props[0].legs[0].instrument
    assert isinstance(c, OptionContract)
    assert c.strike == Decimal(112)  # 108.6 × 1.03 = 111.86 -> 112
    assert c.expiry == FRIDAYS[3]
    assert "-2.2%" in props[0].reason


async def test_entry_when_r24_7_close_run_below_8pct_then_no_signal() -> None:
    bot = WsbDipBot.from_profile("research_2024", only())
    data = setup(linear_run(10), 108.6)  # t-7 close 103.67 -> run +7.1%
    assert await run(bot, data, 108.6) == []
    assert bot.last_skip_reason is not None
    assert "run +7.1%" in bot.last_skip_reason


# -- scenario 4: sizing --------------------------------------------------------------------


async def test_sizing_when_equity_100k_risk_10pct_mid_470_then_21_contracts() -> None:
    rows = [option_quote(SYM, FRIDAYS[4], 112.0, OptionRight.CALL, NOW, 4.65, 4.75)]
    data = setup(linear_run(10), 107.0, chain_rows=rows)
    props = await run(WsbDipBot(DipBotParams(**only())), data, 107.0, equity=100_000.0)
    assert props[0].limit_price == Decimal("4.70")
    assert props[0].quantity == 21


async def test_sizing_when_budget_below_one_contract_then_skip() -> None:
    rows = [option_quote(SYM, FRIDAYS[4], 112.0, OptionRight.CALL, NOW, 4.65, 4.75)]
    data = setup(linear_run(10), 107.0, chain_rows=rows)
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data, 107.0, equity=4_000.0) == []
    assert bot.last_skip_reason is not None
    assert "budget" in bot.last_skip_reason


async def test_sizing_when_allocation_cap_smaller_then_cap_wins() -> None:
    rows = [option_quote(SYM, FRIDAYS[4], 112.0, OptionRight.CALL, NOW, 4.65, 4.75)]
    data = setup(linear_run(10), 107.0, chain_rows=rows)
    props = await run(WsbDipBot(DipBotParams(**only())), data, 107.0, allocation_cap=0.05)
    assert props[0].quantity == 10  # 5,000 / 470


# -- duplicates and session ----------------------------------------------------------------


async def test_entry_when_underlying_already_held_then_no_second_entry() -> None:
    data = setup(linear_run(10), 107.0)
    held = OptionContract(SYM, FRIDAYS[4], Decimal(115), OptionRight.CALL)
    bot = WsbDipBot(DipBotParams(**only()))
    ctx = context(NOW, data, positions=[position(held, 1, 2.0, opened_at=NOW)])
    props = await bot.on_bar(ctx, {SYM: fresh_bar(SYM, NOW, 107.0)})
    assert all(p.intent is ProposalIntent.CLOSE for p in props)


async def test_entry_when_market_closed_then_no_entry() -> None:
    evening = et(TODAY, 17)
    _, data = market(evening)
    data.add_daily_bars(daily_bars(SYM, linear_run(10), sessions_before(TODAY, 10)))
    data.set_quote(spot_quote(SYM, evening, 107.0))
    bot = WsbDipBot(DipBotParams(**only()))
    assert await bot.on_bar(context(evening, data), {SYM: fresh_bar(SYM, evening, 107.0)}) == []


# -- stale and missing data ----------------------------------------------------------------


async def test_entry_when_bar_is_stale_then_no_trade_and_reason_recorded() -> None:
    data = setup(linear_run(10), 107.0)
    bot = WsbDipBot(DipBotParams(**only()))
    old = fresh_bar(SYM, NOW - timedelta(minutes=30), 107.0)
    assert await bot.on_bar(context(NOW, data), {SYM: old}) == []
    assert bot.last_skip_reason is not None
    assert "stale bar" in bot.last_skip_reason
    assert await bot.on_bar(context(NOW, data), {}) == []
    assert "no bar" in (bot.last_skip_reason or "")


async def test_entry_when_daily_history_misses_yesterday_then_no_trade() -> None:
    _, data = market(NOW)
    sessions = sessions_before(CAL.previous_session(TODAY), 10)  # ends the day before yesterday
    data.add_daily_bars(daily_bars(SYM, linear_run(10), sessions))
    data.set_quote(spot_quote(SYM, NOW, 107.0))
    data.set_chain(OptionChain(SYM, NOW, 107.0, tuple(call_rows(FRIDAYS[4], STANDARD_BIDS))))
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data, 107.0) == []
    assert "stale daily history" in (bot.last_skip_reason or "")


async def test_entry_when_quote_is_stale_then_no_trade() -> None:
    data = setup(linear_run(10), 107.0)
    _, data2 = market(NOW)
    data2.add_daily_bars(daily_bars(SYM, linear_run(10), sessions_before(TODAY, 10)))
    data2.set_quote(spot_quote(SYM, NOW - timedelta(hours=2), 107.0))
    data2.set_chain(data._chain_at(SYM))
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data2, 107.0) == []
    assert "stale quote" in (bot.last_skip_reason or "")


async def test_entry_when_no_chain_then_no_trade() -> None:
    _, data = market(NOW)
    data.add_daily_bars(daily_bars(SYM, linear_run(10), sessions_before(TODAY, 10)))
    data.set_quote(spot_quote(SYM, NOW, 107.0))
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data, 107.0) == []
    assert "no option chain" in (bot.last_skip_reason or "")


class BrokenChainData(InMemoryMarketData):
    async def option_chain(
        self,
        underlying: str,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
    ) -> OptionChain:
        raise BadMarketData(f"chain {underlying}: spot=nan must be a finite positive price")


async def test_entry_when_source_raises_bad_market_data_then_no_trade() -> None:
    good = setup(linear_run(10), 107.0)
    clock, _ = market(NOW)
    data = BrokenChainData(clock, calendar=CAL)
    data.add_daily_bars(daily_bars(SYM, linear_run(10), sessions_before(TODAY, 10)))
    data.set_quote(spot_quote(SYM, NOW, 107.0))
    bot = WsbDipBot(DipBotParams(**only()))
    assert await run(bot, data, 107.0) == []
    assert "spot=nan" in (bot.last_skip_reason or "")
    assert await run(bot, good, 107.0)  # same series with a good chain trades


# -- W25 intraday confirmation -------------------------------------------------------------


async def test_entry_when_w25_last_5min_bar_still_falling_then_no_trade_else_trade() -> None:
    closes = [100.0] * 5 + linear_run(5, 100.0, 111.0)
    rows = call_rows(FRIDAYS[2], STANDARD_BIDS, volume=6_000)
    open_ = CAL.session_open(TODAY)
    for falling, expect in ((True, 0), (False, 1)):
        data = setup(closes, 107.0, chain_rows=rows)
        o, c = (108.0, 107.0) if falling else (106.5, 107.0)
        data.add_intraday_bars(
            [intraday_bar(SYM, open_ + timedelta(minutes=5 * i), 108.0, 50_000) for i in range(17)]
        )
        data.add_intraday_bars([intraday_bar(SYM, NOW - timedelta(minutes=5), c, 90_000, open_=o)])
        bot = WsbDipBot.from_profile("wsb_2025", only())
        props = await run(bot, data, 107.0)
        assert len(props) == expect, bot.last_skip_reason
        if expect:
            assert props[0].legs[0].instrument.strike == Decimal(109)  # 107 × 1.02 = 109.14


# -- exits (scenario 3 and the rest) -------------------------------------------------------

HELD = OptionContract(SYM, FRIDAYS[4], Decimal(112), OptionRight.CALL)


async def exit_run(
    bid: float,
    ask: float,
    *,
    delta: float | None,
    contract: OptionContract = HELD,
    entry: float = 2.00,
    opened_days_ago: int = 0,
    profile: str | None = None,
    spot: float = 110.0,
):
    _, data = market(NOW)
    data.set_quote(spot_quote(SYM, NOW, spot))
    q = option_quote(
        SYM, contract.expiry, float(contract.strike), OptionRight.CALL, NOW, bid, ask, delta=delta
    )
    data.set_chain(OptionChain(SYM, NOW, spot, (q,)))
    opened = et(CAL.sessions_ending(TODAY, opened_days_ago + 1)[0], 10)
    pos = position(contract, 3, entry, opened_at=opened)
    bot = WsbDipBot.from_profile(profile, only()) if profile else WsbDipBot(DipBotParams(**only()))
    props = await bot.on_bar(context(NOW, data, positions=[pos]), {SYM: fresh_bar(SYM, NOW, spot)})
    return bot, props


def assert_close(props: Sequence, reason: ExitReason) -> None:
    assert len(props) == 1
    p = props[0]
    assert p.intent is ProposalIntent.CLOSE
    assert p.exit_reason is reason
    assert p.quantity == 3
    assert p.legs[0].side is Side.SELL
    assert p.legs[0].effect is PositionEffect.CLOSE
    assert p.legs[0].instrument == HELD


async def test_exit_when_mark_6_on_entry_2_then_take_profit() -> None:
    _, props = await exit_run(5.95, 6.05, delta=0.9)
    assert_close(props, ExitReason.TAKE_PROFIT)
    assert props[0].limit_price == Decimal("6.00")
    assert "6.00" in props[0].reason


async def test_exit_when_mark_1_on_entry_2_then_stop() -> None:
    _, props = await exit_run(0.98, 1.02, delta=0.2)
    assert_close(props, ExitReason.STOP)
    assert "1.00" in props[0].reason


async def test_exit_when_delta_061_then_delta_exit() -> None:
    _, props = await exit_run(2.95, 3.05, delta=0.61)
    assert_close(props, ExitReason.DELTA)
    assert "0.61" in props[0].reason


async def test_exit_when_near_misses_mark_590_delta_059_mark_105_then_hold() -> None:
    for bid, ask, delta in ((5.85, 5.95, 0.59), (1.03, 1.07, 0.2)):
        _, props = await exit_run(bid, ask, delta=delta)
        assert props == []


async def test_exit_when_r24_mark_5_then_take_profit_at_25x() -> None:
    _, props = await exit_run(4.95, 5.05, delta=0.45, profile="research_2024")
    assert_close(props, ExitReason.TAKE_PROFIT)
    _, eng = await exit_run(4.95, 5.05, delta=0.45)
    assert eng == []


async def test_exit_when_no_quote_delta_then_black_scholes_from_mid() -> None:
    deep = OptionContract(SYM, FRIDAYS[4], Decimal(95), OptionRight.CALL)  # spot 110, 15 ITM
    _, props = await exit_run(16.0, 16.4, delta=None, contract=deep, entry=15.0)
    assert len(props) == 1
    assert props[0].exit_reason is ExitReason.DELTA


async def test_exit_when_dte_7_and_gain_below_20pct_then_time_exit() -> None:
    near = OptionContract(SYM, TODAY + timedelta(days=7), Decimal(112), OptionRight.CALL)
    _, props = await exit_run(2.15, 2.25, delta=0.4, contract=near)  # +10%
    assert len(props) == 1
    assert props[0].exit_reason is ExitReason.TIME
    assert "7 DTE" in props[0].reason
    _, keep = await exit_run(2.45, 2.55, delta=0.4, contract=near)  # +25%
    assert keep == []
    later = OptionContract(SYM, TODAY + timedelta(days=8), Decimal(112), OptionRight.CALL)
    _, keep8 = await exit_run(2.15, 2.25, delta=0.4, contract=later)
    assert keep8 == []


async def test_exit_when_held_two_sessions_then_time_exit_one_session_hold() -> None:
    _, props = await exit_run(2.15, 2.25, delta=0.4, opened_days_ago=2)
    assert len(props) == 1
    assert props[0].exit_reason is ExitReason.TIME
    assert "held 2 sessions" in props[0].reason
    _, keep = await exit_run(2.15, 2.25, delta=0.4, opened_days_ago=1)
    assert keep == []


async def test_exit_when_option_quote_missing_then_no_exit_and_reason() -> None:
    _, data = market(NOW)
    data.set_quote(spot_quote(SYM, NOW, 110.0))
    pos = position(HELD, 3, 2.0, opened_at=NOW)
    bot = WsbDipBot(DipBotParams(**only()))
    assert (
        await bot.on_bar(context(NOW, data, positions=[pos]), {SYM: fresh_bar(SYM, NOW, 110.0)})
        == []
    )
    assert "no quote for NVDA 250411C112" in (bot.last_skip_reason or "")


# -- parameters ----------------------------------------------------------------------------


def test_profiles_apply_spec_values_and_explicit_values_win() -> None:
    r24 = WsbDipBot.from_profile("research_2024").params
    w25 = WsbDipBot.from_profile("wsb_2025").params
    assert isinstance(r24, DipBotParams)
    assert isinstance(w25, DipBotParams)
    assert (r24.run_lookback_days, r24.run_threshold, r24.dip_threshold) == (7, 0.08, -0.02)
    assert (w25.target_dte_days, w25.otm_percentage, w25.min_option_volume) == (14, 0.02, 5000)
    assert WsbDipBot.from_profile("wsb_2025", {"delta_exit": 0.7}).params.delta_exit == 0.7  # type: ignore[attr-defined]


def test_params_when_out_of_range_then_error_names_field_and_value() -> None:
    from engine.strategies.base import ParameterError

    with pytest.raises(ParameterError, match=r"dip_threshold=0\.05"):
        WsbDipBot.from_profile("research_2024", {"dip_threshold": 0.05})
