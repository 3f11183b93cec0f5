"""Analytics against small cases computed by hand (plain Python, no NumPy)."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from engine.analytics import (
    alpha_beta,
    attribute_pnl,
    cagr,
    calmar,
    drawdown_stats,
    exposure_stats,
    monthly_returns,
    rolling_drawdown,
    rolling_sharpe,
    round_trips,
    sharpe,
    simple_returns,
    sortino,
    summarize,
    trade_stats,
    turnover,
)
from engine.domain import Equity, Fill, Position, Side, empty_position


def test_sharpe_when_three_returns_then_matches_hand_formula():
    r = [0.01, -0.02, 0.03]
    mean = sum(r) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    assert sharpe(r) == pytest.approx(mean / sd * math.sqrt(252), rel=1e-12)
    assert sharpe(r, periods=12) == pytest.approx(mean / sd * math.sqrt(12), rel=1e-12)


def test_sharpe_when_returns_flat_then_nan_not_infinite():
    assert math.isnan(sharpe([0.01, 0.01, 0.01]))


def test_sortino_when_mixed_returns_then_downside_over_all_periods():
    r = [0.02, -0.01, 0.03, -0.02]
    downside = math.sqrt((0.01**2 + 0.02**2) / 4)
    assert sortino(r) == pytest.approx((sum(r) / 4) / downside * math.sqrt(252), rel=1e-12)


def test_drawdown_when_peak_trough_recovery_then_depth_duration_recovery():
    eq = [100, 120, 90, 100, 130, 110]
    dd = drawdown_stats(eq)
    assert dd.max_drawdown == pytest.approx(0.25)  # 120 -> 90
    assert (dd.peak_index, dd.trough_index) == (1, 2)
    assert dd.recovery_periods == 2  # 90 at t=2, back above 120 at t=4
    assert dd.max_duration == 2  # t=2,3 under water (t=5 is one period)


def test_drawdown_when_never_recovers_then_recovery_none_and_duration_to_end():
    dd = drawdown_stats([100, 110, 105, 100, 95])
    assert dd.recovery_periods is None
    assert dd.max_duration == 3
    assert dd.max_drawdown == pytest.approx(15 / 110)


def test_cagr_and_calmar_when_one_year_of_two_periods():
    eq = [100.0, 110.0, 121.0]
    assert cagr(eq, periods=2) == pytest.approx(0.21)
    assert calmar(0.21, 0.1) == pytest.approx(2.1)
    assert math.isnan(calmar(0.21, 0.0))


def test_alpha_beta_when_returns_are_linear_in_benchmark_then_exact():
    b = np.array([0.01, -0.02, 0.015, 0.0, -0.005, 0.03])
    r = 2.0 * b + 0.001
    alpha, beta = alpha_beta(r, b)
    assert beta == pytest.approx(2.0, rel=1e-12)
    assert alpha == pytest.approx(0.001 * 252, rel=1e-9)


def test_alpha_beta_when_benchmark_has_gap_then_gap_dropped():
    b = np.array([0.01, np.nan, 0.015, -0.01])
    r = np.array([0.02, 0.5, 0.03, -0.02])
    _, beta = alpha_beta(r, b)
    assert beta == pytest.approx(2.0)


def _fill(n: int, side: Side, qty: int, price: str, comm: str = "1", strat: str = "s") -> Fill:
    return Fill(
        fill_id=f"f{n}",
        client_order_id=f"o{n}",
        broker_order_id=f"b{n}",
        instrument=Equity("XYZ"),
        side=side,
        quantity=qty,
        price=Decimal(price),
        commission=Decimal(comm),
        ts=datetime(2024, 1, 2 + n, 20, 0, tzinfo=UTC),
        strategy=strat,
    )


FILLS = [
    _fill(0, Side.BUY, 10, "100"),
    _fill(1, Side.BUY, 10, "110"),
    _fill(2, Side.SELL, 15, "120"),
    _fill(3, Side.SELL, 10, "90"),  # closes 5 long, opens 5 short
    _fill(4, Side.BUY, 5, "80"),
]


def test_round_trips_when_fill_goes_through_zero_then_two_cycles_by_hand():
    trips = round_trips(FILLS)
    assert [t.direction for t in trips] == [1, -1]
    long_, short = trips
    # avg 105; +15*15 - 15*5 = 150; commissions 1 + 1 + 1 + half of 1
    assert long_.pnl == pytest.approx(146.5)
    assert long_.quantity == 20
    assert long_.entry_price == pytest.approx(105.0)
    assert long_.exit_price == pytest.approx((120 * 15 + 90 * 5) / 20)
    # short 5 at 90, covered at 80: +50, commissions 0.5 + 1
    assert short.pnl == pytest.approx(48.5)
    assert short.entry_ts == FILLS[3].ts
    assert short.exit_ts == FILLS[4].ts


def test_round_trips_when_summed_then_equal_the_ledgers_average_cost_realised_pnl():
    pos: Position = empty_position(Equity("XYZ"))
    for f in FILLS:
        pos = pos.apply(f)
    assert pos.quantity == 0
    assert sum(t.pnl for t in round_trips(FILLS)) == pytest.approx(float(pos.realized_pnl))


def test_round_trips_when_position_still_open_then_reported_open_only_if_asked():
    fills = FILLS[:2]
    assert round_trips(fills) == []
    (open_,) = round_trips(fills, include_open=True)
    assert not open_.closed
    assert open_.quantity == 20


def test_trade_stats_when_two_wins_one_loss_then_hand_figures():
    trips = round_trips(
        [*FILLS, _fill(5, Side.BUY, 1, "50", "0"), _fill(6, Side.SELL, 1, "20", "0")]
    )
    st = trade_stats(trips)
    assert st.trades == 3
    assert st.win_rate == pytest.approx(2 / 3)
    assert st.profit_factor == pytest.approx((146.5 + 48.5) / 30)
    assert st.avg_win == pytest.approx(97.5)
    assert st.avg_loss == pytest.approx(-30.0)
    assert st.largest_loss == pytest.approx(-30.0)


def test_exposure_and_turnover_when_half_invested_then_hand_figures():
    in_market, avg = exposure_stats([0.0, 50.0, 50.0, 0.0], [100.0, 100.0, 100.0, 100.0])
    assert in_market == 0.5
    assert avg == pytest.approx(0.25)
    # 3 periods of a 3-period year; traded 300 on mean equity 100 -> 3x a year
    assert turnover(300.0, [100.0, 100.0, 100.0, 100.0], periods=3) == pytest.approx(3.0)


def test_monthly_returns_when_two_months_then_each_from_previous_month_end():
    days = [date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29)]
    out = monthly_returns(days, [100.0, 101.0, 110.0, 99.0, 121.0])
    assert out[(2024, 1)] == pytest.approx(0.10)
    assert out[(2024, 2)] == pytest.approx(0.10)


def test_rolling_sharpe_when_window_full_then_equals_sharpe_of_that_window():
    rng = np.random.default_rng(3)
    r = rng.normal(0.0005, 0.01, 100)
    roll = rolling_sharpe(r, window=20)
    assert np.isnan(roll[:19]).all()
    assert roll[57] == pytest.approx(sharpe(r[38:58]))


def test_rolling_drawdown_when_window_three_then_against_trailing_max():
    out = rolling_drawdown([100.0, 120.0, 90.0, 95.0, 96.0], window=3)
    assert out[2] == pytest.approx(90 / 120 - 1)
    assert out[4] == pytest.approx(96 / 96 - 1)
    assert out[3] == pytest.approx(95 / 120 - 1)


def test_attribution_when_two_strategies_then_shares_and_drawdown_by_hand():
    res = attribute_pnl({"a": [10.0, -5.0, 30.0], "b": [0.0, 5.0, 10.0]}, 1000.0)
    assert [x.strategy for x in res] == ["a", "b"]
    assert res[0].share == pytest.approx(0.75)
    assert res[1].contribution == pytest.approx(0.01)
    assert res[0].max_drawdown_dollars == pytest.approx(15.0)


def test_summarize_when_curve_known_then_figures_agree_with_parts():
    eq = [100.0, 102.0, 99.0, 104.0, 103.0]
    bench = [50.0, 50.5, 49.0, 51.0, 51.5]
    s = summarize(eq, benchmark=bench, gross_exposure=[0, 10, 10, 0, 10], traded_notional=40.0)
    r = simple_returns(eq)
    assert s.total_return == pytest.approx(0.03)
    assert s.volatility == pytest.approx(statistics.stdev(r.tolist()) * math.sqrt(252))
    assert s.max_drawdown == pytest.approx(3 / 102)
    assert s.benchmark_return == pytest.approx(0.03)
    assert s.time_in_market == pytest.approx(0.6)
    assert s.to_dict()["win_rate"] is None  # no trades: NaN becomes null in JSON


def test_bad_curve_when_nan_or_nonpositive_then_error_names_index_and_value():
    with pytest.raises(ValueError, match=r"equity\[2\]=nan"):
        simple_returns([100.0, 101.0, float("nan")])
    with pytest.raises(ValueError, match=r"equity\[0\]=0.0"):
        cagr([0.0, 1.0])
