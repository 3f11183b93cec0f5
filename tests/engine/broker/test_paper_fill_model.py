"""Fill-price, size and commission rules of the paper broker, tested on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from engine.broker.fill_model import (
    LegQuote,
    PaperBrokerConfig,
    commission_rate_cost,
    fillable_units,
    leg_quote,
    market_price,
    minimum_top_up,
    quote_price,
)
from engine.domain import Equity, OptionContract, OptionRight, Quote, Side

TS = datetime(2024, 3, 15, 14, 0, tzinfo=UTC)
STOCK = Equity("AAPL")
OPTION = OptionContract("AAPL", datetime(2024, 4, 19).date(), Decimal(170), OptionRight.CALL)


def lq(bid: str, ask: str, bid_size: int | None = None, ask_size: int | None = None) -> LegQuote:
    b, a = Decimal(bid), Decimal(ask)
    return LegQuote("X", TS, b, a, (b + a) / 2, bid_size, ask_size)


def test_market_buy_equity_when_2bps_then_ask_plus_2bps_rounded_to_cent() -> None:
    cfg = PaperBrokerConfig(equity_slippage_bps=Decimal(2))
    # 2 bps of 250.00 is 0.05.
    assert market_price(STOCK, Side.BUY, lq("249.90", "250.00"), cfg) == Decimal("250.05")
    assert market_price(STOCK, Side.SELL, lq("249.90", "250.00"), cfg) == Decimal("249.85")


def test_market_price_when_slippage_zero_then_exactly_the_quote() -> None:
    cfg = PaperBrokerConfig(equity_slippage_bps=Decimal(0))
    assert market_price(STOCK, Side.BUY, lq("99.98", "100.02"), cfg) == Decimal("100.02")
    assert market_price(STOCK, Side.SELL, lq("99.98", "100.02"), cfg) == Decimal("99.98")


def test_market_buy_option_when_tenth_of_half_spread_then_ask_plus_that() -> None:
    cfg = PaperBrokerConfig(option_slippage_spread_fraction=Decimal("0.1"))
    # Half-spread of 2.00/2.20 is 0.10; a tenth of it is 0.01.
    assert market_price(OPTION, Side.BUY, lq("2.00", "2.20"), cfg) == Decimal("2.21")
    assert market_price(OPTION, Side.SELL, lq("2.00", "2.20"), cfg) == Decimal("1.99")


def test_market_sell_when_bid_one_tick_then_never_below_one_tick() -> None:
    cfg = PaperBrokerConfig(option_slippage_spread_fraction=Decimal(2))
    assert market_price(OPTION, Side.SELL, lq("0.01", "0.50"), cfg) == Decimal("0.01")


def test_quote_price_when_off_tick_then_rounded_against_the_trader() -> None:
    q = lq("10.004", "10.016")
    assert quote_price(STOCK, Side.BUY, q) == Decimal("10.02")
    assert quote_price(STOCK, Side.SELL, q) == Decimal("10.00")


def test_quote_price_when_stock_below_one_dollar_then_sub_penny_tick() -> None:
    q = lq("0.5012", "0.5034")
    assert quote_price(STOCK, Side.BUY, q) == Decimal("0.5034")


def test_leg_quote_when_float_prices_then_exact_decimals_and_unknown_sizes_none() -> None:
    q = leg_quote(Quote("AAPL", TS, 170.1, 170.3, 170.2, bid_size=300.0, ask_size=0.0))
    assert (q.bid, q.ask, q.mid) == (Decimal("170.1"), Decimal("170.3"), Decimal("170.2"))
    assert q.bid_size == 300
    assert q.ask_size is None


def test_fillable_units_when_half_of_displayed_size_then_floor() -> None:
    cfg = PaperBrokerConfig(max_fill_fraction=Decimal("0.5"))
    assert fillable_units([(7, 1)], remaining=10, config=cfg) == 3


def test_fillable_units_when_combo_then_thinnest_leg_in_whole_units() -> None:
    cfg = PaperBrokerConfig()
    # Leg 2 has ratio 2 and shows 5: only 2 whole combo units fit.
    assert fillable_units([(10, 1), (5, 2)], remaining=10, config=cfg) == 2


def test_fillable_units_when_size_unpublished_then_remaining() -> None:
    assert fillable_units([(None, 1)], remaining=4, config=PaperBrokerConfig()) == 4


def test_commission_when_options_and_shares_then_per_contract_and_per_share() -> None:
    cfg = PaperBrokerConfig(
        commission_per_contract=Decimal("0.65"), commission_per_share=Decimal("0.005")
    )
    assert commission_rate_cost(OPTION, 3, cfg) == Decimal("1.95")
    assert commission_rate_cost(STOCK, 200, cfg) == Decimal("1.000")


def test_minimum_top_up_when_below_minimum_then_tops_up_once() -> None:
    cfg = PaperBrokerConfig(min_commission=Decimal("1.00"))
    assert minimum_top_up(Decimal(0), Decimal("0.65"), cfg) == Decimal("0.35")
    assert minimum_top_up(Decimal("1.00"), Decimal("0.65"), cfg) == Decimal(0)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("equity_slippage_bps", Decimal(-1), "equity_slippage_bps=-1"),
        ("commission_per_contract", Decimal(101), "commission_per_contract=101"),
        ("max_fill_fraction", Decimal(0), "max_fill_fraction=0"),
        ("max_fill_fraction", Decimal("1.5"), "max_fill_fraction=1.5"),
        ("option_slippage_spread_fraction", Decimal("NaN"), "option_slippage_spread_fraction"),
    ],
)
def test_config_when_out_of_range_then_error_names_field_and_value(
    field: str, value: Decimal, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        PaperBrokerConfig(**{field: value})  # type: ignore[arg-type]


def test_config_when_float_given_then_type_error_says_use_decimal() -> None:
    with pytest.raises(TypeError, match=r"commission_per_share=0\.01 must be a Decimal"):
        PaperBrokerConfig(commission_per_share=0.01)  # type: ignore[arg-type]


def test_config_when_quote_age_not_positive_then_error() -> None:
    with pytest.raises(ValueError, match="max_quote_age"):
        PaperBrokerConfig(max_quote_age=timedelta(0))
