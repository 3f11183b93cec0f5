"""`engine.analytics`: performance figures of an equity curve, its trades and its benchmark.

Pure float64 NumPy functions (no pandas, no I/O), so the backtester, the live dashboard and the
tests share one definition of each figure. Conventions (those of quantstats, which the tests
use as the independent reference): simple daily returns, 252 periods a year, sample standard
deviation (ddof=1), Sortino's downside deviation over all periods, beta = cov / var against
the benchmark's daily returns and alpha the annualised mean residual return.

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.analytics.attribution import StrategyAttribution, attribute_pnl
    from engine.analytics.benchmark import alpha_beta
    from engine.analytics.drawdown import DrawdownStats, drawdown_series, drawdown_stats
    from engine.analytics.exposure import exposure_stats, turnover
    from engine.analytics.ratios import calmar, sharpe, sortino
    from engine.analytics.returns import (
        PERIODS_PER_YEAR,
        annual_volatility,
        cagr,
        monthly_returns,
        simple_returns,
        total_return,
    )
    from engine.analytics.rolling import rolling_drawdown, rolling_sharpe
    from engine.analytics.summary import PerformanceSummary, summarize
    from engine.analytics.trades import RoundTrip, TradeStats, round_trips, trade_stats

_EXPORTS: dict[str, tuple[str, str]] = {
    "StrategyAttribution": ("engine.analytics.attribution", "StrategyAttribution"),
    "attribute_pnl": ("engine.analytics.attribution", "attribute_pnl"),
    "alpha_beta": ("engine.analytics.benchmark", "alpha_beta"),
    "DrawdownStats": ("engine.analytics.drawdown", "DrawdownStats"),
    "drawdown_series": ("engine.analytics.drawdown", "drawdown_series"),
    "drawdown_stats": ("engine.analytics.drawdown", "drawdown_stats"),
    "exposure_stats": ("engine.analytics.exposure", "exposure_stats"),
    "turnover": ("engine.analytics.exposure", "turnover"),
    "calmar": ("engine.analytics.ratios", "calmar"),
    "sharpe": ("engine.analytics.ratios", "sharpe"),
    "sortino": ("engine.analytics.ratios", "sortino"),
    "PERIODS_PER_YEAR": ("engine.analytics.returns", "PERIODS_PER_YEAR"),
    "annual_volatility": ("engine.analytics.returns", "annual_volatility"),
    "cagr": ("engine.analytics.returns", "cagr"),
    "monthly_returns": ("engine.analytics.returns", "monthly_returns"),
    "simple_returns": ("engine.analytics.returns", "simple_returns"),
    "total_return": ("engine.analytics.returns", "total_return"),
    "rolling_drawdown": ("engine.analytics.rolling", "rolling_drawdown"),
    "rolling_sharpe": ("engine.analytics.rolling", "rolling_sharpe"),
    "PerformanceSummary": ("engine.analytics.summary", "PerformanceSummary"),
    "summarize": ("engine.analytics.summary", "summarize"),
    "RoundTrip": ("engine.analytics.trades", "RoundTrip"),
    "TradeStats": ("engine.analytics.trades", "TradeStats"),
    "round_trips": ("engine.analytics.trades", "round_trips"),
    "trade_stats": ("engine.analytics.trades", "trade_stats"),
}

__all__ = [
    "PERIODS_PER_YEAR",
    "DrawdownStats",
    "PerformanceSummary",
    "RoundTrip",
    "StrategyAttribution",
    "TradeStats",
    "alpha_beta",
    "annual_volatility",
    "attribute_pnl",
    "cagr",
    "calmar",
    "drawdown_series",
    "drawdown_stats",
    "exposure_stats",
    "monthly_returns",
    "rolling_drawdown",
    "rolling_sharpe",
    "round_trips",
    "sharpe",
    "simple_returns",
    "sortino",
    "summarize",
    "total_return",
    "trade_stats",
    "turnover",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
