"""Time to expiry on the simulated price path's own variance clock, in years.

Why not calendar time: the paths (`paths`, `intraday`) move only in trading time. A year is
`TRADING_DAYS` (252) sessions; `OVERNIGHT_SHARE` (0.25) of each session's diffusive variance
arrives as the opening gap (a weekend or holiday is ONE overnight), the rest during the session,
spread over its minutes by the U-shaped volume profile (`intraday.volume_profile`, heavy at
the open and the close). Priced on seconds / 365-day year, a 0DTE option had almost none of
the variance its underlying still had to realise: on 2020 simulated data its payoff / price was
1.56x (ATM, 30 minutes after the open) to 14.7x (0.5-1 % out of the money, 90 minutes before
the close), and a lottery-ticket strategy earned +100-600 % a year. On this clock those ratios
are 0.5-1.3x, i.e. fair within the noise of a few hundred ticket outcomes.

The clock: V(t), in session units, is the index of session s plus, inside it (open <= t <=
close), OVERNIGHT_SHARE + (1 - OVERNIGHT_SHARE) x the volume-profile share of the session
elapsed (linear within a minute; a half-day session has its own minute count and profile); from
the close of session s - 1 to the open of s, V is the index of s (the gap is realised at the
open). Years from a to b = (V(b) - V(a)) / TRADING_DAYS. Over a month this is close to
calendar time (21 sessions / 252 = 0.0833 vs 30 / 365 = 0.0822), so the term structure and
long-dated prices barely move; within a session it is what a short-dated option needs.

Per calendar (cached, the calendar kept alive by the cache) the session opens and closes are
kept as POSIX seconds and the cumulative profile once per session length, so one reading is a
bisect and a few array reads.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from engine.data.calendar import MarketCalendar
from engine.data.simulator.intraday import volume_profile
from engine.data.simulator.paths import OVERNIGHT_SHARE, TRADING_DAYS


def cumulative_profile(minutes: int) -> tuple[float, ...]:
    """Share of an n-minute session's intraday variance done after each whole minute
    (minutes + 1 values, 0 to 1), the weights the minute path spreads its variance by."""
    prof = volume_profile(minutes)
    cum = np.concatenate([[0.0], np.cumsum(prof)]) / float(prof.sum())
    cum[-1] = 1.0
    return tuple(cum.tolist())


@dataclass(frozen=True, slots=True, eq=False)
class VarianceClock:
    """V(t) of one calendar (see the module docstring)."""

    opens: tuple[float, ...]  # POSIX seconds, one per session, ascending
    closes: tuple[float, ...]
    # Cumulative profile of each session (shared between sessions of the same length).
    cum: tuple[tuple[float, ...], ...]
    memo: dict[datetime, float] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, calendar: MarketCalendar) -> VarianceClock:
        sessions = calendar.sessions(calendar.first_session, calendar.last_session)
        opens = [calendar.session_open(s).timestamp() for s in sessions]
        closes = [calendar.session_close(s).timestamp() for s in sessions]
        by_len: dict[int, tuple[float, ...]] = {}
        cum = []
        for o, c in zip(opens, closes, strict=True):
            n = max(1, round((c - o) / 60.0))
            if n not in by_len:
                by_len[n] = cumulative_profile(n)
            cum.append(by_len[n])
        return cls(tuple(opens), tuple(closes), tuple(cum))

    def units(self, t: datetime) -> float:
        """V(t) in sessions since the calendar's first open (0 before it)."""
        x = t.timestamp()
        i = bisect.bisect_right(self.opens, x) - 1
        if i < 0:
            return 0.0
        close = self.closes[i]
        if x >= close:
            return float(i + 1)
        c = self.cum[i]
        n = len(c) - 1
        m = (x - self.opens[i]) * n / (close - self.opens[i])  # minutes into the session
        j = min(int(m), n - 1)
        done = c[j] + (c[j + 1] - c[j]) * (m - j)
        return i + OVERNIGHT_SHARE + (1.0 - OVERNIGHT_SHARE) * done

    def years(self, start: datetime, end: datetime) -> float:
        """Variance years from `start` to `end` (0 when `end` is not after `start`)."""
        if end <= start:
            return 0.0
        return (self._units_memo(end) - self._units_memo(start)) / TRADING_DAYS

    def _units_memo(self, t: datetime) -> float:
        """`units`, remembered: a pricing pass asks for the same instant (now) and the same
        few expiry closes for every expiry it prices, and a reading costs ~2 us."""
        memo = self.memo
        u = memo.get(t)
        if u is None:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            u = memo[t] = self.units(t)
        return u


_MEMO_MAX = 4096  # instants remembered (each a datetime and a float): a few passes' worth

_CLOCKS: dict[int, tuple[MarketCalendar, VarianceClock]] = {}


def variance_clock(calendar: MarketCalendar) -> VarianceClock:
    """The clock of `calendar`, built once per calendar object (~0.05 s for 1999-2030)."""
    hit = _CLOCKS.get(id(calendar))
    if hit is None or hit[0] is not calendar:
        hit = (calendar, VarianceClock.of(calendar))
        _CLOCKS[id(calendar)] = hit
    return hit[1]
