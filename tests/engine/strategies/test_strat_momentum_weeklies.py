"""Momentum Weeklies (spec §5): scenarios, near misses, every exit, stale data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import (
    CAL,
    context,
    et,
    fresh_bar,
    intraday_bar,
    market,
    option_quote,
    position,
    spot_quote,
)

from engine.data.memory import InMemoryMarketData
from engine.domain import (
    BarInterval,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
)
from engine.strategies.momentum_weeklies import MomentumParams, MomentumWeeklies, otm_for

SYM = "AAPL"
MONDAY = date(2025, 3, 10)
NOW = et(MONDAY, 11)
FRIDAY = date(2025, 3, 14)
NEXT_FRIDAY = date(2025, 3, 21)


def bar_starts(now: datetime, interval: BarInterval, days: int = 5) -> list[datetime]:
    """Starts of every complete bar of the last `days` sessions up to `now`."""
    out: list[datetime] = []
    for d in CAL.sessions_ending(now.date(), days):
        t, close = CAL.session_open(d), CAL.session_close(d)
        while t + interval.duration <= min(close, now):
            out.append(t)
            t += interval.duration
    return out


def feed_bars(
    data: InMemoryMarketData,
    now: datetime,
    *,
    tail: Sequence[float] = (),
    last_volume: float = 10_000,
    base: float = 100.0,
    fifteen_last: float | None = None,
    fifteen_volume_mult: float = 2.0,
) -> None:
    starts = bar_starts(now, BarInterval.FIVE_MINUTES)
    closes = [base] * len(starts)
    closes[len(closes) - len(tail) :] = list(tail)
    vols = [10_000.0] * len(starts)
    vols[-1] = last_volume
    data.add_intraday_bars(
        intraday_bar(SYM, s, c, v) for s, c, v in zip(starts, closes, vols, strict=True)
    )
    if fifteen_last is not None:
        s15 = bar_starts(now, BarInterval.FIFTEEN_MINUTES)
        c15 = [base] * len(s15)
        c15[-1] = fifteen_last
        v15 = [30_000.0] * len(s15)
        for i in range(1, 6):
            v15[-i] = 30_000.0 * fifteen_volume_mult
        data.add_intraday_bars(
            intraday_bar(SYM, s, c, v, BarInterval.FIFTEEN_MINUTES)
            for s, c, v in zip(s15, c15, v15, strict=True)
        )


def reversal_tail(low_at: int = 5, bounce: float = 0.03, last: float = 100.0) -> list[float]:
    low = last / (1 + bounce)
    head = [100.0 - (100.0 - low) * i / low_at for i in range(low_at)]
    rise = [low + (last - low) * i / (23 - low_at) for i in range(24 - low_at)]
    return head + rise


def calls(
    expiry: date, prices: dict[float, tuple[float, float]], ts: datetime = NOW
) -> list[OptionQuote]:
    return [
        option_quote(SYM, expiry, k, OptionRight.CALL, ts, b, a) for k, (b, a) in prices.items()
    ]


WEEKLY = {
    100.0: (2.0, 2.1),
    101.0: (1.5, 1.6),
    102.0: (1.0, 1.1),
    103.0: (0.60, 0.64),
    104.0: (0.45, 0.49),
    105.0: (0.55, 0.60),
}


def setup(
    now: datetime = NOW,
    spot: float = 100.0,
    rows: list[OptionQuote] | None = None,
    **bars_kw: object,
) -> InMemoryMarketData:
    _, data = market(now)
    feed_bars(data, now, **bars_kw)  # type: ignore[arg-type]
    data.set_quote(spot_quote(SYM, now, spot))
    if rows is None:
        rows = calls(FRIDAY, WEEKLY, now) + calls(NEXT_FRIDAY, WEEKLY, now)
    data.set_chain(OptionChain(SYM, now, spot, tuple(rows)))
    return data


def strat(profile: str | None = None, **kw: object) -> MomentumWeeklies:
    over = {"watchlist": (SYM,), **kw}
    if profile:
        return MomentumWeeklies.from_profile(profile, over)
    return MomentumWeeklies(MomentumParams(**over))  # type: ignore[arg-type]


async def scan(
    s: MomentumWeeklies, data: InMemoryMarketData, now: datetime = NOW, **ctx_kw: object
):
    return await s.on_bar(context(now, data, **ctx_kw), {SYM: fresh_bar(SYM, now, 100.0)})  # type: ignore[arg-type]


# -- scenario 1 ----------------------------------------------------------------------------


async def test_entry_when_spike_35_and_breakout_06pct_then_momentum_too_small_no_trade() -> None:
    s = strat()
    data = setup(tail=[100.6], last_volume=35_000, fifteen_last=100.6)
    assert await scan(s, data) == []
    reason = s.last_skip_reason or ""
    assert "momentum +0.6% < 1.5%" in reason
    assert "3.5x" in reason


async def test_entry_when_spike_35_and_breakout_2pct_then_5pct_otm_call() -> None:
    data = setup(tail=[102.0], last_volume=35_000, fifteen_last=102.0, spot=102.0,
                 rows=calls(FRIDAY, {107.0: (0.55, 0.60), 106.0: (0.7, 0.8)}))  # fmt: skip
    props = await scan(strat(), data)
    assert len(props) == 1
    c = props[0].legs[0].instrument
    assert isinstance(c, OptionContract)
    assert c.strike == Decimal(107)  # 102 × 1.05 = 107.1 -> nearest listed 107
    assert "breakout +2.0% over 100.00" in props[0].reason
    assert props[0].confidence == 0.6


# -- scenario 2 ----------------------------------------------------------------------------


async def test_entry_when_spike_32_reversal_low_bar5_bounce_3pct_then_call_spot_x103_this_weekly() -> (
    None
):
    data = setup(tail=reversal_tail(), last_volume=32_000)
    props = await scan(strat(), data)
    assert len(props) == 1
    p = props[0]
    c = p.legs[0].instrument
    assert isinstance(c, OptionContract)
    assert p.legs[0].side is Side.BUY
    assert c.right is OptionRight.CALL
    assert c.strike == Decimal(103)  # spot 100 × 1.03
    assert c.expiry == FRIDAY  # the next weekly, 4 DTE from Monday
    assert p.limit_price == Decimal("0.62")
    assert p.quantity == 10  # 5% of 100k / 62 = 80 -> cap 10
    assert "volume spike 3.2x" in p.reason
    assert "bounce +3.0%" in p.reason
    assert p.confidence == 0.5


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"tail": reversal_tail(), "last_volume": 29_000}, "volume spike 2.9x < 3.0x"),
        ({"tail": reversal_tail(low_at=15), "last_volume": 32_000}, "no reversal or breakout"),
        ({"tail": reversal_tail(bounce=0.014), "last_volume": 32_000}, "momentum +1.4% < 1.5%"),
    ],
)
async def test_entry_when_scenario_2_near_misses_then_no_trade(kw: dict, why: str) -> None:
    s = strat()
    assert await scan(s, setup(**kw)) == []
    assert why in (s.last_skip_reason or "")


async def test_entry_when_thursday_then_next_friday_beyond_eng_4_dte_no_trade() -> None:
    thursday = et(date(2025, 3, 13), 11)
    rows = calls(FRIDAY, WEEKLY, thursday) + calls(NEXT_FRIDAY, WEEKLY, thursday)
    s = strat()
    data = setup(thursday, rows=rows, tail=reversal_tail(), last_volume=32_000)
    assert await scan(s, data, thursday) == []
    assert "no weekly expiry within 0-4 DTE" in (s.last_skip_reason or "")
    w25 = strat("wsb_2025", max_dte=8)
    props = await scan(
        w25, setup(thursday, rows=rows, tail=reversal_tail(), last_volume=32_000), thursday
    )
    assert props[0].legs[0].instrument.expiry == NEXT_FRIDAY  # type: ignore[union-attr]


async def test_entry_when_w25_and_0dte_listed_then_0dte_first() -> None:
    rows = calls(MONDAY, WEEKLY) + calls(FRIDAY, WEEKLY)
    props = await scan(
        strat("wsb_2025"), setup(rows=rows, tail=reversal_tail(), last_volume=32_000)
    )
    assert props[0].legs[0].instrument.expiry == MONDAY  # type: ignore[union-attr]


async def test_entry_when_premium_below_min_then_skip() -> None:
    rows = calls(FRIDAY, {103.0: (0.40, 0.44)})
    s = strat()
    assert await scan(s, setup(rows=rows, tail=reversal_tail(), last_volume=32_000)) == []
    assert "premium 0.42 < min 0.50" in (s.last_skip_reason or "")


def test_otm_by_momentum() -> None:
    assert [otm_for(m) for m in (0.05, 0.041, 0.03, 0.025, 0.01)] == [0.02, 0.02, 0.03, 0.05, 0.05]


# -- scenario 4: sizing --------------------------------------------------------------------


async def test_sizing_when_equity_100k_premium_080_then_62_capped_at_10() -> None:
    rows = calls(FRIDAY, {103.0: (0.78, 0.82)})
    data = setup(rows=rows, tail=reversal_tail(), last_volume=32_000)
    assert (await scan(strat(), data))[0].quantity == 10
    assert (await scan(strat(max_contracts=1000), data))[0].quantity == 62


async def test_entry_when_max_positions_reached_then_none() -> None:
    data = setup(tail=reversal_tail(), last_volume=32_000)
    other = OptionContract("MSFT", FRIDAY, Decimal(400), OptionRight.CALL)
    s = strat(max_positions=1)
    props = await scan(s, data, positions=[position(other, 1, 1.0, opened_at=NOW)])
    assert [p for p in props if p.intent is ProposalIntent.OPEN] == []


# -- stale / missing -----------------------------------------------------------------------


async def test_entry_when_5min_bars_stop_30min_ago_then_no_trade() -> None:
    earlier = NOW - timedelta(minutes=30)
    _, data = market(NOW)
    feed_bars(data, earlier, tail=reversal_tail(), last_volume=32_000)
    data.set_quote(spot_quote(SYM, NOW, 100.0))
    data.set_chain(OptionChain(SYM, NOW, 100.0, tuple(calls(FRIDAY, WEEKLY))))
    s = strat()
    assert await scan(s, data) == []
    assert "stale 5m bars" in (s.last_skip_reason or "")


async def test_entry_when_handed_bar_missing_then_no_trade() -> None:
    s = strat()
    assert await s.on_bar(context(NOW, setup(tail=reversal_tail(), last_volume=32_000)), {}) == []
    assert "no bar" in (s.last_skip_reason or "")


# -- exits (scenario 3) --------------------------------------------------------------------

HELD = OptionContract(SYM, FRIDAY, Decimal(103), OptionRight.CALL)


async def exit_scan(
    mark: float,
    *,
    held_for: timedelta = timedelta(hours=1),
    contract: OptionContract = HELD,
    now: datetime = NOW,
    spot: float = 100.0,
    strategy: MomentumWeeklies | None = None,
    profile: str | None = None,
):
    _, data = market(now)
    data.set_quote(spot_quote(SYM, now, spot))
    q = option_quote(
        SYM,
        contract.expiry,
        float(contract.strike),
        OptionRight.CALL,
        now,
        mark - 0.02,
        mark + 0.02,
    )
    data.set_chain(OptionChain(SYM, now, spot, (q,)))
    s = strategy or strat(profile)
    pos = position(contract, 4, 1.00, opened_at=now - held_for)
    props = await s.on_bar(context(now, data, positions=[pos]), {SYM: fresh_bar(SYM, now, spot)})
    return [p for p in props if p.intent is ProposalIntent.CLOSE]


def one_close(props: list, reason: ExitReason) -> None:
    assert len(props) == 1
    assert props[0].exit_reason is reason
    assert props[0].quantity == 4
    assert props[0].legs[0].side is Side.SELL
    assert props[0].legs[0].effect is PositionEffect.CLOSE


async def test_exit_when_entry_1_mark_125_then_take_profit() -> None:
    props = await exit_scan(1.25)
    one_close(props, ExitReason.TAKE_PROFIT)
    assert "+25%" in props[0].reason
    assert await exit_scan(1.24) == []


async def test_exit_when_entry_1_mark_050_then_stop() -> None:
    props = await exit_scan(0.50)
    one_close(props, ExitReason.STOP)
    assert "-50%" in props[0].reason
    assert await exit_scan(0.51) == []


async def test_exit_when_4h_elapsed_at_110_then_time() -> None:
    props = await exit_scan(1.10, held_for=timedelta(hours=4))
    one_close(props, ExitReason.TIME)
    assert "held 4.0 h" in props[0].reason
    assert await exit_scan(1.10, held_for=timedelta(hours=3, minutes=59)) == []


async def test_exit_when_w25_then_15pct_target_and_80pct_stop() -> None:
    one_close(await exit_scan(1.15, profile="wsb_2025"), ExitReason.TAKE_PROFIT)
    assert await exit_scan(0.25, profile="wsb_2025") == []
    one_close(await exit_scan(0.20, profile="wsb_2025"), ExitReason.STOP)


async def test_exit_when_expiry_tomorrow_then_expiry_exit_unless_opened_today() -> None:
    thursday = et(date(2025, 3, 13), 10)
    slow = strat(time_exit_hours=48)  # so the expiry rule, not the 4 h rule, is what fires
    props = await exit_scan(1.05, now=thursday, held_for=timedelta(days=1), strategy=slow)
    one_close(props, ExitReason.EXPIRY)
    assert "expiry 2025-03-14 is 1 day(s) away" in props[0].reason
    assert await exit_scan(1.05, now=thursday, held_for=timedelta(minutes=20), strategy=slow) == []
    wednesday = et(date(2025, 3, 12), 10)  # Friday expiry still 2 days away
    assert await exit_scan(1.05, now=wednesday, held_for=timedelta(days=1), strategy=slow) == []


async def test_exit_when_0dte_at_1530_then_expiry_exit() -> None:
    zero = OptionContract(SYM, MONDAY, Decimal(101), OptionRight.CALL)
    late = et(MONDAY, 15, 30)
    props = await exit_scan(
        1.05, contract=zero, now=late, held_for=timedelta(minutes=30), profile="wsb_2025"
    )
    assert props[0].exit_reason is ExitReason.EXPIRY
    assert (
        await exit_scan(
            1.05,
            contract=zero,
            now=et(MONDAY, 15, 0),
            held_for=timedelta(minutes=30),
            profile="wsb_2025",
        )
        == []
    )


async def test_exit_when_underlying_15pct_below_entry_spot_then_stop_and_state_persists() -> None:
    s = strat()
    entry = await scan(s, setup(tail=reversal_tail(), last_volume=32_000))
    assert entry
    restored = strat()
    restored.restore(s.state())
    assert restored.state() == {"entry_spot": {SYM: 100.0}}
    held = entry[0].legs[0].instrument
    assert isinstance(held, OptionContract)
    props = await exit_scan(1.05, contract=held, spot=98.5, strategy=restored)
    one_close(props, ExitReason.STOP)
    assert "-1.5%" in props[0].reason
    again = strat()
    again.restore(s.state())
    assert await exit_scan(1.05, contract=held, spot=98.6, strategy=again) == []


async def test_exit_when_quote_stale_then_no_exit() -> None:
    _, data = market(NOW)
    old = NOW - timedelta(hours=1)
    q = option_quote(SYM, HELD.expiry, 103, OptionRight.CALL, old, 0.2, 0.3)
    data.set_chain(OptionChain(SYM, old, 100.0, (q,)))
    s = strat()
    pos = position(HELD, 4, 1.0, opened_at=NOW - timedelta(hours=5))
    assert await s.on_bar(context(NOW, data, positions=[pos]), {}) == []
    assert "stale quote" in (s.last_skip_reason or "")


def test_params_when_otm_range_inverted_then_error() -> None:
    from engine.strategies.base import ParameterError

    with pytest.raises(ParameterError, match=r"otm_min=0\.06"):
        MomentumWeeklies.from_profile("research_2024", {"otm_min": 0.06})
