"""Expiry through the broker: exercise, assignment, worthless expiry, cash settlement."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from paper_desk import AAPL, CLOSE_TS, EXPIRY, Desk, call, make_desk, order, put, take

from engine.broker import PaperBrokerConfig
from engine.domain import Fill, OrderStatus, Side, TimeInForce

D = Decimal
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)
AFTER_CLOSE = CLOSE_TS + timedelta(minutes=1)


def desk_no_fees(cash: str = "100000") -> Desk:
    return make_desk(cash=cash, config=NO_FEES)


async def settle(desk: Desk, symbol: str, close: float) -> None:
    desk.daily_close(symbol, EXPIRY, close)
    await desk.advance(AFTER_CLOSE)


def quantities(positions: object) -> dict[str, int]:
    return {p.symbol: p.quantity for p in positions}  # type: ignore[attr-defined]


async def test_expiry_when_long_call_itm_then_exercised_into_shares_at_strike() -> None:
    desk = desk_no_fees()
    c = call("170")
    desk.option(c, 4.90, 5.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((c, Side.BUY), qty=1))
    cash_before = desk.broker.cash
    await settle(desk, "AAPL", 175.0)
    _, option_fill, share_fill = await take(stream, 3)
    assert (option_fill.symbol, option_fill.side, option_fill.price) == (c.symbol, Side.SELL, D(0))
    assert (share_fill.symbol, share_fill.side, share_fill.quantity, share_fill.price) == (
        "AAPL",
        Side.BUY,
        100,
        D(170),
    )
    assert share_fill.strategy == "test"  # attributed to the strategy that held the option
    (pos,) = await desk.broker.positions()
    assert (pos.symbol, pos.quantity, pos.avg_price) == ("AAPL", 100, D(170))
    assert desk.broker.cash == cash_before - D(17_000)
    settlement = await desk.broker.order(option_fill.client_order_id)
    assert settlement is not None
    assert settlement.status is OrderStatus.FILLED


async def test_expiry_when_short_put_itm_then_assigned_and_collateral_released() -> None:
    desk = desk_no_fees()
    p = put("150")
    desk.option(p, 2.00, 2.10)
    await desk.broker.submit(order((p, Side.SELL), qty=2))
    assert (await desk.broker.account()).reserved_collateral == D(30_000)
    await settle(desk, "AAPL", 140.0)
    assert quantities(await desk.broker.positions()) == {"AAPL": 200}
    account = await desk.broker.account()
    assert account.cash == D(100_000) + D(400) - D(30_000)
    assert account.reserved_collateral == 0


async def test_expiry_when_covered_call_itm_then_shares_called_away_at_strike() -> None:
    desk = desk_no_fees()
    desk.quote("AAPL", 170.0, 170.0)
    c = call("175")
    desk.option(c, 1.00, 1.10)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=100))
    await desk.broker.submit(order((c, Side.SELL), qty=1))
    await settle(desk, "AAPL", 180.0)
    assert await desk.broker.positions() == []
    # Bought at 170, sold at 175 through assignment, kept the 1.00 premium.
    assert desk.broker.cash == D(100_000) + D(500) + D(100)


async def test_expiry_when_otm_then_expires_worthless_at_zero_and_cash_unchanged() -> None:
    desk = desk_no_fees()
    long_c, short_p = call("200"), put("150")
    desk.option(long_c, 0.10, 0.20)
    desk.option(short_p, 1.00, 1.10)
    stream = desk.broker.fills()
    await desk.broker.submit(order((long_c, Side.BUY), qty=3))
    await desk.broker.submit(order((short_p, Side.SELL), qty=1))
    cash_before = desk.broker.cash
    await settle(desk, "AAPL", 170.0)
    fills = await take(stream, 4)
    expiry_fills = fills[2:]
    assert {(f.symbol, f.price, f.liquidity) for f in expiry_fills} == {
        (long_c.symbol, D(0), "expiry"),
        (short_p.symbol, D(0), "expiry"),
    }
    assert await desk.broker.positions() == []
    assert desk.broker.cash == cash_before
    assert (await desk.broker.account()).reserved_collateral == 0


async def test_expiry_when_spx_call_itm_then_cash_settled_without_shares() -> None:
    desk = desk_no_fees()
    spx = call("5000", underlying="SPX")
    desk.spots["SPX"] = 5010.0
    desk.option(spx, 10.00, 11.00)
    await desk.broker.submit(order((spx, Side.BUY), qty=2))
    cash_before = desk.broker.cash
    await settle(desk, "SPX", 5012.5)
    assert await desk.broker.positions() == []
    assert desk.broker.cash == cash_before + D(2_500)  # 12.50 intrinsic x 100 x 2


async def test_expiry_when_put_spread_fully_itm_then_loss_is_width_and_no_shares_left() -> None:
    desk = desk_no_fees()
    short_p, long_p = put("150"), put("145")
    desk.option(short_p, 2.50, 2.60)
    desk.option(long_p, 1.20, 1.30)
    await desk.broker.submit(order((short_p, Side.SELL), (long_p, Side.BUY), qty=1, limit="-1.00"))
    await settle(desk, "AAPL", 140.0)
    assert await desk.broker.positions() == []
    assert desk.broker.cash == D(100_000) + D(120) - D(500)


async def test_expiry_when_no_close_yet_then_deferred_until_the_bar_arrives() -> None:
    desk = desk_no_fees()
    p = put("150")
    desk.option(p, 2.00, 2.10)
    await desk.broker.submit(order((p, Side.SELL), qty=1))
    await desk.advance(AFTER_CLOSE)
    assert quantities(await desk.broker.positions()) == {p.symbol: -1}
    desk.daily_close("AAPL", EXPIRY, 140.0)
    await desk.advance(AFTER_CLOSE + timedelta(minutes=5))
    assert quantities(await desk.broker.positions()) == {"AAPL": 100}


async def test_expiry_when_expiry_date_is_a_holiday_then_settles_at_previous_session_close() -> (
    None
):
    good_friday = date(2024, 3, 29)
    thursday_open = datetime(2024, 3, 28, 14, 0, tzinfo=UTC)
    desk = make_desk(config=NO_FEES, start=thursday_open)
    c = call("170", expiry=good_friday)
    desk.option(c, 4.90, 5.00)
    await desk.broker.submit(order((c, Side.BUY), qty=1))
    desk.daily_close("AAPL", date(2024, 3, 28), 160.0)
    await desk.advance(datetime(2024, 3, 28, 20, 1, tzinfo=UTC))
    assert await desk.broker.positions() == []


async def test_expiry_when_gtc_order_on_expiring_contract_then_order_expires() -> None:
    desk = desk_no_fees()
    c = call("170")
    desk.option(c, 4.90, 5.00)
    req = order((c, Side.BUY), qty=1, limit="1.00", tif=TimeInForce.GTC)
    await desk.broker.submit(req)
    await desk.advance(AFTER_CLOSE)
    expired = await desk.broker.order(req.client_order_id)
    assert expired is not None
    assert expired.status is OrderStatus.EXPIRED
    assert "expired at the close of 2024-03-15" in (expired.reject_reason or "")


async def test_expiry_when_replayed_on_same_market_then_same_settlement_fills() -> None:
    async def run() -> list[Fill]:
        desk = desk_no_fees()
        p = put("150")
        desk.option(p, 2.00, 2.10)
        stream = desk.broker.fills()
        await desk.broker.submit(order((p, Side.SELL), qty=1))
        await settle(desk, "AAPL", 140.0)
        await desk.advance(AFTER_CLOSE + timedelta(minutes=1))  # a second pass settles nothing
        fills = await take(stream, 3)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.__anext__(), timeout=0.05)
        return fills

    first, second = await run(), await run()
    assert first == second
    assert first[1].fill_id.startswith("expiry-20240315-")


async def test_expiry_when_two_strategies_hold_one_contract_then_each_settles_its_share() -> None:
    desk = desk_no_fees()
    c = call("170")
    desk.option(c, 4.90, 5.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((c, Side.BUY), qty=2, strategy="alpha"))
    await desk.broker.submit(order((c, Side.BUY), qty=3, strategy="beta"))
    await take(stream, 2)
    await settle(desk, "AAPL", 175.0)
    # Bounded: a broker settling the line once would publish only two fills.
    fills = await asyncio.wait_for(take(stream, 4), timeout=10)
    shares = {f.strategy: f.quantity for f in fills if f.symbol == "AAPL"}
    options = {f.strategy: f.quantity for f in fills if f.symbol == c.symbol}
    assert shares == {"alpha": 200, "beta": 300}
    assert options == {"alpha": 2, "beta": 3}
    assert len({f.client_order_id for f in fills}) == 2  # one settlement per holder


async def test_expiry_when_last_trader_is_flat_then_the_holder_gets_the_settlement() -> None:
    # The broker once settled a contract with whichever strategy traded it last: here "beta",
    # which is flat, while "alpha" holds all five.
    desk = desk_no_fees()
    c = call("170")
    desk.option(c, 4.90, 5.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((c, Side.BUY), qty=5, strategy="alpha"))
    await desk.broker.submit(order((c, Side.BUY), qty=1, strategy="beta", key="b-in"))
    await desk.broker.submit(order((c, Side.SELL), qty=1, strategy="beta", key="b-out"))
    await take(stream, 3)
    await settle(desk, "AAPL", 175.0)
    option_fill, share_fill = await take(stream, 2)
    assert (option_fill.strategy, option_fill.quantity) == ("alpha", 5)
    assert (share_fill.strategy, share_fill.quantity) == ("alpha", 500)
    assert "beta" not in option_fill.client_order_id  # a single holder keeps the plain id


async def test_expiry_when_strategies_hold_opposite_sides_then_crossed_part_settles_at_intrinsic() -> (
    None
):
    # "alpha" long 10 calls, "beta" short 4 of the same: the account holds +6. Once the net
    # alone was settled (to alpha), leaving alpha +4 and beta -4 of an expired contract.
    desk = desk_no_fees(cash="500000")  # enough to exercise the six left
    c = call("170")
    desk.option(c, 4.90, 5.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((c, Side.BUY), qty=10, strategy="alpha"))
    await desk.broker.submit(order((c, Side.SELL), qty=4, strategy="beta"))
    await take(stream, 2)
    await settle(desk, "AAPL", 175.5)
    fills = await asyncio.wait_for(take(stream, 4), timeout=10)
    books: dict[tuple[str | None, str], int] = {}
    cash: dict[str | None, Decimal] = {}
    for f in fills:
        key = (f.strategy, f.symbol)
        books[key] = books.get(key, 0) + f.side.sign * f.quantity
        cash[f.strategy] = cash.get(f.strategy, D(0)) + f.cash_delta
    assert books == {("alpha", c.symbol): -10, ("beta", c.symbol): 4, ("alpha", "AAPL"): 600}
    crossed = [f for f in fills if "crossed" in f.client_order_id]
    assert sorted((f.strategy, f.quantity, f.price) for f in crossed) == [
        ("alpha", 4, D("5.5")),
        ("beta", 4, D("5.5")),
    ]
    assert cash["beta"] == D(-2200)  # bought back at intrinsic: 4 x 5.50 x 100
    assert quantities(await desk.broker.positions()) == {"AAPL": 600}


async def test_expiry_when_opposite_sides_net_to_zero_then_both_books_still_closed() -> None:
    desk = desk_no_fees()
    c = call("170")
    desk.option(c, 4.90, 5.00)
    stream = desk.broker.fills()
    await desk.broker.submit(order((c, Side.BUY), qty=3, strategy="alpha"))
    await desk.broker.submit(order((c, Side.SELL), qty=3, strategy="beta"))
    await take(stream, 2)
    assert quantities(await desk.broker.positions()) == {}  # flat at the account
    await settle(desk, "AAPL", 160.0)  # out of the money: worth nothing
    fills = await asyncio.wait_for(take(stream, 2), timeout=10)
    assert sorted((f.strategy, f.side, f.quantity, f.price) for f in fills) == [
        ("alpha", Side.SELL, 3, D(0)),
        ("beta", Side.BUY, 3, D(0)),
    ]


async def test_submit_when_buying_power_negative_then_a_closing_sale_is_still_admitted() -> None:
    desk = desk_no_fees(cash="1000")
    c = call("170")
    desk.option(c, 4.90, 5.00)
    await desk.broker.submit(order((c, Side.BUY), qty=2, limit="5.00"))
    desk.broker._cash = D(-5000)  # e.g. an assignment elsewhere took the cash below zero
    out = await desk.broker.submit(order((c, Side.SELL), qty=2, limit="4.90", key="close"))
    assert out.status is OrderStatus.FILLED, out.reject_reason
