"""Vectorised screening for parameter sweeps: rank a whole grid in NumPy, then let the
event-driven engine validate only the best cells.

Only strategies with a vectorised twin can be screened (`SCREENS`); the screen is an
approximation (no risk checks, no bid/ask beyond a flat cost, equal weights, fills at the
close), which is exactly why its winners are re-run through the engine before anyone trusts
them. It reads only the window it screens (in-sample), so it cannot leak out-of-sample data
into the choice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from engine.analytics import sharpe
from engine.backtest.config import BacktestConfig
from engine.backtest.examples import SmaCross, SmaCrossParams, sma_cross_positions
from engine.backtest.runner import build_source
from engine.backtest.strategy_set import build_strategy
from engine.data.protocol import DataUnavailable

PositionsFn = Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]


def _sma_positions(closes: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    p = SmaCrossParams(**params)
    return sma_cross_positions(closes, p.fast, p.slow)


SCREENS: Mapping[str, PositionsFn] = {SmaCross.name: _sma_positions}


@dataclass(frozen=True, slots=True)
class ScreenScore:
    params: Mapping[str, Any]
    sharpe: float
    total_return: float


def vector_returns(closes: np.ndarray, positions: np.ndarray, cost_bps: float) -> np.ndarray:
    """Daily returns of an equal-weight book holding `positions[t]` from close t to close t+1,
    paying `cost_bps` on every change of position."""
    with np.errstate(invalid="ignore", divide="ignore"):
        asset = closes[1:] / closes[:-1] - 1.0
    asset = np.nan_to_num(asset, nan=0.0, posinf=0.0, neginf=0.0)
    held = positions[:-1]
    n = max(closes.shape[1], 1)
    gross = (held * asset).sum(axis=1) / n
    changes = np.abs(np.diff(positions, axis=0, prepend=np.zeros((1, positions.shape[1]))))
    cost = changes[:-1].sum(axis=1) / n * cost_bps / 10_000.0
    out: np.ndarray = gross - cost
    return out


def screen(
    name: str,
    closes: np.ndarray,
    grid: Sequence[Mapping[str, Any]],
    *,
    warmup: int = 0,
    cost_bps: float = 2.0,
    ordered: bool = True,
) -> list[ScreenScore]:
    """Score every cell of `grid` on `closes` (days x symbols); best Sharpe first (grid order
    when not `ordered`). The first `warmup` rows only prime the indicators (history before the
    window)."""
    fn = SCREENS.get(name)
    if fn is None:
        raise ValueError(f"strategy {name!r} has no vectorised screen (have: {', '.join(SCREENS)})")
    out: list[ScreenScore] = []
    for params in grid:
        pos = fn(closes, params)
        r = vector_returns(closes, pos, cost_bps)[warmup:]
        total = float(np.prod(1.0 + r) - 1.0) if r.size else 0.0
        out.append(ScreenScore(dict(params), sharpe(r), total))
    out.sort(key=lambda s: -s.sharpe if math.isfinite(s.sharpe) else math.inf)
    return out


def window_closes(
    config: BacktestConfig, name: str, params: Mapping[str, Any], history: int
) -> tuple[np.ndarray, int]:
    """Closes (days x the strategy's symbols) from `history` sessions before config.start to
    config.end, and how many rows precede the window. Read with the clock at the window's end
    close, so nothing after it is visible."""
    strat = build_strategy(name, config.profile, {**config.params.get(name, {}), **params})
    source = build_source(config, [strat])
    cal = source.calendar
    end = source.sessions[-1]
    source.clock.jump_to(cal.session_close(end))
    symbols = sorted(strat.universe())
    series: dict[str, dict[date, float]] = {}
    for sym in symbols:
        try:
            bars = getattr(source.market, "daily_bars_sync")(  # noqa: B009
                sym, end, len(source.sessions) + history
            )
        except DataUnavailable:
            continue
        series[sym] = {b.session_date: b.close for b in bars}
    days = sorted({d for s in series.values() for d in s})
    if not days:
        raise ValueError(f"no daily closes for {symbols} up to {end}")
    closes = np.array(
        [[series[s].get(d, math.nan) for s in sorted(series)] for d in days], dtype=np.float64
    )
    before = sum(1 for d in days if d < config.start)
    return closes, before
