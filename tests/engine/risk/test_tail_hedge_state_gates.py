"""Pre-trade risk and the tail hedge: a protective put bought under "tail_hedge" passes the
REDUCING state and tripped breakers (it lowers the book's loss) but not HALTED, and still
faces every spending check; anything else that adds risk is stopped as before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

from engine.domain import (
    CheckOutcome,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    Portfolio,
    ProposalIntent,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.risk.pretrade import PreTradeInputs, PreTradeRisk, RiskLimits
from engine.risk.tail_hedge import is_protective_hedge

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)  # a Tuesday, inside the session
PUT = OptionContract("SPY", date(2026, 2, 6), Decimal("570"), OptionRight.PUT)
CALL = OptionContract("SPY", date(2026, 2, 6), Decimal("620"), OptionRight.CALL)


def _buy(inst: OptionContract, strategy: str, qty: int = 1) -> TradeProposal:
    return TradeProposal(
        proposal_id=f"p-{strategy}-{inst.symbol}-{qty}",
        strategy=strategy,
        created_at=NOW,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(inst, Side.BUY),),
        quantity=qty,
        reason="test",
        order_type=OrderType.LIMIT,
        limit_price=Decimal("5.00"),
    )


def _check(
    p: TradeProposal, state: str, breakers: tuple[str, ...] = (), cash: float = 100_000.0
) -> RiskDecision:
    inp = PreTradeInputs(
        now=NOW,
        portfolio=Portfolio(ts=NOW, cash=Decimal(str(cash)), positions=MappingProxyType({})),
        trading_state=state,
        market_open=True,
        leg_prices={PUT.symbol: 5.0, CALL.symbol: 5.0},
        underlying_prices={"SPY": 600.0},
        last_data_at=NOW,
        tripped_breakers=breakers,
        vix=30.0,
    )
    return PreTradeRisk(RiskLimits()).check(p, inp)


def _outcome(d: RiskDecision, name: str) -> CheckOutcome:
    return next(c.outcome for c in d.checks if c.name == name)


def test_is_protective_hedge_when_long_put_under_tail_hedge_only() -> None:
    assert is_protective_hedge(_buy(PUT, "tail_hedge"))
    assert not is_protective_hedge(_buy(PUT, "wsb_dip_bot"))
    assert not is_protective_hedge(_buy(CALL, "tail_hedge"))


def test_pretrade_when_reducing_with_breaker_then_hedge_approved_and_other_buys_denied() -> None:
    d = _check(_buy(PUT, "tail_hedge"), "REDUCING", ("drawdown_block",))
    assert d.approved, d.reason
    assert _outcome(d, "trading_state") is CheckOutcome.PASS
    assert _outcome(d, "breakers") is CheckOutcome.WARN
    for other in (_buy(PUT, "wsb_dip_bot"), _buy(CALL, "tail_hedge")):
        d = _check(other, "REDUCING", ("drawdown_block",))
        assert not d.approved
        assert _outcome(d, "trading_state") is CheckOutcome.FAIL
        assert _outcome(d, "breakers") is CheckOutcome.FAIL


def test_pretrade_when_halted_then_hedge_denied() -> None:
    d = _check(_buy(PUT, "tail_hedge"), "HALTED")
    assert not d.approved
    assert _outcome(d, "trading_state") is CheckOutcome.FAIL


def test_pretrade_when_hedge_unaffordable_then_spending_checks_still_deny() -> None:
    d = _check(_buy(PUT, "tail_hedge", qty=10), "REDUCING", ("drawdown_block",), cash=2_000.0)
    assert not d.approved
    assert _outcome(d, "buying_power") is CheckOutcome.FAIL
