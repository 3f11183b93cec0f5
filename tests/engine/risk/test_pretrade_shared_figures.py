"""The pre-trade fast paths give what the plain computations give: a decision's checks are the
checks run one by one, shared results are equal values, and the one-pass leverage and open-risk
sums add the same numbers in the same order."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

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
    Side,
    TradeProposal,
)
from engine.risk.compliance import check_leverage
from engine.risk.open_risk import book_open_risk
from engine.risk.pretrade import PreTradeInputs, PreTradeRisk, RiskLimits
from engine.risk.recurring import recurring

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
EXPIRY = date(2026, 2, 20)
NAMES = ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "TSLA"]


def _call(und: str, strike: int) -> OptionContract:
    return OptionContract(und, EXPIRY, Decimal(strike), OptionRight.CALL)


def _book(rng: random.Random) -> dict[str, Position]:
    book: dict[str, Position] = {}
    for sym in rng.sample(NAMES, rng.randint(0, len(NAMES))):
        qty = rng.choice([0, 5, 40, 300])  # a flat line stays in the book
        px = rng.uniform(5, 500)
        book[sym] = Position(Equity(sym), qty, Decimal(f"{px:.2f}"), mark=px * 1.01)
    if rng.random() < 0.5:
        c = _call(rng.choice(NAMES), 100)
        book[c.symbol] = Position(c, rng.choice([-2, 3]), Decimal("2.5"), mark=rng.uniform(0, 9))
    return book


def _legs(rng: random.Random, book: Mapping[str, Position]) -> tuple[OrderLeg, ...]:
    legs = []
    for _ in range(rng.randint(1, 3)):
        sym = rng.choice([*NAMES, *book])
        inst = book[sym].instrument if sym in book else Equity(sym)
        legs.append(OrderLeg(inst, rng.choice([Side.BUY, Side.SELL]), rng.randint(1, 2)))
    return tuple(legs)  # the same symbol may appear twice


def _leverage_as_before(
    p: TradeProposal, portfolio: Portfolio, prices: Mapping[str, float], limit: float
) -> tuple[float, str]:
    """The dict-per-call computation `check_leverage` used before its one-pass version."""
    eq = portfolio.equity
    after_mv = {s: pos.market_value for s, pos in portfolio.positions.items() if pos.quantity}
    kinds = {
        s: isinstance(pos.instrument, OptionContract) for s, pos in portfolio.positions.items()
    }
    for leg in p.legs:
        delta = leg.side.sign * prices[leg.symbol] * leg.ratio * leg.instrument.multiplier
        after_mv[leg.symbol] = after_mv.get(leg.symbol, 0.0) + delta * p.quantity
        kinds[leg.symbol] = isinstance(leg.instrument, OptionContract)

    def exposure(v: float, is_option: bool) -> float:
        return v if v >= 0 else (0.0 if is_option else -v)

    gross = sum(exposure(v, kinds[s]) for s, v in after_mv.items())
    lev = gross / eq if eq > 0 else math.inf
    return lev, f"leverage {lev:.2f}x after the trade (${gross:,.0f} on ${eq:,.0f} equity)"


def _proposal(legs: tuple[OrderLeg, ...], qty: int) -> TradeProposal:
    return TradeProposal(
        proposal_id=f"p-{qty}-{len(legs)}",
        strategy="wsb_dip_bot",
        created_at=NOW,
        intent=ProposalIntent.OPEN,
        legs=legs,
        quantity=qty,
        reason="test",
        order_type=OrderType.MARKET,
    )


def test_check_leverage_when_random_books_then_same_value_and_message_as_before() -> None:
    rng = random.Random(11)
    for _ in range(400):
        book = _book(rng)
        port = Portfolio(ts=NOW, cash=Decimal("50000"), positions=MappingProxyType(book))
        legs = _legs(rng, book)
        prices = {leg.symbol: rng.uniform(0.5, 400) for leg in legs}
        p = _proposal(legs, rng.randint(1, 50))
        got = check_leverage(p, port, prices, 1.0)
        lev, msg = _leverage_as_before(p, port, prices, 1.0)
        assert (got.value, got.message) == (lev, msg)  # exact: same sums in the same order


def test_book_open_risk_when_shares_only_then_the_sum_in_book_order() -> None:
    rng = random.Random(5)
    for _ in range(200):
        book = [p for p in _book(rng).values() if isinstance(p.instrument, Equity)]
        exclude = frozenset(rng.sample(NAMES, 2))
        total = 0.0
        for p in book:
            if p.quantity and p.symbol not in exclude:
                total += abs(p.market_value)
        assert book_open_risk(book, exclude=exclude) == total


def test_book_open_risk_when_an_option_follows_shares_then_spread_rules_still_apply() -> None:
    # A short call after the shares that cover it: the shares-only shortcut must give way.
    shares = Position(Equity("AAPL"), 100, Decimal(150), mark=150.0)
    short_call = Position(_call("AAPL", 160), -1, Decimal(3), mark=2.0)
    assert book_open_risk([shares, short_call]) == 15_000.0  # the covered call adds nothing
    naked = Position(_call("MSFT", 400), -1, Decimal(3), mark=2.0)
    assert book_open_risk([shares, naked]) == 15_000.0 + 200.0  # counted at market value


def test_check_when_decided_then_checks_equal_each_check_run_alone() -> None:
    """`check` shares the cost, max loss and equity between checks and hands out shared
    results: the list must equal running every check on its own."""
    rng = random.Random(3)
    risk = PreTradeRisk(RiskLimits(max_order_pct=0.2, warn_order_pct=0.1))
    for i in range(60):
        book = _book(rng)
        port = Portfolio(ts=NOW, cash=Decimal("80000"), positions=MappingProxyType(book))
        legs = tuple(
            OrderLeg(leg.instrument, Side.BUY, leg.ratio, PositionEffect.OPEN)
            for leg in _legs(rng, book)
        )
        prices = {leg.symbol: rng.uniform(1, 300) for leg in legs}
        p = _proposal(legs, rng.randint(1, 200))
        inp = PreTradeInputs(
            now=NOW,
            portfolio=port,
            trading_state="ACTIVE",
            market_open=True,
            leg_prices=prices,
            underlying_prices={},
            last_data_at=NOW,
            strategy_positions=MappingProxyType(book) if i % 2 else None,
        )
        decision = risk.check(p, inp)
        alone = [fn(p, inp) for fn in risk._checks(False)]
        assert list(decision.checks) == alone
        assert decision.approved == all(c.passed for c in alone)


def test_recurring_when_asked_twice_then_one_equal_result() -> None:
    a = recurring("pricing", CheckOutcome.PASS, "every leg priced")
    assert a == RiskCheckResult("pricing", CheckOutcome.PASS, None, None, "every leg priced")
    assert recurring("pricing", CheckOutcome.PASS, "every leg priced") is a


def test_recurring_when_equal_numbers_of_other_types_then_kept_apart() -> None:
    as_int = recurring("rate_limit", CheckOutcome.PASS, "0 orders", 0, 100)
    as_float = recurring("rate_limit", CheckOutcome.PASS, "0 orders", 0.0, 100)
    assert type(as_int.value) is int
    assert type(as_float.value) is float
