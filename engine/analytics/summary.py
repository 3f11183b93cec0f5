"""`summarize`: every headline figure of a run in one frozen record."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from engine.analytics.benchmark import alpha_beta
from engine.analytics.drawdown import drawdown_stats
from engine.analytics.exposure import exposure_stats, turnover
from engine.analytics.ratios import calmar, sharpe, sortino
from engine.analytics.returns import (
    PERIODS_PER_YEAR,
    annual_volatility,
    as_curve,
    cagr,
    simple_returns,
    total_return,
)
from engine.analytics.trades import RoundTrip, trade_stats


@dataclass(frozen=True, slots=True)
class PerformanceSummary:
    """Headline figures. Fractions are fractions (0.12 = 12%); durations are in sessions.
    NaN means "not defined for this run" (no trades, a flat curve, no benchmark)."""

    periods: int
    start_equity: float
    end_equity: float
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    max_drawdown_duration: int
    recovery_periods: int | None
    trades: int
    win_rate: float
    profit_factor: float
    avg_win: float
    avg_loss: float
    expectancy: float
    time_in_market: float
    avg_gross_exposure: float
    turnover: float
    alpha: float
    beta: float
    benchmark_return: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: NaN and infinity become None."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }


def summarize(
    equity: ArrayLike,
    *,
    trips: Sequence[RoundTrip] = (),
    gross_exposure: ArrayLike | None = None,
    traded_notional: float = 0.0,
    benchmark: ArrayLike | None = None,
    rf: float = 0.0,
    periods: int = PERIODS_PER_YEAR,
) -> PerformanceSummary:
    """Figures of a daily `equity` curve (first value = starting equity). `benchmark` is the
    benchmark's price curve on the same periods (its returns give alpha and beta)."""
    eq = as_curve(equity)
    if eq.size == 0:
        raise ValueError("equity is empty: nothing to summarise")
    r = simple_returns(eq)
    dd = drawdown_stats(eq)
    growth = cagr(eq, periods)
    ts = trade_stats(trips)
    g = np.zeros_like(eq) if gross_exposure is None else np.asarray(gross_exposure, np.float64)
    in_market, avg_gross = exposure_stats(g, eq)
    alpha = beta = bench_ret = math.nan
    if benchmark is not None:
        b = np.asarray(benchmark, dtype=np.float64)
        if b.shape != eq.shape:
            raise ValueError(f"benchmark {b.shape} and equity {eq.shape} must align")
        with np.errstate(invalid="ignore", divide="ignore"):
            br = b[1:] / b[:-1] - 1.0
        alpha, beta = alpha_beta(r, br, periods)
        if np.isfinite(b[[0, -1]]).all() and b[0] > 0:
            bench_ret = float(b[-1] / b[0] - 1.0)
    return PerformanceSummary(
        periods=int(r.size),
        start_equity=float(eq[0]),
        end_equity=float(eq[-1]),
        total_return=total_return(eq),
        cagr=growth,
        volatility=annual_volatility(r, periods),
        sharpe=sharpe(r, rf, periods),
        sortino=sortino(r, rf, periods),
        calmar=calmar(growth, dd.max_drawdown),
        max_drawdown=dd.max_drawdown,
        max_drawdown_duration=dd.max_duration,
        recovery_periods=dd.recovery_periods,
        trades=ts.trades,
        win_rate=ts.win_rate,
        profit_factor=ts.profit_factor,
        avg_win=ts.avg_win,
        avg_loss=ts.avg_loss,
        expectancy=ts.expectancy,
        time_in_market=in_market,
        avg_gross_exposure=avg_gross,
        turnover=turnover(traded_notional, eq, periods),
        alpha=alpha,
        beta=beta,
        benchmark_return=bench_ret,
    )
