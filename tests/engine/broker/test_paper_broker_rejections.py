"""Paper broker admission: collateral, buying power, and every rejection with its reason."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from paper_desk import AAPL, OPEN_TS, SPX, call, make_desk, order, put

from engine.broker import PaperBroker, PaperBrokerConfig
from engine.data.memory import InMemoryMarketData
from engine.domain import BadMarketData, OrderStatus, Quote, Side
from engine.runtime.clock import SimulatedClock

D = Decimal
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


def reason(o: object) -> str:
    text = getattr(o, "reject_reason", None)
    assert isinstance(text, str), f"expected a reject reason on {o!r}"
    return text


async def test_short_put_when_cash_enough_then_reserves_strike_times_100() -> None:
    desk = make_desk(config=NO_FEES)
    p = put("150")
    desk.option(p, 2.00, 2.10)
    sold = await desk.broker.submit(order((p, Side.SELL), qty=1))
    assert sold.status is OrderStatus.FILLED
    account = await desk.broker.account()
    assert account.cash == D(100_200)
    assert account.reserved_collateral == D(15_000)
    assert account.buying_power == D(100_200) - D(15_000)


async def test_second_short_put_when_beyond_cash_then_rejected_with_needed_and_available() -> None:
    desk = make_desk(cash="20000", config=NO_FEES)
    p = put("150")
    desk.option(p, 2.00, 2.10)
    first = await desk.broker.submit(order((p, Side.SELL), qty=1, key="first"))
    assert first.status is OrderStatus.FILLED
    second = await desk.broker.submit(order((p, Side.SELL), qty=1, key="second"))
    assert second.status is OrderStatus.REJECTED
    # Needs 15,000 collateral less the 200 credit; 20,200 - 15,000 is free.
    assert reason(second) == (
        "insufficient buying power: needs $14,800.00 (collateral $15,000.00, less credit "
        "$200.00, commission $0.00), available $5,200.00"
    )
    assert (await desk.broker.account()).reserved_collateral == D(15_000)


async def test_equity_buy_when_cash_short_then_rejected_naming_debit_and_available() -> None:
    desk = make_desk(cash="1000", config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.00)
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=11))
    assert result.status is OrderStatus.REJECTED
    assert reason(result) == (
        "insufficient buying power: needs $1,100.00 (debit $1,100.00, commission $0.00), "
        "available $1,000.00"
    )
    assert desk.broker.cash == D(1_000)


async def test_covered_call_when_shares_held_then_accepted_and_reserves_nothing() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 170.00, 170.00)
    c = call("180")
    desk.option(c, 1.00, 1.10)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=100))
    sold = await desk.broker.submit(order((c, Side.SELL), qty=1))
    assert sold.status is OrderStatus.FILLED
    assert (await desk.broker.account()).reserved_collateral == 0
    # The shares now cover the call: selling them would leave it naked.
    dump = await desk.broker.submit(order((AAPL, Side.SELL), qty=100, key="dump"))
    assert dump.status is OrderStatus.REJECTED
    assert "naked" in reason(dump)


async def test_short_call_when_no_shares_then_rejected_as_naked() -> None:
    desk = make_desk()
    c = call("180")
    desk.option(c, 1.00, 1.10)
    result = await desk.broker.submit(order((c, Side.SELL), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert "would be naked" in reason(result)
    assert await desk.broker.positions() == []


async def test_sell_shares_when_not_held_then_rejected_no_short_stock() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    result = await desk.broker.submit(order((AAPL, Side.SELL), qty=5))
    assert result.status is OrderStatus.REJECTED
    assert reason(result) == (
        "cannot sell 5 AAPL: holding 0; a cash account cannot sell shares it does not hold"
    )


async def test_sell_shares_when_part_committed_to_resting_sell_then_rejected_naming_both() -> None:
    desk = make_desk()
    desk.quote("AAPL", 100.00, 100.02)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10))
    await desk.broker.submit(order((AAPL, Side.SELL), qty=6, limit="120", key="resting"))
    result = await desk.broker.submit(order((AAPL, Side.SELL), qty=5, key="more"))
    assert reason(result) == (
        "cannot sell 5 AAPL: holding 10, 6 already committed to open orders; a cash account "
        "cannot sell shares it does not hold"
    )


async def test_market_order_when_market_closed_then_rejected_naming_next_open() -> None:
    desk = make_desk(start=OPEN_TS.replace(hour=21))
    desk.quote("AAPL", 100.00, 100.02)
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert reason(result).startswith(
        "market closed at 2024-03-15 21:00 UTC (next open 2024-03-18 13:30 UTC)"
    )


async def test_order_when_symbol_unknown_then_rejected_no_quote() -> None:
    desk = make_desk()
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert reason(result).startswith("no quote for AAPL")


async def test_order_when_quote_stale_then_rejected_with_its_age() -> None:
    desk = make_desk(config=PaperBrokerConfig(max_quote_age=timedelta(minutes=5)))
    desk.quote("AAPL", 100.00, 100.02, ts=OPEN_TS - timedelta(minutes=20))
    result = await desk.broker.submit(order((AAPL, Side.BUY), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert reason(result).startswith("stale quote for AAPL: last at 2024-03-15 13:40:00 UTC")


async def test_order_when_index_symbol_then_rejected_trade_its_options() -> None:
    desk = make_desk()
    desk.quote("SPX", 5000.0, 5000.0)
    result = await desk.broker.submit(order((SPX, Side.BUY), qty=1))
    assert reason(result) == "SPX is an index and cannot be traded; trade its options"


async def test_option_order_when_contract_expired_then_rejected() -> None:
    desk = make_desk(start=OPEN_TS.replace(day=18))
    old = put("150", expiry=date(2024, 3, 15))
    desk.option(old, 0.01, 0.05)
    result = await desk.broker.submit(order((old, Side.BUY), qty=1))
    assert reason(result) == "AAPL 240315P150 has expired (last trading session 2024-03-15)"


async def test_market_sell_option_when_no_bid_then_rejected() -> None:
    desk = make_desk()
    c = call("300")
    desk.quote("AAPL", 170.0, 170.0)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=100))
    desk.option(c, 0.00, 0.05)
    result = await desk.broker.submit(order((c, Side.SELL), qty=1))
    assert reason(result) == f"no bid for {c.symbol}: a market sell cannot fill"


async def test_second_resting_buy_when_first_holds_the_cash_then_rejected() -> None:
    desk = make_desk(cash="10000", config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.10)
    first = await desk.broker.submit(order((AAPL, Side.BUY), qty=90, limit="95.00", key="a"))
    assert first.status is OrderStatus.NEW
    second = await desk.broker.submit(order((AAPL, Side.BUY), qty=20, limit="95.00", key="b"))
    assert second.status is OrderStatus.REJECTED
    assert reason(second).endswith("available $1,450.00")
    account = await desk.broker.account()
    assert (account.reserved_collateral, account.buying_power) == (D(8_550), D(1_450))


class _BrokenFeed(InMemoryMarketData):
    """A source that delivers a crossed quote for one symbol, as a faulty feed would."""

    def __init__(self, *args: object, bad: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._bad = bad

    async def latest_quote(self, symbol: str) -> Quote:
        if symbol == self._bad:
            raise BadMarketData(f"quote {symbol}: crossed quote bid 101.0 > ask 100.0")
        return await super().latest_quote(symbol)


async def test_order_when_feed_delivers_bad_quote_then_rejected_and_nothing_traded() -> None:
    clock = SimulatedClock(OPEN_TS)
    market = _BrokenFeed(clock, bad="AAPL")
    broker = PaperBroker(market, clock, config=NO_FEES)
    result = await broker.submit(order((AAPL, Side.BUY), qty=1))
    assert result.status is OrderStatus.REJECTED
    assert reason(result).startswith("bad quote for AAPL: quote AAPL: crossed")
    assert broker.cash == D(100_000)


async def test_account_equity_when_positions_then_cash_plus_marks_at_mid() -> None:
    desk = make_desk(config=NO_FEES)
    desk.quote("AAPL", 100.00, 100.20)
    c = call("110")
    desk.option(c, 1.00, 1.20)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10))
    await desk.broker.submit(order((c, Side.BUY), qty=2))
    desk.clock.jump_to(OPEN_TS + timedelta(minutes=1))
    desk.quote("AAPL", 104.00, 104.20)
    desk.option(c, 2.00, 2.40)
    account = await desk.broker.account()
    cash = D(100_000) - D(1_002) - D(240)
    assert account.cash == cash
    assert account.equity == cash + D("1041.00") + D(440)
    marks = {p.symbol: p.mark for p in await desk.broker.positions()}
    assert marks == {"AAPL": 104.10, c.symbol: 2.20}
