"""Small, fast backtest configs shared by the backtest tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from engine.backtest.config import BacktestConfig, DataSpec

CSV_SYMBOLS = ("SPY", "QQQ", "AAPL", "MSFT")


def sma_sim(**kw: Any) -> BacktestConfig:
    base: dict[str, Any] = {
        "strategies": ("sma_cross",),
        "start": date(2026, 1, 5),
        "end": date(2026, 3, 31),
        "data": DataSpec("sim"),
        "symbols": ("SPY", "QQQ", "AAPL", "MSFT", "NVDA"),
        "step": "day",
        "warmup_sessions": 40,
        "params": {
            "sma_cross": {"fast": 3, "slow": 8, "symbols": ["SPY", "QQQ", "AAPL", "MSFT", "NVDA"]}
        },
    }
    base.update(kw)
    return BacktestConfig(**base)


def sma_csv(prices: Path, start: date, end: date, **kw: Any) -> BacktestConfig:
    base: dict[str, Any] = {
        "strategies": ("sma_cross",),
        "start": start,
        "end": end,
        "data": DataSpec("csv", prices),
        "symbols": CSV_SYMBOLS,
        "step": "day",
        "profile": "wsb_2025",
        "params": {"sma_cross": {"fast": 5, "slow": 20, "symbols": list(CSV_SYMBOLS)}},
    }
    base.update(kw)
    return BacktestConfig(**base)
