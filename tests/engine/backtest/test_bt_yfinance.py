"""`--data yfinance`: history fetched through the yfinance cache, exported as CSV, replayed.

Yahoo is replaced by a recorded-shape fake (the network is never used in tests)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import prepare_data, run_backtest
from engine.data.calendar import default_calendar

PRICES = ["Adj Close", "Close", "Dividends", "High", "Low", "Open", "Stock Splits", "Volume"]


class FakeYahoo:
    """Daily frames shaped like `yf.download(..., auto_adjust=False, actions=True)`."""

    def __init__(self) -> None:
        self.calls = 0

    def download(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> pd.DataFrame:
        self.calls += 1
        sessions = default_calendar().sessions(start.date(), end.date())
        days = pd.DatetimeIndex([pd.Timestamp(d) for d in sessions if d < end.date()])
        cols = pd.MultiIndex.from_product([PRICES, list(symbols)], names=["Price", "Ticker"])
        rows = []
        for i, _ in enumerate(days):
            row = []
            for price in PRICES:
                for k, _sym in enumerate(symbols):
                    c = 100.0 * (1 + 0.1 * k) * (1.0 + 0.15 * math.sin(i / 9.0 + k))
                    row.append({"Adj Close": c * 0.98, "Close": c, "Dividends": 0.0,
                                "High": c * 1.01, "Low": c * 0.99, "Open": c,
                                "Stock Splits": 0.0, "Volume": 1e6}[price])  # fmt: skip
            rows.append(row)
        return pd.DataFrame(rows, index=pd.DatetimeIndex(days, name="Date"), columns=cols)

    def option_expiries(self, symbol: str) -> Sequence[str]:
        return ()

    def option_chain(self, symbol: str, expiry: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        raise LookupError

    def earnings_dates(self, symbol: str) -> pd.DataFrame | None:
        return None


async def test_yfinance_when_prepared_then_csv_replay_of_adjusted_history(tmp_path, monkeypatch):
    monkeypatch.setenv("WSB_CACHE_DIR", str(tmp_path / "cache"))
    cfg = BacktestConfig(
        strategies=("sma_cross",), start=date(2024, 3, 1), end=date(2024, 5, 31),
        data=DataSpec("yfinance"), symbols=("AAA", "BBB"), step="day",
        params={"sma_cross": {"fast": 3, "slow": 8, "symbols": ["AAA", "BBB"]}},
    )  # fmt: skip
    yahoo = FakeYahoo()
    ready = await prepare_data(cfg, directory=tmp_path / "csv", source=yahoo)
    assert ready.data == DataSpec("csv", tmp_path / "csv")
    assert yahoo.calls == 1
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["AAA.csv", "BBB.csv", "SPY.csv"]
    frame = pd.read_csv(tmp_path / "csv" / "AAA.csv")
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "adj_close", "volume"]
    np.testing.assert_allclose(frame["close"], frame["adj_close"])
    res = await run_backtest(ready)
    assert res.checks.ok
    assert res.fills, "the sine wave crosses its averages"
    # Served prices are the adjusted ones: Adj Close (= 0.98 x Close here) of that day.
    closes = {
        sym: dict(zip(f["date"], f["close"], strict=True))
        for sym, f in ((s, pd.read_csv(tmp_path / "csv" / f"{s}.csv")) for s in ("AAA", "BBB"))
    }
    marked = [(d.session, s, m) for d in res.daily for s, m in d.marks.items()]
    assert marked
    for session, sym, mark in marked:
        assert mark == closes[sym][session.isoformat()]
