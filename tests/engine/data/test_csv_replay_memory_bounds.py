"""The CSV replay's minute-path cache stays bounded over a long replay, and eviction never
changes what is served.

A replay is driven across many sessions the way the minute loop and the strategies read it
(quotes through the session, 5m/15m bars over a 5-session lookback); the cache must stop
growing once its session window is full and hold nothing older than that window, and a
replay that keeps every path, one that keeps a single path, and the bounded one must serve
identical bars and quotes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from engine.data.calendar import default_calendar
from engine.data.csv_replay import CsvReplayMarket
from engine.data.simulator.session_cache import SessionLRU
from engine.domain import Bar, BarInterval, Quote

CAL = default_calendar()
SYMBOLS = ("SPY", "AAPL", "NVDA", "MSFT")
HISTORY = CAL.sessions(date(2024, 1, 2), date(2024, 4, 30))
REPLAYED = HISTORY[20:50]  # thirty sessions, with history before them
LOOKBACK = 5  # sessions_ending(today, 5), as swing_trading / momentum_weeklies read
KEPT = 6  # the current session and the five before it


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, ts: datetime) -> None:
        self._now = ts


def _write_prices(folder: Path) -> None:
    rng = np.random.default_rng(11)
    for k, sym in enumerate(SYMBOLS):
        close = 100.0 * (k + 1) * np.exp(np.cumsum(rng.normal(0.0, 0.015, len(HISTORY))))
        lines = ["date,open,high,low,close,adj_close,volume"]
        for d, c in zip(HISTORY, close.tolist(), strict=True):
            o = c * (1 + float(rng.normal(0.0, 0.004)))
            hi, lo = max(o, c) * 1.006, min(o, c) * 0.994
            lines.append(f"{d},{o:.2f},{hi:.2f},{lo:.2f},{c:.2f},{c:.2f},{1_000_000 + 1000 * k}")
        (folder / f"{sym}.csv").write_text("\n".join(lines) + "\n")


def _replay(folder: Path) -> tuple[CsvReplayMarket, _Clock]:
    clock = _Clock(CAL.session_open(REPLAYED[0]))
    return CsvReplayMarket(folder, clock), clock


Served = tuple[list[Quote], dict[str, list[Bar]]]


def _drive(market: CsvReplayMarket, clock: _Clock, day: date) -> Served:
    """A day of reads; returns the quotes and the bars served."""
    opened, closed = CAL.session_open(day), CAL.session_close(day)
    since = CAL.session_open(CAL.sessions_ending(day, LOOKBACK)[0])
    quotes: list[Quote] = []
    bars: dict[str, list[Bar]] = {}
    for ts in (opened + timedelta(minutes=31), opened + timedelta(hours=3), closed):
        clock.set(ts)
        quotes.extend(market.latest_quote_sync(sym) for sym in SYMBOLS)
        for sym in SYMBOLS:
            for interval in (BarInterval.FIVE_MINUTES, BarInterval.FIFTEEN_MINUTES):
                bars[f"{sym} {interval.value} {ts}"] = market.intraday_bars_sync(
                    sym, interval, since, ts
                )
    return quotes, bars


@pytest.fixture(scope="module")
def prices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prices")
    _write_prices(folder)
    return folder


@pytest.fixture(scope="module")
def bounded_run(prices: Path) -> tuple[CsvReplayMarket, list[int], list[date | None], list[Served]]:
    market, clock = _replay(prices)
    sizes: list[int] = []
    windows: list[date | None] = []
    served: list[Served] = []
    for day in REPLAYED:
        served.append(_drive(market, clock, day))
        sizes.append(market.cache_sizes()["minute_paths"])
        windows.append(market.cache_window())
    return market, sizes, windows, served


def test_minute_cache_when_replayed_for_weeks_then_stops_growing_at_the_window(
    bounded_run: tuple[CsvReplayMarket, list[int], list[date | None], list[Served]],
) -> None:
    _market, sizes, _windows, _served = bounded_run
    full = KEPT * len(SYMBOLS)
    assert max(sizes) <= full
    assert sizes[-1] == full  # every symbol's kept sessions, read every day
    assert sizes[10:] == [full] * (len(sizes) - 10)  # flat, not creeping
    # A cache bounded only by count would hold every session read so far.
    assert len(REPLAYED) * len(SYMBOLS) > 4 * full


def test_minute_cache_when_replayed_then_nothing_older_than_the_window_stays(
    bounded_run: tuple[CsvReplayMarket, list[int], list[date | None], list[Served]],
) -> None:
    _market, _sizes, windows, _served = bounded_run
    for day, oldest in zip(REPLAYED, windows, strict=True):
        assert oldest is not None
        assert oldest >= CAL.sessions_ending(day, KEPT)[0]


def test_minute_cache_when_evicting_then_served_values_are_identical(
    prices: Path,
    bounded_run: tuple[CsvReplayMarket, list[int], list[date | None], list[Served]],
) -> None:
    _market, _sizes, _windows, bounded = bounded_run
    unbounded, clock_u = _replay(prices)
    unbounded._minute_cache = SessionLRU(10**6)
    unbounded._trim_minute_cache = lambda: None  # type: ignore[method-assign]
    tiny, clock_t = _replay(prices)
    tiny._minute_cache = SessionLRU(1)  # every other read rebuilds its path
    for day, served in zip(REPLAYED, bounded, strict=True):
        assert _drive(unbounded, clock_u, day) == served
        assert _drive(tiny, clock_t, day) == served
    assert unbounded.cache_sizes()["minute_paths"] == (len(REPLAYED) + LOOKBACK - 1) * len(SYMBOLS)
    assert tiny.cache_sizes()["minute_paths"] == 1


def test_minute_cache_when_an_old_session_is_read_again_then_rebuilt_identically(
    prices: Path,
) -> None:
    market, clock = _replay(prices)
    first = REPLAYED[0]
    clock.set(CAL.session_close(first))
    before = market.intraday_bars_sync(
        "AAPL", BarInterval.MINUTE, CAL.session_open(first), CAL.session_close(first)
    )
    for day in REPLAYED[1:12]:  # the window moves past the first session
        _drive(market, clock, day)
    assert market.cache_window() is not None
    assert market.cache_window() > first  # type: ignore[operator]
    again = market.intraday_bars_sync(
        "AAPL", BarInterval.MINUTE, CAL.session_open(first), CAL.session_close(first)
    )
    assert len(before) == CAL.session_minutes(first)
    assert again == before
