"""Bar aggregation: minute bars into 5m/15m/1h bars anchored at the session open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.domain import Bar, BarInterval


def bucket_start(ts: datetime, anchor: datetime, interval: BarInterval) -> datetime:
    """Start of the `interval` bucket holding `ts`, counting whole buckets from `anchor`."""
    width = interval.duration
    n = (ts - anchor) // width
    return anchor + n * width


def aggregate_bars(
    minute_bars: Sequence[Bar],
    interval: BarInterval,
    anchor: datetime,
    *,
    complete_before: datetime | None = None,
    session_end: datetime | None = None,
) -> list[Bar]:
    """Aggregate time-ordered 1-minute bars of one symbol into `interval` bars.

    Buckets are aligned on `anchor` (the session open), so hourly bars are 09:30-10:30 and the
    last one of a regular session covers 15:30-16:00. A bucket is emitted only when it is
    complete at `complete_before`: its full width has elapsed, or `session_end` has.
    """
    if interval is BarInterval.MINUTE:
        return [b for b in minute_bars if complete_before is None or b.end <= complete_before]
    if interval is BarInterval.DAY:
        raise ValueError("aggregate_bars builds intraday bars; daily bars come from daily_bars")
    out: list[Bar] = []
    group: list[Bar] = []
    current: datetime | None = None

    def flush() -> None:
        if not group or current is None:
            return
        end = current + interval.duration
        if session_end is not None and session_end < end:
            end = session_end
        if complete_before is not None and end > complete_before:
            return
        out.append(
            Bar(
                symbol=group[0].symbol,
                start=current,
                open=group[0].open,
                high=max(b.high for b in group),
                low=min(b.low for b in group),
                close=group[-1].close,
                volume=sum(b.volume for b in group),
                interval=interval,
            )
        )

    for bar in minute_bars:
        start = bucket_start(bar.start, anchor, interval)
        if start != current:
            flush()
            group = []
            current = start
        group.append(bar)
    flush()
    return out
