"""engine.pricing against the independent QuantLib reference (shared/reference)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.pricing import IVStatus, black_scholes, bs_price, implied_vol


@pytest.fixture(scope="module")
def ref(reference_dir: Path) -> pd.DataFrame:
    df = pd.read_csv(reference_dir / "bsm_reference.csv")
    assert len(df) == 2000  # the README's row count: a truncated file must not pass quietly
    return df


def _inputs(df: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return (
        df["spot"].to_numpy(),
        df["strike"].to_numpy(),
        df["t_years"].to_numpy(),
        df["rate"].to_numpy(),
        df["div_yield"].to_numpy(),
        df["vol"].to_numpy(),
        (df["option_type"] == "call").to_numpy(),
    )


# Tolerances from the reference README (absolute + relative).
def _tol(column: str, spot: np.ndarray, ref: np.ndarray) -> np.ndarray:
    if column == "delta":
        base = np.full_like(spot, 1e-9)
    elif column == "gamma":
        base = 1e-9 / spot
    else:
        base = 1e-9 * spot
    tol: np.ndarray = base + 1e-8 * np.abs(ref)
    return tol


@pytest.mark.parametrize(
    "column",
    ["price", "delta", "gamma", "vega", "theta", "theta_per_day", "rho", "dividend_rho"],
)
def test_black_scholes_when_every_reference_row_then_matches_quantlib(
    ref: pd.DataFrame, column: str
) -> None:
    g = black_scholes(*_inputs(ref))
    got = np.asarray(getattr(g, column))
    want = ref[column].to_numpy()
    spot = ref["spot"].to_numpy()
    bad = np.flatnonzero(~(np.abs(got - want) <= _tol(column, spot, want)))
    assert bad.size == 0, ref.iloc[bad[:5]][["case_id", column]].assign(got=got[bad[:5]])


def test_bs_price_when_reference_rows_then_equals_black_scholes_price(ref: pd.DataFrame) -> None:
    args = _inputs(ref)
    fast = bs_price(*args)
    full = black_scholes(*args).price
    assert np.all(np.abs(fast - full) <= 1e-14 * ref["spot"].to_numpy() + 1e-15)
    assert np.all(np.abs(fast - ref["price"].to_numpy()) <= 1e-9 * ref["spot"].to_numpy())


def test_implied_vol_when_roundtrip_rows_with_vega_then_recovers_vol_to_1e9(
    ref: pd.DataFrame,
) -> None:
    S, K, T, r, q, vol, call = _inputs(ref)
    res = implied_vol(ref["price"].to_numpy(), S, K, T, r, q, call)
    rows = (ref["iv_roundtrip_ok"] == 1).to_numpy() & (ref["vega"].to_numpy() >= 1e-4 * S)
    assert rows.sum() > 1500  # the README's 1749 roundtrip rows, most with real vega
    assert np.all(res.status[rows] == IVStatus.OK)
    assert np.max(np.abs(res.vol[rows] - vol[rows])) <= 1e-9


def test_implied_vol_when_any_row_then_reprices_or_reports_failure(ref: pd.DataFrame) -> None:
    S, K, T, r, q, _, call = _inputs(ref)
    price = ref["price"].to_numpy()
    res = implied_vol(price, S, K, T, r, q, call)
    ok = res.status == IVStatus.OK
    assert np.all(np.isnan(res.vol[~ok]))
    assert np.all(np.isin(res.status[~ok], [IVStatus.NO_VEGA, IVStatus.BELOW_INTRINSIC]))
    repriced = bs_price(S[ok], K[ok], T[ok], r[ok], q[ok], res.vol[ok], call[ok])
    assert np.max(np.abs(repriced - price[ok]) / S[ok]) <= 1e-11
    # Failures are only allowed where the price genuinely does not pin down the vol.
    assert np.all(ref["vega"].to_numpy()[~ok] < 1e-4 * S[~ok])
