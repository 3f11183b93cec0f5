"""Options analytics: Black-Scholes-Merton prices and greeks, implied volatility, American
exercise, historical volatility estimators, contract selection and spread construction.

Pure NumPy/SciPy: nothing is compiled or JIT-ed on import.  Units everywhere: T in years
(calendar days / 365), r and q continuously compounded per year, volatility annualised
decimal, vega/rho per 1.00, theta per calendar year.  See each module's docstring.

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.pricing.american import american_greeks, american_price, binomial_american
    from engine.pricing.bsm import (
        Greeks,
        SecondOrderGreeks,
        black_scholes,
        black_scholes_second_order,
        bs_price,
    )
    from engine.pricing.implied_volatility import (
        IVResult,
        IVStatus,
        implied_vol,
        implied_vol_scalar,
    )
    from engine.pricing.selection import (
        dte_window_mask,
        filter_contracts,
        liquidity_mask,
        select_by_delta,
        select_by_otm_pct,
        spread_pct_of_mid,
    )
    from engine.pricing.spreads import (
        Leg,
        SpreadAnalysis,
        analyse_expiry_payoff,
        bear_call_credit_spread,
        bear_put_spread,
        bull_call_spread,
        bull_put_credit_spread,
        calendar_spread,
        iron_condor,
        vertical_spread,
    )
    from engine.pricing.volatility import (
        ExpectedMove,
        close_to_close_vol,
        expected_move,
        garman_klass_vol,
        iv_percentile,
        iv_rank,
        parkinson_vol,
        rogers_satchell_vol,
        yang_zhang_vol,
    )

_EXPORTS: dict[str, tuple[str, str]] = {
    "american_greeks": ("engine.pricing.american", "american_greeks"),
    "american_price": ("engine.pricing.american", "american_price"),
    "binomial_american": ("engine.pricing.american", "binomial_american"),
    "Greeks": ("engine.pricing.bsm", "Greeks"),
    "SecondOrderGreeks": ("engine.pricing.bsm", "SecondOrderGreeks"),
    "black_scholes": ("engine.pricing.bsm", "black_scholes"),
    "black_scholes_second_order": ("engine.pricing.bsm", "black_scholes_second_order"),
    "bs_price": ("engine.pricing.bsm", "bs_price"),
    "IVResult": ("engine.pricing.implied_volatility", "IVResult"),
    "IVStatus": ("engine.pricing.implied_volatility", "IVStatus"),
    "implied_vol": ("engine.pricing.implied_volatility", "implied_vol"),
    "implied_vol_scalar": ("engine.pricing.implied_volatility", "implied_vol_scalar"),
    "dte_window_mask": ("engine.pricing.selection", "dte_window_mask"),
    "filter_contracts": ("engine.pricing.selection", "filter_contracts"),
    "liquidity_mask": ("engine.pricing.selection", "liquidity_mask"),
    "select_by_delta": ("engine.pricing.selection", "select_by_delta"),
    "select_by_otm_pct": ("engine.pricing.selection", "select_by_otm_pct"),
    "spread_pct_of_mid": ("engine.pricing.selection", "spread_pct_of_mid"),
    "Leg": ("engine.pricing.spreads", "Leg"),
    "SpreadAnalysis": ("engine.pricing.spreads", "SpreadAnalysis"),
    "analyse_expiry_payoff": ("engine.pricing.spreads", "analyse_expiry_payoff"),
    "bear_call_credit_spread": ("engine.pricing.spreads", "bear_call_credit_spread"),
    "bear_put_spread": ("engine.pricing.spreads", "bear_put_spread"),
    "bull_call_spread": ("engine.pricing.spreads", "bull_call_spread"),
    "bull_put_credit_spread": ("engine.pricing.spreads", "bull_put_credit_spread"),
    "calendar_spread": ("engine.pricing.spreads", "calendar_spread"),
    "iron_condor": ("engine.pricing.spreads", "iron_condor"),
    "vertical_spread": ("engine.pricing.spreads", "vertical_spread"),
    "ExpectedMove": ("engine.pricing.volatility", "ExpectedMove"),
    "close_to_close_vol": ("engine.pricing.volatility", "close_to_close_vol"),
    "expected_move": ("engine.pricing.volatility", "expected_move"),
    "garman_klass_vol": ("engine.pricing.volatility", "garman_klass_vol"),
    "iv_percentile": ("engine.pricing.volatility", "iv_percentile"),
    "iv_rank": ("engine.pricing.volatility", "iv_rank"),
    "parkinson_vol": ("engine.pricing.volatility", "parkinson_vol"),
    "rogers_satchell_vol": ("engine.pricing.volatility", "rogers_satchell_vol"),
    "yang_zhang_vol": ("engine.pricing.volatility", "yang_zhang_vol"),
}

__all__ = [
    "ExpectedMove",
    "Greeks",
    "IVResult",
    "IVStatus",
    "Leg",
    "SecondOrderGreeks",
    "SpreadAnalysis",
    "american_greeks",
    "american_price",
    "analyse_expiry_payoff",
    "bear_call_credit_spread",
    "bear_put_spread",
    "binomial_american",
    "black_scholes",
    "black_scholes_second_order",
    "bs_price",
    "bull_call_spread",
    "bull_put_credit_spread",
    "calendar_spread",
    "close_to_close_vol",
    "dte_window_mask",
    "expected_move",
    "filter_contracts",
    "garman_klass_vol",
    "implied_vol",
    "implied_vol_scalar",
    "iron_condor",
    "iv_percentile",
    "iv_rank",
    "liquidity_mask",
    "parkinson_vol",
    "rogers_satchell_vol",
    "select_by_delta",
    "select_by_otm_pct",
    "spread_pct_of_mid",
    "vertical_spread",
    "yang_zhang_vol",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
