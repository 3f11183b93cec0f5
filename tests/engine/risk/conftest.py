"""Fixtures for the risk tests: the shared VaR reference and price histories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.risk.cli_var import PriceHistory, load_price_history


@pytest.fixture(scope="session")
def var_ref(reference_dir: Path) -> dict[str, Any]:
    with (reference_dir / "var_reference.json").open() as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def spy(prices_dir: Path) -> PriceHistory:
    return load_price_history(prices_dir / "SPY.csv")


@pytest.fixture(scope="session")
def gspc(prices_dir: Path) -> PriceHistory:
    return load_price_history(prices_dir / "GSPC.csv")
