"""The real-account engine path against the fake Alpaca: market data routes and a warped
wall clock so a trading minute passes in a fraction of a second on any day of the week.

`WarpedWallClock` is a `WallPacedClock` whose wall clock starts on a trading Monday and runs
`rate` times faster than real time; it keeps the real clock's contract (never ahead of its own
wall, `jump_to` never past it, `on_minute` after every advance). The production clock reads
`datetime.now`, so this subclass repeats its three methods over a movable wall.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from alpaca_fake import FakeAlpaca

from engine.data.calendar import default_calendar
from engine.runtime.clock import WallPacedClock
from engine.runtime.config import WsbConfig, load_config

LIVE_NUMBER = "918274635"  # a live account number (no PA prefix); its suffix is 4635
# Monday 3 March 2025, 09:59:30 New York: the session is open, the fake's own clock is 15:00Z.
WARP_START = datetime(2025, 3, 3, 14, 59, 30, tzinfo=UTC)
SYMBOLS = ("AAPL", "SPY")


class WarpedWallClock(WallPacedClock):
    def __init__(
        self,
        on_minute: Callable[[datetime], Awaitable[object]] | None = None,
        *,
        start: datetime = WARP_START,
        rate: float = 60.0,
    ) -> None:
        self._start = start
        self._rate = rate
        self._t0 = time.monotonic()
        super().__init__(on_minute)
        self._now = start

    def wall(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._rate)

    def now(self) -> datetime:
        return max(self._now, self.wall())

    async def advance_to(self, when: datetime) -> None:
        delay = (when - self.wall()).total_seconds() / self._rate
        if delay > 0:
            await asyncio.sleep(delay)
        self._now = max(self._now, when)
        self._moved()
        if self.on_minute is not None:
            await self.on_minute(when)

    def jump_to(self, when: datetime) -> None:
        self._now = max(self._now, min(when, self.wall()))
        self._moved()


def price(symbol: str, t: datetime = WARP_START) -> float:
    """The fake market's price of `symbol` at `t` (a smooth wave, a few % a month)."""
    base = {"AAPL": 100.0, "SPY": 500.0}.get(symbol, 50.0)
    days = (t - datetime(2024, 1, 1, tzinfo=UTC)).total_seconds() / 86400.0
    return round(base * (1.0 + 0.02 * math.sin(days / 3.0) + 0.001 * math.sin(days * 97.0)), 2)


def _bar(symbol: str, t: datetime, stamp: datetime) -> dict[str, Any]:
    c = price(symbol, t)
    return {
        "t": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": c,
        "h": round(c * 1.002, 2),
        "l": round(c * 0.998, 2),
        "c": c,
        "v": 10_000,
        "n": 100,
        "vw": c,
    }


def _when(raw: str) -> datetime:
    return datetime.fromisoformat(unquote(raw).replace("Z", "+00:00")).astimezone(UTC)


def stock_bars(query: dict[str, list[str]]) -> dict[str, Any]:
    """GET /v2/stocks/bars: daily bars stamped at midnight New York (EST here), minute bars
    for every minute of the window; one page."""
    symbols = [s for raw in query["symbols"] for s in unquote(raw).split(",")]
    start, end = _when(query["start"][0]), _when(query["end"][0])
    out: dict[str, list[dict[str, Any]]] = {}
    for sym in symbols:
        rows = []
        if query["timeframe"] == ["1Day"]:
            d: date = start.date()
            while datetime(d.year, d.month, d.day, 5, tzinfo=UTC) < end:
                stamp = datetime(d.year, d.month, d.day, 5, tzinfo=UTC)
                if stamp >= start and default_calendar().is_session(d):
                    rows.append(_bar(sym, stamp, stamp))
                d += timedelta(days=1)
        else:
            t = start.replace(second=0, microsecond=0)
            while t < end:
                rows.append(_bar(sym, t, t))
                t += timedelta(minutes=1)
        out[sym] = rows
    return {"bars": out, "next_page_token": None}


def stock_snapshots(query: dict[str, list[str]]) -> dict[str, Any]:
    out = {}
    for sym in (s for raw in query["symbols"] for s in unquote(raw).split(",")):
        p = price(sym)
        out[sym] = {
            "latestTrade": {"p": p, "s": 100, "t": "2025-03-03T14:59:59.98Z", "x": "V"},
            "latestQuote": {
                "ap": round(p + 0.01, 2),
                "as": 3,
                "bp": round(p - 0.01, 2),
                "bs": 2,
                "t": "2025-03-03T14:59:59.99Z",
            },
        }
    return out


def serve_market_data(fake: FakeAlpaca) -> None:
    fake.data["/v2/stocks/bars"] = stock_bars
    fake.data["/v2/stocks/snapshots"] = stock_snapshots


def real_config(**sections: dict[str, Any]) -> WsbConfig:
    """Broker and data on Alpaca; no secondary source (Yahoo would need the internet), the
    order poller fast, two symbols."""
    return load_config(None, environ={}, overrides=real_overrides(**sections))


def real_overrides(**sections: dict[str, Any]) -> dict[str, Any]:
    alpaca: dict[str, Any] = {
        "use_stream": False,
        "secondary": "none",
        "poll_seconds": 0.05,
        "reconcile_seconds": 0.05,
        "symbols": list(SYMBOLS),
    }
    alpaca.update(sections.pop("alpaca", {}))
    return {"broker": {"kind": "alpaca"}, "data": {"kind": "alpaca"}, "alpaca": alpaca, **sections}
