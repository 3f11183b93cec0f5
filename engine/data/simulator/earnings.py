"""Quarterly earnings dates for single names, and the session each report moves the stock.

Each company reports a fixed number of days after every calendar quarter end (its own offset,
with a few days' jitter per quarter), always before the open or always after the close. A
before-open report moves that session's opening gap; an after-close report moves the next one.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from engine.data.calendar import MarketCalendar
from engine.data.simulator.seeding import derived_rng, derived_seed
from engine.data.simulator.universe import SymbolSpec
from engine.domain import EarningsEvent, EarningsTiming

_QUARTER_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))


@dataclass(frozen=True, slots=True)
class EarningsSchedule:
    """Every simulated report, with the session index (into the market's session list) whose
    opening gap carries the surprise and the standard deviation of that move."""

    events: tuple[EarningsEvent, ...]
    reaction_index: tuple[int, ...]  # aligned with events; -1 when outside the simulated span
    move_sd: tuple[float, ...]
    _dates: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _sorted: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dates = tuple(e.date for e in self.events)
        object.__setattr__(self, "_dates", dates)
        object.__setattr__(self, "_sorted", all(a <= b for a, b in pairwise(dates)))

    def between(self, start: date, end: date) -> list[EarningsEvent]:
        """Events with start <= date <= end, in schedule order. Strategies ask every minute,
        so a date-sorted schedule (as `build_schedule` makes it) is sliced by bisection."""
        if self._sorted:
            lo = bisect.bisect_left(self._dates, start)
            hi = bisect.bisect_right(self._dates, end)
            return list(self.events[lo:hi])
        return [e for e in self.events if start <= e.date <= end]


def build_schedule(
    specs: Sequence[SymbolSpec],
    sessions: Sequence[date],
    calendar: MarketCalendar,
    seed: int,
) -> EarningsSchedule:
    """Reports from a quarter before the first session to a quarter after the last."""
    index = {d: i for i, d in enumerate(sessions)}
    first, last = sessions[0], sessions[-1]
    quarter_ends: list[date] = []
    for year in range(first.year - 1, last.year + 1):
        for month, day in _QUARTER_ENDS:
            qe = date(year, month, day)
            if first - timedelta(days=120) <= qe <= last + timedelta(days=30):
                quarter_ends.append(qe)
    events: list[tuple[EarningsEvent, int, float]] = []
    for spec in specs:
        if not spec.has_earnings:
            continue
        rng = derived_rng(seed, spec.symbol, "earnings")
        offset = int(rng.integers(14, 38))
        timing = EarningsTiming.AFTER_CLOSE if rng.random() < 0.55 else EarningsTiming.BEFORE_OPEN
        # Jitter is drawn per calendar quarter (not per list position) so the same quarter
        # gets the same date whatever span is simulated.
        for qe in quarter_ends:
            jitter = derived_seed(seed, spec.symbol, "earnings", qe.isoformat()) % 7 - 3
            raw = qe + timedelta(days=offset + jitter)
            try:
                report_day = calendar.session_on_or_after(raw)
            except ValueError:
                continue
            if timing is EarningsTiming.AFTER_CLOSE:
                try:
                    reaction = calendar.next_session(report_day)
                except ValueError:
                    continue
            else:
                reaction = report_day
            events.append(
                (
                    EarningsEvent(spec.symbol, report_day, timing),
                    index.get(reaction, -1),
                    spec.earnings_move,
                )
            )
    events.sort(key=lambda e: (e[0].date, e[0].symbol))
    return EarningsSchedule(
        events=tuple(e[0] for e in events),
        reaction_index=tuple(e[1] for e in events),
        move_sd=tuple(e[2] for e in events),
    )
