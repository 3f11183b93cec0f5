"""Spec §4/§5 compliance and market-structure checks: restricted list, LULD band, SSR, day
notional, leverage, lotto gate, and the modify/cancel throttles - each one tripped and passed,
with its value and limit stored in the decision."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from engine.domain import (
    CheckOutcome,
    Equity,
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
from engine.risk.compliance import DayNotionalLog, luld_bounds
from engine.risk.pretrade import PreTradeInputs, PreTradeRisk, RateThrottle, RiskLimits

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
_n = [0]


def _port(
    cash: float = 100_000.0, positions: tuple[Position, ...] = (), sod: float | None = None
) -> Portfolio:
    return Portfolio(
        ts=NOW,
        cash=Decimal(str(cash)),
        positions=MappingProxyType({p.symbol: p for p in positions}),
        start_of_day_equity=None if sod is None else Decimal(str(sod)),
    )


def _prop(
    legs: tuple[OrderLeg, ...],
    qty: int,
    *,
    limit: float | None = None,
    intent: ProposalIntent = ProposalIntent.OPEN,
    strategy: str = "wsb_dip_bot",
) -> TradeProposal:
    _n[0] += 1
    return TradeProposal(
        proposal_id=f"p-cmp-{_n[0]}",
        strategy=strategy,
        created_at=NOW,
        intent=intent,
        legs=legs,
        quantity=qty,
        reason="test",
        order_type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else Decimal(str(limit)),
    )


def _stock(sym: str, qty: int, side: Side = Side.BUY, **kw: Any) -> TradeProposal:
    effect = (
        PositionEffect.CLOSE if kw.get("intent") is ProposalIntent.CLOSE else PositionEffect.OPEN
    )
    return _prop((OrderLeg(Equity(sym), side, 1, effect),), qty, **kw)


def _inp(
    portfolio: Portfolio | None = None, prices: dict[str, float] | None = None, **kw: Any
) -> PreTradeInputs:
    base: dict[str, Any] = {
        "now": NOW,
        "portfolio": portfolio or _port(),
        "trading_state": "ACTIVE",
        "market_open": True,
        "leg_prices": prices or {},
        "underlying_prices": {},
        "last_data_at": NOW,
        "profile_max_position_pct": 0.30,
        "profile_max_total_risk_pct": 0.65,
        "strategy_allocation_cap": 1.0,
    }
    base.update(kw)
    return PreTradeInputs(**base)


def _check(d: RiskDecision, name: str) -> RiskCheckResult:
    hits = [c for c in d.checks if c.name == name]
    assert hits, f"check {name} did not run: {[c.name for c in d.checks]}"
    return hits[0]


def _risk(**limits: Any) -> PreTradeRisk:
    return PreTradeRisk(RiskLimits(**limits))


# -- restricted list -------------------------------------------------------------------------


def test_restricted_when_name_listed_then_opening_denied_and_closing_still_passes() -> None:
    risk = _risk(restricted=frozenset({"gme"}))
    d = risk.check(_stock("GME", 10), _inp(prices={"GME": 20.0}))
    c = _check(d, "restricted_list")
    assert not d.approved
    assert c.outcome is CheckOutcome.FAIL
    assert "GME on the restricted list" in d.reason
    held = Position(Equity("GME"), 10, Decimal("20"), mark=20.0)
    close = _stock("GME", 10, Side.SELL, intent=ProposalIntent.CLOSE)
    d2 = risk.check(close, _inp(_port(positions=(held,)), prices={"GME": 20.0}))
    assert d2.approved, d2.reason


def test_restricted_when_option_on_listed_underlying_then_denied() -> None:
    risk = _risk(restricted=frozenset({"GME"}))
    call = OptionContract("GME", date(2026, 2, 20), Decimal("25"), OptionRight.CALL)
    d = risk.check(_prop((OrderLeg(call, Side.BUY),), 1), _inp(prices={call.symbol: 1.0}))
    assert _check(d, "restricted_list").outcome is CheckOutcome.FAIL


def test_restricted_when_name_not_listed_then_passes() -> None:
    d = _risk(restricted=frozenset({"GME"})).check(_stock("AAPL", 10), _inp(prices={"AAPL": 200.0}))
    assert _check(d, "restricted_list").passed
    assert d.approved, d.reason


def test_restricted_when_given_one_string_then_error_names_field() -> None:
    with pytest.raises(ValueError, match=r"RiskLimits\.restricted=.GME."):
        RiskLimits(restricted="GME")  # type: ignore[arg-type]


# -- LULD --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "tier2", "lo", "hi"),
    [
        (200.0, False, 190.0, 210.0),  # Tier 1 above $3: 5 %
        (200.0, True, 180.0, 220.0),  # Tier 2 above $3: 10 %
        (2.0, False, 1.6, 2.4),  # $0.75-$3: 20 %
        (0.50, False, 0.35, 0.65),  # below $0.75: lesser of $0.15 and 75 %
        (0.10, False, 0.025, 0.175),
    ],
)
def test_luld_bounds_when_price_tier_then_band_width(
    ref: float, tier2: bool, lo: float, hi: float
) -> None:
    got = luld_bounds(ref, tier2=tier2)
    assert got == pytest.approx((lo, hi))


def test_luld_when_buy_limit_above_upper_band_then_denied_with_value_and_limit() -> None:
    d = _risk().check(_stock("AAPL", 10, limit=211.0), _inp(prices={"AAPL": 200.0}))
    c = _check(d, "luld")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == pytest.approx((211.0, 210.0))
    assert "above the LULD band" in c.message


def test_luld_when_sell_limit_below_lower_band_then_denied_even_when_closing() -> None:
    held = Position(Equity("AAPL"), 10, Decimal("200"), mark=200.0)
    sell = _stock("AAPL", 10, Side.SELL, limit=189.0, intent=ProposalIntent.CLOSE)
    d = _risk().check(sell, _inp(_port(positions=(held,)), prices={"AAPL": 200.0}))
    assert _check(d, "luld").outcome is CheckOutcome.FAIL
    assert not d.approved


def test_luld_when_limit_inside_band_or_tier2_wider_then_passes() -> None:
    d = _risk().check(_stock("AAPL", 10, limit=209.0), _inp(prices={"AAPL": 200.0}))
    assert _check(d, "luld").passed
    d2 = _risk(luld_tier2=frozenset({"AAPL"})).check(
        _stock("AAPL", 10, limit=215.0), _inp(prices={"AAPL": 200.0})
    )
    assert _check(d2, "luld").passed


# -- SSR ---------------------------------------------------------------------------------------


def test_ssr_when_short_sale_of_stock_down_10pct_then_denied() -> None:
    short = _stock("TSLA", 10, Side.SELL)
    d = _risk().check(short, _inp(prices={"TSLA": 180.0}, prior_closes={"TSLA": 200.0}))
    c = _check(d, "ssr")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == pytest.approx((0.10, 0.10))
    assert "SSR day" in c.message


def test_ssr_when_down_9pct_then_short_passes_and_selling_held_shares_is_not_short() -> None:
    short = _stock("TSLA", 10, Side.SELL)
    d = _risk().check(short, _inp(prices={"TSLA": 182.0}, prior_closes={"TSLA": 200.0}))
    assert _check(d, "ssr").passed
    held = Position(Equity("TSLA"), 10, Decimal("200"), mark=170.0)
    sell = _stock("TSLA", 10, Side.SELL, intent=ProposalIntent.CLOSE)
    d2 = _risk().check(
        sell, _inp(_port(positions=(held,)), prices={"TSLA": 170.0}, prior_closes={"TSLA": 200.0})
    )
    c2 = _check(d2, "ssr")
    assert c2.passed
    assert c2.message == "no short sale"


def test_ssr_when_prior_close_comes_from_the_live_state_then_it_applies() -> None:
    risk = _risk()
    risk.live.prior_close = {"TSLA": 200.0}
    d = risk.check(_stock("TSLA", 5, Side.SELL), _inp(prices={"TSLA": 170.0}))
    assert _check(d, "ssr").outcome is CheckOutcome.FAIL


# -- day notional ------------------------------------------------------------------------------


def test_day_notional_when_orders_today_reach_5m_then_next_denied() -> None:
    risk = _risk(max_order_notional=10_000_000.0)
    port = _port(cash=10_000_000.0)
    d = risk.check(_stock("SPY", 100), _inp(port, prices={"SPY": 500.0}, day_notional=4_960_000.0))
    c = _check(d, "day_notional")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == pytest.approx((5_010_000.0, 5_000_000.0))


def test_day_notional_when_submits_recorded_then_counted_and_reset_next_day() -> None:
    risk = _risk(max_day_notional=100_000.0)
    port = _port(cash=1_000_000.0)
    prices = {"SPY": 500.0}
    for _ in range(3):  # 3 x $30k sent
        p = _stock("SPY", 60)
        d = risk.check(p, _inp(port, prices=prices))
        assert _check(d, "day_notional").passed
        risk.record_submit(p, NOW)
    assert risk.day_notional.today(NOW) == pytest.approx(90_000.0)
    d = risk.check(_stock("SPY", 60), _inp(port, prices=prices))
    assert _check(d, "day_notional").outcome is CheckOutcome.FAIL
    tomorrow = NOW + timedelta(days=1)
    d2 = risk.check(
        _stock("SPY", 60), _inp(port, prices=prices, now=tomorrow, last_data_at=tomorrow)
    )
    assert _check(d2, "day_notional").passed


def test_day_notional_log_when_date_changes_then_total_restarts() -> None:
    log = DayNotionalLog()
    log.record(1_000.0, NOW)
    log.record(-500.0, NOW)  # a credit is still traded notional
    assert log.today(NOW) == 1_500.0
    assert log.today(NOW + timedelta(days=1)) == 0.0


# -- leverage ----------------------------------------------------------------------------------


def test_leverage_when_gross_after_trade_over_equity_then_denied() -> None:
    # $100k equity: $60k SPY held, $40k cash; a $45k buy would need 1.05x.
    spy = Position(Equity("SPY"), 120, Decimal("500"), mark=500.0)
    port = _port(cash=40_000.0, positions=(spy,))
    d = _risk(max_order_notional=1e6).check(_stock("QQQ", 90), _inp(port, prices={"QQQ": 500.0}))
    c = _check(d, "leverage")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == pytest.approx((1.05, 1.0))


def test_leverage_when_covered_call_on_fully_invested_book_then_passes() -> None:
    spy = Position(Equity("SPY"), 200, Decimal("500"), mark=500.0)
    port = _port(cash=0.0, positions=(spy,))
    call = OptionContract("SPY", date(2026, 2, 20), Decimal("520"), OptionRight.CALL)
    p = _prop((OrderLeg(call, Side.SELL),), 2)
    d = _risk().check(p, _inp(port, prices={call.symbol: 5.0}))
    c = _check(d, "leverage")
    assert c.passed
    assert c.value == pytest.approx(1.0)


# -- lotto gate --------------------------------------------------------------------------------


def _lotto_call() -> TradeProposal:
    call = OptionContract("AAPL", date(2026, 1, 9), Decimal("230"), OptionRight.CALL)
    return _prop((OrderLeg(call, Side.BUY),), 1, strategy="lotto_scanner")


def test_lotto_gate_when_day_pnl_below_minus_5pct_then_no_new_lotto_play() -> None:
    p = _lotto_call()
    port = _port(cash=94_000.0, sod=100_000.0)
    d = _risk().check(p, _inp(port, prices={p.legs[0].symbol: 0.50}))
    c = _check(d, "lotto_gate")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == pytest.approx((-0.06, -0.05))


def test_lotto_gate_when_equity_below_10k_then_denied() -> None:
    p = _lotto_call()
    d = _risk().check(p, _inp(_port(cash=9_000.0, sod=9_000.0), prices={p.legs[0].symbol: 0.50}))
    c = _check(d, "lotto_gate")
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == (9_000.0, 10_000.0)


def test_lotto_gate_when_small_loss_or_other_strategy_then_passes() -> None:
    p = _lotto_call()
    d = _risk().check(p, _inp(_port(cash=96_000.0, sod=100_000.0), prices={p.legs[0].symbol: 0.50}))
    assert _check(d, "lotto_gate").passed
    other = _stock("AAPL", 1)
    d2 = _risk().check(other, _inp(_port(cash=90_000.0, sod=100_000.0), prices={"AAPL": 200.0}))
    c2 = _check(d2, "lotto_gate")
    assert c2.passed
    assert c2.message == "not a lotto play"


# -- modify / cancel throttles -----------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_modify_throttle_when_100_in_a_second_then_denied_and_passes_a_second_later() -> None:
    clock = _Clock()
    risk = PreTradeRisk(RiskLimits(), throttle=RateThrottle(100, clock=clock))
    for _ in range(100):
        assert risk.check_modify().passed
        risk.record_modify()
    c = risk.check_modify()
    assert c.outcome is CheckOutcome.FAIL
    assert (c.value, c.limit) == (100, 100.0)
    assert "RATE_LIMIT" in c.message
    # The submit throttle is separate: modifies do not use up submits.
    assert risk.throttle is not None
    assert risk.throttle.count() == 0
    clock.t += 1.0
    assert risk.check_modify().passed


def test_cancel_throttle_when_limit_reached_then_denied_and_default_is_100() -> None:
    clock = _Clock()
    risk = PreTradeRisk(
        RiskLimits(max_cancels_per_second=3), throttle=RateThrottle(100, clock=clock)
    )
    for _ in range(3):
        risk.record_cancel()
    assert risk.check_cancel().outcome is CheckOutcome.FAIL
    assert PreTradeRisk().cancel_throttle.per_second == 100.0
    assert PreTradeRisk().modify_throttle.per_second == 100.0


def test_limits_when_new_settings_invalid_then_error_names_field() -> None:
    with pytest.raises(ValueError, match="max_leverage"):
        RiskLimits(max_leverage=0.0)
    with pytest.raises(ValueError, match="max_modifies_per_second"):
        RiskLimits(max_modifies_per_second=-1.0)
    with pytest.raises(ValueError, match="ssr_drop_pct"):
        RiskLimits(ssr_drop_pct=1.5)


def test_config_when_compliance_settings_given_then_validated_and_normalised() -> None:
    from engine.runtime.config import ConfigError, load_config

    cfg = load_config(
        None,
        environ={},
        overrides={"risk": {"restricted_symbols": ["gme", " amc "], "max_leverage": 0.9}},
    )
    assert cfg.risk.restricted_symbols == ["GME", "AMC"]
    assert cfg.risk.max_day_notional == 5_000_000.0
    assert cfg.risk.max_modifies_per_second == 100.0
    # The settings are RiskLimits' own: the same values build valid limits.
    lim = RiskLimits(
        restricted=frozenset(cfg.risk.restricted_symbols), max_leverage=cfg.risk.max_leverage
    )
    assert lim.restricted == frozenset({"GME", "AMC"})
    with pytest.raises(ConfigError, match="restricted_symbols"):
        load_config(None, environ={}, overrides={"risk": {"restricted_symbols": ["G M"]}})
    with pytest.raises(ConfigError, match="max_day_notional"):
        load_config(None, environ={}, overrides={"risk": {"max_day_notional": 0}})
