"""Every pre-trade check: one test that trips it and one that passes it (spec §4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from engine.domain import (
    CheckOutcome,
    Equity,
    ExitReason,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    Portfolio,
    Position,
    PositionEffect,
    ProposalIntent,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.risk.marginal import MarginalVaR, ScenarioHistory
from engine.risk.pretrade import PreTradeInputs, PreTradeRisk, RateThrottle, RiskLimits

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)  # a Tuesday, inside the session
EXPIRY = date(2026, 2, 20)


def _pos(
    inst: Any, qty: int, avg: float, mark: float | None = None, opened: datetime | None = None
) -> Position:
    return Position(inst, qty, Decimal(str(avg)), mark=mark if mark is not None else avg, opened_at=opened)  # fmt: skip


def _port(cash: float = 100_000.0, positions: tuple[Position, ...] = ()) -> Portfolio:
    return Portfolio(
        ts=NOW,
        cash=Decimal(str(cash)),
        positions=MappingProxyType({p.symbol: p for p in positions}),
    )


def _prop(
    legs: tuple[OrderLeg, ...],
    qty: int,
    *,
    intent: ProposalIntent = ProposalIntent.OPEN,
    max_loss: float | None = None,
    strategy: str = "wsb_dip_bot",
    exit_reason: ExitReason | None = None,
) -> TradeProposal:
    return TradeProposal(
        proposal_id=f"p-{id(legs)}-{qty}",
        strategy=strategy,
        created_at=NOW,
        intent=intent,
        legs=legs,
        quantity=qty,
        reason="test",
        order_type=OrderType.MARKET,
        max_loss=None if max_loss is None else Decimal(str(max_loss)),
        exit_reason=exit_reason,
    )


def _buy(sym: str, qty: int, **kw: Any) -> TradeProposal:
    return _prop((OrderLeg(Equity(sym), Side.BUY),), qty, **kw)


def _sell_close(inst: Any, qty: int, **kw: Any) -> TradeProposal:
    leg = OrderLeg(inst, Side.SELL, 1, PositionEffect.CLOSE)
    return _prop((leg,), qty, intent=ProposalIntent.CLOSE, **kw)


def _call(und: str, strike: float, expiry: date = EXPIRY) -> OptionContract:
    return OptionContract(und, expiry, Decimal(str(strike)), OptionRight.CALL)


def _put(und: str, strike: float, expiry: date = EXPIRY) -> OptionContract:
    return OptionContract(und, expiry, Decimal(str(strike)), OptionRight.PUT)


def _inp(
    portfolio: Portfolio | None = None,
    prices: Mapping[str, float] | None = None,
    **kw: Any,
) -> PreTradeInputs:
    base: dict[str, Any] = {
        "now": NOW,
        "portfolio": portfolio or _port(),
        "trading_state": "ACTIVE",
        "market_open": True,
        "leg_prices": prices or {},
        "underlying_prices": {},
        "last_data_at": NOW,
        "profile_max_position_pct": 0.05,
        "profile_max_total_risk_pct": 0.10,
        "strategy_allocation_cap": 0.25,
    }
    base.update(kw)
    return PreTradeInputs(**base)


def _check(decision: RiskDecision, name: str) -> RiskCheckResult:
    hits = [c for c in decision.checks if c.name == name]
    assert hits, f"check {name} did not run: {[c.name for c in decision.checks]}"
    return hits[0]


def _run(p: TradeProposal, inp: PreTradeInputs, risk: PreTradeRisk | None = None) -> RiskDecision:
    return (risk or PreTradeRisk()).check(p, inp)


SPY_100 = {"SPY": 500.0, "AAPL": 200.0}


# -- trading state --------------------------------------------------------------------------


def test_trading_state_when_halted_then_even_closing_is_denied() -> None:
    held = _pos(Equity("AAPL"), 10, 200.0)
    d = _run(
        _sell_close(Equity("AAPL"), 10),
        _inp(_port(positions=(held,)), SPY_100, trading_state="HALTED"),
    )
    assert not d.approved
    assert "HALTED" in _check(d, "trading_state").message


def test_trading_state_when_reducing_then_open_denied_and_close_passes() -> None:
    held = _pos(Equity("AAPL"), 10, 200.0)
    inp = _inp(_port(positions=(held,)), SPY_100, trading_state="REDUCING")
    assert not _check(_run(_buy("AAPL", 1), inp), "trading_state").passed
    close = _run(_sell_close(Equity("AAPL"), 10), inp)
    assert close.approved, close.reason


# -- pricing, data, hours -------------------------------------------------------------------


def test_pricing_when_leg_has_no_price_then_fail_closed_and_checks_stop() -> None:
    d = _run(_buy("AAPL", 1), _inp(prices={}))
    res = _check(d, "pricing")
    assert not res.passed
    assert "fail closed" in res.message
    assert d.checks[-1].name == "pricing"  # nothing after it ran on a missing price


@pytest.mark.parametrize("bad", [float("nan"), 0.0, -1.0])
def test_pricing_when_price_is_bad_then_denied(bad: float) -> None:
    assert not _check(_run(_buy("AAPL", 1), _inp(prices={"AAPL": bad})), "pricing").passed


def test_pricing_when_every_leg_priced_then_passes() -> None:
    assert _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100)), "pricing").passed


def test_stale_data_when_older_than_limit_in_session_then_denied() -> None:
    inp = _inp(prices=SPY_100, last_data_at=NOW - timedelta(seconds=121))
    res = _check(_run(_buy("AAPL", 1), inp), "stale_data")
    assert not res.passed
    assert res.value == pytest.approx(121.0)
    assert res.limit == 120.0


def test_stale_data_when_never_received_then_denied() -> None:
    assert not _check(
        _run(_buy("AAPL", 1), _inp(prices=SPY_100, last_data_at=None)), "stale_data"
    ).passed


def test_stale_data_when_fresh_then_passes() -> None:
    inp = _inp(prices=SPY_100, last_data_at=NOW - timedelta(seconds=30))
    assert _check(_run(_buy("AAPL", 1), inp), "stale_data").passed


def test_market_hours_when_session_closed_then_denied() -> None:
    res = _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100, market_open=False)), "market_hours")
    assert not res.passed


def test_market_hours_when_open_then_passes() -> None:
    assert _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100)), "market_hours").passed


# -- rates ----------------------------------------------------------------------------------


def test_rate_limit_when_100_submits_in_one_second_then_denied_and_passes_a_second_later() -> None:
    t = [1000.0]
    risk = PreTradeRisk(throttle=RateThrottle(100, clock=lambda: t[0]))
    for _ in range(100):
        risk.record_submit(_buy("AAPL", 1), NOW)
    res = _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100), risk), "rate_limit")
    assert not res.passed
    assert res.value == 100
    t[0] += 1.0
    assert _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100), risk), "rate_limit").passed


def test_order_rate_when_61st_order_inside_a_minute_then_rate_limit() -> None:
    risk = PreTradeRisk(limits=RiskLimits(max_symbol_orders_per_minute=1000))
    for i in range(60):
        risk.record_submit(_buy("AAPL", 1), NOW - timedelta(seconds=59) + timedelta(milliseconds=i))
    res = _check(_run(_buy("SPY", 1), _inp(prices=SPY_100), risk), "order_rate")
    assert not res.passed
    assert "RATE_LIMIT" in res.message
    assert res.value == 60


def test_order_rate_when_orders_older_than_a_minute_then_passes() -> None:
    risk = PreTradeRisk()
    for _ in range(60):
        risk.record_submit(_buy("AAPL", 1), NOW - timedelta(seconds=61))
    assert _check(_run(_buy("SPY", 1), _inp(prices=SPY_100), risk), "order_rate").passed


def test_order_rate_when_10_orders_in_one_symbol_then_that_symbol_denied_other_passes() -> None:
    risk = PreTradeRisk()
    for _ in range(10):
        risk.record_submit(_buy("AAPL", 1), NOW - timedelta(seconds=5))
    assert not _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100), risk), "order_rate").passed
    assert _check(_run(_buy("SPY", 1), _inp(prices=SPY_100), risk), "order_rate").passed


# -- PDT (spec §4 behaviour 1) --------------------------------------------------------------


def _day_trade_setup(equity_cash: float) -> tuple[TradeProposal, PreTradeInputs]:
    held = _pos(Equity("AAPL"), 10, 200.0, opened=NOW - timedelta(hours=1))  # opened today
    inp = _inp(_port(cash=equity_cash - 2_000.0, positions=(held,)), SPY_100, day_trades_5d=4)
    return _sell_close(Equity("AAPL"), 10), inp


def test_pdt_when_20k_equity_and_4_day_trades_then_next_day_trade_rejected() -> None:
    p, inp = _day_trade_setup(20_000.0)
    d = _run(p, inp)
    res = _check(d, "pdt")
    assert not d.approved
    assert not res.passed
    assert "PDT" in res.message


def test_pdt_when_26k_equity_then_day_trade_allowed() -> None:
    p, inp = _day_trade_setup(26_000.0)
    d = _run(p, inp)
    assert d.approved, d.reason
    assert _check(d, "pdt").passed


def test_pdt_when_position_opened_yesterday_then_not_a_day_trade() -> None:
    held = _pos(Equity("AAPL"), 10, 200.0, opened=NOW - timedelta(days=1))
    inp = _inp(_port(cash=18_000.0, positions=(held,)), SPY_100, day_trades_5d=4)
    assert _check(_run(_sell_close(Equity("AAPL"), 10), inp), "pdt").passed


def test_pdt_when_stop_exit_at_the_limit_then_warned_not_trapped() -> None:
    held = _pos(Equity("AAPL"), 10, 200.0, opened=NOW - timedelta(hours=1))
    inp = _inp(_port(cash=18_000.0, positions=(held,)), SPY_100, day_trades_5d=3)
    d = _run(_sell_close(Equity("AAPL"), 10, exit_reason=ExitReason.STOP), inp)
    assert d.approved
    assert _check(d, "pdt").outcome is CheckOutcome.WARN


def test_pdt_when_count_comes_from_the_live_day_trade_log_then_it_applies() -> None:
    from engine.domain import Fill

    risk = PreTradeRisk()
    log = risk.live.day_trades
    for i in range(3):
        for side in (Side.BUY, Side.SELL):
            log.on_fill(
                Fill(f"f{i}{side}", f"o{i}{side}", "b", Equity("MSFT"), side, 1, Decimal(1),
                     Decimal(0), NOW - timedelta(hours=2) + timedelta(minutes=i))
            )  # fmt: skip
    assert log.count(NOW.date()) == 3
    held = _pos(Equity("AAPL"), 10, 200.0, opened=NOW - timedelta(hours=1))
    inp = _inp(_port(cash=18_000.0, positions=(held,)), SPY_100)
    assert not _check(_run(_sell_close(Equity("AAPL"), 10), inp, risk), "pdt").passed


# -- breakers & VIX ---------------------------------------------------------------------------


def test_breakers_when_tripped_then_opening_denied_naming_it_and_closing_passes() -> None:
    held = _pos(Equity("AAPL"), 10, 200.0)
    inp = _inp(_port(positions=(held,)), SPY_100, tripped_breakers=("daily_loss",))
    res = _check(_run(_buy("AAPL", 1), inp), "breakers")
    assert not res.passed
    assert "daily_loss" in res.message
    assert _run(_sell_close(Equity("AAPL"), 10), inp).approved


def test_breakers_when_none_tripped_then_passes() -> None:
    assert _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100)), "breakers").passed


def test_vix_when_critical_then_no_new_risk() -> None:
    res = _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100, vix=46.0)), "vix")
    assert not res.passed
    assert res.limit == 0.0


def test_vix_when_extreme_then_size_limit_quartered() -> None:
    # $4,000 of AAPL: inside 5% of $100k, outside 5% x 0.25 at VIX 36.
    calm = _run(_buy("AAPL", 20), _inp(prices=SPY_100, vix=20.0))
    stormy = _run(_buy("AAPL", 20), _inp(prices=SPY_100, vix=36.0))
    assert _check(calm, "position_size").passed
    assert _check(calm, "vix").outcome is CheckOutcome.PASS
    assert _check(stormy, "vix").outcome is CheckOutcome.WARN
    res = _check(stormy, "position_size")
    assert not res.passed
    assert res.limit == pytest.approx(100_000 * 0.05 * 0.25)
    assert res.suggested_quantity == 6


# -- buying power, notional, size, loss -----------------------------------------------------


def test_buying_power_when_cost_exceeds_cash_then_denied() -> None:
    res = _check(_run(_buy("SPY", 30), _inp(_port(cash=10_000.0), SPY_100)), "buying_power")
    assert not res.passed
    assert res.value == pytest.approx(15_000.0)


def test_buying_power_when_short_put_collateral_exceeds_cash_then_denied() -> None:
    put = _put("AAPL", 200.0)
    p = _prop((OrderLeg(put, Side.SELL),), 1)
    inp = _inp(_port(cash=15_000.0), {put.symbol: 3.0, "AAPL": 200.0})
    res = _check(_run(p, inp), "buying_power")
    assert not res.passed
    assert res.value == pytest.approx(20_000.0)  # strike x 100, the premium not netted


def test_buying_power_when_open_orders_hold_the_cash_then_denied() -> None:
    inp = _inp(_port(cash=10_000.0), SPY_100, open_order_holds=9_500.0)
    res = _check(_run(_buy("SPY", 2), inp), "buying_power")
    assert not res.passed
    assert res.limit == pytest.approx(500.0)


def test_buying_power_when_affordable_then_passes() -> None:
    assert _check(_run(_buy("SPY", 2), _inp(prices=SPY_100)), "buying_power").passed


def test_order_notional_when_over_the_dollar_cap_then_denied() -> None:
    res = _check(_run(_buy("SPY", 101), _inp(_port(cash=1e6), SPY_100)), "order_notional")
    assert not res.passed
    assert res.limit == 50_000.0


def test_order_notional_when_6000_of_100k_then_rejected_and_4500_warned() -> None:
    risk = PreTradeRisk(limits=RiskLimits(max_order_pct=0.05, warn_order_pct=0.04))
    big = _check(_run(_buy("AAPL", 30), _inp(prices=SPY_100), risk), "order_notional")
    assert not big.passed
    assert big.suggested_quantity == 25
    mid = _check(_run(_buy("AAPL", 22), _inp(prices={"AAPL": 204.5454}), risk), "order_notional")
    assert mid.passed
    assert mid.outcome is CheckOutcome.WARN


def test_order_notional_when_small_then_passes() -> None:
    assert (
        _check(_run(_buy("AAPL", 1), _inp(prices=SPY_100)), "order_notional").outcome
        is CheckOutcome.PASS
    )


def test_position_size_when_over_profile_pct_then_denied_with_suggested_quantity() -> None:
    res = _check(_run(_buy("AAPL", 30), _inp(prices=SPY_100)), "position_size")
    assert not res.passed
    assert res.suggested_quantity == 25


def test_position_size_when_broad_etf_sleeve_then_80pct_applies() -> None:
    res = _check(_run(_buy("SPY", 100), _inp(_port(cash=100_000.0), SPY_100)), "position_size")
    assert res.passed
    assert res.limit == pytest.approx(80_000.0)


def test_max_loss_when_option_max_loss_over_limit_then_denied() -> None:
    call = _call("AAPL", 210.0)
    p = _prop((OrderLeg(call, Side.BUY),), 10, max_loss=6_000.0)
    res = _check(_run(p, _inp(prices={call.symbol: 6.0, "AAPL": 200.0})), "max_loss")
    assert not res.passed
    assert res.value == 6_000.0


def test_max_loss_when_within_limit_then_passes() -> None:
    call = _call("AAPL", 210.0)
    p = _prop((OrderLeg(call, Side.BUY),), 2)
    assert _check(_run(p, _inp(prices={call.symbol: 6.0, "AAPL": 200.0})), "max_loss").passed


# -- allocation, total risk, concentration --------------------------------------------------


def test_strategy_allocation_when_open_risk_over_cap_then_denied() -> None:
    inp = _inp(prices=SPY_100, strategy_open_risk=24_500.0)
    res = _check(_run(_buy("AAPL", 5), inp), "strategy_allocation")
    assert not res.passed
    assert res.value == pytest.approx(25_500.0)


def test_strategy_allocation_when_spread_positions_given_then_measured_at_width() -> None:
    short, long_ = _put("IWM", 213.0), _put("IWM", 204.0)
    book = {
        short.symbol: _pos(short, -5, 0.5, mark=0.5),
        long_.symbol: _pos(long_, 5, 0.15, mark=0.15),
    }
    # Leg by leg the short put alone is $106k of "risk"; as a spread it is 9 x 500 = $4.5k.
    inp = _inp(prices=SPY_100, strategy_open_risk=106_000.0, strategy_positions=book)
    res = _check(_run(_buy("AAPL", 5), inp), "strategy_allocation")
    assert res.passed
    # Pair value now (0.15 - 0.50) x 500 = -175; lowest -4,500; loss from here 4,325.
    assert res.value == pytest.approx(4_325.0 + 1_000.0)


def test_total_risk_when_option_risk_over_profile_then_denied() -> None:
    held = _pos(_call("AAPL", 200.0), 24, 4.5)  # $10,800 of long premium
    call = _call("AAPL", 220.0)
    p = _prop((OrderLeg(call, Side.BUY),), 5)
    res = _check(_run(p, _inp(_port(positions=(held,)), {call.symbol: 3.0})), "total_risk")
    assert not res.passed
    assert res.value == pytest.approx(10_800 + 1_500)
    assert res.limit == pytest.approx(0.10 * 110_800)


def test_total_risk_when_index_sleeve_is_big_then_it_does_not_count() -> None:
    sleeve = _pos(Equity("SPY"), 150, 500.0)  # $75k baseline sleeve
    call = _call("AAPL", 220.0)
    p = _prop((OrderLeg(call, Side.BUY),), 5)
    res = _check(
        _run(p, _inp(_port(cash=25_000.0, positions=(sleeve,)), {call.symbol: 3.0})), "total_risk"
    )
    assert res.passed
    assert res.value == pytest.approx(1_500.0)


def test_concentration_when_name_over_30pct_then_denied() -> None:
    held = _pos(Equity("AAPL"), 140, 200.0)  # $28k
    risk = PreTradeRisk(limits=RiskLimits(max_position_pct=0.5))
    res = _check(
        _run(_buy("AAPL", 15), _inp(_port(cash=72_000.0, positions=(held,)), SPY_100), risk),
        "concentration",
    )
    assert not res.passed
    assert res.value == pytest.approx(0.31)


def test_concentration_when_broad_etf_then_80pct_limit_passes() -> None:
    held = _pos(Equity("SPY"), 100, 500.0)
    res = _check(
        _run(_buy("SPY", 40), _inp(_port(cash=50_000.0, positions=(held,)), SPY_100)),
        "concentration",
    )
    assert res.passed
    assert res.limit == 0.80


def test_sector_concentration_when_sector_over_35pct_then_denied() -> None:
    nvda = _pos(Equity("NVDA"), 100, 180.0)  # $18k semis
    amd = _pos(Equity("AMD"), 80, 200.0)  # $16k semis
    sectors = {"NVDA": "semis", "AMD": "semis", "SMH": "semis", "SPY": "broad"}
    risk = PreTradeRisk(limits=RiskLimits(max_position_pct=0.5))
    inp = _inp(_port(cash=66_000.0, positions=(nvda, amd)), {"SMH": 300.0}, sector_of=sectors)
    res = _check(_run(_buy("SMH", 10), inp, risk), "sector_concentration")
    assert not res.passed
    assert res.value == pytest.approx(0.37)


def test_sector_concentration_when_broad_or_small_then_passes() -> None:
    sectors = {"SPY": "broad", "AAPL": "tech"}
    inp = _inp(prices=SPY_100, sector_of=sectors)
    assert _check(_run(_buy("SPY", 10), inp), "sector_concentration").passed
    assert _check(_run(_buy("AAPL", 10), inp), "sector_concentration").passed


# -- VaR / CVaR budget and greeks (with a live model) ---------------------------------------


def _history(
    symbols: tuple[str, ...], vols: tuple[float, ...], n: int = 260, seed: int = 5
) -> ScenarioHistory:
    rng = np.random.default_rng(seed)
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(n + 1)]
    closes: dict[str, list[tuple[date, float]]] = {}
    for s, v in zip(symbols, vols, strict=True):
        r = rng.standard_t(5, n) * v / np.sqrt(5 / 3)
        px = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
        closes[s] = list(zip(days, px.tolist(), strict=True))
    return ScenarioHistory.from_closes(closes)


def _attached(history: ScenarioHistory, spots: Mapping[str, float], **limits: Any) -> PreTradeRisk:
    risk = PreTradeRisk(limits=RiskLimits(max_position_pct=1.0, **limits))
    risk.live.attached = True
    risk.live.set_model(MarginalVaR(history, asof=NOW, rate=0.04, spots=spots), NOW)
    return risk


def test_var_budget_when_trade_pushes_var_over_5pct_then_denied_with_marginal() -> None:
    hist = _history(("AAA", "BBB"), (0.04, 0.01))
    risk = _attached(hist, {"AAA": 100.0, "BBB": 100.0})
    res = _check(
        _run(_buy("AAA", 900), _inp(_port(cash=100_000.0), {"AAA": 100.0}), risk), "var_budget"
    )
    assert not res.passed
    assert res.value is not None
    assert res.value > 0.05
    assert "marginal" in res.message


def test_var_budget_when_trade_small_then_passes_and_equals_hand_computed_var() -> None:
    hist = _history(("AAA", "BBB"), (0.04, 0.01))
    risk = _attached(hist, {"AAA": 100.0, "BBB": 100.0})
    d = _run(_buy("BBB", 100), _inp(_port(cash=100_000.0), {"BBB": 100.0}), risk)
    res = _check(d, "var_budget")
    assert res.passed
    pnl = 100 * 100.0 * np.expm1(hist.matrix(["BBB"])[-252:, 0]) / 100_000.0
    assert res.value == pytest.approx(-np.quantile(pnl, 0.01), rel=1e-9)


def test_var_budget_when_book_over_budget_and_trade_reduces_it_then_warned_not_denied() -> None:
    hist = _history(("AAA", "BBB"), (0.04, 0.01))
    risk = _attached(hist, {"AAA": 100.0, "BBB": 100.0})
    held = _pos(Equity("AAA"), 900, 100.0)
    short = _prop((OrderLeg(Equity("AAA"), Side.SELL),), 400)  # an opening-intent reduction
    res = _check(
        _run(short, _inp(_port(cash=10_000.0, positions=(held,)), {"AAA": 100.0}), risk),
        "var_budget",
    )
    assert res.passed
    assert res.outcome is CheckOutcome.WARN


def test_var_budget_when_model_missing_with_monitor_attached_then_fail_closed() -> None:
    risk = PreTradeRisk()
    risk.live.attached = True
    risk.live.fail_model("InsufficientData: 12 days of history")
    d = _run(_buy("AAPL", 1), _inp(prices=SPY_100), risk)
    assert not d.approved
    assert "InsufficientData" in _check(d, "var_budget").message
    assert not _check(d, "cvar_budget").passed


def test_var_budget_when_no_monitor_then_warns_and_uses_engine_figure() -> None:
    d = _run(_buy("AAPL", 1), _inp(prices=SPY_100))
    assert _check(d, "var_budget").outcome is CheckOutcome.WARN
    over = _run(_buy("AAPL", 1), _inp(prices=SPY_100, var99_pct=0.06))
    assert not _check(over, "var_budget").passed


def test_var_budget_when_underlying_has_no_history_then_fail_closed() -> None:
    hist = _history(("AAA",), (0.02,))
    risk = _attached(hist, {"AAA": 100.0})
    res = _check(_run(_buy("ZZZ", 1), _inp(prices={"ZZZ": 10.0}), risk), "var_budget")
    assert not res.passed
    assert "no price history for ZZZ" in res.message


def test_var_budget_when_option_cannot_be_priced_then_fail_closed() -> None:
    hist = _history(("AAA",), (0.02,))
    risk = _attached(hist, {"AAA": 100.0})
    call = _call("AAA", 80.0)
    # A mid below intrinsic (20) has no implied vol: the option cannot be priced.
    p = _prop((OrderLeg(call, Side.BUY),), 1)
    res = _check(
        _run(p, _inp(prices={call.symbol: 5.0}, underlying_prices={"AAA": 100.0}), risk),
        "var_budget",
    )
    assert not res.passed
    assert "cannot be priced" in res.message


def test_cvar_budget_when_over_7pct_then_denied_and_small_passes() -> None:
    hist = _history(("AAA", "BBB"), (0.04, 0.01))
    risk = _attached(hist, {"AAA": 100.0, "BBB": 100.0}, var99_limit_pct=1.0)
    big = _check(
        _run(_buy("AAA", 900), _inp(_port(cash=100_000.0), {"AAA": 100.0}), risk), "cvar_budget"
    )
    assert not big.passed
    assert big.limit == 0.07
    small = _check(
        _run(_buy("BBB", 10), _inp(_port(cash=100_000.0), {"BBB": 100.0}), risk), "cvar_budget"
    )
    assert small.passed


def test_greek_limits_when_option_buy_breaks_per_name_theta_then_denied() -> None:
    hist = _history(("AAA",), (0.02,))
    risk = _attached(hist, {"AAA": 100.0}, var99_limit_pct=1.0, cvar99_limit_pct=1.0)
    call = _call("AAA", 100.0, date(2026, 1, 23))  # 17 days, ATM: ~ -$9 a day per contract
    p = _prop((OrderLeg(call, Side.BUY),), 12)
    inp = _inp(prices={call.symbol: 3.0}, underlying_prices={"AAA": 100.0})
    res = _check(_run(p, inp, risk), "greek_limits")
    assert not res.passed
    assert res.message.startswith("AAA theta")
    assert res.limit == pytest.approx(-100.0)  # -$100 per name on the $100k reference account
    assert res.value is not None
    assert -130.0 < res.value < -100.0


def test_greek_limits_when_small_then_passes_and_when_reducing_over_limit_then_passes() -> None:
    hist = _history(("AAA",), (0.02,))
    risk = _attached(hist, {"AAA": 100.0}, var99_limit_pct=1.0, cvar99_limit_pct=1.0)
    call = _call("AAA", 100.0, date(2026, 1, 23))
    inp = _inp(prices={call.symbol: 3.0}, underlying_prices={"AAA": 100.0})
    assert _check(_run(_prop((OrderLeg(call, Side.BUY),), 2), inp, risk), "greek_limits").passed
    # A book already over its theta limit may still sell some of it (opening-intent hedge).
    held = _pos(call, 30, 3.0)
    inp2 = _inp(_port(positions=(held,)), {call.symbol: 3.0}, underlying_prices={"AAA": 100.0})
    assert _check(_run(_prop((OrderLeg(call, Side.SELL),), 5), inp2, risk), "greek_limits").passed


def test_checks_when_one_raises_then_decision_fails_closed_naming_it() -> None:
    class Broken(PreTradeRisk):
        def _check_concentration(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
            raise ZeroDivisionError("boom")

    d = _run(_buy("AAPL", 1), _inp(prices=SPY_100), Broken())
    res = _check(d, "concentration")
    assert not d.approved
    assert "fail closed" in res.message


def test_limits_when_fraction_out_of_range_then_error_names_field() -> None:
    with pytest.raises(ValueError, match="max_sector_concentration"):
        RiskLimits(max_sector_concentration=1.5)
    with pytest.raises(ValueError, match="max_orders_per_minute"):
        RiskLimits(max_orders_per_minute=-1)
