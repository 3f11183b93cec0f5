"""CsvReplayMarket on the shared price files, and on a file with bad rows."""

from __future__ import annotations

import itertools
import logging
import math
from datetime import date, timedelta
from pathlib import Path

import pytest

from engine.data import CsvReplayMarket, DataUnavailable, MarketData, default_calendar
from engine.domain import BarInterval, OptionRight

CAL = default_calendar()
DAY = date(2015, 6, 10)


@pytest.fixture(scope="module")
def _replay(prices_dir: Path, make_clock: type):  # type: ignore[no-untyped-def]
    clock = make_clock(CAL.session_open(DAY))
    return clock, CsvReplayMarket(prices_dir, clock, symbols=["SPY", "AAPL", "VIX"])


@pytest.fixture
def replay(_replay):  # type: ignore[no-untyped-def]
    clock, market = _replay
    clock.set(CAL.session_open(DAY) + timedelta(minutes=90))
    return market


@pytest.fixture
def replay_clock(_replay):  # type: ignore[no-untyped-def]
    return _replay[0]


def _file_row(prices_dir: Path, symbol: str, day: date) -> list[str]:
    for line in (prices_dir / f"{symbol}.csv").read_text().splitlines():
        if line.startswith(day.isoformat()):
            return line.split(",")
    raise AssertionError(f"{day} not in {symbol}.csv")


def test_is_a_market_data_source(replay: CsvReplayMarket) -> None:
    assert isinstance(replay, MarketData)
    assert list(replay.symbols()) == ["AAPL", "SPY", "VIX"]


async def test_daily_bars_when_mid_session_then_adjusted_history_without_today(
    replay: CsvReplayMarket, prices_dir: Path
) -> None:
    bars = await replay.daily_bars("AAPL", DAY, 300)
    assert len(bars) == 300
    prev = CAL.previous_session(DAY)
    assert bars[-1].session_date == prev
    row = _file_row(prices_dir, "AAPL", prev)
    close, adj = float(row[4]), float(row[5])
    assert bars[-1].close == adj
    assert bars[-1].open == pytest.approx(float(row[1]) * adj / close, rel=1e-12)
    assert bars[-1].volume == float(row[6])


async def test_daily_bars_when_session_closed_then_today_included(
    replay: CsvReplayMarket, replay_clock
) -> None:
    replay_clock.set(CAL.session_close(DAY))
    bars = await replay.daily_bars("SPY", DAY, 2)
    assert bars[-1].session_date == DAY
    quote = await replay.latest_quote("SPY")
    assert quote.last == bars[-1].close
    assert quote.bid < quote.last < quote.ask
    assert quote.ask - quote.bid < 0.001 * quote.last + 0.02


async def test_intraday_bars_when_synthesised_then_aggregate_exactly_and_no_look_ahead(
    replay: CsvReplayMarket, replay_clock
) -> None:
    now = replay_clock.now()
    partial = await replay.intraday_bars(
        "AAPL", BarInterval.MINUTE, CAL.session_open(DAY), now + timedelta(hours=9)
    )
    assert len(partial) == 90
    assert partial[-1].end <= now
    assert (await replay.latest_quote("AAPL")).last == partial[-1].close
    replay_clock.set(CAL.session_close(DAY))
    day = (await replay.daily_bars("AAPL", DAY, 1))[-1]
    for interval in (BarInterval.MINUTE, BarInterval.FIFTEEN_MINUTES):
        bars = await replay.intraday_bars(
            "AAPL", interval, CAL.session_open(DAY), CAL.session_close(DAY)
        )
        assert bars[0].open == day.open
        assert bars[-1].close == day.close
        assert max(b.high for b in bars) == day.high
        assert min(b.low for b in bars) == day.low
        assert sum(b.volume for b in bars) == day.volume


async def test_option_chain_when_priced_from_history_then_iv_near_realised_vol(
    replay: CsvReplayMarket,
) -> None:
    chain = await replay.option_chain("SPY", DAY + timedelta(days=20), DAY + timedelta(days=40))
    assert len(chain) > 50
    assert all(0 <= q.bid <= q.ask for q in chain)
    closes = [b.close for b in await replay.daily_bars("SPY", DAY, 21)]
    rets = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    mean = sum(rets) / len(rets)
    realised = math.sqrt(sum((r - mean) ** 2 for r in rets) / (len(rets) - 1) * 252)
    expiry = chain.expiries[0]
    atm = min(
        chain.for_expiry(expiry, OptionRight.CALL),
        key=lambda q: abs(float(q.contract.strike) - chain.spot),
    )
    assert atm.iv is not None
    assert 0.7 * realised < atm.iv < 1.8 * realised + 0.05
    assert await replay.option_quote(atm.contract) == atm
    assert await replay.earnings_calendar(date(2000, 1, 1), date(2030, 1, 1)) == []


async def test_reads_when_symbol_unknown_then_data_unavailable(replay: CsvReplayMarket) -> None:
    with pytest.raises(DataUnavailable, match="MSFT"):
        await replay.latest_quote("MSFT")
    with pytest.raises(DataUnavailable, match="no options"):
        await replay.option_chain("VIX", DAY, DAY + timedelta(days=30))


def test_load_when_symbol_has_no_file_then_clear_error(prices_dir: Path, make_clock: type) -> None:
    with pytest.raises(ValueError, match=r"\['TSLA'\] have no file"):
        CsvReplayMarket(prices_dir, make_clock(CAL.session_open(DAY)), symbols=["SPY", "TSLA"])


BAD_FILE = """date,open,high,low,close,adj_close,volume
2015-06-01,10,11,9,10.5,10.5,1000
2015-06-02,10.5,11,10,nan,10.8,1000
2015-06-03,10.5,11,10,10.8,10.8,-5
2015-06-04,-1,11,10,10.8,10.8,1000
2015-06-05,0,11,10,10.8,10.8,1000
2015-06-08,10.5,10.6,10.7,10.55,10.55,1000
2015-06-09,10.5,11,10,10.8,10.8,1000
2015-06-09,10.6,11,10,10.9,10.9,1000
2015-06-06,10.5,11,10,10.8,10.8,1000
2015-06-10,10.5,11,10
2015-06-11,10.5,11,10,10.8,5.4,2000
"""


async def test_load_when_rows_are_bad_then_rejected_logged_and_not_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, make_clock: type
) -> None:
    path = tmp_path / "BAD.csv"
    path.write_text(BAD_FILE)
    clock = make_clock(CAL.session_close(date(2015, 6, 12)))
    with caplog.at_level(logging.WARNING, logger="engine.data.csv_replay"):
        market = CsvReplayMarket(tmp_path, clock)
    messages = [r.getMessage() for r in caplog.records]
    for line, needle in [
        (3, "close=nan"),
        (4, "volume=-5.0"),
        (5, "open=-1.0"),
        (6, "open=0.0"),
        (7, "high/low"),
        (9, "not after"),
        (10, "not after"),
        (11, "not a finite number"),
    ]:
        assert any(f"BAD.csv:{line}:" in m and needle in m for m in messages), (line, needle)
    bars = await market.daily_bars("BAD", date(2015, 6, 12), 100)
    assert [b.session_date for b in bars] == [date(2015, 6, 1), date(2015, 6, 9), date(2015, 6, 11)]
    assert bars[-1].close == 5.4  # adjusted: adj_close scales OHLC
    assert bars[-1].high == pytest.approx(5.5)
    assert bars[-1].open == pytest.approx(5.25)


def test_load_when_header_is_wrong_then_clear_error(tmp_path: Path, make_clock: type) -> None:
    (tmp_path / "X.csv").write_text("day,o,h,l,c\n2015-06-01,1,1,1,1\n")
    with pytest.raises(ValueError, match="header"):
        CsvReplayMarket(tmp_path, make_clock(CAL.session_open(DAY)))
