"""Intraday bars built with the per-session bucket bounds (shared by every symbol) are the
bars the minute path aggregates to, early closes and cache resets included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from manual_clock import ManualClock

from engine.data import SimulatedMarket
from engine.data.simulator.intraday import aggregate_minutes
from engine.domain import Bar, BarInterval

# 2026-11-27 closes early (the day after Thanksgiving): a 210-minute session.
SESSIONS = (date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30))


def _expected(m: SimulatedMarket, sym: str, session: date, interval: BarInterval) -> list[Bar]:
    t = m.sessions.index(session)
    agg = aggregate_minutes(m.minute_arrays(sym, session), interval)
    open_ = m._opens[t]
    return [
        Bar(sym, open_ + int(s) * timedelta(minutes=1), o, h, lo, c, v, interval)
        for s, o, h, lo, c, v in zip(
            agg.start.tolist(), agg.open.tolist(), agg.high.tolist(), agg.low.tolist(),
            agg.close.tolist(), agg.volume.tolist(), strict=True,
        )
    ]  # fmt: skip


@pytest.mark.parametrize(
    "interval", [BarInterval.FIVE_MINUTES, BarInterval.FIFTEEN_MINUTES, BarInterval.HOUR]
)
def test_session_bars_when_bounds_shared_then_equal_to_aggregated_minutes(
    interval: BarInterval,
) -> None:
    clock = ManualClock(datetime(2026, 11, 2, 14, 30, tzinfo=UTC))
    m = SimulatedMarket(clock, start=date(2026, 11, 2), history_days=5, horizon_days=30)
    clock.set(m._closes[m.sessions.index(SESSIONS[-1])] + timedelta(hours=1))
    for session in SESSIONS:
        t = m.sessions.index(session)
        built = {sym: m._session_bars(m._col[sym], t, interval) for sym in ("AAPL", "SPY")}
        for sym, sb in built.items():
            assert sb.bars == _expected(m, sym, session, interval)
            assert sb.starts == [b.start for b in sb.bars]
            assert sb.ends[-1] == m._closes[t]
        assert built["AAPL"].starts is built["SPY"].starts  # one list per session
    assert len(m._session_bars(0, m.sessions.index(SESSIONS[2]), interval).bars) < len(
        m._session_bars(0, m.sessions.index(SESSIONS[1]), interval).bars
    )  # the early close has fewer buckets


def test_bucket_bounds_when_cache_reset_then_rebuilt_equal() -> None:
    clock = ManualClock(datetime(2026, 11, 2, 14, 30, tzinfo=UTC))
    m = SimulatedMarket(clock, start=date(2026, 11, 2), history_days=5, horizon_days=30)
    clock.set(m._closes[m.sessions.index(SESSIONS[-1])] + timedelta(hours=1))
    t = m.sessions.index(SESSIONS[0])
    first = m._session_bars(m._col["AAPL"], t, BarInterval.FIVE_MINUTES)
    m._bounds.clear()
    m._bar_cache.clear()
    again = m._session_bars(m._col["AAPL"], t, BarInterval.FIVE_MINUTES)
    assert again.starts is not first.starts
    assert again.starts == first.starts
    assert again.ends == first.ends
    assert again.bars == first.bars
