"""Pilot tests: the risk screen draws `client.risk_report()` (typed views, no getattr), and the
header shows the data source's health."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from desk_helpers import wait_until
from fake_client import T0, FakeEngineClient
from textual.widgets import Static

from engine.runtime.views import (
    BreakerStatus,
    DataHealth,
    DataSourceHealth,
    DataState,
    RiskReportView,
)
from widgets.header import DeskHeader, HeaderView, StatusLine
from widgets.keyed_table import KeyedTable
from wsb_tui.screens.dialogs import YesNoDialog
from wsb_tui.screens.risk import TOTAL_ROW, RiskScreen


async def _risk_screen(app: Any, pilot: Any) -> RiskScreen:
    await app.wait_ready()
    await pilot.pause()
    await pilot.press("r")
    await wait_until(lambda: isinstance(app.screen, RiskScreen))
    screen = app.screen
    assert isinstance(screen, RiskScreen)
    await wait_until(lambda: screen.report is not None or screen.report_error != "")
    await pilot.pause()
    return screen


def _plain(table: KeyedTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_risk_screen_when_report_served_then_every_table_shows_its_rows(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient(breakers=("daily_loss",))
    expected = await fake.risk_report()
    app = app_factory(fake)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _risk_screen(app, pilot)
        assert screen.report == expected
        var = screen.query_one("#risk-var", KeyedTable)
        assert var.row_keys == [f"{v.method}:{v.confidence}:{v.horizon_days}" for v in expected.var]
        assert "$3,210" in "".join(_plain(var, "historical:0.99:1"))
        stress = screen.query_one("#risk-stress", KeyedTable)
        assert len(stress.row_keys) == len(expected.stress)
        assert "FAIL" in _plain(stress, "2008 financial crisis")
        greeks = screen.query_one("#risk-greeks", KeyedTable)
        nvda = (T0 + timedelta(days=30)).date()
        assert f"NVDA:{nvda}" in greeks.row_keys
        assert "stock" in _plain(greeks, "SPY:None")
        assert greeks.row_keys[-1] == TOTAL_ROW
        backtest = str(screen.query_one("#risk-backtest", Static).render())
        assert "3 exceptions" in backtest
        assert "Kupiec LR 0.364" in backtest
        assert "GREEN" in backtest
        breakers = screen.query_one("#risk-breakers", KeyedTable)
        assert breakers.row_keys == ["daily_loss"]
        assert "TRIPPED" in _plain(breakers, "daily_loss")


async def test_risk_screen_when_report_unavailable_then_reason_shown_and_breakers_listed(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient(risk_report=False, breakers=("stale_data",))
    app = app_factory(fake)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _risk_screen(app, pilot)
        assert screen.report is not None
        assert not screen.report.available
        var_box = screen.query_one("#risk-var-box")
        assert var_box.border_subtitle is not None
        assert "no risk snapshot yet" in str(var_box.border_subtitle)
        assert screen.query_one("#risk-var", KeyedTable).row_count == 0
        assert "no risk snapshot yet" in str(screen.query_one("#risk-backtest", Static).render())
        assert screen.query_one("#risk-breakers", KeyedTable).row_keys == ["stale_data"]


async def test_reset_when_untripped_breaker_selected_then_nothing_sent(app_factory: Any) -> None:
    fake = FakeEngineClient(breakers=("daily_loss",))

    async def report() -> RiskReportView:
        base = await FakeEngineClient.risk_report(fake)
        return RiskReportView(
            ts=base.ts,
            var=base.var,
            stress=base.stress,
            greeks=base.greeks,
            backtest=base.backtest,
            breakers=(
                BreakerStatus("daily_loss", True, "day loss 6.2%", "monitoring"),
                BreakerStatus("error_rate", False, "errors per minute", "monitoring"),
            ),
            available=True,
        )

    fake.risk_report = report  # type: ignore[method-assign]
    app = app_factory(fake)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _risk_screen(app, pilot)
        table = screen.query_one("#risk-breakers", KeyedTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RiskScreen)  # no confirmation asked for an ok breaker
        table.move_cursor(row=0)
        await pilot.press("b")
        await wait_until(lambda: isinstance(app.screen, YesNoDialog))
        await pilot.press("y")
        await wait_until(lambda: fake.calls.reset_breaker != [])
        assert fake.calls.reset_breaker == ["daily_loss"]


async def test_risk_screen_when_report_raises_then_error_shown_not_traceback(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()

    async def broken() -> RiskReportView:
        raise ConnectionError("engine went away")

    fake.risk_report = broken  # type: ignore[method-assign]
    app = app_factory(fake)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _risk_screen(app, pilot)
        assert "engine went away" in screen.report_error
        assert "engine went away" in str(screen.query_one("#risk-var-box").border_subtitle)


async def test_header_when_app_data_stale_then_source_and_stale_shown(app_factory: Any) -> None:
    fake = FakeEngineClient()
    fake.data = DataHealth(
        "alpaca", False, T0 - timedelta(seconds=95), state=DataState.STALE, age_seconds=95.0
    )
    app = app_factory(fake)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_ready()
        await pilot.pause()
        line = app.screen.query_one(StatusLine).render().plain  # type: ignore[union-attr]
        assert "data: alpaca" in line
        assert "STALE" in line


async def test_header_when_data_health_given_then_state_latency_and_age_rendered() -> None:
    from textual.app import App, ComposeResult

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield DeskHeader("PAPER", id="header")

    def view(data: DataHealth) -> HeaderView:
        return HeaderView(mode="PAPER", ts=T0, session_state="open", equity=1e5, data=data)

    healthy = DataHealth("alpaca", True, T0, state=DataState.HEALTHY, latency_ms=42.4)
    failover = DataHealth(
        "yfinance",
        True,
        T0,
        state=DataState.HEALTHY,
        latency_ms=180.0,
        failover=True,
        sources=(DataSourceHealth("alpaca", False), DataSourceHealth("yfinance", True)),
    )
    failed = DataHealth(
        "alpaca", False, T0 - timedelta(minutes=7), state=DataState.FAILED, age_seconds=420.0
    )
    app = Host()
    async with app.run_test(size=(160, 4)) as pilot:
        header = app.query_one(DeskHeader)
        status = app.query_one(StatusLine)
        header.set_view(view(healthy))
        await pilot.pause()
        assert "data: alpaca ok 42ms" in status.render().plain  # type: ignore[union-attr]
        header.set_view(view(failover))
        await pilot.pause()
        assert "data: yfinance (failover) ok 180ms" in status.render().plain  # type: ignore[union-attr]
        header.set_view(view(failed))
        await pilot.pause()
        assert "data: alpaca FAILED 7m" in status.render().plain  # type: ignore[union-attr]
    # Narrow: healthy data is dropped before the clock and equity; failed data never is.
    app = Host()
    async with app.run_test(size=(60, 4)) as pilot:
        header = app.query_one(DeskHeader)
        status = app.query_one(StatusLine)
        header.set_view(view(healthy))
        await pilot.pause()
        assert "data:" not in status.render().plain  # type: ignore[union-attr]
        header.set_view(view(failed))
        await pilot.pause()
        assert "FAILED" in status.render().plain  # type: ignore[union-attr]
