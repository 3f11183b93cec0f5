"""Urgent exits (stop, time, expiry, end of day, next day, event) are priced at the natural
price so they trade on arrival; exits that can wait keep the strategy's mid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from strat_fixtures import context, et, market, option_quote, spot_quote

from engine.data.memory import InMemoryMarketData
from engine.domain import (
    Equity,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.exit_pricing import hold_unsellable_exits, price_urgent_exits

SYM = "MSFT"
NOW = et(date(2025, 3, 12), 15, 30)
EXPIRY = date(2025, 3, 21)
CALL = OptionContract(SYM, EXPIRY, Decimal(400), OptionRight.CALL)
SHORT_PUT = OptionContract(SYM, EXPIRY, Decimal(380), OptionRight.PUT)
LONG_PUT = OptionContract(SYM, EXPIRY, Decimal(370), OptionRight.PUT)


def _data(put_370_bid: float = 0.80, call_bid: float = 2.10) -> InMemoryMarketData:
    _, data = market(NOW)
    rows = (
        option_quote(SYM, EXPIRY, 400, OptionRight.CALL, NOW, call_bid, 2.50),
        option_quote(SYM, EXPIRY, 380, OptionRight.PUT, NOW, 1.50, 1.70),
        option_quote(SYM, EXPIRY, 370, OptionRight.PUT, NOW, put_370_bid, 0.95),
    )
    data.set_chain(OptionChain(SYM, NOW, 395.0, rows))
    data.set_quote(spot_quote(SYM, NOW, 395.0, half_spread=0.02))
    return data


def _close(
    legs: tuple[OrderLeg, ...],
    limit: str,
    why: ExitReason,
    order_type: OrderType = OrderType.LIMIT,
) -> TradeProposal:
    return TradeProposal(
        proposal_id=f"p-{why}",
        strategy="test",
        created_at=NOW,
        intent=ProposalIntent.CLOSE,
        legs=legs,
        quantity=2,
        reason=f"{why} exit",
        order_type=order_type,
        limit_price=Decimal(limit) if order_type is OrderType.LIMIT else None,
        exit_reason=why,
    )


def _sell(c: OptionContract | Equity) -> OrderLeg:
    return OrderLeg(c, Side.SELL, 1, PositionEffect.CLOSE)


def _buy(c: OptionContract | Equity) -> OrderLeg:
    return OrderLeg(c, Side.BUY, 1, PositionEffect.CLOSE)


@pytest.mark.parametrize(
    "why",
    [
        ExitReason.STOP,
        ExitReason.TIME,
        ExitReason.EXPIRY,
        ExitReason.END_OF_DAY,
        ExitReason.NEXT_DAY,
        ExitReason.EVENT,
    ],
)
async def test_urgent_exit_of_long_option_when_priced_at_mid_then_sells_at_the_bid(
    why: ExitReason,
) -> None:
    (p,) = await price_urgent_exits(context(NOW, _data()), [_close((_sell(CALL),), "2.30", why)])
    assert p.limit_price == Decimal("2.10")
    assert "natural price" in p.reason
    assert "mid 2.30" in p.reason
    assert p.proposal_id == f"p-{why}"  # the same proposal, only its price moved


@pytest.mark.parametrize(
    "why", [ExitReason.TAKE_PROFIT, ExitReason.SCALE_OUT, ExitReason.DELTA, ExitReason.SIGNAL]
)
async def test_exit_that_can_wait_when_priced_at_mid_then_unchanged(why: ExitReason) -> None:
    mine = _close((_sell(CALL),), "2.30", why)
    (p,) = await price_urgent_exits(context(NOW, _data()), [mine])
    assert p is mine


async def test_urgent_buy_to_close_of_short_option_when_stopped_then_pays_the_ask() -> None:
    (p,) = await price_urgent_exits(
        context(NOW, _data()), [_close((_buy(SHORT_PUT),), "1.60", ExitReason.STOP)]
    )
    assert p.limit_price == Decimal("1.70")


async def test_urgent_credit_spread_close_when_stopped_then_net_of_ask_and_bid() -> None:
    # Buy back the short 380 put at its ask 1.70, sell the long 370 at its bid 0.80.
    legs = (_buy(SHORT_PUT), _sell(LONG_PUT))
    (p,) = await price_urgent_exits(context(NOW, _data()), [_close(legs, "0.72", ExitReason.STOP)])
    assert p.limit_price == Decimal("0.90")


async def test_urgent_combo_when_a_sold_leg_has_no_bid_then_left_at_its_mid() -> None:
    legs = (_buy(SHORT_PUT), _sell(LONG_PUT))
    mine = _close(legs, "1.12", ExitReason.TIME)
    (p,) = await price_urgent_exits(context(NOW, _data(put_370_bid=0.0)), [mine])
    assert p is mine


async def test_urgent_share_exit_when_stopped_then_sells_at_the_share_bid() -> None:
    stock = Equity(SYM)
    (p,) = await price_urgent_exits(
        context(NOW, _data()), [_close((_sell(stock),), "395.00", ExitReason.STOP)]
    )
    assert p.limit_price == Decimal("394.98")


async def test_opening_trade_and_market_exit_when_priced_then_unchanged() -> None:
    opening = TradeProposal(
        proposal_id="p-open",
        strategy="test",
        created_at=NOW,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(CALL, Side.BUY),),
        quantity=1,
        reason="entry",
        limit_price=Decimal("2.30"),
    )
    market_exit = _close((_sell(CALL),), "0", ExitReason.STOP, order_type=OrderType.MARKET)
    out = await price_urgent_exits(context(NOW, _data()), [opening, market_exit])
    assert out == (opening, market_exit)


async def test_urgent_exit_when_quote_missing_then_unchanged() -> None:
    _, empty = market(NOW)
    mine = _close((_sell(CALL),), "2.30", ExitReason.STOP)
    (p,) = await price_urgent_exits(context(NOW, empty), [mine])
    assert p is mine


@pytest.mark.parametrize("why", [ExitReason.STOP, ExitReason.TAKE_PROFIT, ExitReason.EXPIRY])
async def test_close_selling_an_option_nobody_bids_for_then_held_back(why: ExitReason) -> None:
    mine = _close((_sell(CALL),), "0.01", why)
    kept, held = await hold_unsellable_exits(context(NOW, _data(call_bid=0.0)), [mine])
    assert kept == ()
    assert held == ((mine, CALL),)


async def test_combo_close_whose_sold_leg_has_no_bid_then_held_back() -> None:
    # The bought-back short put has an ask; the long put to sell has no bid.
    mine = _close((_buy(SHORT_PUT), _sell(LONG_PUT)), "1.12", ExitReason.STOP)
    kept, held = await hold_unsellable_exits(context(NOW, _data(put_370_bid=0.0)), [mine])
    assert kept == ()
    assert held == ((mine, LONG_PUT),)


async def test_closes_that_can_trade_and_entries_then_kept_in_order() -> None:
    opening = TradeProposal(
        proposal_id="p-open",
        strategy="test",
        created_at=NOW,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(CALL, Side.SELL),),  # an opening sale is judged by risk, not here
        quantity=1,
        reason="entry",
        limit_price=Decimal("2.30"),
    )
    bid_put = _close((_sell(LONG_PUT),), "0.85", ExitReason.STOP)
    buy_back = _close((_buy(SHORT_PUT),), "1.60", ExitReason.STOP)
    # The call has no bid, but only closes are held back, and only for what they sell.
    data = _data(call_bid=0.0)
    kept, held = await hold_unsellable_exits(context(NOW, data), [opening, bid_put, buy_back])
    assert kept == (opening, bid_put, buy_back)
    assert held == ()


async def test_close_when_quote_missing_then_kept_for_risk_to_judge() -> None:
    _, empty = market(NOW)
    mine = _close((_sell(CALL),), "0.01", ExitReason.STOP)
    kept, held = await hold_unsellable_exits(context(NOW, empty), [mine])
    assert kept == (mine,)
    assert held == ()
