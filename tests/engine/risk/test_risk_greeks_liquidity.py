"""Dollar greeks, concentration, and liquidity-adjusted VaR of a portfolio."""

from __future__ import annotations

import numpy as np
import pytest

from engine.pricing import black_scholes, bs_price
from engine.risk import (
    RiskPortfolio,
    RiskPosition,
    concentration,
    greeks_shock_loss,
    portfolio_greeks,
    portfolio_lvar,
)
from engine.risk.greeks import GreekTotals
from engine.risk.liquidity import liquidity_cost, lvar_additive
from engine.risk.portfolio_model import PositionKind


def _opt(
    sym: str,
    und: str,
    qty: float,
    spot: float,
    K: float,
    days: float,
    call: bool,
    iv: float,
    **kw: object,
) -> RiskPosition:
    return RiskPosition(
        symbol=sym, underlying=und, quantity=qty, spot=spot, kind=PositionKind.OPTION,
        multiplier=100.0, strike=K, expiry_years=days / 365.0, is_call=call, iv=iv, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _book() -> RiskPortfolio:
    return RiskPortfolio(
        (
            RiskPosition(symbol="AAPL", underlying="AAPL", quantity=100, spot=180.0, sector="technology", strategy="wheel", beta=1.2),
            _opt("AAPL C190", "AAPL", -2, 180.0, 190.0, 20, True, 0.25, sector="technology", strategy="wheel", beta=1.2),
            _opt("XOM P100", "XOM", 5, 105.0, 100.0, 60, False, 0.30, sector="energy", strategy="leaps_tracker", beta=0.8),
            _opt("XOM C110", "XOM", 3, 105.0, 110.0, 400, True, 0.28, sector="energy", strategy="leaps_tracker", beta=0.8),
        ),
        cash=20_000.0,
        rate=0.04,
    )  # fmt: skip


def test_greeks_when_single_option_then_dollar_units_match_bumped_prices() -> None:
    pf = RiskPortfolio((_opt("X C100", "X", 3, 100.0, 100.0, 90, True, 0.3),), rate=0.02)
    g = portfolio_greeks(pf).total
    T = 90 / 365

    def value(S: float = 100.0, sigma: float = 0.3, t: float = T, r: float = 0.02) -> float:
        return 3 * 100 * float(bs_price(S, 100.0, t, r, 0.0, sigma, True))

    # delta$ x 1 % ~ P&L of a 1 % move (spot 100: 1 % = 1.00).
    assert g.delta * 0.01 == pytest.approx(value(100.5) - value(99.5), rel=1e-4)
    # gamma$ ~ change of the share-equivalent delta, valued at spot, over a 1 % move.
    bs_d = black_scholes(np.array([100.5, 99.5]), 100.0, T, 0.02, 0.0, 0.3, True).delta
    assert g.gamma == pytest.approx(3 * 100 * (bs_d[0] - bs_d[1]) * 100.0, rel=1e-3)
    assert g.vega == pytest.approx(value(sigma=0.305) - value(sigma=0.295), rel=1e-4)
    assert g.theta == pytest.approx(value(t=T - 0.5 / 365) - value(t=T + 0.5 / 365), rel=1e-4)
    assert g.rho == pytest.approx(value(r=0.025) - value(r=0.015), rel=1e-4)
    assert g.beta_delta == pytest.approx(g.delta)


def test_greeks_when_grouped_then_underlying_and_strategy_sum_to_total() -> None:
    pg = portfolio_greeks(_book())
    for groups in (pg.by_underlying, pg.by_strategy):
        for f in ("delta", "gamma", "vega", "theta", "rho", "beta_delta"):
            assert sum(getattr(t, f) for t in groups.values()) == pytest.approx(
                getattr(pg.total, f)
            )
    assert set(pg.by_underlying) == {"AAPL", "XOM"}
    assert set(pg.by_strategy) == {"wheel", "leaps_tracker"}
    # Shares carry delta$ = value and no other greek.
    assert pg.per_position["delta"][0] == pytest.approx(18_000.0)
    assert pg.per_position["gamma"][0] == 0.0
    assert pg.per_position["beta_delta"][0] == pytest.approx(1.2 * 18_000.0)


def test_concentration_when_two_names_then_weights_by_net_delta_and_expiry_buckets() -> None:
    pf = _book()
    per = portfolio_greeks(pf).per_position
    c = concentration(pf, per)
    aapl = per["delta"][0] + per["delta"][1]
    xom = per["delta"][2] + per["delta"][3]
    tot = abs(aapl) + abs(xom)
    assert c.by_name.weights["AAPL"] == pytest.approx(abs(aapl) / tot)
    assert c.by_name.herfindahl == pytest.approx((aapl / tot) ** 2 + (xom / tot) ** 2)
    assert c.by_sector.weights["technology"] == pytest.approx(abs(aapl) / tot)
    assert set(c.by_expiry.weights) == {"8-30d", "31-90d", ">365d"}
    assert sum(c.by_expiry.weights.values()) == pytest.approx(1.0)


def test_greeks_shock_loss_when_stock_only_then_three_percent_of_delta() -> None:
    assert greeks_shock_loss(
        GreekTotals(100_000.0, 0.0, 0.0, 0.0, 0.0, 100_000.0)
    ) == pytest.approx(3000.0)
    # Long gamma softens the down move: 1/2 Gamma S^2 (3 %)^2 = 50 x gamma$ x 0.03^2.
    g = GreekTotals(100_000.0, 2_000.0, 0.0, 0.0, 0.0, 0.0)
    assert greeks_shock_loss(g) == pytest.approx(3000.0 - 50 * 2000.0 * 0.0009)
    # Short vega: a +5 vol-point move costs 5 x vega$.
    v = GreekTotals(0.0, 0.0, -1_000.0, 0.0, 0.0, 0.0)
    assert greeks_shock_loss(v) == pytest.approx(5_000.0)


def test_portfolio_lvar_when_defaults_then_half_spread_plus_stock_and_option_slippage() -> None:
    pf = _book()
    adj = portfolio_lvar(pf, 5_000.0)
    v = np.abs(pf.arrays.value)
    expected = v[0] * (0.0005 + 0.0005) + v[1:].sum() * (0.0005 + 0.0010)
    assert adj.cost == pytest.approx(expected)
    assert adj.lvar == pytest.approx(5_000.0 + expected)


def test_lvar_when_position_spread_and_impact_given_then_added() -> None:
    pos = RiskPosition(symbol="ILLQ", underlying="ILLQ", quantity=1000, spot=10.0, spread=0.02)
    adj = portfolio_lvar(RiskPortfolio((pos,)), 100.0)
    assert adj.cost == pytest.approx(10_000.0 * (0.01 + 0.0005))
    # Square-root impact: 1.0 x 2 % daily vol x sqrt($10k / $40k ADV) = 1 %.
    with_impact = lvar_additive(100.0, [10_000.0], 0.0, 0.0, daily_vol=0.02, adv=40_000.0)
    assert with_impact == pytest.approx(100.0 + 10_000.0 * 0.01)
    with pytest.raises(ValueError, match="spreads"):
        liquidity_cost([1.0], -0.1)
