"""The desk's read models built from engine state: per-position greeks, data health (plain
source and a real failover feed), the risk report view before the first risk snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.data.failover import FailoverFeed
from engine.data.memory import InMemoryMarketData
from engine.domain import Bar, BarInterval, Equity, OptionContract, OptionRight, Position
from engine.pricing import black_scholes, bs_price
from engine.runtime.clock import SimulatedClock
from engine.runtime.data_health import data_health
from engine.runtime.position_greeks import position_greeks
from engine.runtime.risk_views import BreakerState, RiskInputs, build_risk_report_view
from engine.runtime.views import DataState

OPEN = datetime(2025, 3, 3, 14, 31, tzinfo=UTC)  # Monday, one minute after the open
TODAY = OPEN.date()


def _option(strike: float, right: OptionRight, days: int = 30) -> OptionContract:
    return OptionContract("SPY", TODAY + timedelta(days=days), Decimal(str(strike)), right)


def _pos(inst: Equity | OptionContract, qty: int, mark: float) -> Position:
    return Position(inst, qty, Decimal("1.00"), mark=mark)


def test_position_greeks_when_option_marked_at_bs_price_then_vol_and_dollar_greeks_recovered():
    c = _option(600, OptionRight.CALL)
    T = 30 / 365
    mark = float(bs_price(590.0, 600.0, T, 0.04, 0.0, 0.25, True))
    out = position_greeks([_pos(c, 3, mark)], {"SPY": 590.0}, today=TODAY, rate=0.04)
    g = out[c.symbol]
    ref = black_scholes(590.0, 600.0, T, 0.04, 0.0, 0.25, True)
    assert g.model == "bs"
    assert g.iv == pytest.approx(0.25, abs=1e-6)
    assert g.unit_delta == pytest.approx(float(ref.delta), rel=1e-6)
    assert g.delta_dollars == pytest.approx(float(ref.delta) * 590.0 * 300, rel=1e-6)
    assert g.gamma_dollars == pytest.approx(float(ref.gamma) * 590.0**2 * 300 / 100, rel=1e-6)
    assert g.vega_dollars == pytest.approx(float(ref.vega) * 300 / 100, rel=1e-6)
    assert g.theta_dollars == pytest.approx(float(ref.theta) * 300 / 365, rel=1e-6)
    # The positions table reads `.delta` per unit and `.theta` in dollars a day.
    assert g.delta == g.unit_delta
    assert g.theta == g.theta_dollars


def test_position_greeks_when_short_put_then_signs_follow_the_short():
    p = _option(580, OptionRight.PUT)
    mark = float(bs_price(590.0, 580.0, 30 / 365, 0.0, 0.0, 0.3, False))
    g = position_greeks([_pos(p, -2, mark)], {"SPY": 590.0}, today=TODAY)[p.symbol]
    assert g.unit_delta < 0  # the put's own delta
    assert g.delta_dollars > 0  # short a put: long the market
    assert g.gamma_dollars < 0
    assert g.theta_dollars > 0


def test_position_greeks_when_mark_below_discounted_intrinsic_then_intrinsic_delta_no_gamma():
    # K e^-rT - S = 91.0: a stale mark of 88 is below what any European vol produces.
    p = _option(700, OptionRight.PUT, days=200)
    g = position_greeks([_pos(p, 1, 88.0)], {"SPY": 590.0}, today=TODAY, rate=0.05)[p.symbol]
    assert g.model == "intrinsic"
    assert g.iv is None
    assert g.unit_delta == -1.0
    assert g.delta_dollars == pytest.approx(-590.0 * 100)
    assert (g.gamma_dollars, g.vega_dollars, g.theta_dollars) == (0.0, 0.0, 0.0)


def test_position_greeks_when_shares_or_spot_missing_then_shares_valued_and_option_omitted():
    qqq = _option(500, OptionRight.CALL)
    qqq = OptionContract("QQQ", qqq.expiry, qqq.strike, qqq.right)
    out = position_greeks(
        [_pos(Equity("SPY"), 10, 591.0), _pos(qqq, 1, 5.0), _pos(Equity("AAPL"), 0, 200.0)],
        {"SPY": 590.0},
        today=TODAY,
    )
    assert list(out) == ["SPY"]
    assert out["SPY"].model == "shares"
    assert out["SPY"].delta_dollars == pytest.approx(5910.0)  # at the position's own mark


# --------------------------------------------------------------------------- data health


class Failing:
    """A real in-memory source that can be made to fail every call."""

    def __init__(self, inner: InMemoryMarketData) -> None:
        self.inner = inner
        self.down = False

    @property
    def name(self) -> str:
        return self.inner.name

    def symbols(self) -> Sequence[str]:
        return self.inner.symbols()

    async def intraday_bars(
        self, symbol: str, interval: BarInterval, start: datetime, end: datetime
    ) -> Sequence[Bar]:
        if self.down:
            raise ConnectionError("connection refused")
        return await self.inner.intraday_bars(symbol, interval, start, end)

    async def daily_bars(self, symbol: str, end: date, count: int) -> Sequence[Bar]:
        return await self.inner.daily_bars(symbol, end, count)


def _source(clock: SimulatedClock, name: str) -> Failing:
    src = InMemoryMarketData(clock, name=name)
    src.add_symbol("SPY")
    src.add_intraday_bars(
        Bar("SPY", OPEN + timedelta(minutes=i - 1), 580, 581, 579, 580.5, 1e5, BarInterval.MINUTE)
        for i in range(30)
    )
    return Failing(src)


async def test_data_health_when_failover_feed_degrades_then_healthy_failover_stale_failed():
    clock = SimulatedClock(OPEN)
    alpaca, yahoo = _source(clock, "alpaca"), _source(clock, "yfinance")
    feed = FailoverFeed(
        [alpaca, yahoo],  # type: ignore[list-item]
        clock=clock,
        timeout_s=1.0,
        max_errors=1,
        stale_after=timedelta(minutes=2),
        probe_every=timedelta(hours=1),
    )

    async def tick() -> None:
        await clock.advance_to(clock.now() + timedelta(minutes=1))
        await feed.refresh(clock.now(), ["SPY"])

    def health():  # type: ignore[no-untyped-def]
        return data_health(feed, now=clock.now(), last_data_at=None, session_open=True)

    await tick()
    h = health()
    assert (h.source, h.state, h.failover) == ("alpaca", DataState.HEALTHY, False)
    assert h.latency_ms is not None
    assert h.age_seconds == 0.0
    assert [s.name for s in h.sources] == ["alpaca", "yfinance"]

    alpaca.down = True
    await tick()
    h = health()
    assert (h.source, h.state, h.failover) == ("yfinance", DataState.HEALTHY, True)
    assert not h.sources[0].up
    assert h.sources[0].last_error != ""

    yahoo.down = True
    await tick()
    h = health()
    assert h.state is DataState.FAILED  # nobody answers
    assert not h.healthy
    # Failed is failed even with the session closed; the age keeps growing.
    await tick()
    closed = data_health(feed, now=clock.now(), last_data_at=None, session_open=False)
    assert closed.state is DataState.FAILED
    assert closed.age_seconds == pytest.approx(120.0)  # yfinance last answered at 14:33


async def test_data_health_when_one_source_stale_but_up_then_stale_only_while_session_open():
    clock = SimulatedClock(OPEN)
    feed = FailoverFeed([_source(clock, "alpaca")], clock=clock, stale_after=timedelta(minutes=2))  # type: ignore[list-item]
    await clock.advance_to(OPEN + timedelta(minutes=1))
    await feed.refresh(clock.now(), ["SPY"])
    await clock.advance_to(OPEN + timedelta(minutes=5))  # no refresh: nothing new arrived
    assert data_health(feed, now=clock.now(), last_data_at=None, session_open=True).state is (
        DataState.STALE
    )
    assert data_health(feed, now=clock.now(), last_data_at=None, session_open=False).state is (
        DataState.HEALTHY
    )


def test_data_health_when_plain_source_then_engine_last_data_decides():
    class Sim:
        name = "sim"

    now = OPEN
    fresh = data_health(Sim(), now=now, last_data_at=now - timedelta(minutes=1), session_open=True)
    assert (fresh.source, fresh.state, fresh.age_seconds) == ("sim", DataState.HEALTHY, 60.0)
    old = data_health(Sim(), now=now, last_data_at=now - timedelta(minutes=9), session_open=True)
    assert old.state is DataState.STALE
    assert "540s" in old.detail
    assert not old.healthy
    night = data_health(Sim(), now=now, last_data_at=now - timedelta(hours=9), session_open=False)
    assert night.state is DataState.HEALTHY


# --------------------------------------------------------------------------- risk report view


def test_risk_view_when_monitor_has_no_report_then_unavailable_with_reason_and_breakers():
    c = _option(600, OptionRight.CALL)
    mark = float(bs_price(590.0, 600.0, 30 / 365, 0.0, 0.0, 0.25, True))
    view = build_risk_report_view(
        RiskInputs(
            now=OPEN,
            report=None,
            report_error="DataUnavailable: no spot for SPY",
            positions=(_pos(Equity("SPY"), 10, 590.0), _pos(c, 2, mark)),
            spots={"SPY": 590.0},
            rate=0.0,
            tripped=(
                BreakerState("daily_loss", "day loss 6.4%", OPEN, timedelta(minutes=12)),
                BreakerState("risk_model", "risk monitor raised"),
            ),
        )
    )
    assert not view.available
    assert "no spot for SPY" in view.note
    assert view.var == ()
    assert view.backtest is None
    # Greeks still come from the positions: shares without expiry, then the call's expiry.
    assert [(g.underlying, g.expiry) for g in view.greeks] == [("SPY", None), ("SPY", c.expiry)]
    assert view.greeks_total is not None
    assert view.greeks_total.delta == pytest.approx(sum(g.delta for g in view.greeks))
    # Tripped breakers first, with reason and cool-down; engine-raised ones included.
    tripped = [b for b in view.breakers if b.tripped]
    assert [b.name for b in view.breakers[: len(tripped)]] == ["daily_loss", "risk_model"]
    daily = tripped[0]
    assert (daily.detail, daily.kind, daily.cooldown_left_s) == (
        "day loss 6.4%",
        "monitoring",
        720.0,
    )
    assert tripped[1].kind == "engine"
    assert {b.name for b in view.breakers if not b.tripped} >= {"drawdown_kill", "stale_data"}
