"""The live engine's analytics on the desk: rolling Sharpe, drawdown, per-strategy P&L.

Computed in the UI from what the engine already sends (portfolio snapshots and events for
the account's equity; each strategy's end-of-day P&L history and P&L now), with the
backtester's definitions (`engine.analytics.rolling_sharpe`, `simple_returns`), so the desk
and a backtest report agree on what "Sharpe" means.

* Account Sharpe, "20d": over the last 20 daily returns of closing equity (the last equity
  the desk saw in each New York session date; today's latest value is today's provisional
  close), annualised with sqrt(252). It needs 21 daily closes the desk has seen itself: the
  engine's snapshot carries no account equity history.
* Until then, "5m": the same on 5-minute buckets of equity (last value per bucket), over the
  last 78 buckets (one 6.5 h session), annualised with sqrt(252 x 78). Overnight gaps count
  as one bucket's return. Noisier, but there from the first trading hour.
* Drawdown: equity / peak - 1, the peak being the higher of the engine's `peak_equity` and
  the highest equity the desk has seen.
* Per strategy: P&L now, today's P&L (now minus the last end-of-day P&L), dollars below its
  highest P&L, and a 20-day rolling Sharpe of its daily P&L over the account's equity now.

History is bounded (deques), so memory stays flat however long the desk runs. The figures
are computed in a worker thread at most once a second: importing NumPy and the analytics
(~0.15 s) never lands on the first paint or a frame.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from textual.signal import Signal

from engine.runtime.views import StrategyStatus
from widgets.analytics import LiveFigures, StrategyFigures

NEW_YORK = ZoneInfo("America/New_York")
SHARPE_DAYS = 20
BUCKET_MINUTES = 5
INTRADAY_WINDOW = 78  # 5-minute buckets in a 6.5 h session
PERIODS_PER_YEAR = 252
MAX_DAYS = 260
MAX_BUCKETS = 5 * INTRADAY_WINDOW
MIN_COMPUTE_SECONDS = 1.0


def _last_sharpe(returns: Sequence[float], window: int, periods: int) -> float:
    from engine.analytics import rolling_sharpe

    if len(returns) < window:
        return math.nan
    return float(rolling_sharpe(list(returns[-window:]), window, periods)[-1])


def _returns(values: Sequence[float]) -> list[float]:
    from engine.analytics import simple_returns

    clean = [v for v in values if math.isfinite(v) and v > 0]
    return [float(x) for x in simple_returns(clean)] if len(clean) >= 2 else []


def strategy_figures(status: StrategyStatus, base_equity: float | None) -> StrategyFigures:
    hist = [float(x) for x in status.pnl_history]
    pnl = status.realized_pnl + status.unrealized_pnl
    sharpe = math.nan
    if base_equity and base_equity > 0 and len(hist) >= SHARPE_DAYS + 1:
        daily = [(b - a) / base_equity for a, b in itertools.pairwise(hist)]
        sharpe = _last_sharpe(daily, SHARPE_DAYS, PERIODS_PER_YEAR)
    peak = max([0.0, *hist, pnl])
    return StrategyFigures(
        name=status.name,
        title=status.title or status.name,
        pnl=pnl,
        day_pnl=(pnl - hist[-1]) if hist else None,
        sharpe=sharpe,
        drawdown=max(0.0, peak - pnl),
        days=len(hist),
    )


def compute_figures(
    daily: Sequence[float],
    buckets: Sequence[float],
    equity: float | None,
    peak: float | None,
    strategies: Sequence[StrategyStatus],
) -> LiveFigures:
    """The figures from copies of the history (safe to call from a worker thread)."""
    day_returns = _returns(daily)
    if len(day_returns) >= SHARPE_DAYS:
        basis, points, needed = f"{SHARPE_DAYS}d", len(daily), SHARPE_DAYS + 1
        sharpe = _last_sharpe(day_returns, SHARPE_DAYS, PERIODS_PER_YEAR)
    else:
        bucket_returns = _returns(buckets)
        if len(bucket_returns) >= INTRADAY_WINDOW:
            basis, points, needed = f"{BUCKET_MINUTES}m", len(buckets), INTRADAY_WINDOW + 1
            sharpe = _last_sharpe(
                bucket_returns, INTRADAY_WINDOW, PERIODS_PER_YEAR * INTRADAY_WINDOW
            )
        else:
            basis, points, needed = f"{SHARPE_DAYS}d", len(daily), SHARPE_DAYS + 1
            sharpe = math.nan
    dd = 0.0
    if equity is not None and peak is not None and peak > 0:
        dd = min(0.0, equity / peak - 1.0)
    return LiveFigures(
        equity=equity,
        peak=peak,
        drawdown=dd,
        sharpe=sharpe,
        basis=basis,
        points=points,
        needed=needed,
        strategies=tuple(strategy_figures(s, equity) for s in strategies),
    )


class LiveAnalytics:
    """Bounded equity history, fed from portfolio samples; `figures()` computes."""

    def __init__(self) -> None:
        self.daily: deque[tuple[date, float]] = deque(maxlen=MAX_DAYS)
        self.buckets: deque[tuple[datetime, float]] = deque(maxlen=MAX_BUCKETS)
        self.peak: float | None = None
        self.equity: float | None = None
        self.last_ts: datetime | None = None

    def observe(self, ts: datetime, equity: float, engine_peak: float | None = None) -> None:
        """One equity sample. Older samples than the newest seen are ignored (snapshots and
        events can arrive out of order)."""
        if not math.isfinite(equity) or equity <= 0:
            return
        if self.last_ts is not None and ts < self.last_ts:
            return
        self.last_ts = ts
        self.equity = equity
        peaks = [p for p in (self.peak, engine_peak, equity) if p is not None]
        self.peak = max(peaks)
        day = ts.astimezone(NEW_YORK).date()
        if self.daily and self.daily[-1][0] == day:
            self.daily[-1] = (day, equity)
        else:
            self.daily.append((day, equity))
        slot = ts.replace(minute=ts.minute - ts.minute % BUCKET_MINUTES, second=0, microsecond=0)
        if self.buckets and self.buckets[-1][0] == slot:
            self.buckets[-1] = (slot, equity)
        else:
            self.buckets.append((slot, equity))

    def observe_desk(self, desk: Any) -> None:
        pf = desk.portfolio
        if pf is None:
            return
        peak = float(pf.peak_equity) if pf.peak_equity is not None else None
        self.observe(pf.ts, pf.equity, peak)

    def inputs(self, strategies: Sequence[StrategyStatus]) -> tuple[Any, ...]:
        """Copies of everything `compute_figures` needs (taken on the UI thread)."""
        return (
            [v for _, v in self.daily],
            [v for _, v in self.buckets],
            self.equity,
            self.peak,
            tuple(strategies),
        )

    def figures(self, strategies: Sequence[StrategyStatus] = ()) -> LiveFigures:
        return compute_figures(*self.inputs(strategies))


class DeskAnalytics:
    """One per app: follows the desk, recomputes off the UI thread at most once a second,
    and publishes `LiveFigures` on `updated` for the panels to draw."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.tracker = LiveAnalytics()
        self.latest: LiveFigures | None = None
        self.updated: Signal[LiveFigures] = Signal(app, "live-analytics")
        self._last_compute = -1e9
        self._busy = False
        self._dirty = False
        self._timer_pending = False
        self.tracker.observe_desk(app.desk)
        app.desk_changed.subscribe(app, self._on_desk)

    def _on_desk(self, change: Any) -> None:
        if change.topics & {"portfolio", "header", "strategies"}:
            self.tracker.observe_desk(self.app.desk)
            self.request()

    def request(self) -> None:
        self._dirty = True
        self._pump()

    def _pump(self) -> None:
        if self._busy or self._timer_pending or not self._dirty:
            return
        if self.tracker.equity is None:
            return  # nothing to show yet; keeps NumPy's import off the first paint
        wait = self._last_compute + MIN_COMPUTE_SECONDS - time.monotonic()
        if wait > 0:
            self._timer_pending = True
            self.app.set_timer(wait, self._fire)
            return
        self._dirty = False
        self._start()

    def _fire(self) -> None:
        self._timer_pending = False
        self._pump()

    def _start(self) -> None:
        self._busy = True
        self._last_compute = time.monotonic()
        inputs = self.tracker.inputs(list(self.app.desk.strategies.values()))
        app = self.app

        def work() -> None:
            figures: LiveFigures | None
            try:
                figures = compute_figures(*inputs)
            except Exception as exc:  # a bad sample must not take the desk down
                app.log.error(f"live analytics failed: {exc!r}")
                figures = None
            with contextlib.suppress(RuntimeError):  # the app is closing
                app.call_from_thread(self.done, figures)

        app.run_worker(
            work, thread=True, group="live-analytics", name="live analytics", exit_on_error=False
        )

    def done(self, figures: LiveFigures | None) -> None:
        self._busy = False
        if figures is not None:
            self.latest = figures
            self.updated.publish(figures)
        self._pump()


def desk_analytics(app: Any) -> DeskAnalytics:
    """The app's `DeskAnalytics`, created on first use."""
    found: DeskAnalytics | None = getattr(app, "_wsb_desk_analytics", None)
    if found is None:
        found = DeskAnalytics(app)
        app._wsb_desk_analytics = found
    return found


def attach_panel(host: Any, panel: Any, on_figures: Callable[[Any], None] | None = None) -> None:
    """Draw the desk's live figures on `panel` (a `LiveAnalyticsPanel` mounted in `host`)."""
    analytics = desk_analytics(host.app)
    show = on_figures or panel.show
    analytics.updated.subscribe(panel, show)
    if analytics.latest is not None:
        show(analytics.latest)
    analytics.request()
