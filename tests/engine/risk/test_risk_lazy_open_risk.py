"""LazyOpenRiskInputs: the open-risk figures are asked of their callables only when read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from engine.domain import Equity, OrderLeg, OrderType, Portfolio, Side, TradeProposal
from engine.domain.proposals import ProposalIntent
from engine.risk.pretrade import LazyOpenRiskInputs, PreTradeInputs, PreTradeRisk

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)  # a Tuesday, inside the session


def _fields(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "now": NOW,
        "portfolio": Portfolio(ts=NOW, cash=Decimal(100_000), positions=MappingProxyType({})),
        "trading_state": "ACTIVE",
        "market_open": True,
        "leg_prices": {"AAPL": 100.0},
        "underlying_prices": {},
        "last_data_at": NOW,
        "strategy_allocation_cap": 0.25,
    }
    base.update(kw)
    return base


def _buy(qty: int) -> TradeProposal:
    return TradeProposal(
        proposal_id=f"p-{qty}",
        strategy="s",
        created_at=NOW,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("AAPL"), Side.BUY),),
        quantity=qty,
        reason="test",
        order_type=OrderType.MARKET,
    )


def test_lazy_inputs_when_read_then_ask_each_callable_once() -> None:
    asked: list[str] = []

    def strategy_risk() -> float:
        asked.append("strategy")
        return 24_500.0

    def total_risk() -> float:
        asked.append("total")
        return 3_000.0

    inp = LazyOpenRiskInputs(
        **_fields(), strategy_open_risk_fn=strategy_risk, total_open_risk_fn=total_risk
    )
    assert asked == []
    assert inp.strategy_open_risk == 24_500.0
    assert inp.strategy_open_risk == 24_500.0
    assert inp.total_open_risk == 3_000.0
    assert asked == ["strategy", "total"]
    eager = PreTradeInputs(**_fields(strategy_open_risk=24_500.0, total_open_risk=3_000.0))
    assert repr(inp) == repr(eager).replace("PreTradeInputs", "LazyOpenRiskInputs", 1)
    copy = dataclasses.replace(inp, vix=20.0)
    assert (copy.strategy_open_risk, copy.total_open_risk, copy.vix) == (24_500.0, 3_000.0, 20.0)


def test_lazy_inputs_when_checked_then_same_decision_as_eager() -> None:
    # No strategy positions given: the allocation check reads strategy_open_risk.
    eager = PreTradeInputs(**_fields(strategy_open_risk=24_500.0, total_open_risk=1.0))
    lazy = LazyOpenRiskInputs(
        **_fields(), strategy_open_risk_fn=lambda: 24_500.0, total_open_risk_fn=lambda: 1.0
    )
    a = PreTradeRisk().check(_buy(10), eager)
    b = PreTradeRisk().check(_buy(10), lazy)
    assert a == b
    assert not a.approved  # 24,500 + 1,000 > 25% of 100,000


def test_lazy_inputs_when_figures_unread_then_callables_never_asked() -> None:
    def boom() -> float:
        raise AssertionError("asked")

    book = MappingProxyType({})
    lazy = LazyOpenRiskInputs(
        **_fields(strategy_positions=book), strategy_open_risk_fn=boom, total_open_risk_fn=boom
    )
    assert PreTradeRisk().check(_buy(5), lazy).approved
