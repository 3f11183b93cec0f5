"""Swing Trading (spec §8): testable behaviour 1-4, detectors, every exit rule, data guards."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from strat_fixtures_b import CAL, NY, Market, context, contract, et, intraday_series, oq, position

from engine.domain import BarInterval, ExitReason, Fill, PositionEffect, ProposalIntent, Side
from engine.strategies.base import ParameterError
from engine.strategies.swing_trading import (
    SignalKind,
    SwingParams,
    SwingTrading,
    detect_breakout,
    detect_momentum,
    detect_reversal,
    market_hours_between,
)

NOW = et(2024, 6, 12, 11, 0)  # Wednesday
TODAY = NOW.astimezone(NY).date()
FRIDAY = date(2024, 6, 14)
M15 = BarInterval.FIFTEEN_MINUTES
M5 = BarInterval.FIVE_MINUTES


def breakout_closes() -> list[float]:
    """55 bars oscillating 99.5-100.5 (pivots at 100.5), then 5 bars climbing to 102."""
    wave = [100.0, 100.25, 100.5, 100.25, 100.0, 99.75, 99.5, 99.75]
    base = [wave[i % 8] for i in range(55)]
    return [*base, 100.6, 101.0, 101.4, 101.8, 102.0]


def breakout_bars(end, *, last_volume: float = 6_000.0, symbol: str = "NVDA"):
    closes = breakout_closes()
    vols = [1_000.0] * 55 + [last_volume] * 5
    return intraday_series(symbol, M15, closes, end=end, volumes=vols)


def swing_chain(m: Market, sym: str = "NVDA", spot: float = 102.0, mid: float = 1.20):
    quotes = []
    for exp in (FRIDAY, FRIDAY + timedelta(days=7), FRIDAY + timedelta(days=35)):
        for k in range(98, 108):
            price = mid if k == 104 else max(0.3, mid + (104 - k) * 0.5)
            quotes.append(oq(contract(sym, exp, k), price - 0.05, price + 0.05, ts=m.now))
    return m.chain(sym, spot, quotes)


def only(sym: str, profile: str = "eng", **over: object) -> SwingTrading:
    if profile == "eng":
        return SwingTrading(SwingParams(watchlist=(sym,), **over))  # type: ignore[arg-type]
    return SwingTrading.from_profile(profile, {"watchlist": (sym,), **over})


def entry_market(now=NOW, *, last_volume: float = 6_000.0) -> Market:
    m = Market(now)
    m.intraday(breakout_bars(now, last_volume=last_volume))
    m.quote("NVDA", 102.0)
    swing_chain(m)
    return m


# -- detectors --------------------------------------------------------------------------------


def test_breakout_when_1_5pct_over_pivots_on_6x_volume_then_fires_with_spec_strength() -> None:
    det = detect_breakout(breakout_bars(NOW), SwingParams())
    assert det.fired
    breakout, ret5 = 102.0 / 100.5 - 1, 102.0 / 100.6 - 1
    assert det.strength == pytest.approx(100 * breakout + 10 * 6.0 + 50 * ret5)
    assert "resistance 100.50" in det.detail


def test_breakout_when_volume_only_1_5x_then_not_fired() -> None:
    det = detect_breakout(breakout_bars(NOW, last_volume=1_500.0), SwingParams())
    assert not det.fired
    assert "volume < 2.0x" in det.detail


def momentum_bars(end, *, rise: float = 0.0015, late_volume: float = 2_000.0):
    closes = [100.0] * 20 + [100.0 * (1 + rise) ** i for i in range(1, 21)]
    vols = [1_000.0] * 30 + [late_volume] * 10
    return intraday_series("NVDA", M5, closes, end=end, volumes=vols)


def test_momentum_when_sma_stack_and_volume_then_normalised_strength() -> None:
    det = detect_momentum(momentum_bars(NOW), SwingParams())
    assert det.fired
    assert det.kind is SignalKind.MOMENTUM
    closes = [b.close for b in momentum_bars(NOW)]
    raw = 100.0 * (sum(closes[-5:]) / 5 / (sum(closes[-20:]) / 20) - 1.0)
    assert raw > 1.0
    assert det.strength == pytest.approx(min(100.0, 50.0 * raw / 1.0))
    flat = detect_momentum(momentum_bars(NOW, rise=0.0003), SwingParams())
    assert not flat.fired


def reversal_bars(end, *, last: float = 100.0, spike: float = 3_000.0):
    closes = [105.0] * 30 + [105.0 - 0.7 * i for i in range(1, 11)] + [last]
    vols = [1_000.0] * 38 + [spike] * 3
    return intraday_series("NVDA", M15, closes, end=end, volumes=vols)


def test_reversal_when_bounce_2pct_after_selloff_then_fires_and_1pct_does_not() -> None:
    det = detect_reversal(reversal_bars(NOW), SwingParams())
    assert det.fired
    assert det.strength == pytest.approx(min(100.0, 50.0 * (100.0 / 98.0 - 1) / 0.015))
    weak = detect_reversal(reversal_bars(NOW, last=98.9), SwingParams())
    assert not weak.fired


def test_market_hours_when_overnight_then_only_session_time_counts() -> None:
    start = et(2024, 6, 11, 14, 30)
    assert market_hours_between(CAL, start, et(2024, 6, 12, 10, 0)) == pytest.approx(2.0)
    assert market_hours_between(CAL, start, et(2024, 6, 11, 15, 0)) == pytest.approx(0.5)


# -- entries ----------------------------------------------------------------------------------


async def test_entry_when_breakout_then_call_2pct_otm_next_friday_capped_at_3() -> None:
    # Scenario 4: equity $50k, premium $1.20 -> floor($1,000 / $120) = 8 -> capped at 3.
    m = entry_market()
    strat = only("NVDA")
    props = await strat.on_bar(context(m, cash=50_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    p = props[0]
    assert p.intent is ProposalIntent.OPEN
    assert p.legs[0].instrument == contract("NVDA", FRIDAY, 104)  # round(102 × 1.02, 1) = 104.0
    assert p.legs[0].side is Side.BUY
    assert p.limit_price == Decimal("1.20")
    assert p.quantity == 3
    assert p.max_loss == Decimal("360.00")
    assert p.meta["signal"] == "breakout"
    assert "breakout +1.49% over resistance 100.50 on 6.0x volume" in p.reason
    assert "targets 1.50/1.80/2.40, stop 0.84" in p.reason


async def test_entry_when_only_momentum_fires_then_call_1_5pct_otm_and_momentum_tagged() -> None:
    m = Market(NOW)
    m.intraday(momentum_bars(NOW, rise=0.002))  # SMA5/SMA20 ≈ +1.5% -> strength ≈ 75
    m.quote("NVDA", 102.5)
    swing_chain(m)
    strat = only("NVDA")
    props = await strat.on_bar(context(m, cash=50_000), {})
    assert len(props) == 1, strat.skips.by_symbol
    assert props[0].legs[0].instrument == contract("NVDA", FRIDAY, 104)  # 102.5 × 1.015 = 104.04
    assert props[0].meta["signal"] == "momentum"
    assert "max hold 4 h" in props[0].reason
    assert strat.state()["signals"] == {contract("NVDA", FRIDAY, 104).symbol: "momentum"}


async def test_entry_when_budget_small_then_fewer_contracts() -> None:
    m = entry_market()
    props = await only("NVDA").on_bar(context(m, cash=15_000), {})  # $300 / $120 -> 2
    assert [p.quantity for p in props] == [2]


async def test_entry_when_strength_52_then_no_trade_under_eng_but_r24_trades() -> None:
    m = entry_market(last_volume=5_000.0)  # strength ≈ 1.5 + 50 + 0.7 = 52
    eng = only("NVDA")
    assert await eng.on_bar(context(m, cash=50_000), {}) == []
    assert "strength 52 < 60" in eng.skips.by_symbol["NVDA"]
    r24 = only("NVDA", "research_2024")
    assert len(await r24.on_bar(context(m, cash=50_000), {})) == 1


async def test_entry_when_after_15_et_then_refused() -> None:
    # Scenario 2, second half: a new signal at 15:05 is refused.
    late = et(2024, 6, 12, 15, 5)
    m = entry_market(late)
    strat = only("NVDA")
    assert await strat.on_bar(context(m, cash=50_000), {}) == []
    assert "no new entries at/after 15:00 ET" in strat.skips.by_symbol["*"]


async def test_entry_when_premium_below_minimum_then_skipped() -> None:
    m = Market(NOW)
    m.intraday(breakout_bars(NOW))
    m.quote("NVDA", 102.0)
    swing_chain(m, mid=0.20)
    strat = only("NVDA")
    assert await strat.on_bar(context(m, cash=50_000), {}) == []
    assert "premium 0.20 < minimum 0.25" in strat.skips.by_symbol["NVDA"]


async def test_entry_when_bars_stale_then_no_trade() -> None:
    m = Market(NOW)
    m.intraday(breakout_bars(NOW - timedelta(hours=1)))
    m.quote("NVDA", 102.0)
    swing_chain(m)
    strat = only("NVDA")
    assert await strat.on_bar(context(m, cash=50_000), {}) == []
    assert "stale 15m bars" in strat.skips.by_symbol["NVDA"]


async def test_entry_when_underlying_already_pending_then_no_second_entry() -> None:
    m = entry_market()
    first = await only("NVDA").on_bar(context(m, cash=50_000), {})
    again = await only("NVDA").on_bar(context(m, cash=50_000, pending=first), {})
    assert again == []


async def test_entry_when_proposed_minute_ago_and_not_pending_then_cooldown_then_again() -> None:
    # A denied/expired proposal is not re-sent every 60 s scan: 15 minutes of cooldown.
    m = entry_market()
    strat = only("NVDA")
    assert len(await strat.on_bar(context(m, cash=50_000), {})) == 1
    m.move_to(NOW + timedelta(minutes=1))
    m.intraday(breakout_bars(m.now))
    m.quote("NVDA", 102.0)
    swing_chain(m)
    assert await strat.on_bar(context(m, cash=50_000), {}) == []
    assert "cooling down" in strat.skips.by_symbol["NVDA"]
    m.move_to(NOW + timedelta(minutes=15))
    m.intraday(breakout_bars(m.now))
    m.quote("NVDA", 102.0)
    swing_chain(m)
    assert len(await strat.on_bar(context(m, cash=50_000), {})) == 1


# -- exits ------------------------------------------------------------------------------------

C = contract("NVDA", FRIDAY, 104)


def exit_market(mark: float, now=NOW) -> Market:
    m = Market(now)
    m.chain("NVDA", 102.0, [oq(C, mark - 0.05, mark + 0.05, ts=now)])
    return m


def held(qty: int = 3, entry: float = 2.0, opened=None):
    return position(C, qty, entry, opened_at=opened or NOW - timedelta(hours=1))


async def exits(strat: SwingTrading, m: Market, pos) -> list:
    return list(await strat.on_bar(context(m, positions=[pos]), {}))


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        (2.50, (ExitReason.SCALE_OUT, 1)),  # +25%: sell 25% (min 1)
        (2.49, None),
        (3.00, (ExitReason.SCALE_OUT, 1)),  # +50% first seen: sell 50% of 3 -> 1
        (4.00, (ExitReason.TAKE_PROFIT, 3)),  # +100%: close
        (1.40, (ExitReason.STOP, 3)),  # -30% stop
        (1.41, None),
    ],
)
async def test_exit_ladder_when_entry_2_then_spec_levels(mark: float, expected) -> None:
    # Scenario 1: entry $2.00 (Eng) -> scale-outs at 2.50 and 3.00, full exit 4.00, stop 1.40.
    props = await exits(only("NVDA"), exit_market(mark), held())
    got = [(p.exit_reason, p.quantity) for p in props]
    assert got == ([] if expected is None else [expected])
    for p in props:
        assert p.intent is ProposalIntent.CLOSE
        assert p.legs[0].effect is PositionEffect.CLOSE
        assert p.legs[0].side is Side.SELL


async def test_exit_ladder_when_t1_filled_then_not_repeated_and_t2_sells_half() -> None:
    strat = only("NVDA")
    m = exit_market(2.55)
    [t1] = await exits(strat, m, held(qty=4))
    assert t1.quantity == 1
    fill = Fill("f", "c", "b", C, Side.SELL, 1, Decimal("2.55"), Decimal(0), NOW)
    await strat.on_fill(context(m), fill)
    assert await exits(strat, m, held(qty=3)) == []
    [t2] = await exits(strat, exit_market(3.05), held(qty=3))
    assert (t2.exit_reason, t2.quantity) == (ExitReason.SCALE_OUT, 1)  # int(3 × 0.5) = 1
    assert "+50% target" in t2.reason


async def test_exit_ladder_when_r24_then_profile_targets_and_stop() -> None:
    strat = only("NVDA", "research_2024")
    assert await exits(strat, exit_market(2.55), held()) == []  # +27.5% < 30%
    [s] = await exits(strat, exit_market(2.60), held())
    assert s.exit_reason is ExitReason.SCALE_OUT
    assert await exits(strat, exit_market(1.10), held()) == []  # -45%, stop is 50%
    [stop] = await exits(strat, exit_market(1.00), held())
    assert stop.exit_reason is ExitReason.STOP


async def test_exit_when_momentum_position_at_1505_then_end_of_day() -> None:
    # Scenario 2, first half.
    late = et(2024, 6, 12, 15, 5)
    strat = only("NVDA")
    strat.restore({"signals": {C.symbol: "momentum"}})
    [p] = await exits(strat, exit_market(2.10, late), held(opened=et(2024, 6, 12, 13, 30)))
    assert p.exit_reason is ExitReason.END_OF_DAY
    assert "15:05 ET" in p.reason
    # A breakout position is not subject to the end-of-day rule.
    other = only("NVDA")
    assert await exits(other, exit_market(2.10, late), held(opened=et(2024, 6, 12, 13, 30))) == []


async def test_exit_when_breakout_opened_yesterday_then_next_day_exit_unless_down_20() -> None:
    # Scenario 3: P&L -10% -> NEXT_DAY_EXIT; -20% -> keep (stop still at -30%).
    now = et(2024, 6, 12, 10, 0)
    yesterday = et(2024, 6, 11, 14, 30)
    strat = only("NVDA")
    [p] = await exits(strat, exit_market(1.80, now), held(opened=yesterday))
    assert p.exit_reason is ExitReason.NEXT_DAY
    assert "-10%" in p.reason
    assert await exits(strat, exit_market(1.60, now), held(opened=yesterday)) == []


async def test_exit_when_held_6_market_hours_then_time_exit() -> None:
    now = et(2024, 6, 12, 15, 30)
    strat = only("NVDA")
    [p] = await exits(strat, exit_market(2.10, now), held(opened=et(2024, 6, 12, 9, 30)))
    assert p.exit_reason is ExitReason.TIME
    assert "6.0 market hours >= 6 h" in p.reason
    assert await exits(strat, exit_market(2.10, now), held(opened=et(2024, 6, 12, 9, 31))) == []


async def test_exit_when_option_quote_missing_then_no_exit_and_reason() -> None:
    m = Market(NOW)
    strat = only("NVDA")
    assert await exits(strat, m, held()) == []
    assert "no quote" in strat.skips.by_symbol[C.symbol]


def test_params_when_targets_not_increasing_then_error() -> None:
    with pytest.raises(ParameterError, match="profit_targets"):
        SwingTrading.from_profile("research_2024", {"profit_targets": (50.0, 25.0, 100.0)})
    with pytest.raises(ParameterError, match="stop_loss"):
        SwingTrading.from_profile("research_2024", {"stop_loss": 0.0})


def test_profiles_when_loaded_then_spec_values() -> None:
    r24 = SwingTrading.from_profile("research_2024")
    w25 = SwingTrading.from_profile("wsb_2025")
    assert len(SwingTrading(SwingParams()).universe()) == 28
    assert len(r24.universe()) == 20
    assert "SMCI" in w25.universe()
    assert (r24.params.min_strength, w25.params.min_strength) == (45.0, 42.0)
    assert w25.params.profit_targets == (30.0, 60.0, 150.0)
    assert SwingTrading.scan_interval == timedelta(seconds=60)
