"""Pattern-day-trader bookkeeping (spec §4 PDT rule).

A day trade is opening and closing the same position in the same session.  An account under
$25,000 with 4 or more day trades in 5 business days is flagged as a pattern day trader, so
the risk manager allows at most 3: with 3 already made, the next one is rejected.

The log learns from fills: it keeps each symbol's net quantity and the day it was opened; a
fill that reduces a position opened the same day completes a day trade, counted once per
order.  Business days are weekdays (numpy's busday rules, no holiday list): around a
holiday the window spans one session less than FINRA's, which only makes it count more.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np

from engine.domain import Fill, Position

__all__ = ["MAX_DAY_TRADES", "PDT_MIN_EQUITY", "DayTradeLog"]

PDT_MIN_EQUITY = 25_000.0
MAX_DAY_TRADES = 3
WINDOW_BUSINESS_DAYS = 5


class DayTradeLog:
    def __init__(self) -> None:
        self._qty: dict[str, int] = {}
        self._opened: dict[str, date] = {}
        self._trades: list[tuple[date, str]] = []  # (session date, client order id)

    def seed(self, positions: Mapping[str, Position]) -> None:
        """Start from the book as it stands (after a restart or on first sight)."""
        self._qty = {s: p.quantity for s, p in positions.items() if p.quantity}
        self._opened = {
            s: p.opened_at.date()
            for s, p in positions.items()
            if p.quantity and p.opened_at is not None
        }

    def quantity(self, symbol: str) -> int:
        """Net quantity of `symbol` as the log has seen it."""
        return self._qty.get(symbol, 0)

    def on_fill(self, fill: Fill) -> bool:
        """Apply one fill; True when it completed a new day trade."""
        sym = fill.symbol
        day = fill.ts.date()
        prev = self._qty.get(sym, 0)
        new = prev + fill.signed_quantity
        completed = False
        reduces = prev != 0 and (new == 0 or (new > 0) != (prev > 0) or abs(new) < abs(prev))
        if (
            reduces
            and self._opened.get(sym) == day
            and not any(d == day and c == fill.client_order_id for d, c in self._trades)
        ):
            self._trades.append((day, fill.client_order_id))
            completed = True
        if new == 0:
            self._qty.pop(sym, None)
            self._opened.pop(sym, None)
        else:
            self._qty[sym] = new
            if prev == 0 or (new > 0) != (prev > 0):
                self._opened[sym] = day
        return completed

    def count(self, today: date, business_days: int = WINDOW_BUSINESS_DAYS) -> int:
        """Day trades in the last `business_days` business days, today included."""
        if not self._trades:
            return 0  # the usual answer, asked on every check: skip building numpy dates
        t = np.datetime64(today, "D")
        return sum(
            1
            for d, _ in self._trades
            if d <= today and int(np.busday_count(np.datetime64(d, "D"), t)) < business_days
        )

    def prune(self, today: date, keep_business_days: int = 10) -> None:
        self._trades = [
            (d, c)
            for d, c in self._trades
            if int(np.busday_count(np.datetime64(d, "D"), np.datetime64(today, "D")))
            < keep_business_days
        ]

    def to_json(self) -> list[list[str]]:
        return [[d.isoformat(), c] for d, c in self._trades]

    def load_json(self, data: Any) -> None:
        """Restore the counted day trades; rows that do not parse are skipped."""
        if not isinstance(data, list):
            return
        out: list[tuple[date, str]] = []
        for row in data:
            if isinstance(row, list) and len(row) == 2:
                try:
                    out.append((date.fromisoformat(str(row[0])), str(row[1])))
                except ValueError:
                    continue
        self._trades = out
