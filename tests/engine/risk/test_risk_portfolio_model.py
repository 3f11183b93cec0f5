"""RiskPosition validation and building from the domain Portfolio."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from engine.domain import Equity, OptionContract, OptionRight, Portfolio, Position
from engine.pricing import bs_price
from engine.risk import MissingRiskInput, RiskPortfolio, RiskPosition, from_domain
from engine.risk.portfolio_model import AssetClass, PositionKind, asset_class_of


def _domain() -> Portfolio:
    opt = OptionContract("AAPL", date(2024, 3, 15), Decimal("190"), OptionRight.CALL)
    positions = {
        "AAPL": Position(Equity("AAPL"), 100, Decimal("170"), mark=180.0),
        opt.symbol: Position(opt, -2, Decimal("3.10"), mark=2.5),
        "SPY": Position(Equity("SPY"), 0, Decimal(0)),
    }
    return Portfolio(
        datetime(2024, 2, 14, 15, tzinfo=UTC), Decimal("25000"), MappingProxyType(positions)
    )


def test_from_domain_when_marks_and_ivs_given_then_positions_built() -> None:
    pf = from_domain(
        _domain(),
        {"AAPL": 180.0},
        today=date(2024, 2, 14),
        ivs={"AAPL240315C00190000": 0.28},
        rate=0.05,
        strategies={"AAPL240315C00190000": "wheel"},
        sectors={"AAPL": "technology"},
        betas={"AAPL": 1.2},
    )
    assert len(pf.positions) == 2  # the flat SPY line is skipped
    stock, call = pf.positions
    assert stock.kind is PositionKind.EQUITY
    assert stock.quantity == 100
    assert call.kind is PositionKind.OPTION
    assert (call.strike, call.multiplier, call.is_call, call.quantity) == (190.0, 100.0, True, -2.0)
    assert call.expiry_years == pytest.approx(30 / 365)
    assert (call.strategy, call.sector, call.beta) == ("wheel", "technology", 1.2)
    assert (pf.cash, pf.rate) == (25_000.0, 0.05)
    model = float(bs_price(180.0, 190.0, 30 / 365, 0.05, 0.0, 0.28, True))
    assert pf.arrays.price[1] == pytest.approx(model)
    assert pf.value == pytest.approx(25_000.0 + 18_000.0 - 200.0 * model)


def test_from_domain_when_option_iv_missing_then_fails_closed() -> None:
    with pytest.raises(MissingRiskInput, match="implied vol for AAPL240315C00190000"):
        from_domain(_domain(), {"AAPL": 180.0}, today=date(2024, 2, 14))


def test_from_domain_when_spot_missing_then_fails_closed() -> None:
    with pytest.raises(MissingRiskInput, match="no valid spot for AAPL"):
        from_domain(_domain(), {"AAPL": math.nan}, today=date(2024, 2, 14), ivs={})


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("spot", 0.0, "spot"),
        ("spot", math.nan, "spot"),
        ("iv", 0.0, "iv"),
        ("strike", -1.0, "strike"),
        ("expiry_years", -0.1, "expiry_years"),
        ("quantity", math.inf, "quantity"),
    ],
)
def test_risk_position_when_bad_field_then_error_names_it(
    field: str, value: float, match: str
) -> None:
    kw: dict[str, object] = dict(
        symbol="X C1", underlying="X", quantity=1.0, spot=10.0, kind=PositionKind.OPTION,
        multiplier=100.0, strike=10.0, expiry_years=0.1, iv=0.3,
    )  # fmt: skip
    kw[field] = value
    with pytest.raises(ValueError, match=match):
        RiskPosition(**kw)  # type: ignore[arg-type]


def test_portfolio_when_two_spots_for_one_underlying_then_error() -> None:
    a = RiskPosition(symbol="A", underlying="A", quantity=1, spot=10.0)
    b = RiskPosition(symbol="A2", underlying="A", quantity=1, spot=10.5)
    with pytest.raises(ValueError, match="disagree on spot"):
        RiskPortfolio((a, b))


def test_asset_class_when_symbols_then_spec_mapping_crypto_before_fx() -> None:
    assert asset_class_of("BTCUSD") is AssetClass.CRYPTO
    assert asset_class_of("EURUSD") is AssetClass.FOREX
    assert asset_class_of("GLD") is AssetClass.COMMODITY
    assert asset_class_of("TLT") is AssetClass.BOND
    assert asset_class_of("AAPL") is AssetClass.EQUITY
