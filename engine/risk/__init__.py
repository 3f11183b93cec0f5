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

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
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
    from engine.risk.compliance import DayNotionalLog, luld_bounds
    from engine.risk.greek_limits import GreekLimits, GreekVector
    from engine.risk.greeks import (
        Concentration,
        GreekTotals,
        PortfolioGreeks,
        concentration,
        greeks_shock_loss,
        portfolio_greeks,
    )
    from engine.risk.kelly import KellySize, kelly_contracts, kelly_fraction
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
    from engine.risk.tail_hedge import (
        HedgeCandidate,
        TailHedgeConfig,
        TailHedgePlan,
        plan_tail_hedge,
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

_EXPORTS: dict[str, tuple[str, str]] = {
    "ChristoffersenResult": ("engine.risk.backtest", "ChristoffersenResult"),
    "KupiecResult": ("engine.risk.backtest", "KupiecResult"),
    "RollingBacktest": ("engine.risk.backtest", "RollingBacktest"),
    "TrafficLight": ("engine.risk.backtest", "TrafficLight"),
    "TrafficLightZone": ("engine.risk.backtest", "TrafficLightZone"),
    "christoffersen": ("engine.risk.backtest", "christoffersen"),
    "kupiec_pof": ("engine.risk.backtest", "kupiec_pof"),
    "rolling_backtest": ("engine.risk.backtest", "rolling_backtest"),
    "rolling_historical_var": ("engine.risk.backtest", "rolling_historical_var"),
    "traffic_light": ("engine.risk.backtest", "traffic_light"),
    "BREAKERS": ("engine.risk.breakers", "BREAKERS"),
    "BreakerBoard": ("engine.risk.breakers", "BreakerBoard"),
    "BreakerConfig": ("engine.risk.breakers", "BreakerConfig"),
    "BreakerKind": ("engine.risk.breakers", "BreakerKind"),
    "RiskMetrics": ("engine.risk.breakers", "RiskMetrics"),
    "vix_size_multiplier": ("engine.risk.breakers", "vix_size_multiplier"),
    "DayNotionalLog": ("engine.risk.compliance", "DayNotionalLog"),
    "luld_bounds": ("engine.risk.compliance", "luld_bounds"),
    "GreekLimits": ("engine.risk.greek_limits", "GreekLimits"),
    "GreekVector": ("engine.risk.greek_limits", "GreekVector"),
    "Concentration": ("engine.risk.greeks", "Concentration"),
    "GreekTotals": ("engine.risk.greeks", "GreekTotals"),
    "PortfolioGreeks": ("engine.risk.greeks", "PortfolioGreeks"),
    "concentration": ("engine.risk.greeks", "concentration"),
    "greeks_shock_loss": ("engine.risk.greeks", "greeks_shock_loss"),
    "portfolio_greeks": ("engine.risk.greeks", "portfolio_greeks"),
    "KellySize": ("engine.risk.kelly", "KellySize"),
    "kelly_contracts": ("engine.risk.kelly", "kelly_contracts"),
    "kelly_fraction": ("engine.risk.kelly", "kelly_fraction"),
    "lvar_additive": ("engine.risk.liquidity", "lvar_additive"),
    "lvar_multiplicative": ("engine.risk.liquidity", "lvar_multiplicative"),
    "portfolio_lvar": ("engine.risk.liquidity", "portfolio_lvar"),
    "LiveRiskInputs": ("engine.risk.live", "LiveRiskInputs"),
    "LiveRiskResult": ("engine.risk.live", "LiveRiskResult"),
    "compute_live_risk": ("engine.risk.live", "compute_live_risk"),
    "MarginalResult": ("engine.risk.marginal", "MarginalResult"),
    "MarginalVaR": ("engine.risk.marginal", "MarginalVaR"),
    "ScenarioHistory": ("engine.risk.marginal", "ScenarioHistory"),
    "MonteCarloResult": ("engine.risk.montecarlo", "MonteCarloResult"),
    "monte_carlo_var": ("engine.risk.montecarlo", "monte_carlo_var"),
    "book_open_risk": ("engine.risk.open_risk", "book_open_risk"),
    "DayTradeLog": ("engine.risk.pdt", "DayTradeLog"),
    "AssetClass": ("engine.risk.portfolio_model", "AssetClass"),
    "MissingRiskInput": ("engine.risk.portfolio_model", "MissingRiskInput"),
    "PositionKind": ("engine.risk.portfolio_model", "PositionKind"),
    "RiskPortfolio": ("engine.risk.portfolio_model", "RiskPortfolio"),
    "RiskPosition": ("engine.risk.portfolio_model", "RiskPosition"),
    "from_domain": ("engine.risk.portfolio_model", "from_domain"),
    "RiskReport": ("engine.risk.report", "RiskReport"),
    "RiskSnapshot": ("engine.risk.snapshot", "RiskSnapshot"),
    "risk_snapshot": ("engine.risk.snapshot", "risk_snapshot"),
    "SCENARIOS": ("engine.risk.stress", "SCENARIOS"),
    "ComplianceLevel": ("engine.risk.stress", "ComplianceLevel"),
    "HistoricalStressResult": ("engine.risk.stress", "HistoricalStressResult"),
    "StressReport": ("engine.risk.stress", "StressReport"),
    "StressResult": ("engine.risk.stress", "StressResult"),
    "StressScenario": ("engine.risk.stress", "StressScenario"),
    "historical_stress": ("engine.risk.stress", "historical_stress"),
    "run_all_stress": ("engine.risk.stress", "run_all_stress"),
    "run_stress": ("engine.risk.stress", "run_stress"),
    "HedgeCandidate": ("engine.risk.tail_hedge", "HedgeCandidate"),
    "TailHedgeConfig": ("engine.risk.tail_hedge", "TailHedgeConfig"),
    "TailHedgePlan": ("engine.risk.tail_hedge", "TailHedgePlan"),
    "plan_tail_hedge": ("engine.risk.tail_hedge", "plan_tail_hedge"),
    "METHODS": ("engine.risk.var", "METHODS"),
    "InsufficientData": ("engine.risk.var", "InsufficientData"),
    "VaRResult": ("engine.risk.var", "VaRResult"),
    "expected_shortfall": ("engine.risk.var", "expected_shortfall"),
    "tail_probability": ("engine.risk.var", "tail_probability"),
    "value_at_risk": ("engine.risk.var", "value_at_risk"),
    "var_cvar": ("engine.risk.var", "var_cvar"),
    "ewma_volatility": ("engine.risk.volatility", "ewma_volatility"),
    "fit_garch11": ("engine.risk.volatility", "fit_garch11"),
    "vol_forecast": ("engine.risk.volatility", "vol_forecast"),
}

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
__all__ += [
    "DayNotionalLog",
    "HedgeCandidate",
    "KellySize",
    "TailHedgeConfig",
    "TailHedgePlan",
    "kelly_contracts",
    "kelly_fraction",
    "luld_bounds",
    "plan_tail_hedge",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
