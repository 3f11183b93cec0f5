"""The simulator's caches stay bounded over a long run, and eviction never changes data.

A market is driven across a dozen sessions the way the engine and the strategies read it
every day (the minute loop's snapshots and marks, 5m/15m bars over a 5-session lookback,
option chains and single quotes); the cache entry counts must stop growing once the
session windows are full, nothing older than the windows may stay, and a read of an evicted
session must equal what was served while it was cached.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.data import SimulatedMarket, sim_start_time
from engine.data.simulator.session_cache import SessionLRU
from engine.domain import Bar, BarInterval, OptionRight

UNIVERSE = ("SPY", "QQQ", "AAPL", "NVDA", "VIX")
READ = ("SPY", "AAPL", "NVDA")  # the names a strategy scans with intraday bars
SESSIONS = 12
LOOKBACK = 5  # sessions_ending(today, 5), as swing_trading / momentum_weeklies read


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, ts: datetime) -> None:
        self._now = ts


def _drive_one_session(m: SimulatedMarket, clock: _Clock, day: date) -> dict[str, list[Bar]]:
    """A day of reads; returns the 5m bars of `day` as served at its close."""
    cal = m.calendar
    opened, closed = cal.session_open(day), cal.session_close(day)
    since = cal.session_open(cal.sessions_ending(day, LOOKBACK)[0])
    served: dict[str, list[Bar]] = {}
    for ts in (opened + timedelta(minutes=31), opened + timedelta(hours=3), closed):
        clock.set(ts)
        assert m.minute_arrays_at(ts) is not None or ts == closed
        m.marks_at(ts)
        for sym in READ:
            for interval in (BarInterval.FIVE_MINUTES, BarInterval.FIFTEEN_MINUTES):
                m.intraday_bars_sync(sym, interval, since, ts)
        chain = m.option_chain_sync("SPY", day, day + timedelta(days=30))
        near = min(chain.quotes, key=lambda q: abs(float(q.contract.strike) - chain.spot))
        m.option_quote_sync(near.contract)
        m.option_quotes_sync([q.contract for q in chain.quotes[:5]])
    for sym in READ:
        served[sym] = m.intraday_bars_sync(sym, BarInterval.FIVE_MINUTES, opened, closed)
    return served


@pytest.fixture(scope="module")
def run() -> tuple[SimulatedMarket, list[date], list[dict[str, int]], dict[str, list[Bar]]]:
    clock = _Clock(sim_start_time())
    m = SimulatedMarket(clock, seed=3, universe=UNIVERSE, history_days=30, horizon_days=20)
    clock.set(m.start_time)
    days = list(m.sessions[m.sessions.index(m.start) :][:SESSIONS])
    sizes: list[dict[str, int]] = []
    first_day: dict[str, list[Bar]] = {}
    for i, day in enumerate(days):
        served = _drive_one_session(m, clock, day)
        if i == 0:
            first_day = served
        sizes.append(m.cache_sizes())
    return m, days, sizes, first_day


def test_caches_when_driven_across_sessions_then_entry_counts_stop_growing(run) -> None:  # type: ignore[no-untyped-def]
    m, _days, sizes, _ = run
    n_symbols = len(m.symbols())
    last = sizes[-1]
    # Minute paths: every symbol's for the current and the previous session (the stacks).
    assert last["minute_paths"] == 2 * n_symbols
    # Bars: each scanned name, two intervals, the current session and the five before it.
    assert last["session_bars"] == len(READ) * 2 * 6
    # Flat once the windows are full: the last sessions hold exactly as much as session 7.
    for key in ("minute_paths", "session_bars", "bar_spans", "session_stacks"):
        assert [s[key] for s in sizes[6:]] == [sizes[6][key]] * (SESSIONS - 6), key
    # Interned contracts track the listed chain, not the run's history.
    counts = [s["contracts"] for s in sizes]
    assert max(counts[6:]) <= 1.5 * counts[5], counts


def test_caches_when_sessions_pass_then_nothing_older_than_the_window_is_kept(run) -> None:  # type: ignore[no-untyped-def]
    m, days, _, _ = run
    window = m.cache_window()
    today = days[-1]
    assert window["minute_paths"] == days[-2]
    assert window["session_bars"] == m.calendar.sessions_ending(today, 6)[0]
    assert window["bar_spans"] is not None
    assert window["bar_spans"] >= window["session_bars"]
    # No expired contract stays interned.
    assert window["contracts"] is not None
    assert window["contracts"] >= today


def test_bars_when_their_session_was_evicted_then_rebuilt_identically(run) -> None:  # type: ignore[no-untyped-def]
    m, days, _, first_day = run
    assert m.cache_window()["session_bars"] > days[0]  # day 1 is no longer cached
    cal = m.calendar
    for sym, bars in first_day.items():
        again = m.intraday_bars_sync(
            sym, BarInterval.FIVE_MINUTES, cal.session_open(days[0]), cal.session_close(days[0])
        )
        assert again == bars
        assert len(again) == 78


def test_option_quote_when_contracts_were_swept_then_same_quote_values(run) -> None:  # type: ignore[no-untyped-def]
    m, days, _, _ = run
    chain = m.option_chain_sync("SPY", days[-1], days[-1] + timedelta(days=30))
    contract = next(q.contract for q in chain.quotes if q.contract.right is OptionRight.PUT)
    # A fresh market on the same seed and clock prices the same contract identically.
    clock2 = _Clock(m.clock.now())
    fresh = SimulatedMarket(clock2, seed=3, universe=UNIVERSE, history_days=30, horizon_days=20)
    assert fresh.option_quote_sync(contract) == m.option_quote_sync(contract)


def test_session_lru_when_full_or_windowed_then_evicts_oldest_use_and_old_sessions() -> None:
    c: SessionLRU[str, int] = SessionLRU(3)
    c.put("a", 1, 10)
    c.put("b", 2, 20)
    c.put("c", 3, 30)
    assert c.get("a") == 10  # "a" is now the most recently used
    c.put("d", 3, 40)
    assert c.get("b") is None
    assert len(c) == 3
    assert c.drop_before(3) == 1  # "a" (session 1)
    assert c.sessions() == {3}
    assert (c.get("c"), c.get("d")) == (30, 40)
    with pytest.raises(ValueError, match="max_entries=0"):
        SessionLRU(0)


def test_session_lru_when_key_moves_session_or_is_evicted_then_drop_counts_only_live_keys() -> None:
    c: SessionLRU[str, int] = SessionLRU(2)
    c.put("a", 1, 10)
    c.put("a", 5, 11)  # the same key, now of session 5: session 1 holds nothing any more
    c.put("b", 2, 20)
    c.put("c", 6, 30)  # evicts "a" (least recently used)
    assert c.sessions() == {2, 6}
    assert c.drop_before(6) == 1  # only "b"; "a" went with its eviction
    assert c.sessions() == {6}
    assert (c.get("a"), c.get("b"), c.get("c")) == (None, None, 30)
    c.clear()
    assert c.sessions() == set()
    assert len(c) == 0
