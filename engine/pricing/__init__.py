"""Options analytics: Black-Scholes-Merton prices and greeks, implied volatility, American
exercise, historical volatility estimators, contract selection and spread construction.

Pure NumPy/SciPy: nothing is compiled or JIT-ed on import.  Units everywhere: T in years
(calendar days / 365), r and q continuously compounded per year, volatility annualised
decimal, vega/rho per 1.00, theta per calendar year.  See each module's docstring.
"""

from engine.pricing.american import american_greeks, american_price, binomial_american
from engine.pricing.bsm import (
    Greeks,
    SecondOrderGreeks,
    black_scholes,
    black_scholes_second_order,
    bs_price,
)
from engine.pricing.implied_vol import IVResult, IVStatus, implied_vol, implied_vol_scalar
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
