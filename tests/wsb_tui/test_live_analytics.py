"""Live analytics on the desk: the figures agree with `engine.analytics` on known series,
history stays bounded, and the dashboard and strategy screen show them."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from desk_helpers import make_app, wait_until

from engine.analytics import rolling_sharpe, simple_returns
from engine.runtime.views import StrategyRunState, StrategyStatus
from widgets.analytics import LiveAnalyticsPanel
from widgets.format import pct
from wsb_tui.live_analytics import (
    INTRADAY_WINDOW,
    MAX_BUCKETS,
    MAX_DAYS,
    SHARPE_DAYS,
    LiveAnalytics,
    strategy_figures,
)
from wsb_tui.screens.strategy import StrategyScreen

DAY0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)  # 09:30 New York, a Monday


def known_curve(n: int, seed: int = 3) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(x) for x in 100_000.0 * np.cumprod(1.0 + rng.normal(0.0004, 0.01, n))]


def status(name: str, history: list[float], now_pnl: float) -> StrategyStatus:
    return StrategyStatus(
        name=name,
        title=name.title(),
        state=StrategyRunState.RUNNING,
        profile="research_2024",
        open_positions=0,
        proposals_today=0,
        realized_pnl=now_pnl,
        unrealized_pnl=0.0,
        pnl_history=tuple(history),
    )


def test_sharpe_when_30_daily_closes_then_engine_rolling_sharpe_of_last_20() -> None:
    closes = known_curve(30)
    tracker = LiveAnalytics()
    for i, close in enumerate(closes):
        day = DAY0 + timedelta(days=i)
        # Intraday samples first: only each day's last one is its close.
        tracker.observe(day, close * 1.01)
        tracker.observe(day + timedelta(hours=6, minutes=29), close)
    f = tracker.figures()
    expected = rolling_sharpe(simple_returns(closes), SHARPE_DAYS)[-1]
    assert f.basis == "20d"
    assert f.sharpe == pytest.approx(float(expected), rel=1e-12)
    peak = max(c * 1.01 for c in closes)  # every sample counts for the peak
    assert f.peak == pytest.approx(peak)
    assert f.drawdown == pytest.approx(min(0.0, closes[-1] / peak - 1.0))


def test_sharpe_when_few_days_then_5m_buckets_annualised_per_bucket() -> None:
    values = known_curve(INTRADAY_WINDOW + 10, seed=5)
    tracker = LiveAnalytics()
    for i, v in enumerate(values):
        ts = DAY0 + timedelta(minutes=5 * i)
        tracker.observe(ts + timedelta(seconds=10), v * 0.99)  # replaced by the bucket's last
        tracker.observe(ts + timedelta(minutes=4), v)
    f = tracker.figures()
    assert f.basis == "5m"
    expected = rolling_sharpe(simple_returns(values), INTRADAY_WINDOW, 252 * INTRADAY_WINDOW)[-1]
    assert f.sharpe == pytest.approx(float(expected), rel=1e-12)


def test_sharpe_when_history_short_then_nan_with_progress_count() -> None:
    tracker = LiveAnalytics()
    for i in range(5):
        tracker.observe(DAY0 + timedelta(days=i), 100_000.0 + i)
    f = tracker.figures()
    assert math.isnan(f.sharpe)
    assert (f.points, f.needed) == (5, SHARPE_DAYS + 1)


def test_drawdown_when_engine_peak_higher_then_measured_from_it_and_stale_samples_ignored() -> None:
    tracker = LiveAnalytics()
    tracker.observe(DAY0, 98_000.0, engine_peak=105_000.0)
    tracker.observe(DAY0 - timedelta(hours=1), 200_000.0)  # older than the newest: ignored
    f = tracker.figures()
    assert f.peak == 105_000.0
    assert f.drawdown == pytest.approx(98_000.0 / 105_000.0 - 1.0)


def test_history_when_years_of_samples_then_bounded() -> None:
    tracker = LiveAnalytics()
    for i in range(3 * MAX_DAYS):
        for k in range(3):
            tracker.observe(DAY0 + timedelta(days=i, minutes=5 * k), 100_000.0 + i)
    assert len(tracker.daily) == MAX_DAYS
    assert len(tracker.buckets) == MAX_BUCKETS


def test_strategy_figures_when_history_then_sharpe_drawdown_and_day_pnl() -> None:
    rng = np.random.default_rng(11)
    hist = list(np.round(np.cumsum(rng.normal(20.0, 150.0, 30)), 2))
    s = status("wheel", hist, now_pnl=hist[-1] - 75.0)
    f = strategy_figures(s, base_equity=120_000.0)
    daily = np.diff(np.asarray(hist)) / 120_000.0
    assert f.sharpe == pytest.approx(float(rolling_sharpe(daily, SHARPE_DAYS)[-1]), rel=1e-12)
    assert f.day_pnl == pytest.approx(-75.0)
    assert f.drawdown == pytest.approx(max(0.0, *hist) - (hist[-1] - 75.0))
    short = strategy_figures(status("x", hist[:10], 5.0), 120_000.0)
    assert math.isnan(short.sharpe)
    assert short.days == 10


async def test_dashboard_when_engine_snapshot_arrives_then_panel_shows_drawdown_from_peak(
    isolated_config: Path,
) -> None:
    app = make_app(isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_ready()
        panel = app.screen.query_one("#analytics", LiveAnalyticsPanel)
        await wait_until(lambda: panel.figures is not None, 20)
        pf = app.desk.portfolio
        assert pf is not None
        assert pf.peak_equity is not None
        expected = pf.equity / float(pf.peak_equity) - 1.0
        assert panel.figures.drawdown == pytest.approx(expected)
        await pilot.pause()
        shown = str(panel.render())
        assert f"DD {pct(expected)}" in shown
        # Per-strategy P&L: the best and worst strategy by P&L now.
        pnl = {s.title: s.realized_pnl + s.unrealized_pnl for s in app.desk.strategies.values()}
        assert f"best {max(pnl, key=pnl.__getitem__)}" in shown
        assert f"worst {min(pnl, key=pnl.__getitem__)}" in shown


async def test_strategy_screen_when_opened_then_section_shows_that_strategys_figures(
    isolated_config: Path,
) -> None:
    app = make_app(isolated_config)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_ready()
        await pilot.pause()
        await pilot.press("s")
        await wait_until(lambda: isinstance(app.screen, StrategyScreen))
        screen = app.screen
        panel = screen.query_one("#strategy-analytics", LiveAnalyticsPanel)
        await wait_until(lambda: panel.figures is not None, 20)
        await pilot.pause()
        name = screen.strategy
        st = app.desk.strategies[name]
        pf = app.desk.portfolio
        assert pf is not None
        expected = strategy_figures(st, pf.equity)
        assert len(st.pnl_history) >= SHARPE_DAYS + 1
        assert panel.figures.strategy(name) == expected
        assert f"Sharpe 20d {expected.sharpe:+.2f}" in str(panel.render())
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert panel.strategy == screen.strategy != name
