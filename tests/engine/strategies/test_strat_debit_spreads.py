"""Debit Spreads (spec §6): scenarios, near misses, every exit, stale data."""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import (
    alternating_closes,
    context,
    daily_bars,
    et,
    fresh_bar,
    market,
    option_quote,
    position,
    sessions_before,
    spot_quote,
)

from engine.data.memory import InMemoryMarketData
from engine.domain import (
    ExitReason,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
)
from engine.strategies.debit_spreads import (
    DebitSpreadParams,
    DebitSpreads,
    evaluate_vertical,
    trend_strength,
)

SYM = "AMD"
TODAY = date(2025, 3, 12)
NOW = et(TODAY, 11)
EXP = TODAY + timedelta(days=20)  # inside the Eng (20-60), R24 (10-35) and W25 (7-21) windows


def trending(
    n_noise: int = 213, x: float = 0.03, n_trend: int = 60, step: float = 0.01
) -> list[float]:
    """A year of alternating noise (20-day RV 48.9%) then a clean 1%/day uptrend ending at 99."""
    closes = alternating_closes(50.0, [x] * n_noise)
    for _ in range(n_trend):
        closes.append(closes[-1] * (1 + step))
    scale = 99.0 / closes[-1]
    return [c * scale for c in closes]


def choppy() -> list[float]:
    closes = trending()[:-60]
    closes += alternating_closes(closes[-1], [0.005] * 60)[1:]
    return closes


def volumes(n: int) -> list[float]:
    return [1e6] * (n - 10) + [2e6] * 10


def call(strike: float, bid: float, ask: float, expiry: date = EXP, **kw: object) -> OptionQuote:
    kw.setdefault("volume", 200)
    kw.setdefault("oi", 500)
    kw.setdefault("iv", 0.30)
    return option_quote(SYM, expiry, strike, OptionRight.CALL, NOW, bid, ask, **kw)  # type: ignore[arg-type]


def setup(closes: list[float], rows: list[OptionQuote], spot: float = 100.0) -> InMemoryMarketData:
    _, data = market(NOW)
    data.add_daily_bars(
        daily_bars(SYM, closes, sessions_before(TODAY, len(closes)), volumes(len(closes)))
    )
    data.set_quote(spot_quote(SYM, NOW, spot))
    data.set_chain(OptionChain(SYM, NOW, spot, tuple(rows)))
    return data


def strat(profile: str | None = None, **kw: object) -> DebitSpreads:
    over = {"watchlist": (SYM,), **kw}
    if profile:
        return DebitSpreads.from_profile(profile, over)
    return DebitSpreads(DebitSpreadParams(**over))  # type: ignore[arg-type]


async def scan(s: DebitSpreads, data: InMemoryMarketData, **ctx_kw: object):
    return await s.on_bar(context(NOW, data, **ctx_kw), {SYM: fresh_bar(SYM, NOW, 100.0)})  # type: ignore[arg-type]


# -- measures ------------------------------------------------------------------------------


def test_evaluate_when_100c_4_and_105c_2_then_spec_scenario_1_numbers() -> None:
    c = evaluate_vertical(100.0, call(100, 3.95, 4.05), call(105, 1.95, 2.05))
    assert c.debit == pytest.approx(2.00)
    assert c.max_profit == pytest.approx(3.00)
    assert c.reward_risk == pytest.approx(1.5)
    assert c.breakeven == pytest.approx(102.0)
    assert c.pop == pytest.approx(0.54)
    assert c.volume_score == pytest.approx(0.7)  # min(200 + 500) / 1000


def test_evaluate_when_breakeven_below_spot_then_pop_07_and_floor_01() -> None:
    assert evaluate_vertical(100.0, call(95, 6.95, 7.05), call(100, 3.95, 4.05)).pop == 0.7
    mid = evaluate_vertical(100.0, call(110, 1.95, 2.05), call(115, 0.95, 1.05))
    assert mid.breakeven == pytest.approx(111.0)
    assert mid.pop == pytest.approx(0.6 - 3 * 0.11)
    far = evaluate_vertical(100.0, call(120, 0.95, 1.05), call(125, 0.45, 0.55))
    assert far.pop == pytest.approx(0.1)  # 0.6 - 3 × 0.205 < 0.1 -> floor


def test_trend_strength_of_clean_uptrend_and_of_chop() -> None:
    up = trending()
    expected = (0.8 + 5 * (1.01**10 - 1) + 1.0 + 0.5) / 4  # MA order, 10-day run, no turns, volume
    assert trend_strength(up, volumes(len(up))) == pytest.approx(expected, abs=1e-9)
    ch = choppy()
    assert trend_strength(ch, volumes(len(ch))) < 0.4


# -- scenario 1 and 2 ----------------------------------------------------------------------


async def test_entry_when_eng_100_105_debit_2_then_bull_call_5_contracts_with_numbers() -> None:
    data = setup(trending(), [call(100, 3.95, 4.05), call(105, 1.95, 2.05)])
    props = await scan(strat(), data)
    assert len(props) == 1
    p = props[0]
    assert [(leg.side, leg.instrument.strike) for leg in p.legs] == [  # type: ignore[union-attr]
        (Side.BUY, Decimal(100)),
        (Side.SELL, Decimal(105)),
    ]
    assert all(
        isinstance(leg.instrument, OptionContract) and leg.instrument.expiry == EXP
        for leg in p.legs
    )
    assert p.limit_price == Decimal("2.00")
    assert p.quantity == 5  # 10% of 100k / 200 = 50 -> cap 5
    assert p.max_loss == Decimal("1000.00")
    assert p.max_profit == Decimal("1500.00")
    assert p.breakevens == (pytest.approx(102.0),)
    for text in (
        "debit 2.00",
        "max profit 3.00",
        "R:R 1.50",
        "BE 102.00",
        "PoP 0.54",
        "trend 0.71",
    ):
        assert text in p.reason
    assert p.meta["iv_rank"] == pytest.approx(
        0.30 / (0.03 * math.sqrt(20 / 19) * math.sqrt(252)) * 100, abs=0.5
    )


async def test_entry_when_trend_below_06_then_no_trade() -> None:
    s = strat()
    data = setup(choppy(), [call(100, 3.95, 4.05), call(105, 1.95, 2.05)])
    assert await scan(s, data) == []
    assert "no signal: trend" in (s.last_skip_reason or "")


@pytest.mark.parametrize(
    ("profile", "accepted"), [(None, False), ("research_2024", False), ("wsb_2025", True)]
)
async def test_entry_when_rr_10_then_rejected_eng_r24_accepted_w25(
    profile: str | None, accepted: bool
) -> None:
    s = strat(profile)
    data = setup(trending(), [call(100, 4.45, 4.55), call(105, 1.95, 2.05)])
    props = await scan(s, data)
    assert bool(props) is accepted
    if accepted:
        assert "R:R 1.00" in props[0].reason
    else:
        assert "R:R 1.00 <" in (s.last_skip_reason or "")


async def test_entry_when_iv_rank_above_band_then_no_trade() -> None:
    s = strat()
    rows = [call(100, 3.95, 4.05, iv=0.45), call(105, 1.95, 2.05)]  # rank ≈ 92 > 80
    assert await scan(s, setup(trending(), rows)) == []
    assert "IV rank" in (s.last_skip_reason or "")


async def test_entry_when_short_leg_illiquid_then_no_trade() -> None:
    s = strat()
    rows = [call(100, 3.95, 4.05), call(105, 1.95, 2.05, volume=5, oi=20)]
    assert await scan(s, setup(trending(), rows)) == []


async def test_entry_when_several_pairs_then_highest_score_wins() -> None:
    rows = [call(100, 3.95, 4.05), call(105, 1.95, 2.05), call(110, 0.55, 0.60)]
    props = await scan(strat(), setup(trending(), rows))
    assert len(props) == 1
    m = props[0].meta
    scored = {
        (a.contract.strike, b.contract.strike): evaluate_vertical(
            100.0, a, b, trend=float(m["trend"]), iv_rank_value=float(m["iv_rank"])
        )
        for a, b in ((rows[0], rows[1]), (rows[0], rows[2]), (rows[1], rows[2]))
    }
    best = max(scored, key=lambda k: scored[k].score)
    assert tuple(leg.instrument.strike for leg in props[0].legs) == best  # type: ignore[union-attr]
    assert m["score"] == pytest.approx(scored[best].score)
    assert len({round(c.score, 6) for c in scored.values()}) == 3  # a real choice was made


async def test_entry_when_max_positions_reached_then_no_new_spread() -> None:
    data = setup(trending(), [call(100, 3.95, 4.05), call(105, 1.95, 2.05)])
    other = OptionContract("NVDA", EXP, Decimal(100), OptionRight.CALL)
    _, held_data = data, data
    s = strat(max_positions=1)
    props = await scan(s, held_data, positions=[position(other, 1, 1.0, opened_at=NOW)])
    assert [p for p in props if p.intent is ProposalIntent.OPEN] == []
    assert "max positions 1" in str(s.skips.by_symbol)


# -- stale / missing -----------------------------------------------------------------------


async def test_entry_when_bar_stale_or_history_short_or_chain_missing_then_no_trade() -> None:
    rows = [call(100, 3.95, 4.05), call(105, 1.95, 2.05)]
    s = strat()
    data = setup(trending(), rows)
    old = fresh_bar(SYM, NOW - timedelta(hours=1), 100.0)
    assert await s.on_bar(context(NOW, data), {SYM: old}) == []
    assert "stale bar" in (s.last_skip_reason or "")

    short = setup(trending()[-40:], rows)
    assert await scan(s, short) == []
    assert "need 60" in (s.last_skip_reason or "")

    _, nochain = market(NOW)
    closes = trending()
    nochain.add_daily_bars(
        daily_bars(SYM, closes, sessions_before(TODAY, len(closes)), volumes(len(closes)))
    )
    nochain.set_quote(spot_quote(SYM, NOW, 100.0))
    assert await scan(s, nochain) == []
    assert "no option chain" in (s.last_skip_reason or "")


# -- exits (scenarios 3 and 4) -------------------------------------------------------------

LONG = OptionContract(SYM, TODAY + timedelta(days=30), Decimal(100), OptionRight.CALL)
SHORT = OptionContract(SYM, TODAY + timedelta(days=30), Decimal(105), OptionRight.CALL)


async def exit_scan(
    long_mid: float, short_mid: float = 2.0, *, profile: str | None = None, dte: int = 30
):
    lc = OptionContract(SYM, TODAY + timedelta(days=dte), Decimal(100), OptionRight.CALL)
    sc = OptionContract(SYM, TODAY + timedelta(days=dte), Decimal(105), OptionRight.CALL)
    _, data = market(NOW)
    data.set_quote(spot_quote(SYM, NOW, 100.0))
    rows = (
        call(100, long_mid - 0.05, long_mid + 0.05, expiry=lc.expiry),
        call(105, short_mid - 0.05, short_mid + 0.05, expiry=sc.expiry),
    )
    data.set_chain(OptionChain(SYM, NOW, 100.0, rows))
    held = [position(lc, 3, 4.00, opened_at=NOW), position(sc, -3, 2.00, opened_at=NOW)]
    s = strat(profile)
    props = await s.on_bar(context(NOW, data, positions=held), {SYM: fresh_bar(SYM, NOW, 100.0)})
    return [p for p in props if p.intent is ProposalIntent.CLOSE]


def assert_spread_close(props: list, reason: ExitReason, net: str) -> None:
    assert len(props) == 1
    p = props[0]
    assert p.exit_reason is reason
    assert p.quantity == 3
    assert [(leg.side, leg.effect) for leg in p.legs] == [
        (Side.SELL, PositionEffect.CLOSE),
        (Side.BUY, PositionEffect.CLOSE),
    ]
    assert p.limit_price == Decimal(net)  # net credit received per spread


@pytest.mark.parametrize(
    ("profile", "tp_long", "stop_long"),
    [(None, 4.90, 3.00), ("research_2024", 5.20, 2.60)],  # Eng 2.90 / 1.00; R24 3.20 / 0.60
)
async def test_exit_when_spread_value_hits_target_or_stop_then_close(
    profile: str | None, tp_long: float, stop_long: float
) -> None:
    tp = await exit_scan(tp_long, profile=profile)
    assert_spread_close(tp, ExitReason.TAKE_PROFIT, f"-{tp_long - 2:.2f}")
    assert f"value {tp_long - 2:.2f}" in tp[0].reason
    stop = await exit_scan(stop_long, profile=profile)
    assert_spread_close(stop, ExitReason.STOP, f"-{stop_long - 2:.2f}")
    assert await exit_scan(tp_long - 0.02, profile=profile) == []
    assert await exit_scan(stop_long + 0.02, profile=profile) == []


async def test_exit_when_7_dte_eng_then_time_exit_and_8_dte_holds() -> None:
    props = await exit_scan(4.0, dte=7)
    assert_spread_close(props, ExitReason.TIME, "-2.00")
    assert "7 DTE" in props[0].reason
    assert await exit_scan(4.0, dte=8) == []


async def test_exit_when_one_leg_left_then_close_it() -> None:
    _, data = market(NOW)
    data.set_chain(OptionChain(SYM, NOW, 100.0, (call(100, 3.95, 4.05, expiry=LONG.expiry),)))
    s = strat()
    props = await s.on_bar(
        context(NOW, data, positions=[position(LONG, 2, 4.0, opened_at=NOW)]),
        {SYM: fresh_bar(SYM, NOW, 100.0)},
    )
    closes = [p for p in props if p.intent is ProposalIntent.CLOSE]
    assert len(closes) == 1
    assert closes[0].exit_reason is ExitReason.SIGNAL
    assert closes[0].quantity == 2


async def test_exit_when_leg_quote_missing_then_no_exit() -> None:
    _, data = market(NOW)
    data.set_chain(OptionChain(SYM, NOW, 100.0, (call(100, 3.95, 4.05, expiry=LONG.expiry),)))
    held = [position(LONG, 3, 4.0, opened_at=NOW), position(SHORT, -3, 2.0, opened_at=NOW)]
    s = strat()
    props = await s.on_bar(context(NOW, data, positions=held), {SYM: fresh_bar(SYM, NOW, 100.0)})
    assert [p for p in props if p.intent is ProposalIntent.CLOSE] == []
    assert "no quote" in (s.last_skip_reason or "")


def test_profiles() -> None:
    w = DebitSpreads.from_profile("wsb_2025").params
    assert isinstance(w, DebitSpreadParams)
    assert (w.min_dte, w.max_dte, w.min_reward_risk, w.max_iv_rank, w.time_exit_dte) == (
        7,
        21,
        1.0,
        92.0,
        2,
    )
    assert "SPY" not in DebitSpreads.from_profile("wsb_2025").universe()
    assert "GME" in DebitSpreads.from_profile("research_2024").universe()
