"""History at the start, and nothing served from after the clock's now."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from engine.data import DataUnavailable, MarketData, SimulatedMarket
from engine.domain import BarInterval


def test_is_a_market_data_source(sim: SimulatedMarket) -> None:
    assert isinstance(sim, MarketData)
    assert sim.name == "sim"


async def test_daily_bars_when_at_start_then_300_sessions_and_sma200(sim: SimulatedMarket) -> None:
    bars = await sim.daily_bars("SPY", sim.start, 1000)
    assert len(bars) >= 300
    assert bars[-1].session_date == sim.calendar.previous_session(sim.start)
    closes = np.array([b.close for b in bars])
    sma200 = closes[-200:].mean()
    assert closes[-1] == sim.spec("SPY").price  # the table's base price is "yesterday's" close
    assert 0.7 * closes[-1] < sma200 < 1.3 * closes[-1]
    assert len(await sim.daily_bars("NVDA", sim.start, 250)) == 250


async def test_daily_bars_when_session_in_progress_then_today_excluded_until_close(
    sim: SimulatedMarket, sim_clock
) -> None:
    today = sim.start
    close = sim.calendar.session_close(today)
    sim_clock.set(close - timedelta(minutes=1))
    bars = await sim.daily_bars("AAPL", today, 5)
    assert bars[-1].session_date < today
    sim_clock.set(close)
    bars = await sim.daily_bars("AAPL", today, 5)
    assert bars[-1].session_date == today
    assert sim.daily_closes("AAPL", today, 5).tolist() == [b.close for b in bars]


async def test_intraday_bars_when_mid_session_then_only_completed_bars(
    sim: SimulatedMarket, sim_clock
) -> None:
    now = sim.start_time + timedelta(minutes=37, seconds=30)
    sim_clock.set(now)
    for interval in (BarInterval.MINUTE, BarInterval.FIVE_MINUTES, BarInterval.HOUR):
        bars = await sim.intraday_bars("TSLA", interval, sim.start_time, now + timedelta(days=3))
        assert all(b.start + interval.duration <= now for b in bars)
    ones = await sim.intraday_bars("TSLA", BarInterval.MINUTE, sim.start_time, now)
    fives = await sim.intraday_bars("TSLA", BarInterval.FIVE_MINUTES, sim.start_time, now)
    assert len(ones) == 37
    assert len(fives) == 7  # 09:30 ... 10:00; the 10:05 bucket is still forming
    assert await sim.intraday_bars("TSLA", BarInterval.HOUR, sim.start_time, now) == []


async def test_latest_quote_when_mid_minute_then_last_completed_minute_close(
    sim: SimulatedMarket, sim_clock
) -> None:
    now = sim.start_time + timedelta(minutes=90, seconds=42)
    sim_clock.set(now)
    quote = await sim.latest_quote("MSFT")
    last_bar = (await sim.intraday_bars("MSFT", BarInterval.MINUTE, sim.start_time, now))[-1]
    assert quote.last == last_bar.close
    assert quote.ts == last_bar.end <= now
    assert quote.bid < quote.last < quote.ask
    sim_clock.set(now + timedelta(minutes=1))
    assert (await sim.latest_quote("MSFT")).ts == quote.ts + timedelta(minutes=1)


async def test_latest_quote_when_market_closed_then_last_close(
    sim: SimulatedMarket, sim_clock
) -> None:
    sat = sim.calendar.session_close(sim.start) + timedelta(days=5)
    sim_clock.set(sat)
    friday = sim.calendar.session_on_or_before(sat.date())
    quote = await sim.latest_quote("GME")
    assert quote.last == (await sim.daily_bars("GME", friday, 1))[-1].close
    assert quote.ts == sim.calendar.session_close(friday)


async def test_option_chain_when_mid_session_then_stamped_at_or_before_now(
    sim: SimulatedMarket, sim_clock
) -> None:
    now = sim.start_time + timedelta(hours=3, seconds=10)
    sim_clock.set(now)
    chain = await sim.option_chain("NVDA", sim.start, sim.start + timedelta(days=30))
    quote = await sim.latest_quote("NVDA")
    assert chain.ts == quote.ts <= now
    assert chain.spot == quote.last
    assert all(q.ts == chain.ts for q in chain)


async def test_reads_when_symbol_unknown_then_data_unavailable(sim: SimulatedMarket) -> None:
    with pytest.raises(DataUnavailable, match="ZZZZ"):
        await sim.latest_quote("ZZZZ")
    with pytest.raises(DataUnavailable, match="ZZZZ"):
        await sim.daily_bars("ZZZZ", sim.start, 5)
    with pytest.raises(DataUnavailable, match="ZZZZ"):
        await sim.option_chain("ZZZZ", sim.start, sim.start)


def test_universe_when_default_then_covers_every_watchlist(sim: SimulatedMarket) -> None:
    watched = [
        "SPY",
        "QQQ",
        "IWM",
        "DIA",
        "VTI",
        "ARKK",
        "SMH",
        "SOXX",
        "XLF",
        "XLE",
        "XLK",
        "XBI",
        "TQQQ",
        "SOXL",
        "SPXL",
        "AAPL",
        "MSFT",
        "GOOGL",
        "META",
        "NVDA",
        "AMD",
        "AVGO",
        "TSLA",
        "AMZN",
        "NFLX",
        "CRM",
        "COST",
        "ADBE",
        "V",
        "MA",
        "LIN",
        "PLTR",
        "F",
        "BAC",
        "T",
        "KO",
        "PFE",
        "INTC",
        "CCL",
        "AAL",
        "ORCL",
        "QCOM",
        "TXN",
        "PYPL",
        "DIS",
        "JPM",
        "WMT",
        "HD",
        "UBER",
        "SNOW",
        "COIN",
        "ROKU",
        "ZM",
        "SHOP",
        "SQ",
        "TWLO",
        "GME",
        "AMC",
        "MSTR",
        "SMCI",
        "ARM",
        "HOOD",
        "SOFI",
        "RIVN",
        "DDOG",
        "NET",
        "OKTA",
        "LCID",
        "NIO",
        "XPEV",
        "GM",
        "CRWD",
        "ZS",
        "PANW",
        "S",
        "FTNT",
    ]
    assert set(watched) <= set(sim.symbols())
    assert sim.instrument("SPX").is_index
    assert sim.instrument("VIX").is_index
    assert not sim.instrument("SPY").is_index


def test_marks_when_before_first_session_then_data_unavailable(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.calendar.session_open(sim.sessions[0]) - timedelta(days=3))
    with pytest.raises(DataUnavailable, match="before the simulated span"):
        sim.marks_at()
