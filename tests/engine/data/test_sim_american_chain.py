"""Simulator chains: single names priced American, cash-settled SPX European."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from engine.data.simulator.options import (
    ChainInputs,
    ExpiryBlock,
    OptionStyle,
    build_expiry,
    years_between,
)
from engine.data.simulator.universe import spec_for
from engine.domain import OptionRight
from engine.pricing import american_price, bs_price

NOW = datetime(2025, 3, 3, 15, 30, tzinfo=UTC)
EXPIRY = date(2025, 9, 19)
CLOSE = datetime(2025, 9, 19, 20, 0, tzinfo=UTC)


def _block(symbol: str, spot: float, iv: float = 0.30) -> tuple[ChainInputs, ExpiryBlock]:
    style = OptionStyle.for_spec(spec_for(symbol))
    inputs = ChainInputs(style, NOW, NOW.date(), spot, iv, iv, 1.0, (), seed=7)
    return inputs, build_expiry(inputs, EXPIRY, CLOSE)


def _theo_check(
    inputs: ChainInputs, block: ExpiryBlock, right: OptionRight
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(last, american, european, strike) for every strike of one right."""
    rows = [q for q in block.quotes if q.contract.right is right]
    k = np.array([float(q.contract.strike) for q in rows])
    iv = np.array([q.iv for q in rows])
    t = years_between(inputs.now, CLOSE)
    call = right is OptionRight.CALL
    q_div = inputs.style.div_yield
    am = american_price(inputs.spot, k, t, inputs.rate, q_div, iv, call)
    eu = bs_price(inputs.spot, k, t, inputs.rate, q_div, iv, call)
    last = np.array([q.last for q in rows])
    return last, am, eu, k


def test_chain_when_single_name_put_then_american_value_above_european() -> None:
    inputs, block = _block("PFE", 30.0)  # 6 % dividend, $0.5 strikes
    last, am, eu, k = _theo_check(inputs, block, OptionRight.PUT)
    # Quotes carry the theoretical value rounded to the cent (inside the bid/ask); the
    # hot-path pricer is within 0.5 % of the accurate integral-equation value.
    assert np.all(np.abs(last - am) <= np.maximum(0.005 * am, 0.0051) + 0.005)
    deep = k >= 45.0
    assert deep.any()
    # Deep in the money the put is worth exercising: at least intrinsic, several cents over
    # the European value (which sits below intrinsic there).
    assert np.all(last[deep] >= np.round(eu[deep], 2) + 0.05)
    assert np.all(last[deep] >= k[deep] - inputs.spot - 0.005)
    assert np.all(last >= np.round(eu, 2) - 0.01)


def test_chain_when_dividend_call_then_american_premium_priced() -> None:
    inputs, block = _block("PFE", 30.0, iv=0.15)
    last, am, eu, k = _theo_check(inputs, block, OptionRight.CALL)
    assert np.all(np.abs(last - am) <= np.maximum(0.005 * am, 0.0051) + 0.005)
    deep = k <= 22.0
    assert np.all(last[deep] > np.round(eu[deep], 2))


def test_chain_when_spx_then_european_black_scholes() -> None:
    inputs, block = _block("SPX", 5900.0, iv=0.18)
    for right in (OptionRight.PUT, OptionRight.CALL):
        last, _, eu, _ = _theo_check(inputs, block, right)
        np.testing.assert_allclose(last, np.round(eu, 2), atol=1e-9)
    # Were SPX priced American, its deep in-the-money puts would be dollars richer.
    last, am, eu, k = _theo_check(inputs, block, OptionRight.PUT)
    deep = k > 6400
    assert deep.any()
    assert np.all(am[deep] > last[deep] + 1.0)


def test_chain_when_built_twice_then_identical_quotes() -> None:
    a = _block("KO", 62.0)[1].quotes
    b = _block("KO", 62.0)[1].quotes
    assert a == b
