"""Minute bars aggregate exactly to the daily bars, early closes included."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from engine.data import SimulatedMarket
from engine.domain import BarInterval

SYMBOLS = ("SPY", "SPX", "NVDA", "AMC", "TQQQ", "VIX", "KO")
DAY_AFTER_THANKSGIVING = date(2026, 11, 27)


def _daily(sim: SimulatedMarket, sym: str, d: date):  # type: ignore[no-untyped-def]
    bars = sim.daily_bars_sync(sym, d, 1)
    assert bars[-1].session_date == d
    return bars[-1]


@pytest.mark.parametrize("session", [date(2026, 1, 5), date(2026, 3, 20), DAY_AFTER_THANKSGIVING])
@pytest.mark.parametrize("interval", list(BarInterval)[:-1])
def test_intraday_bars_when_session_closed_then_aggregate_exactly_to_daily(
    sim: SimulatedMarket, sim_clock, session: date, interval: BarInterval
) -> None:
    cal = sim.calendar
    sim_clock.set(cal.session_close(session) + timedelta(minutes=5))
    minutes = cal.session_minutes(session)
    for sym in SYMBOLS:
        day = _daily(sim, sym, session)
        bars = sim.intraday_bars_sync(
            sym, interval, cal.session_open(session), cal.session_close(session)
        )
        width = int(interval.duration.total_seconds() // 60)
        assert len(bars) == -(-minutes // width)
        assert bars[0].open == day.open
        assert bars[-1].close == day.close
        assert max(b.high for b in bars) == day.high
        assert min(b.low for b in bars) == day.low
        assert sum(b.volume for b in bars) == day.volume
        assert all(b.interval is interval for b in bars)


def test_session_minutes_when_day_after_thanksgiving_then_early_close(
    sim: SimulatedMarket, sim_clock
) -> None:
    cal = sim.calendar
    assert cal.is_early_close(DAY_AFTER_THANKSGIVING)
    sim_clock.set(cal.session_close(DAY_AFTER_THANKSGIVING))
    bars = sim.intraday_bars_sync(
        "SPY",
        BarInterval.MINUTE,
        cal.session_open(DAY_AFTER_THANKSGIVING),
        cal.session_open(DAY_AFTER_THANKSGIVING) + timedelta(hours=8),
    )
    assert len(bars) == 210
    assert bars[-1].end == cal.session_close(DAY_AFTER_THANKSGIVING)


def test_volume_profile_when_averaged_over_sessions_then_u_shaped(
    sim: SimulatedMarket,
) -> None:
    shares = []
    for d in sim.sessions[sim_index(sim) : sim_index(sim) + 30]:
        if sim.calendar.is_early_close(d):
            continue
        m = sim.minute_arrays("AAPL", d)
        shares.append(m.volume / m.volume.sum())
    avg = np.mean(shares, axis=0)
    first, middle, last = avg[:15].mean(), avg[150:240].mean(), avg[-15:].mean()
    assert first > 2.0 * middle
    assert last > 1.5 * middle


def sim_index(sim: SimulatedMarket) -> int:
    return sim.sessions.index(sim.start)


def test_minute_bars_at_when_in_session_then_match_intraday_bars(
    sim: SimulatedMarket, sim_clock
) -> None:
    ts = sim.start_time + timedelta(minutes=45)
    sim_clock.set(ts)
    bars = sim.minute_bars_at(ts)
    assert set(bars) == set(sim.symbols())
    one = sim.intraday_bars_sync("NVDA", BarInterval.MINUTE, ts - timedelta(minutes=1), ts)
    assert one == [bars["NVDA"]]
    assert bars["NVDA"].end == ts
    snap = sim.minute_arrays_at(ts)
    assert snap is not None
    assert snap.close[snap.symbols.index("NVDA")] == bars["NVDA"].close
    assert sim.marks_at(ts)["NVDA"] == bars["NVDA"].close


def test_minute_bars_at_when_outside_session_then_empty(sim: SimulatedMarket, sim_clock) -> None:
    ts = sim.start_time - timedelta(hours=2)
    sim_clock.set(ts)
    assert sim.minute_bars_at(ts) == {}


def test_minute_bars_at_when_ts_after_now_then_refused(sim: SimulatedMarket) -> None:
    with pytest.raises(ValueError, match="look ahead"):
        sim.minute_bars_at(sim.start_time + timedelta(minutes=5))
