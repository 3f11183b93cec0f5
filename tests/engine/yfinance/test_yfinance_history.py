"""yfinance conversion and the on-disk cache, on frames shaped like yfinance's real output."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from yahoo_frames import RecordedYahoo, daily_frame

from engine.data.calendar import default_calendar
from engine.data.yfinance_history import YFinanceHistory, default_cache_dir, frame_rows
from engine.domain import BarInterval, EarningsTiming
from engine.runtime.clock import SimulatedClock

AFTER_CLOSE_0613 = datetime(2024, 6, 13, 21, 0, tzinfo=UTC)


def history(
    tmp_path: Path, source: RecordedYahoo, now: datetime = AFTER_CLOSE_0613
) -> YFinanceHistory:
    return YFinanceHistory(
        source=source,
        cache_dir=tmp_path / "cache",
        clock=SimulatedClock(now),
        symbols=["NVDA", "MSFT"],
    )


def test_frame_rows_when_multiindex_two_tickers_and_nan_row_then_rows_per_ticker_nan_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    df = daily_frame(["NVDA", "MSFT"], datetime(2024, 6, 5), datetime(2024, 6, 13))
    assert list(df.columns.names) == ["Price", "Ticker"]
    with caplog.at_level(logging.WARNING):
        rows, dropped = frame_rows(df, BarInterval.DAY, default_calendar())
    assert dropped == 1
    assert sum(r.symbol == "NVDA" for r in rows) == 6
    assert sum(r.symbol == "MSFT" for r in rows) == 5  # 2024-06-12 was all NaN
    first = rows[0]
    assert first.start == datetime(2024, 6, 5, 13, 30, tzinfo=UTC)  # session open, UTC
    assert "dropped" in caplog.text


def test_frame_rows_when_tz_aware_daily_index_then_same_rows_as_naive() -> None:
    naive = daily_frame(["NVDA"], datetime(2024, 6, 5), datetime(2024, 6, 13))
    aware = daily_frame(
        ["NVDA"], datetime(2024, 6, 5), datetime(2024, 6, 13), tz="America/New_York"
    )
    cal = default_calendar()
    assert frame_rows(naive, BarInterval.DAY, cal)[0] == frame_rows(aware, BarInterval.DAY, cal)[0]


async def test_daily_bars_when_split_and_dividend_then_adjusted_for_returns(tmp_path: Path) -> None:
    h = history(tmp_path, RecordedYahoo())
    bars = await h.daily_bars("NVDA", date(2024, 6, 12), 6)
    assert next(b.session_date for b in bars) == date(2024, 6, 5)
    before_div = bars[0]
    # Adj Close / Close scales the whole bar: dividend-adjusted, split already in Close.
    k = 122.43 / 122.44
    assert before_div.close == pytest.approx(122.43)
    assert before_div.open == pytest.approx(118.37 * k)
    # The return across the split is the real one (no 90 % "crash").
    r = bars[3].close / bars[2].close - 1
    assert abs(r) < 0.02


async def test_raw_daily_bars_when_split_later_then_prices_as_traded_that_day(
    tmp_path: Path,
) -> None:
    h = history(tmp_path, RecordedYahoo())
    raw = await h.raw_daily_bars("NVDA", date(2024, 6, 12), 6)
    by_day = {b.session_date: b for b in raw}
    assert by_day[date(2024, 6, 7)].close == pytest.approx(1208.88)  # pre-split, as traded
    assert by_day[date(2024, 6, 7)].volume == pytest.approx(41_238_600)
    assert by_day[date(2024, 6, 10)].close == pytest.approx(121.79)  # split day onwards: as is


async def test_cache_when_second_run_then_read_locally_without_download(tmp_path: Path) -> None:
    src = RecordedYahoo()
    first = await history(tmp_path, src).daily_bars("NVDA", date(2024, 6, 12), 5)
    assert len(src.calls) == 1
    again_src = RecordedYahoo()
    second = await history(tmp_path, again_src).daily_bars("NVDA", date(2024, 6, 12), 5)
    assert again_src.calls == []  # a new process, same cache file: no download
    assert second == first


async def test_cache_when_session_in_progress_then_not_cached_as_complete(tmp_path: Path) -> None:
    src = RecordedYahoo()
    during = datetime(2024, 6, 12, 17, 0, tzinfo=UTC)  # 13:00 New York on the 12th
    bars = await history(tmp_path, src, during).daily_bars("NVDA", date(2024, 6, 12), 3)
    assert bars[-1].session_date == date(2024, 6, 11)
    later_src = RecordedYahoo()
    bars2 = await history(tmp_path, later_src).daily_bars("NVDA", date(2024, 6, 12), 3)
    assert bars2[-1].session_date == date(2024, 6, 12)
    assert len(later_src.calls) == 1  # the now-finished session is fetched, not assumed


async def test_intraday_when_tz_aware_new_york_index_then_utc_bars(tmp_path: Path) -> None:
    h = history(tmp_path, RecordedYahoo())
    bars = await h.intraday_bars(
        "NVDA",
        BarInterval.MINUTE,
        datetime(2024, 6, 12, 19, 57, tzinfo=UTC),
        datetime(2024, 6, 12, 20, 0, tzinfo=UTC),
    )
    assert [b.start for b in bars] == [
        datetime(2024, 6, 12, 19, m, tzinfo=UTC) for m in (57, 58, 59)
    ]


async def test_fetch_and_summary_when_two_symbols_then_rows_counted_and_listed(
    tmp_path: Path,
) -> None:
    h = history(tmp_path, RecordedYahoo())
    counts = await h.fetch(["NVDA", "MSFT"], date(2024, 6, 5), date(2024, 6, 12))
    assert counts == {"NVDA": 6, "MSFT": 5}
    summary = {(e.symbol, e.interval): e for e in h.cache_summary()}
    assert summary[("MSFT", "1d")].rows == 5
    assert summary[("NVDA", "1d")].last == datetime(2024, 6, 12, 13, 30, tzinfo=UTC)


async def test_option_chain_when_yahoo_rows_then_quotes_and_unquoted_dropped(
    tmp_path: Path,
) -> None:
    h = history(tmp_path, RecordedYahoo())
    await h.daily_bars("NVDA", date(2024, 6, 12), 2)  # the spot comes from the cache
    chain = await h.option_chain("NVDA", date(2024, 6, 15), date(2024, 6, 30))
    assert [q.symbol for q in chain] == ["NVDA240621C00125000", "NVDA240621P00120000"]
    assert chain.spot == pytest.approx(125.20)
    assert chain.quotes[0].open_interest == 80321
    assert chain.quotes[0].iv == pytest.approx(0.4912)


async def test_earnings_when_tz_aware_after_close_times_then_amc_events_cached(
    tmp_path: Path,
) -> None:
    src = RecordedYahoo()
    h = history(tmp_path, src)
    events = await h.earnings_calendar(date(2024, 8, 1), date(2024, 8, 31))
    assert [(e.symbol, e.date, e.timing) for e in events] == [
        ("MSFT", date(2024, 8, 28), EarningsTiming.AFTER_CLOSE),
        ("NVDA", date(2024, 8, 28), EarningsTiming.AFTER_CLOSE),
    ]


def test_default_cache_dir_when_env_override_then_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSB_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
