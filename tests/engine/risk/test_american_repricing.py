"""Risk re-prices single-name options as American and cash-settled index options as
European: scenario P&L, stress, Monte Carlo, greeks, the live conversion and marginal VaR."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pytest

from engine.domain import OptionContract, OptionRight, Portfolio, Position
from engine.pricing import american_price, black_scholes, bs_price
from engine.risk.greeks import position_dollar_greeks
from engine.risk.marginal import MarginalVaR, ScenarioHistory
from engine.risk.montecarlo import monte_carlo_var
from engine.risk.portfolio_model import PositionKind, RiskPortfolio, RiskPosition, from_domain
from engine.risk.repricing import TRADING_DAYS_PER_YEAR, scenario_pnl
from engine.risk.stress import run_stress

RATE = 0.05
DAY = 1.0 / TRADING_DAYS_PER_YEAR


def _put(
    underlying: str, qty: float, spot: float, strike: float, years: float, iv: float, **kw: object
) -> RiskPosition:
    return RiskPosition(
        symbol=f"{underlying} P{strike:g}", underlying=underlying, quantity=qty, spot=spot,
        kind=PositionKind.OPTION, multiplier=100.0, strike=strike, expiry_years=years,
        is_call=False, iv=iv, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _am(S: float | np.ndarray, K: float, T: float, iv: float) -> np.ndarray:
    return np.asarray(american_price(S, K, T, RATE, 0.0, iv, False))


def test_exercise_style_when_defaulted_then_single_names_american_indexes_european() -> None:
    assert _put("AAPL", 1, 100.0, 120.0, 1.0, 0.3).american is True
    assert _put("SPY", 1, 100.0, 120.0, 1.0, 0.3).american is True
    for idx in ("SPX", "XSP", "NDX", "RUT"):
        assert _put(idx, 1, 100.0, 120.0, 1.0, 0.3).american is False
    assert _put("AAPL", 1, 100.0, 120.0, 1.0, 0.3, american=False).american is False
    pf = RiskPortfolio((_put("AAPL", 1, 100.0, 120.0, 1.0, 0.3),), rate=RATE)
    assert pf.arrays.price[0] == pytest.approx(float(_am(100.0, 120.0, 1.0, 0.3)), rel=5e-3)
    assert pf.arrays.price[0] > float(bs_price(100.0, 120.0, 1.0, RATE, 0.0, 0.3, False)) + 0.5


@pytest.mark.parametrize("method", ["exact", "grid"])
def test_scenario_pnl_when_american_put_down_shock_then_matches_american_price(
    method: str,
) -> None:
    pos = _put("AAPL", 3, 100.0, 110.0, 0.75, 0.35)
    pf = RiskPortfolio((pos,), rate=RATE)
    shocks = np.linspace(-0.25, 0.05, 2000)[:, None]  # enough rows for the grid to be used
    pnl = scenario_pnl(pf, shocks, kind="simple", method=method)  # type: ignore[arg-type]
    S1 = 100.0 * (1.0 + shocks[:, 0])
    want = 300.0 * (_am(S1, 110.0, 0.75 - DAY, 0.35) - _am(100.0, 110.0, 0.75, 0.35))
    # The hot-path pricer is within 0.5 % of the accurate one, per contract value.
    tol = 300.0 * np.maximum(0.005 * _am(S1, 110.0, 0.75 - DAY, 0.35), 0.01) + 2.0
    assert np.all(np.abs(pnl - want) <= tol)
    # Deep in the money the early-exercise premium is real money the European value misses.
    euro = 300.0 * (
        bs_price(S1, 110.0, 0.75 - DAY, RATE, 0.0, 0.35, False)
        - bs_price(100.0, 110.0, 0.75, RATE, 0.0, 0.35, False)
    )
    assert pnl[0] - euro[0] > 300.0 * 0.5


def test_scenario_pnl_when_spx_put_then_black_scholes_repricing() -> None:
    pf = RiskPortfolio((_put("SPX", 1, 5000.0, 5400.0, 0.5, 0.2),), rate=RATE)
    shocks = np.array([[-0.1], [0.0], [0.05]])
    pnl = scenario_pnl(pf, shocks, kind="simple", method="exact")
    S1 = 5000.0 * (1.0 + shocks[:, 0])
    base = bs_price(5000.0, 5400.0, 0.5, RATE, 0.0, 0.2, False)
    want = 100.0 * (bs_price(S1, 5400.0, 0.5 - DAY, RATE, 0.0, 0.2, False) - base)
    np.testing.assert_allclose(pnl, want, rtol=1e-12)


def test_stress_when_american_put_then_repriced_american_and_differs_from_european() -> None:
    am = RiskPortfolio((_put("XYZ", 2, 100.0, 105.0, 0.5, 0.25),), cash=50_000.0, rate=RATE)
    eu = RiskPortfolio(
        (_put("XYZ", 2, 100.0, 105.0, 0.5, 0.25, american=False),), cash=50_000.0, rate=RATE
    )
    res = run_stress(am, "rate_shock", include_liquidity=False)
    # Rate shock: spot -20 %, vol x 2.5, rate +300 bp (a higher rate makes early exercise
    # of puts worth more).
    r1 = RATE + 0.03
    after = float(american_price(80.0, 105.0, 0.5, r1, 0.0, 0.625, False))
    want = 200.0 * (after - am.arrays.price[0])
    assert res.market_pnl == pytest.approx(want, rel=5e-3)
    res_eu = run_stress(eu, "rate_shock", include_liquidity=False)
    hand_eu = 200.0 * (
        bs_price(80.0, 105.0, 0.5, r1, 0.0, 0.625, False)
        - bs_price(100.0, 105.0, 0.5, RATE, 0.0, 0.25, False)
    )
    assert res_eu.market_pnl == pytest.approx(hand_eu, rel=1e-10)
    assert abs(res.market_pnl - res_eu.market_pnl) > 5.0


def test_monte_carlo_when_short_deep_itm_puts_then_american_var_above_european() -> None:
    # Short deep in-the-money puts: American delta ~ -1 (they trade like short stock), the
    # European one is smaller in size, so the American book loses more in a fall.
    def book(american: bool) -> RiskPortfolio:
        return RiskPortfolio(
            (_put("XYZ", -10, 100.0, 140.0, 1.0, 0.2, american=american),),
            cash=100_000.0,
            rate=RATE,
        )

    cov = np.array([[4e-4]])
    a = monte_carlo_var(book(True), 0.99, cov=cov, n_scenarios=5_000, repricing="exact")
    e = monte_carlo_var(book(False), 0.99, cov=cov, n_scenarios=5_000, repricing="exact")
    assert a.var_dollars > e.var_dollars * 1.02
    # Deep in the money the American put moves one-for-one with the stock: its VaR is that
    # of the 1,000 shares it stands for (same scenarios), the European one's is smaller.
    shares = RiskPortfolio((RiskPosition("XYZ", "XYZ", 1000.0, 100.0),), cash=100_000.0)
    s = monte_carlo_var(shares, 0.99, cov=cov, n_scenarios=5_000, repricing="exact")
    assert a.var_dollars == pytest.approx(s.var_dollars, rel=0.05)
    assert e.var_dollars < 0.97 * s.var_dollars
    d = position_dollar_greeks(book(True))["delta"][0]
    assert d == pytest.approx(-10 * 100 * 100.0 * -1.0, rel=1e-6)


def test_from_domain_when_index_and_single_name_then_styles_follow_the_contract() -> None:
    today = date(2026, 1, 6)
    exp = today + timedelta(days=120)
    aapl = OptionContract("AAPL", exp, Decimal(140), OptionRight.PUT)
    spx = OptionContract("SPX", exp, Decimal(6400), OptionRight.PUT)
    port = Portfolio(
        ts=datetime(2026, 1, 6, 15, tzinfo=UTC),
        cash=Decimal(100_000),
        positions=MappingProxyType(
            {
                aapl.symbol: Position(aapl, 1, Decimal("41")),
                spx.symbol: Position(spx, 1, Decimal("420")),
            }
        ),
    )
    rp = from_domain(
        port,
        {"AAPL": 100.0, "SPX": 6000.0},
        today=today,
        ivs={aapl.symbol: 0.3, spx.symbol: 0.2},
        rate=RATE,
    )
    styles = {p.underlying: p.american for p in rp.positions}
    assert styles == {"AAPL": True, "SPX": False}
    t = 120 / 365
    assert rp.arrays.price[1] == pytest.approx(
        float(bs_price(6000.0, 6400.0, t, RATE, 0.0, 0.2, False)), rel=1e-12
    )
    assert rp.arrays.price[0] == pytest.approx(float(_am(100.0, 140.0, t, 0.3)), rel=5e-3)


def test_marginal_unit_when_american_put_then_scenario_pnl_matches_american_price() -> None:
    rng = np.random.default_rng(5)
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(301)]
    px = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(rng.normal(0, 0.03, 300))]))
    hist = ScenarioHistory.from_closes({"XYZ": list(zip(days, px.tolist(), strict=True))})
    asof = datetime(2026, 1, 6, 15, tzinfo=UTC)
    put = OptionContract("XYZ", date(2026, 7, 17), Decimal(130), OptionRight.PUT)
    model = MarginalVaR(hist, asof=asof, rate=RATE, spots={"XYZ": 100.0}, ivs={put.symbol: 0.4})
    unit = model.unit(put)
    t = put.dte(asof.date()) / 365.0
    r = hist.returns[-252:, 0]
    want = 100.0 * (_am(100.0 * np.exp(r), 130.0, t - DAY, 0.4) - _am(100.0, 130.0, t, 0.4))
    assert np.max(np.abs(unit.pnl - want)) < 100.0 * 0.005 * 30.0 + 1.0
    euro = 100.0 * (
        bs_price(100.0 * np.exp(r), 130.0, t - DAY, RATE, 0.0, 0.4, False)
        - bs_price(100.0, 130.0, t, RATE, 0.0, 0.4, False)
    )
    assert np.max(np.abs(unit.pnl - euro)) > 10.0
    # American delta: larger in size than Black-Scholes' for an in-the-money put.
    bs_delta = float(black_scholes(100.0, 130.0, t, RATE, 0.0, 0.4, False).delta)
    assert unit.greeks.delta < bs_delta * 100.0 * 100.0 - 200.0
