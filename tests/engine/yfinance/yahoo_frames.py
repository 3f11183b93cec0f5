"""Frames shaped like yfinance 1.x output, recorded by hand from real NVDA/MSFT history.

`yf.download([...], auto_adjust=False, actions=True)` returns columns
``MultiIndex[(Price, Ticker)]`` with Price in Adj Close, Close, Dividends, High, Low, Open,
Stock Splits, Volume; daily rows are indexed by tz-naive dates (``Date``), intraday rows by
tz-aware America/New_York timestamps (``Datetime``). NVDA split 10-for-1 effective
2024-06-10 (``Stock Splits`` = 10.0 that day; ``Close`` before it is already divided by 10)
and paid a $0.01 dividend with ex-date 2024-06-11 (``Adj Close`` before it is slightly lower).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

NAN = math.nan
PRICES = ["Adj Close", "Close", "Dividends", "High", "Low", "Open", "Stock Splits", "Volume"]

# date -> ticker -> (open, high, low, close, adj close, volume, dividend, split)
DAILY: dict[str, dict[str, tuple[float, ...]]] = {
    "2024-06-05": {
        "NVDA": (118.37, 122.45, 117.47, 122.44, 122.43, 528_402_000, 0.0, 0.0),
        "MSFT": (417.81, 424.08, 416.30, 424.01, 421.42, 16_960_000, 0.0, 0.0),
    },
    "2024-06-06": {
        "NVDA": (124.05, 125.59, 118.32, 120.998, 120.988, 664_696_000, 0.0, 0.0),
        "MSFT": (424.01, 425.31, 420.58, 424.52, 421.93, 14_861_300, 0.0, 0.0),
    },
    "2024-06-07": {
        "NVDA": (119.77, 121.69, 118.02, 120.888, 120.878, 412_386_000, 0.0, 0.0),
        "MSFT": (426.20, 426.28, 423.00, 423.85, 421.26, 13_621_700, 0.0, 0.0),
    },
    "2024-06-10": {
        "NVDA": (120.37, 123.10, 117.01, 121.79, 121.78, 314_162_700, 0.0, 10.0),
        "MSFT": (424.70, 428.08, 423.89, 427.87, 425.26, 14_003_000, 0.0, 0.0),
    },
    "2024-06-11": {
        "NVDA": (121.77, 122.87, 118.74, 120.91, 120.91, 222_551_200, 0.01, 0.0),
        "MSFT": (425.48, 432.82, 425.25, 432.68, 430.04, 14_551_100, 0.0, 0.0),
    },
    "2024-06-12": {
        "NVDA": (123.06, 126.88, 122.57, 125.20, 125.20, 299_595_000, 0.0, 0.0),
        "MSFT": (NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN),  # a NaN row, as Yahoo sends them
    },
}


def daily_frame(
    symbols: Sequence[str], start: datetime, end: datetime, *, tz: str | None = None
) -> pd.DataFrame:
    days = [d for d in DAILY if start.date().isoformat() <= d < end.date().isoformat()]
    cols = pd.MultiIndex.from_product([PRICES, list(symbols)], names=["Price", "Ticker"])
    index = pd.DatetimeIndex(pd.to_datetime(days), name="Date")
    if tz is not None:
        index = index.tz_localize(tz)
    rows: list[list[float]] = []
    for d in days:
        row = []
        for price in PRICES:
            for sym in symbols:
                o, h, lo, c, adj, v, div, split = DAILY[d].get(sym, (NAN,) * 8)
                row.append(
                    {"Adj Close": adj, "Close": c, "Dividends": div, "High": h, "Low": lo,
                     "Open": o, "Stock Splits": split, "Volume": v}[price]
                )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, index=index, columns=cols)


def minute_frame(symbol: str) -> pd.DataFrame:
    """Three 1-minute rows on 2024-06-12 at 15:57-15:59 New York (19:57-19:59 UTC)."""
    index = pd.DatetimeIndex(
        pd.to_datetime(["2024-06-12 15:57", "2024-06-12 15:58", "2024-06-12 15:59"]),
        name="Datetime",
    ).tz_localize("America/New_York")
    cols = pd.MultiIndex.from_product([PRICES, [symbol]], names=["Price", "Ticker"])
    data = [
        [125.1, 125.1, 0.0, 125.2, 125.0, 125.05, 0.0, 1_200_000],
        [125.2, 125.2, 0.0, 125.3, 125.1, 125.1, 0.0, 1_500_000],
        [125.2, 125.2, 0.0, 125.25, 125.15, 125.2, 0.0, 2_900_000],
    ]
    return pd.DataFrame(data, index=index, columns=cols)


class RecordedYahoo:
    """A `YahooSource` answering from the frames above and counting the calls."""

    def __init__(self, *, tz: str | None = None) -> None:
        self.calls: list[tuple[tuple[str, ...], str]] = []
        self.tz = tz

    def download(
        self, symbols: Sequence[str], start: datetime, end: datetime, interval: str
    ) -> pd.DataFrame:
        self.calls.append((tuple(symbols), interval))
        if interval == "1d":
            return daily_frame(symbols, start, end, tz=self.tz)
        return minute_frame(symbols[0])

    def option_expiries(self, symbol: str) -> Sequence[str]:
        return ("2024-06-21", "2024-07-19")

    def option_chain(self, symbol: str, expiry: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        ymd = expiry[2:4] + expiry[5:7] + expiry[8:10]
        cols = ["contractSymbol", "lastTradeDate", "strike", "lastPrice", "bid", "ask", "change",
                "percentChange", "volume", "openInterest", "impliedVolatility", "inTheMoney",
                "contractSize", "currency"]  # fmt: skip
        ts = pd.Timestamp("2024-06-12 19:59:00", tz="UTC")
        calls = pd.DataFrame(
            [
                [
                    f"NVDA{ymd}C00125000",
                    ts,
                    125.0,
                    4.10,
                    4.05,
                    4.15,
                    0.3,
                    7.9,
                    51234.0,
                    80321,
                    0.4912,
                    False,
                    "REGULAR",
                    "USD",
                ],
                [
                    f"NVDA{ymd}C00130000",
                    ts,
                    130.0,
                    2.10,
                    NAN,
                    NAN,
                    0.1,
                    5.0,
                    NAN,
                    41000,
                    0.00001,
                    False,
                    "REGULAR",
                    "USD",
                ],
            ],
            columns=cols,
        )
        puts = pd.DataFrame(
            [
                [
                    f"NVDA{ymd}P00120000",
                    ts,
                    120.0,
                    2.55,
                    2.50,
                    2.60,
                    -0.2,
                    -7.0,
                    20311.0,
                    60400,
                    0.5023,
                    False,
                    "REGULAR",
                    "USD",
                ]
            ],
            columns=cols,
        )
        return calls, puts

    def earnings_dates(self, symbol: str) -> pd.DataFrame | None:
        idx = pd.DatetimeIndex(
            pd.to_datetime(["2024-08-28 16:20", "2024-05-22 16:20"]), name="Earnings Date"
        ).tz_localize("America/New_York")
        return pd.DataFrame(
            {"EPS Estimate": [0.64, 0.56], "Reported EPS": [NAN, 0.61], "Surprise(%)": [NAN, 8.9]},
            index=idx,
        )


def as_dict(bar: Any) -> dict[str, float]:
    return {"o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close, "v": bar.volume}
