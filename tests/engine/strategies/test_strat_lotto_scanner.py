"""Lotto Scanner (spec §10): testable behaviour 1-5, candidate kinds, exits, data guards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from strat_fixtures_b import (
    NY,
    Market,
    context,
    contract,
    et,
    intraday_series,
    oq,
    position,
    steady,
)

from engine.domain import (
    BarInterval,
    EarningsEvent,
    EarningsTiming,
    ExitReason,
    Fill,
    OptionRight,
    ProposalIntent,
    Side,
)
from engine.strategies.base import ParameterError
from engine.strategies.lotto_scanner import (
    LottoParams,
    LottoScanner,
    momentum_score,
    score_play,
)

NOW = et(2024, 6, 12, 10, 30)  # Wednesday
TODAY = NOW.astimezone(NY).date()
FRI = date(2024, 6, 14)
P, C = OptionRight.PUT, OptionRight.CALL


def eng(**over: object) -> LottoScanner:
    base = {"high_volume": ("SPY",), "meme": (), "earnings_names": ()}
    return LottoScanner(LottoParams(**{**base, **over}))  # type: ignore[arg-type]


def spy_market(
    now=NOW, *, call_mid: float = 0.50, call_volume: int = 1_000, put_volume: int = 60
) -> Market:
    """SPY at 500 above a rising SMA5 > SMA20; a 0DTE 502 call and a thin 497 put."""
    m = Market(now)
    m.daily("SPY", steady(480.0, 25, daily=0.001))
    m.quote("SPY", 500.0)
    qs = [
        oq(contract("SPY", TODAY, 502, C), call_mid - 0.02, call_mid + 0.02, ts=now,
           volume=call_volume),
        oq(contract("SPY", TODAY, 503, C), 0.30, 0.34, ts=now, volume=call_volume),
        oq(contract("SPY", TODAY, 497, P), 0.40, 0.44, ts=now, volume=put_volume),
        oq(contract("SPY", TODAY, 498, P), 0.60, 0.64, ts=now, volume=put_volume),
    ]  # fmt: skip
    m.chain("SPY", 500.0, qs)
    return m


# -- pure rules -------------------------------------------------------------------------------


def test_score_when_0dte_d_half_pct_then_p_031_and_risk_by_volume() -> None:
    # Scenario 4: d = 0.5%, volume 1,000 -> p 0.31, risk 7.05; volume 100 -> risk 12.05.
    p, risk = score_play(0.005, 0, 1_000)
    assert p == pytest.approx(0.31)
    assert risk == pytest.approx(7.05)
    assert score_play(0.005, 0, 100)[1] == pytest.approx(12.05)
    assert score_play(0.08, 2, 1_000) == (pytest.approx(0.10), pytest.approx(3.8))


def test_momentum_score_when_price_above_rising_averages_then_40_plus_change_plus_30() -> None:
    closes = [100.0 + i for i in range(20)]  # SMA5 117, SMA20 109.5, last 119
    assert momentum_score(120.0, closes) == pytest.approx(40 + min(30, 1000 * (1 / 119)) + 30)
    falling = [120.0 - i for i in range(20)]  # SMA5 103, SMA20 110.5, last 101
    assert momentum_score(105.0, falling) == pytest.approx(25 + 30 + 30)  # 4% change caps at 30
    assert momentum_score(100.0, falling) == pytest.approx(0 + 1000 * (1 / 101) + 30)


# -- entries ----------------------------------------------------------------------------------


async def test_entry_when_0dte_call_d_half_pct_volume_1000_then_eligible_with_spec_numbers() -> (
    None
):
    m = spy_market()
    strat = eng()
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.legs[0].instrument == contract("SPY", TODAY, 502, C)
    assert p.meta["win_p"] == pytest.approx(0.31)
    assert p.meta["risk"] == pytest.approx(7.05)
    assert p.quantity == 10  # $1,000 / $50 = 20 -> cap 10
    assert "0DTE momentum" in p.reason
    assert "win p 0.31, risk 7.05" in p.reason
    # the thin put (volume 60) was scored and rejected on risk
    assert "risk 14.07 > 8" in strat.skips.by_symbol[contract("SPY", TODAY, 497, P).symbol]


async def test_entry_when_call_volume_100_then_risk_12_05_and_no_trade() -> None:
    # Scenario 4, near miss.
    m = spy_market(call_volume=100)
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "risk 12.05 > 8" in strat.skips.by_symbol[contract("SPY", TODAY, 502, C).symbol]


async def test_entry_when_equity_50k_risk_1pct_mid_040_then_12_capped_at_10() -> None:
    # Scenario 1: floor($500 / $40) = 12 -> capped at 10 contracts.
    m = spy_market(call_mid=0.40)
    props = await eng().on_bar(context(m, cash=50_000), {})
    assert [(p.quantity, p.limit_price) for p in props] == [(10, Decimal("0.40"))]
    few = await eng().on_bar(context(m, cash=20_000), {})  # $200 / $40 = 5
    assert [p.quantity for p in few] == [5]


async def test_entry_when_equity_9000_then_no_plays() -> None:
    # Scenario 2.
    m = spy_market()
    strat = eng()
    assert await strat.on_bar(context(m, cash=9_000), {}) == []
    assert "equity $9,000 < $10,000" in strat.skips.by_symbol["*"]


async def test_entry_when_day_pnl_minus_3000_on_50k_then_no_new_plays_but_minus_2000_ok() -> None:
    # Scenario 3.
    m = spy_market()
    strat = eng()
    assert await strat.on_bar(context(m, cash=50_000, start_of_day_equity=53_000), {}) == []
    assert "day P&L $-3,000" in strat.skips.by_symbol["*"]
    ok = await eng().on_bar(context(m, cash=50_000, start_of_day_equity=52_000), {})
    assert len(ok) == 1


async def test_entry_when_after_1530_or_max_concurrent_then_no_new_plays() -> None:
    m = spy_market(et(2024, 6, 12, 15, 30))
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "no new plays at/after 15:30 ET" in strat.skips.by_symbol["*"]
    m2 = spy_market()
    held = [position(contract(s, FRI, 10, C), 1, 0.5, opened_at=NOW) for s in ("AAA", "BBB", "CCC")]
    strat2 = eng()
    out = await strat2.on_bar(context(m2, cash=100_000, positions=held), {})
    assert [p for p in out if p.intent is ProposalIntent.OPEN] == []
    assert "3 plays open or pending" in strat2.skips.by_symbol["*"]


async def test_entry_when_0dte_after_1500_then_none_opened_since_it_would_close_at_once() -> None:
    # New plays are allowed until 15:30, but a 0DTE play closes at/after 15:00: opened at
    # 15:10 it would be sold on the next scan, paying the spread twice for nothing.
    strat = eng()
    assert await strat.on_bar(context(spy_market(et(2024, 6, 12, 15, 10)), cash=100_000), {}) == []
    assert "0DTE plays close at/after 15:00 ET" in strat.skips.by_symbol["SPY"]
    before = await eng().on_bar(context(spy_market(et(2024, 6, 12, 14, 59)), cash=100_000), {})
    assert len(before) == 1


async def test_entry_when_momentum_weak_then_no_0dte_play() -> None:
    m = Market(NOW)
    m.daily("SPY", steady(520.0, 25, daily=-0.001))  # falling, last close ~507
    m.quote("SPY", 500.0)  # below SMA5: 0 + 1000 × 1.4% + 30 ≈ 44 < 60
    m.chain("SPY", 509.0, [oq(contract("SPY", TODAY, 511, C), 0.5, 0.54, ts=NOW)])
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "momentum score" in strat.skips.by_symbol["SPY"]


async def test_entry_when_daily_bars_stale_or_quote_missing_then_no_play() -> None:
    m = Market(NOW)
    m.daily("SPY", steady(480.0, 25), end=date(2024, 6, 7))
    m.quote("SPY", 500.0)
    strat = eng()
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "stale daily history" in strat.skips.by_symbol["SPY"]
    m2 = Market(NOW)
    m2.daily("SPY", steady(480.0, 25))
    m2.quote("SPY", 500.0, ts=NOW - timedelta(hours=1))
    assert await strat.on_bar(context(m2, cash=100_000), {}) == []
    assert "stale quote" in strat.skips.by_symbol["SPY"]


async def test_entry_when_nvda_reports_tomorrow_after_close_then_earnings_play_friday_expiry() -> (
    None
):
    m = Market(NOW)
    m.daily("NVDA", steady(118.0, 25))
    m.quote("NVDA", 120.0)
    m.data.add_earnings([EarningsEvent("NVDA", date(2024, 6, 13), EarningsTiming.AFTER_CLOSE)])
    qs = [
        oq(contract("NVDA", date(2024, 6, 13), 126, C), 0.20, 0.24, ts=NOW),
        oq(contract("NVDA", FRI, 126, C), 0.40, 0.44, ts=NOW),
        oq(contract("NVDA", FRI, 114, P), 0.40, 0.44, ts=NOW),
    ]
    m.chain("NVDA", 120.0, qs)
    strat = LottoScanner.from_profile(
        "research_2024", {"high_volume": (), "meme": (), "earnings_names": ("NVDA",)}
    )
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.meta["kind"] == "earnings"
    assert p.legs[0].instrument.expiry == FRI  # first expiry after an after-close report
    assert p.legs[0].instrument.strike in (126, 114)  # spot × (1 ± 5%)
    assert p.quantity == 10  # R24 0.5% of $100k = $500 // $42 = 11 -> cap 10
    assert "earnings 2024-06-13 (amc)" in p.reason


async def test_entry_when_meme_up_5pct_on_heavy_volume_then_catalyst_call_under_r24() -> None:
    m = Market(NOW)
    m.daily("GME", [20.0] * 20 + [19.0] * 5)
    m.quote("GME", 20.0)  # +5.3% vs yesterday's 19.00
    opened = et(2024, 6, 12, 9, 30)
    m.intraday(intraday_series("GME", BarInterval.FIVE_MINUTES, [19.5 + 0.04 * i for i in range(12)],
                               end=NOW, volumes=[50_000.0] * 12))  # fmt: skip
    assert m.data.intraday_bars_sync("GME", BarInterval.FIVE_MINUTES, opened, NOW)
    qs = [oq(contract("GME", FRI, k, C), 0.30, 0.34, ts=NOW) for k in (21.0, 21.5, 22.0)]
    m.chain("GME", 20.0, qs)
    strat = LottoScanner.from_profile(
        "research_2024", {"high_volume": (), "meme": ("GME",), "earnings_names": ()}
    )
    props = await strat.on_bar(context(m, cash=100_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.meta["kind"] == "catalyst"
    # 20 × (1 + 0.7 × min(20%, 2 × 5.26%)) = 21.47 -> 21.5
    assert p.legs[0].instrument == contract("GME", FRI, 21.5, C)
    assert "catalyst: +5.3% on 3.9x volume pace" in p.reason


async def test_entry_when_meme_volume_pace_low_then_no_catalyst() -> None:
    m = Market(NOW)
    m.daily("GME", [20.0] * 20 + [19.0] * 5)
    m.quote("GME", 20.0)
    m.intraday(intraday_series("GME", BarInterval.FIVE_MINUTES, [19.8] * 12, end=NOW,
                               volumes=[20_000.0] * 12))  # fmt: skip
    m.chain("GME", 20.0, [oq(contract("GME", FRI, 21.5, C), 0.30, 0.34, ts=NOW)])
    strat = LottoScanner.from_profile(
        "research_2024", {"high_volume": (), "meme": ("GME",), "earnings_names": ()}
    )
    assert await strat.on_bar(context(m, cash=100_000), {}) == []
    assert "volume pace 1.6x <= 3x" in strat.skips.by_symbol["GME"]


async def test_entry_when_play_proposed_minute_ago_then_cooldown() -> None:
    m = spy_market()
    strat = eng()
    assert len(await strat.on_bar(context(m, cash=100_000), {})) == 1
    later = NOW + timedelta(minutes=1)
    m2 = spy_market(later)
    assert await strat.on_bar(context(m2, cash=100_000), {}) == []
    assert "cooling down" in strat.skips.by_symbol["SPY"]


# -- exits ------------------------------------------------------------------------------------

K = contract("SPY", FRI, 510, C)


def exit_market(mark: float, now=NOW, c=K) -> Market:
    m = Market(now)
    m.chain("SPY", 500.0, [oq(c, max(0.0, mark - 0.01), mark + 0.01, ts=now)])
    return m


def play(qty: int = 4, c=K):
    return position(c, qty, 0.50, opened_at=NOW - timedelta(minutes=30))


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (2.00, (ExitReason.SCALE_OUT, 2)),  # +300%: sell half
        (1.95, None),
        (3.00, (ExitReason.TAKE_PROFIT, 4)),  # +500%: close all (descending check)
        (0.25, (ExitReason.STOP, 4)),  # -50%
        (0.26, None),
    ],
)
async def test_exit_when_entry_050_then_levels_and_stop(mark: float, expected) -> None:
    # Scenario 5.
    strat = eng()
    props = await strat.on_bar(context(exit_market(mark), cash=9_000, positions=[play()]), {})
    got = [(p.exit_reason, p.quantity) for p in props]
    assert got == ([] if expected is None else [expected])
    for p in props:
        assert p.intent is ProposalIntent.CLOSE
        assert p.legs[0].side is Side.SELL


async def test_exit_when_half_sold_then_not_again_at_same_level() -> None:
    strat = eng()
    m = exit_market(2.10)
    [half] = await strat.on_bar(context(m, cash=9_000, positions=[play()]), {})
    assert half.quantity == 2
    await strat.on_fill(
        context(m), Fill("f", "c", "b", K, Side.SELL, 2, Decimal("2.1"), Decimal(0), NOW)
    )
    assert await strat.on_bar(context(m, cash=9_000, positions=[play(2)]), {}) == []
    restored = eng()
    restored.restore(strat.state())
    assert await restored.on_bar(context(m, cash=9_000, positions=[play(2)]), {}) == []
    [rest] = await strat.on_bar(context(exit_market(3.0), cash=9_000, positions=[play(2)]), {})
    assert (rest.exit_reason, rest.quantity) == (ExitReason.TAKE_PROFIT, 2)


async def test_exit_when_r24_then_no_stop_and_higher_levels() -> None:
    strat = LottoScanner.from_profile(
        "research_2024", {"high_volume": (), "meme": (), "earnings_names": ()}
    )
    assert await strat.on_bar(context(exit_market(0.05), cash=9_000, positions=[play()]), {}) == []
    assert await strat.on_bar(context(exit_market(2.90), cash=9_000, positions=[play()]), {}) == []
    [h] = await strat.on_bar(context(exit_market(3.00), cash=9_000, positions=[play()]), {})
    assert h.exit_reason is ExitReason.SCALE_OUT  # +500% is R24's first level


async def test_exit_when_0dte_at_1500_then_close_and_before_holds() -> None:
    c0 = contract("SPY", TODAY, 505, C)
    strat = eng()
    at = et(2024, 6, 12, 15, 0)
    [p] = await strat.on_bar(
        context(exit_market(0.6, at, c0), cash=9_000, positions=[play(c=c0)]), {}
    )
    assert p.exit_reason is ExitReason.EXPIRY
    before = et(2024, 6, 12, 14, 59)
    ctx = context(exit_market(0.6, before, c0), cash=9_000, positions=[play(c=c0)])
    assert await strat.on_bar(ctx, {}) == []


async def test_exit_when_0dte_on_early_close_day_then_close_an_hour_before_1300() -> None:
    d = date(2024, 7, 3)
    c0 = contract("SPY", d, 505, C)
    strat = eng()
    at = et(2024, 7, 3, 12, 5)
    [p] = await strat.on_bar(
        context(exit_market(0.6, at, c0), cash=9_000, positions=[play(c=c0)]), {}
    )
    assert p.exit_reason is ExitReason.EXPIRY
    assert "early close" in p.reason


async def test_exit_when_quote_missing_then_no_price_exit() -> None:
    strat = eng()
    assert await strat.on_bar(context(Market(NOW), cash=9_000, positions=[play()]), {}) == []
    assert "no quote" in strat.skips.by_symbol[K.symbol]


def test_params_when_risk_per_play_above_5pct_then_rejected() -> None:
    with pytest.raises(ParameterError, match="risk_per_play"):
        LottoScanner.from_profile("wsb_2025", {"risk_per_play": 0.5})
    with pytest.raises(ParameterError, match="profit_levels"):
        LottoScanner.from_profile("wsb_2025", {"profit_levels": (300.0, 200.0)})


def test_profiles_when_loaded_then_proposed_risk_units() -> None:
    r24 = LottoScanner.from_profile("research_2024").params
    w25 = LottoScanner.from_profile("wsb_2025").params
    assert (r24.risk_per_play, w25.risk_per_play) == (0.005, 0.025)
    assert (r24.max_dte, w25.max_dte) == (2, 1)
    assert w25.profit_levels == (150.0, 250.0, 400.0)
    assert (r24.stop_loss, w25.stop_loss) == (1.0, 0.90)
    assert w25.min_win_probability == 0.15  # "-" -> Eng
    assert {"SPY", "GME", "SNOW"} <= LottoScanner.from_profile("research_2024").universe()
