"""Risk measurement: VaR/CVaR (historical, normal, Student-t, Cornish-Fisher, EVT, Monte Carlo
with a t copula and full option re-pricing), volatility forecasts, liquidity-adjusted VaR,
VaR backtests, stress tests and portfolio greeks.  Pure functions over NumPy arrays; no
engine runtime.

Control (spec §4-§5): `PreTradeRisk` (engine.risk.pretrade) checks every proposal; the
circuit-breaker state machine is `BreakerBoard`; the live monitor (engine.runtime.risk_monitor)
computes `compute_live_risk` -> `RiskReport` + `MarginalVaR` on a cadence and feeds both.

Conventions: VaR and CVaR are POSITIVE loss fractions (of position / portfolio value), 1-day,
scaled by sqrt(h) for h days; the tail probability p = 1 - confidence is computed exactly;
fewer than 30 observations raise `InsufficientData`.
"""

from engine.risk.backtest import (
    ChristoffersenResult,
    KupiecResult,
    RollingBacktest,
    TrafficLight,
    TrafficLightZone,
    christoffersen,
    kupiec_pof,
    rolling_backtest,
    rolling_historical_var,
    traffic_light,
)
from engine.risk.breakers import (
    BREAKERS,
    BreakerBoard,
    BreakerConfig,
    BreakerKind,
    RiskMetrics,
    vix_size_multiplier,
)
from engine.risk.greek_limits import GreekLimits, GreekVector
from engine.risk.greeks import (
    Concentration,
    GreekTotals,
    PortfolioGreeks,
    concentration,
    greeks_shock_loss,
    portfolio_greeks,
)
from engine.risk.liquidity import lvar_additive, lvar_multiplicative, portfolio_lvar
from engine.risk.live import LiveRiskInputs, LiveRiskResult, compute_live_risk
from engine.risk.marginal import MarginalResult, MarginalVaR, ScenarioHistory
from engine.risk.montecarlo import MonteCarloResult, monte_carlo_var
from engine.risk.open_risk import book_open_risk
from engine.risk.pdt import DayTradeLog
from engine.risk.portfolio_model import (
    AssetClass,
    MissingRiskInput,
    PositionKind,
    RiskPortfolio,
    RiskPosition,
    from_domain,
)
from engine.risk.report import RiskReport
from engine.risk.snapshot import RiskSnapshot, risk_snapshot
from engine.risk.stress import (
    SCENARIOS,
    ComplianceLevel,
    HistoricalStressResult,
    StressReport,
    StressResult,
    StressScenario,
    historical_stress,
    run_all_stress,
    run_stress,
)
from engine.risk.var import (
    METHODS,
    InsufficientData,
    VaRResult,
    expected_shortfall,
    tail_probability,
    value_at_risk,
    var_cvar,
)
from engine.risk.volatility import ewma_volatility, fit_garch11, vol_forecast

__all__ = [
    "BREAKERS",
    "METHODS",
    "SCENARIOS",
    "AssetClass",
    "BreakerBoard",
    "BreakerConfig",
    "BreakerKind",
    "ChristoffersenResult",
    "ComplianceLevel",
    "Concentration",
    "DayTradeLog",
    "GreekLimits",
    "GreekTotals",
    "GreekVector",
    "HistoricalStressResult",
    "InsufficientData",
    "KupiecResult",
    "LiveRiskInputs",
    "LiveRiskResult",
    "MarginalResult",
    "MarginalVaR",
    "MissingRiskInput",
    "MonteCarloResult",
    "PortfolioGreeks",
    "PositionKind",
    "RiskMetrics",
    "RiskPortfolio",
    "RiskPosition",
    "RiskReport",
    "RiskSnapshot",
    "RollingBacktest",
    "ScenarioHistory",
    "StressReport",
    "StressResult",
    "StressScenario",
    "TrafficLight",
    "TrafficLightZone",
    "VaRResult",
    "book_open_risk",
    "christoffersen",
    "compute_live_risk",
    "concentration",
    "ewma_volatility",
    "expected_shortfall",
    "fit_garch11",
    "from_domain",
    "greeks_shock_loss",
    "historical_stress",
    "kupiec_pof",
    "lvar_additive",
    "lvar_multiplicative",
    "monte_carlo_var",
    "portfolio_greeks",
    "portfolio_lvar",
    "risk_snapshot",
    "rolling_backtest",
    "rolling_historical_var",
    "run_all_stress",
    "run_stress",
    "tail_probability",
    "traffic_light",
    "value_at_risk",
    "var_cvar",
    "vix_size_multiplier",
    "vol_forecast",
]
