"""The market-data health the header shows: active source, healthy / stale / failed, latency, age.

A `FailoverFeed` reports its own health (active source, per-source latency and errors,
staleness). Any other source (the simulator, a replay, a single real source) is judged by the
engine's own record of when data last arrived.

While the session is closed no data is expected: an old last update is then not "stale". A
failover feed whose every source is down is "failed" whatever the session, because the next
open will find no data either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.data.failover import FailoverFeed
from engine.runtime.views import DataHealth, DataSourceHealth, DataState

# The engine's own staleness rule for sources that do not report health themselves.
DEFAULT_STALE_AFTER = timedelta(minutes=5)


def data_health(
    market: object,
    *,
    now: datetime,
    last_data_at: datetime | None,
    session_open: bool,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> DataHealth:
    if isinstance(market, FailoverFeed):
        return _failover_health(market, now=now, session_open=session_open)
    age = None if last_data_at is None else max(0.0, (now - last_data_at).total_seconds())
    fresh = last_data_at is not None and now - last_data_at <= stale_after
    state = DataState.HEALTHY if fresh or not session_open else DataState.STALE
    detail = "" if state is DataState.HEALTHY else _stale_detail(age)
    return DataHealth(
        source=str(getattr(market, "name", "?")),
        healthy=state is DataState.HEALTHY,
        last_update=last_data_at,
        detail=detail,
        state=state,
        age_seconds=age,
    )


def _failover_health(feed: FailoverFeed, *, now: datetime, session_open: bool) -> DataHealth:
    status = feed.status()
    health = feed.health()
    sources = tuple(
        DataSourceHealth(
            name=h.name,
            up=h.up,
            latency_ms=h.latency_ms,
            consecutive_errors=h.consecutive_errors,
            total_errors=h.total_errors,
            last_ok_at=h.last_ok_at,
            last_error=h.last_error or "",
        )
        for h in health
    )
    active = next((s for s in sources if s.name == status.source), None)
    last = status.last_update
    age = None if last is None else max(0.0, (now - last).total_seconds())
    if not any(s.up for s in sources):
        state = DataState.FAILED
    elif feed.stale and session_open:
        state = DataState.STALE
    else:
        state = DataState.HEALTHY
    return DataHealth(
        source=status.source,
        healthy=state is DataState.HEALTHY,
        last_update=last,
        detail=status.detail,
        state=state,
        latency_ms=active.latency_ms if active is not None else None,
        age_seconds=age,
        failover=bool(health) and status.source != health[0].name,
        sources=sources,
    )


def _stale_detail(age: float | None) -> str:
    if age is None:
        return "no data yet: new trades blocked"
    return f"last data {age:.0f}s ago: new trades blocked"
