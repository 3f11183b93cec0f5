"""Trading sessions, holidays and early closes, from `exchange_calendars` (never a hand list).

Wrapped so the hot path (is the market open at this minute?) is a dictionary lookup and a
comparison instead of a pandas call: the engine asks it every simulated minute.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import exchange_calendars as xc


class SessionState(StrEnum):
    PRE = "pre"
    OPEN = "open"
    POST = "post"
    CLOSED = "closed"


# Extended hours, regular-session relative (spec risk §4: pre from 09:00 UTC, post to 22:00 UTC
# in winter, i.e. 04:00 and 17:00 New York time).
_PRE_OPEN = timedelta(hours=5, minutes=30)
_POST_CLOSE = timedelta(hours=4)


class MarketCalendar:
    """NYSE sessions (XNYS) between `first` and `last`. All datetimes are UTC."""

    def __init__(
        self, name: str = "XNYS", first: date = date(1999, 1, 1), last: date = date(2030, 12, 31)
    ) -> None:
        cal = xc.get_calendar(name, start=first.isoformat(), end=last.isoformat())
        self.name = name
        self._sessions: list[date] = [ts.date() for ts in cal.sessions]
        self._index = {d: i for i, d in enumerate(self._sessions)}
        self._opens: list[datetime] = [t.to_pydatetime().astimezone(UTC) for t in cal.opens]
        self._closes: list[datetime] = [t.to_pydatetime().astimezone(UTC) for t in cal.closes]

    @property
    def first_session(self) -> date:
        return self._sessions[0]

    @property
    def last_session(self) -> date:
        return self._sessions[-1]

    def is_session(self, d: date) -> bool:
        return d in self._index

    def _idx(self, d: date) -> int:
        try:
            return self._index[d]
        except KeyError:
            raise ValueError(f"{d} is not a trading session of {self.name}") from None

    def session_open(self, d: date) -> datetime:
        return self._opens[self._idx(d)]

    def session_close(self, d: date) -> datetime:
        return self._closes[self._idx(d)]

    def is_early_close(self, d: date) -> bool:
        i = self._idx(d)
        return self._closes[i] - self._opens[i] < timedelta(hours=6, minutes=30)

    def session_minutes(self, d: date) -> int:
        i = self._idx(d)
        return int((self._closes[i] - self._opens[i]).total_seconds() // 60)

    def sessions(self, start: date, end: date) -> list[date]:
        """Sessions in [start, end]."""
        lo = bisect.bisect_left(self._sessions, start)
        hi = bisect.bisect_right(self._sessions, end)
        return self._sessions[lo:hi]

    def sessions_ending(self, end: date, count: int) -> list[date]:
        """The last `count` sessions on or before `end`, oldest first."""
        hi = bisect.bisect_right(self._sessions, end)
        return self._sessions[max(0, hi - count) : hi]

    def next_session(self, d: date) -> date:
        """First session strictly after `d`."""
        i = bisect.bisect_right(self._sessions, d)
        if i >= len(self._sessions):
            raise ValueError(f"no session after {d} in the calendar range")
        return self._sessions[i]

    def previous_session(self, d: date) -> date:
        """Last session strictly before `d`."""
        i = bisect.bisect_left(self._sessions, d)
        if i == 0:
            raise ValueError(f"no session before {d} in the calendar range")
        return self._sessions[i - 1]

    def session_on_or_after(self, d: date) -> date:
        return d if d in self._index else self.next_session(d)

    def session_on_or_before(self, d: date) -> date:
        return d if d in self._index else self.previous_session(d)

    def session_of(self, ts: datetime) -> date | None:
        """The session whose regular hours contain `ts`, if any."""
        d = ts.astimezone(UTC).date()
        i = self._index.get(d)
        if i is not None and self._opens[i] <= ts < self._closes[i]:
            return d
        return None

    def is_open(self, ts: datetime) -> bool:
        return self.session_of(ts) is not None

    def state(self, ts: datetime) -> SessionState:
        d = ts.astimezone(UTC).date()
        i = self._index.get(d)
        if i is None:
            return SessionState.CLOSED
        if self._opens[i] <= ts < self._closes[i]:
            return SessionState.OPEN
        if self._opens[i] - _PRE_OPEN <= ts < self._opens[i]:
            return SessionState.PRE
        if self._closes[i] <= ts < self._closes[i] + _POST_CLOSE:
            return SessionState.POST
        return SessionState.CLOSED

    def next_open(self, ts: datetime) -> datetime:
        """The next regular-session open at or after `ts`."""
        d = ts.astimezone(UTC).date()
        i = self._index.get(d)
        if i is not None and ts <= self._opens[i]:
            return self._opens[i]
        return self.session_open(self.next_session(d))

    def trading_days_between(self, start: date, end: date) -> int:
        """Sessions in (start, end]."""
        return len(self.sessions(start + timedelta(days=1), end))


@lru_cache(maxsize=4)
def default_calendar(name: str = "XNYS") -> MarketCalendar:
    """Shared instance: building the calendar costs ~0.2 s, so build it once per process."""
    return MarketCalendar(name)
