"""Account and positions through the real alpaca-py TradingClient against the fake server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca_fake import SECRET, FakeAlpaca, position_payload

from engine.broker.alpaca import AlpacaBroker, AlpacaError, AlpacaSettings, FailureKind
from engine.domain import Equity, OptionContract
from engine.secrets import AlpacaCredentials, Secret

D = Decimal


async def test_account_when_fetched_then_cash_like_buying_power_and_paper_flag(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    acct = await broker.account()
    assert acct.account_id == "PA3XYZ9876"
    assert acct.cash == D("100000")
    # Margin buying power (2x) is not what a cash-account ledger may spend.
    assert acct.buying_power == D("100000")
    assert acct.equity == D("123346.11")
    assert acct.is_paper is True
    assert fake.count("GET", "/v2/account") == 1


async def test_positions_when_equity_and_short_option_then_signed_decimal_positions(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.positions = [
        position_payload("AAPL", "5", "100.0", "120.0", "us_equity"),
        position_payload("AAPL250117P00150000", "-2", "1.25", "0.80", "us_option"),
    ]
    positions = {p.symbol: p for p in await broker.positions()}
    stock = positions["AAPL"]
    assert stock.instrument == Equity("AAPL")
    assert (stock.quantity, stock.avg_price, stock.mark) == (5, D("100.0"), 120.0)
    put = positions["AAPL250117P00150000"]
    assert isinstance(put.instrument, OptionContract)
    assert put.instrument.strike == D("150")
    assert put.quantity == -2
    assert put.avg_price == D("1.25")


async def test_positions_when_fractional_shares_then_skipped_not_truncated(
    broker: AlpacaBroker, fake: FakeAlpaca
) -> None:
    fake.positions = [
        position_payload("MSFT", "0.5", "400", "410", "us_equity"),
        position_payload("SPY", "3", "500", "510", "us_equity"),
    ]
    assert [p.symbol for p in await broker.positions()] == ["SPY"]


async def test_account_when_keys_wrong_then_auth_error_without_secret_in_message(
    fake: FakeAlpaca,
) -> None:
    wrong = AlpacaCredentials(Secret("PKWRONGKEY000000"), Secret(SECRET + "-old"), "test")
    b = AlpacaBroker(wrong, AlpacaSettings(trading_url=fake.url, use_stream=False))
    try:
        with pytest.raises(AlpacaError) as info:
            await b.account()
    finally:
        await b.close()
    assert info.value.kind is FailureKind.AUTH
    assert "401" in str(info.value)
    assert SECRET not in str(info.value)
