"""Circuit breakers as a state machine (spec §5 testable behaviours)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.risk.breakers import (
    BreakerBoard,
    BreakerConfig,
    RiskMetrics,
    vix_level,
    vix_size_multiplier,
)

T0 = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)


def _m(at: datetime = T0, equity: float = 100_000.0, **kw: Any) -> RiskMetrics:
    base: dict[str, Any] = {
        "now": at,
        "equity": equity,
        "start_of_day_equity": 100_000.0,
        "peak_equity": 100_000.0,
        "gross_exposure": 50_000.0,
        "data_age_seconds": 0.0,
    }
    base.update(kw)
    return RiskMetrics(**base)


def _quiet() -> BreakerConfig:
    """Spec thresholds, with the hair-trigger order breaker moved out of the way so a test
    can look at one breaker at a time."""
    return BreakerConfig(order_day_loss_pct=0.5, order_drawdown_pct=0.5)


def test_daily_loss_when_equity_93900_of_100k_then_trips_and_holds_30_minutes() -> None:
    board = BreakerBoard(_quiet())
    upd = board.evaluate(_m(equity=93_900.0))
    assert [t.name for t in upd.trips] == ["daily_loss"]
    assert "6.10%" in upd.trips[0].reason
    # Still tripped at 29 minutes even though the equity recovered...
    assert board.evaluate(_m(T0 + timedelta(minutes=29), equity=99_000.0)).clears == ()
    assert "daily_loss" in board.tripped
    # ...and allowed again once the 30-minute cool-down is over.
    assert board.evaluate(_m(T0 + timedelta(minutes=30), equity=99_000.0)).clears == ("daily_loss",)
    assert board.tripped == {}


def test_daily_loss_when_equity_94500_then_no_trip() -> None:
    assert BreakerBoard(_quiet()).evaluate(_m(equity=94_500.0)).trips == ()


def test_cooldown_when_condition_still_holds_then_stays_tripped_without_flicker() -> None:
    board = BreakerBoard(_quiet())
    board.evaluate(_m(equity=93_000.0))
    upd = board.evaluate(_m(T0 + timedelta(minutes=31), equity=93_000.0))
    assert upd.clears == ()
    assert upd.trips == ()
    assert board.tripped["daily_loss"].at == T0 + timedelta(minutes=31)


def test_error_rate_when_5_errors_in_a_minute_then_trips() -> None:
    board = BreakerBoard(_quiet())
    assert board.evaluate(_m(errors_last_minute=4)).trips == ()
    assert [t.name for t in board.evaluate(_m(errors_last_minute=5)).trips] == ["error_rate"]


def test_stale_data_when_31s_old_then_trips_and_30s_does_not() -> None:
    assert BreakerBoard(_quiet()).evaluate(_m(data_age_seconds=30.0)).trips == ()
    upd = BreakerBoard(_quiet()).evaluate(_m(data_age_seconds=31.0))
    assert [t.name for t in upd.trips] == ["stale_data"]


def test_stale_data_when_session_closed_then_no_trip() -> None:
    assert BreakerBoard(_quiet()).evaluate(_m(data_age_seconds=None)).trips == ()


def test_vix_when_36_then_quarter_size_and_46_then_trip_with_zero() -> None:
    assert vix_size_multiplier(36.0) == 0.25
    assert vix_size_multiplier(26.0) == 0.5
    assert vix_size_multiplier(20.0) == 1.0
    assert vix_size_multiplier(46.0) == 0.0
    assert vix_level(36.0) == "extreme"
    assert BreakerBoard(_quiet()).evaluate(_m(vix=36.0)).trips == ()
    upd = BreakerBoard(_quiet()).evaluate(_m(vix=46.0))
    assert [t.name for t in upd.trips] == ["vix_critical"]


def test_drawdown_when_peak_100k_to_65k_then_kill_latched_and_80k_still_blocked() -> None:
    board = BreakerBoard(_quiet())
    upd = board.evaluate(_m(equity=65_000.0, start_of_day_equity=65_000.0))
    names = {t.name for t in upd.trips}
    assert {"drawdown_block", "drawdown_kill"} <= names
    # Back to $80k, days later: still latched.
    later = board.evaluate(
        _m(T0 + timedelta(days=3), equity=80_000.0, start_of_day_equity=80_000.0)
    )
    assert later.clears == ()
    assert {"drawdown_block", "drawdown_kill"} <= set(board.tripped)


def test_drawdown_when_person_resets_then_quiet_until_it_clears_or_deepens() -> None:
    board = BreakerBoard(_quiet())
    board.evaluate(_m(equity=64_000.0, start_of_day_equity=64_000.0))
    assert board.reset("drawdown_kill")
    assert board.reset("drawdown_block")
    assert not board.reset("drawdown_kill")  # already clear
    # Same 36% drawdown next tick: a person's reset holds.
    assert (
        board.evaluate(
            _m(T0 + timedelta(minutes=1), equity=64_000.0, start_of_day_equity=64_000.0)
        ).trips
        == ()
    )
    # 5 points deeper: re-armed, trips again.
    deeper = board.evaluate(
        _m(T0 + timedelta(minutes=2), equity=58_000.0, start_of_day_equity=58_000.0)
    )
    assert "drawdown_kill" in {t.name for t in deeper.trips}


def test_reset_when_condition_clears_then_rearmed_and_trips_next_time() -> None:
    board = BreakerBoard(_quiet())
    board.evaluate(_m(errors_last_minute=6))
    board.reset("error_rate")
    assert board.evaluate(_m(T0 + timedelta(seconds=10), errors_last_minute=6)).trips == ()
    board.evaluate(_m(T0 + timedelta(minutes=2), errors_last_minute=0))  # clears: re-armed
    again = board.evaluate(_m(T0 + timedelta(minutes=3), errors_last_minute=5))
    assert [t.name for t in again.trips] == ["error_rate"]


def test_order_breaker_when_day_loss_half_percent_then_trips_and_auto_resets_after_300s() -> None:
    board = BreakerBoard()
    upd = board.evaluate(_m(equity=99_400.0))
    assert "order_day_loss" in {t.name for t in upd.trips}
    assert board.evaluate(_m(T0 + timedelta(seconds=299), equity=99_900.0)).clears == ()
    assert (
        "order_day_loss" in board.evaluate(_m(T0 + timedelta(seconds=300), equity=99_900.0)).clears
    )


def test_order_breaker_when_gross_over_equity_or_contracts_over_limit_then_trips() -> None:
    gross = BreakerBoard().evaluate(_m(gross_exposure=100_001.0))
    assert "order_position_limits" in {t.name for t in gross.trips}
    contracts = BreakerBoard().evaluate(_m(max_symbol_contracts=50_001))
    assert "order_position_limits" in {t.name for t in contracts.trips}
    assert BreakerBoard().evaluate(_m(gross_exposure=99_000.0, total_contracts=100_000)).trips == ()


def test_consecutive_losses_and_errors_when_at_threshold_then_trip() -> None:
    upd = BreakerBoard(_quiet()).evaluate(_m(consecutive_losses=5, consecutive_errors=5))
    assert {t.name for t in upd.trips} == {"consecutive_losses", "order_errors"}
    assert (
        BreakerBoard(_quiet()).evaluate(_m(consecutive_losses=4, consecutive_errors=4)).trips == ()
    )


def test_backtest_when_red_zone_then_latched() -> None:
    board = BreakerBoard(_quiet())
    assert [t.name for t in board.evaluate(_m(backtest_zone="red")).trips] == ["var_backtest_red"]
    assert board.evaluate(_m(T0 + timedelta(days=1), backtest_zone="green")).clears == ()


def test_board_when_saved_and_loaded_then_cooldowns_and_suppressions_survive() -> None:
    board = BreakerBoard(_quiet())
    board.evaluate(_m(equity=93_000.0, vix=50.0))
    board.reset("vix_critical")
    data = json.loads(json.dumps(board.to_json()))
    again = BreakerBoard(_quiet())
    again.load_json(data)
    assert set(again.tripped) == {"daily_loss"}
    assert again.tripped["daily_loss"].at == T0
    assert "vix_critical" in again.suppressed
    assert again.cooldown_left("daily_loss", T0 + timedelta(minutes=10)) == timedelta(minutes=20)


def test_adopt_when_engine_restored_unknown_trip_then_cooldown_starts_now() -> None:
    board = BreakerBoard(_quiet())
    board.adopt("stale_data", "restored", T0)
    assert board.evaluate(_m(T0 + timedelta(minutes=29))).clears == ()
    assert board.evaluate(_m(T0 + timedelta(minutes=30))).clears == ("stale_data",)


def test_config_when_vix_levels_out_of_order_then_error() -> None:
    with pytest.raises(ValueError, match="VIX levels"):
        BreakerConfig(vix_elevated=40.0, vix_extreme=35.0)
    with pytest.raises(ValueError, match="daily_loss_pct"):
        BreakerConfig(daily_loss_pct=-0.1)
