"""`engine.analytics`: performance figures of an equity curve, its trades and its benchmark.

Pure float64 NumPy functions (no pandas, no I/O), so the backtester, the live dashboard and the
tests share one definition of each figure. Conventions (those of quantstats, which the tests
use as the independent reference): simple daily returns, 252 periods a year, sample standard
deviation (ddof=1), Sortino's downside deviation over all periods, beta = cov / var against
the benchmark's daily returns and alpha the annualised mean residual return.
"""

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
