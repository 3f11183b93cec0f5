"""Per-strategy attribution of P&L from each strategy's daily cumulative P&L."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.ratios import sharpe


@dataclass(frozen=True, slots=True)
class StrategyAttribution:
    """One strategy's part of the result.

    * `pnl`: its P&L at the end (realised + unrealised, commissions deducted), in dollars.
    * `share`: pnl / the account's total P&L (NaN when the total is 0).
    * `contribution`: pnl / starting equity (its part of the total return).
    * `sharpe`: of its daily P&L over the starting equity (NaN when it never moved).
    * `max_drawdown_dollars`: deepest fall of its cumulative P&L from a previous high.
    """

    strategy: str
    pnl: float
    share: float
    contribution: float
    sharpe: float
    max_drawdown_dollars: float


def attribute_pnl(
    cumulative_pnl: Mapping[str, ArrayLike], starting_equity: float
) -> list[StrategyAttribution]:
    """`cumulative_pnl[strategy][t]` is that strategy's P&L since the start at period t.
    Sorted by P&L, best first."""
    if starting_equity <= 0:
        raise ValueError(f"starting_equity={starting_equity} must be > 0")
    series = {k: np.asarray(v, dtype=np.float64) for k, v in cumulative_pnl.items()}
    total = math.fsum(float(s[-1]) for s in series.values() if s.size)
    out: list[StrategyAttribution] = []
    for name, s in series.items():
        if s.size == 0:
            continue
        end = float(s[-1])
        daily = np.diff(np.concatenate([[0.0], s])) / starting_equity
        run_max = np.maximum.accumulate(np.concatenate([[0.0], s]))[1:]
        out.append(
            StrategyAttribution(
                strategy=name,
                pnl=end,
                share=end / total if total else math.nan,
                contribution=end / starting_equity,
                sharpe=sharpe(daily),
                max_drawdown_dollars=float((run_max - s).max()),
            )
        )
    out.sort(key=lambda a: (-a.pnl, a.strategy))
    return out
