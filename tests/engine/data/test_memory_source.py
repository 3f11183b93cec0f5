"""InMemoryMarketData: hand-fed series served through MarketData, never ahead of the clock."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from engine.data import DataUnavailable, InMemoryMarketData, MarketData, default_calendar
from engine.domain import (
    Bar,
    BarInterval,
    EarningsEvent,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Quote,
)
from engine.runtime.clock import SimulatedClock, utc

CAL = default_calendar()


def _daily(symbol: str, days: list[date], closes: list[float]) -> list[Bar]:
    return [
        Bar(symbol, CAL.session_open(d), c, c * 1.01, c * 0.99, c, 1000.0)
        for d, c in zip(days, closes, strict=True)
    ]


def _minutes(symbol: str, d: date, closes: list[float]) -> list[Bar]:
    start = CAL.session_open(d)
    return [
        Bar(
            symbol,
            start + timedelta(minutes=i),
            c,
            c + 0.1,
            c - 0.1,
            c,
            10.0 * (i + 1),
            BarInterval.MINUTE,
        )
        for i, c in enumerate(closes)
    ]


def test_is_a_market_data_source() -> None:
    src = InMemoryMarketData(SimulatedClock(utc(2024, 3, 4, 15)))
    assert isinstance(src, MarketData)


async def test_daily_bars_when_session_not_closed_then_excluded() -> None:
    days = CAL.sessions(date(2024, 2, 26), date(2024, 3, 5))
    clock = SimulatedClock(CAL.session_open(date(2024, 3, 5)) + timedelta(hours=2))
    src = InMemoryMarketData(clock)
    src.add_daily_bars(_daily("NVDA", days, [100.0 + i for i in range(len(days))]))

    bars = await src.daily_bars("NVDA", date(2024, 3, 5), 100)

    assert [b.session_date for b in bars] == days[:-1]
    await clock.advance_to(CAL.session_close(date(2024, 3, 5)))
    bars = await src.daily_bars("NVDA", date(2024, 3, 5), 3)
    assert [b.session_date for b in bars] == days[-3:]
    assert bars[-1].close == pytest.approx(100.0 + len(days) - 1)


async def test_intraday_bars_when_five_minutes_asked_then_aggregated_from_completed_minutes() -> (
    None
):
    d = date(2024, 3, 5)
    open_ = CAL.session_open(d)
    clock = SimulatedClock(open_ + timedelta(minutes=8))
    src = InMemoryMarketData(clock)
    src.add_intraday_bars(_minutes("SPY", d, [500.0 + i for i in range(12)]))

    five = await src.intraday_bars(
        "SPY", BarInterval.FIVE_MINUTES, open_, open_ + timedelta(hours=1)
    )
    ones = await src.intraday_bars("SPY", BarInterval.MINUTE, open_, open_ + timedelta(hours=1))

    assert len(ones) == 8  # minute 8 (ending at +9) is not complete yet
    assert len(five) == 1  # the 09:35 bucket is still forming
    assert (five[0].open, five[0].close, five[0].volume) == (500.0, 504.0, 150.0)
    assert five[0].high == pytest.approx(504.1)
    quote = await src.latest_quote("SPY")
    assert quote.last == 507.0  # fallback: last completed minute's close


async def test_quotes_and_chains_when_stamped_later_then_not_served() -> None:
    t0 = utc(2024, 3, 5, 15)
    clock = SimulatedClock(t0)
    src = InMemoryMarketData(clock)
    src.set_quote(Quote("AAPL", t0, 170.0, 170.1, 170.05))
    src.set_quote(Quote("AAPL", t0 + timedelta(minutes=5), 171.0, 171.1, 171.05))
    c = OptionContract("AAPL", date(2024, 3, 15), Decimal(175), OptionRight.CALL)
    early = OptionQuote(c, t0, 1.0, 1.1, 1.05, 100, 500, iv=0.3)
    late = OptionQuote(c, t0 + timedelta(minutes=5), 2.0, 2.1, 2.05, 100, 500, iv=0.3)
    src.set_chain(OptionChain("AAPL", t0, 170.05, (early,)))
    src.set_chain(OptionChain("AAPL", t0 + timedelta(minutes=5), 171.05, (late,)))
    src.add_earnings([EarningsEvent("AAPL", date(2024, 4, 30))])

    assert (await src.latest_quote("AAPL")).last == 170.05
    assert (await src.option_quote(c)).bid == 1.0
    chain = await src.option_chain("AAPL", date(2024, 3, 1), date(2024, 3, 31))
    assert chain.spot == 170.05
    assert len(chain) == 1
    assert len(await src.option_chain("AAPL", date(2024, 4, 1), date(2024, 4, 30))) == 0

    await clock.advance_to(t0 + timedelta(minutes=5))
    assert (await src.latest_quote("AAPL")).last == 171.05
    assert (await src.option_quote(c)).bid == 2.0
    assert [e.date for e in await src.earnings_calendar(date(2024, 4, 1), date(2024, 5, 1))] == [
        date(2024, 4, 30)
    ]


async def test_reads_when_symbol_unknown_then_data_unavailable() -> None:
    src = InMemoryMarketData(SimulatedClock(utc(2024, 3, 5, 15)))
    src.add_daily_bars(_daily("SPY", [date(2024, 3, 4)], [500.0]))
    with pytest.raises(DataUnavailable, match="TSLA"):
        await src.daily_bars("TSLA", date(2024, 3, 5), 10)
    with pytest.raises(DataUnavailable, match="TSLA"):
        await src.latest_quote("TSLA")
    with pytest.raises(ValueError, match="'1m'"):
        src.add_daily_bars(_minutes("SPY", date(2024, 3, 4), [1.0]))
