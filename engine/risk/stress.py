"""Stress tests (spec §2): the six hypothetical scenarios with full re-pricing, and historical
stress replay of real index paths.

Hypothetical scenario model (instantaneous shock, everything else fixed):

* Each position's underlying moves by beta x its factor shock: crypto underlyings take the
  scenario's crypto shock (spec proposed), bonds the bond shock, commodities the oil shock,
  forex the FX shock (as a fall of the foreign asset), equities the tech shock if their sector
  is technology, else the growth shock if their style is growth, else the broad equity shock
  (a scenario without one - the AI-bubble burst - leaves other equities unmoved).  Prices are
  floored at 1 % of spot.
* Options are re-priced in full at the shocked spot, implied vol x (1 + vol shock) and rate +
  rate shock - single names as American (early-exercise premium), cash-settled index options
  as European (Black-Scholes-Merton); shares move linearly.  This replaces upstream's vol "beta"
  (which booked vol spikes as gains for everyone): a vol spike helps long premium and hurts
  short premium through the re-pricing itself.
* Liquidity is always a loss: |liquidity sensitivity of the strategy| x |liquidity shock| x 1 %
  of the position's absolute value (spec proposed).  Sector rotation is charged the same way
  with the strategy's rotation sensitivity (an assumption: the spec gives no sign for it).

Recovery = base x 2.0 if drawdown > 50 %, x 1.5 if > 25 %.  Pass: drawdown <= 25 % and recovery
<= 750 days.  Compliance: pass rate >= 80 % COMPLIANT, >= 60 % PARTIALLY_COMPLIANT, else
NON_COMPLIANT.  Score = min(100, 1000 x probability-weighted mean |P&L| as a fraction of value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from engine.pricing.american_book import AmericanBook
from engine.risk.portfolio_model import AssetClass, RiskPortfolio

FloatArray = NDArray[np.float64]

__all__ = [
    "SCENARIOS",
    "STRATEGY_SENSITIVITIES",
    "ComplianceLevel",
    "HistoricalStressResult",
    "StrategySensitivity",
    "StressReport",
    "StressResult",
    "StressScenario",
    "compliance_level",
    "historical_stress",
    "recovery_days",
    "run_all_stress",
    "run_stress",
    "worst_windows",
]

TECH_SECTORS = frozenset(
    {"technology", "information technology", "tech", "semiconductors", "software"}
)
MAX_DRAWDOWN = 0.25
MAX_RECOVERY_DAYS = 750.0


@dataclass(frozen=True, slots=True)
class StressScenario:
    """Shocks as fractions (-0.5 = -50 %); vol is relative (+2.0 = implied vol x 3)."""

    key: str
    name: str
    duration_days: int
    recovery_days: int
    probability: float
    equity: float | None = None
    tech: float | None = None
    growth: float | None = None
    vol: float = 0.0
    rates_bp: float = 0.0
    credit_spreads: float = 0.0
    liquidity: float = 0.0
    sector_rotation: float = 0.0
    oil: float | None = None
    fx: float | None = None
    bonds: float | None = None
    crypto: float | None = None
    correlation_to: float | None = None  # 2008 flags correlation -> 0.9

    @property
    def headline_equity_shock(self) -> float:
        """The equity shock quick stressed VaR uses: broad equity, else the largest sector one."""
        if self.equity is not None:
            return self.equity
        return min((s for s in (self.tech, self.growth) if s is not None), default=0.0)


SCENARIOS: tuple[StressScenario, ...] = (
    StressScenario(
        "2008_financial_crisis", "2008 financial crisis", 180, 730, 0.005,
        equity=-0.50, credit_spreads=0.30, vol=2.0, liquidity=-0.80, crypto=-0.65,
        correlation_to=0.9,
    ),
    StressScenario(
        "flash_crash_2010", "2010 flash crash", 1, 7, 0.02,
        equity=-0.20, vol=3.0, liquidity=-0.90, crypto=-0.30,
    ),
    StressScenario(
        "covid_19", "COVID-19 crash", 30, 120, 0.01,
        equity=-0.35, vol=2.5, sector_rotation=0.40, liquidity=-0.60, crypto=-0.50,
    ),
    StressScenario(
        "rate_shock", "Interest-rate shock", 60, 180, 0.02,
        rates_bp=300.0, bonds=-0.15, equity=-0.20, vol=1.5, crypto=-0.25,
    ),
    StressScenario(
        "geopolitical", "Geopolitical crisis", 90, 365, 0.015,
        equity=-0.25, oil=0.50, vol=1.8, fx=0.20, crypto=-0.35,
    ),
    StressScenario(
        "ai_bubble", "AI bubble burst", 120, 540, 0.01,
        tech=-0.60, growth=-0.40, vol=2.2, sector_rotation=0.50, crypto=-0.45,
    ),
)  # fmt: skip

_BY_KEY = {s.key: s for s in SCENARIOS}


@dataclass(frozen=True, slots=True)
class StrategySensitivity:
    equity: float
    vol: float
    liquidity: float
    sector_rotation: float


STRATEGY_SENSITIVITIES: Mapping[str, StrategySensitivity] = {
    "wsb_dip_bot": StrategySensitivity(1.2, 0.8, 0.6, 0.4),
    "earnings_protection": StrategySensitivity(0.8, 1.5, 0.3, 0.6),
    "index_baseline": StrategySensitivity(1.0, 0.5, 0.2, 0.1),
    "momentum_weeklies": StrategySensitivity(1.1, 1.2, 0.7, 0.8),
    "debit_spreads": StrategySensitivity(0.9, 1.8, 0.5, 0.3),
    "leaps_tracker": StrategySensitivity(1.3, 1.0, 0.4, 0.5),
}
_OTHER = StrategySensitivity(1.0, 1.0, 0.5, 0.5)


class ComplianceLevel(StrEnum):
    COMPLIANT = "COMPLIANT"
    PARTIALLY_COMPLIANT = "PARTIALLY_COMPLIANT"
    NON_COMPLIANT = "NON_COMPLIANT"


def compliance_level(passed: int, total: int) -> ComplianceLevel:
    if total <= 0 or not 0 <= passed <= total:
        raise ValueError(
            f"passed={passed!r} of total={total!r} must satisfy 0 <= passed <= total > 0"
        )
    rate = passed / total
    if rate >= 0.8:
        return ComplianceLevel.COMPLIANT
    if rate >= 0.6:
        return ComplianceLevel.PARTIALLY_COMPLIANT
    return ComplianceLevel.NON_COMPLIANT


def recovery_days(base_days: float, drawdown: float) -> float:
    """Spec: base x 2.0 if the drawdown exceeds 50 %, x 1.5 if it exceeds 25 %."""
    if drawdown > 0.50:
        return base_days * 2.0
    if drawdown > 0.25:
        return base_days * 1.5
    return float(base_days)


@dataclass(frozen=True, eq=False)
class StressResult:
    scenario: StressScenario
    pnl: float  # currency, total (market - liquidity - rotation)
    pnl_pct: float  # of portfolio value
    market_pnl: float  # re-pricing P&L
    liquidity_cost: float
    rotation_cost: float
    drawdown: float
    recovery_days: float
    passed: bool
    worst_position: str | None
    worst_position_pnl: float
    pnl_by_position: FloatArray
    pnl_by_strategy: Mapping[str, float]
    stressed_var: float | None = None  # quick stressed VaR (fraction) when a VaR99 is given


def _resolve(scenario: StressScenario | str) -> StressScenario:
    if isinstance(scenario, StressScenario):
        return scenario
    try:
        return _BY_KEY[scenario]
    except KeyError:
        raise ValueError(
            f"scenario={scenario!r} is unknown; choose one of {', '.join(_BY_KEY)}"
        ) from None


def _factor_shocks(portfolio: RiskPortfolio, s: StressScenario) -> FloatArray:
    out = np.empty(len(portfolio.positions))
    eq = s.equity if s.equity is not None else 0.0
    for i, p in enumerate(portfolio.positions):
        shock: float | None = None
        ac = p.asset_class
        if ac is AssetClass.CRYPTO:
            shock = s.crypto
        elif ac is AssetClass.BOND:
            shock = s.bonds
        elif ac is AssetClass.COMMODITY:
            shock = s.oil
        elif ac is AssetClass.FOREX:
            shock = -abs(s.fx) if s.fx is not None else None
        elif p.sector.lower() in TECH_SECTORS:
            shock = s.tech if s.tech is not None else s.growth
        elif p.style.lower() == "growth":
            shock = s.growth
        out[i] = eq if shock is None else shock
    return out


def _position_pnl(
    portfolio: RiskPortfolio,
    spot_move: FloatArray,
    vol_mult: float | FloatArray,
    rate_shift: float,
    t_shift: float | FloatArray = 0.0,
) -> FloatArray:
    """Market P&L per position (or per path row x position) for relative spot moves."""
    a = portfolio.arrays
    new_spot = a.spot * np.maximum(1.0 + spot_move, 0.01)
    pnl = a.units * (new_spot - a.spot)
    o = a.option_idx
    if o.size:
        so = new_spot[..., o]
        T = np.maximum(a.expiry[o] - t_shift, 0.0)
        iv = a.iv[o] * vol_mult
        # One exercise boundary per option and (time, vol) state: a single book for an
        # instantaneous shock, one per path row when time or vol vary along a path.
        T, iv = np.broadcast_arrays(T, iv)
        if T.ndim == 1:
            px = AmericanBook.prepare(
                a.strike[o], T, a.rate + rate_shift, a.div[o], iv, a.is_call[o], a.american[o]
            ).prices(so)
        else:
            so = np.broadcast_to(so, T.shape)
            px = np.empty(T.shape)
            for i in range(T.shape[0]):
                px[i] = AmericanBook.prepare(
                    a.strike[o],
                    T[i],
                    a.rate + rate_shift,
                    a.div[o],
                    iv[i],
                    a.is_call[o],
                    a.american[o],
                ).prices(so[i])
        pnl[..., o] = a.units[o] * (px - a.price[o])
    return np.asarray(pnl, dtype=np.float64)


def run_stress(
    portfolio: RiskPortfolio,
    scenario: StressScenario | str,
    *,
    var99: float | None = None,
    include_liquidity: bool = True,
) -> StressResult:
    """One scenario with full re-pricing (see the module docstring for the model)."""
    s = _resolve(scenario)
    a = portfolio.arrays
    move = a.beta * _factor_shocks(portfolio, s)
    market = _position_pnl(portfolio, move, max(1.0 + s.vol, 0.01), s.rates_bp / 1e4)
    sens = [STRATEGY_SENSITIVITIES.get(p.strategy, _OTHER) for p in portfolio.positions]
    absval = np.abs(a.value)
    if include_liquidity:
        liq = np.array([abs(x.liquidity) for x in sens]) * abs(s.liquidity) * 0.01 * absval
        rot = (
            np.array([abs(x.sector_rotation) for x in sens])
            * abs(s.sector_rotation)
            * 0.01
            * absval
        )
    else:
        liq = rot = np.zeros(a.n)
    per = market - liq - rot
    total = float(per.sum())
    value = portfolio.value
    pct = total / value if value > 0 else math.nan
    dd = max(0.0, -pct) if value > 0 else math.inf
    rec = recovery_days(s.recovery_days, dd)
    by_strat: dict[str, float] = {}
    for p, x in zip(portfolio.positions, per.tolist(), strict=True):
        by_strat[p.strategy] = by_strat.get(p.strategy, 0.0) + x
    worst_i = int(np.argmin(per)) if a.n else -1
    return StressResult(
        scenario=s,
        pnl=total,
        pnl_pct=pct,
        market_pnl=float(market.sum()),
        liquidity_cost=float(liq.sum()),
        rotation_cost=float(rot.sum()),
        drawdown=dd,
        recovery_days=rec,
        passed=dd <= MAX_DRAWDOWN and rec <= MAX_RECOVERY_DAYS,
        worst_position=portfolio.positions[worst_i].symbol if worst_i >= 0 else None,
        worst_position_pnl=float(per[worst_i]) if worst_i >= 0 else 0.0,
        pnl_by_position=per,
        pnl_by_strategy=by_strat,
        stressed_var=None if var99 is None else var99 * (1.0 + abs(s.headline_equity_shock)),
    )


@dataclass(frozen=True, eq=False)
class StressReport:
    results: tuple[StressResult, ...]
    passed: int
    pass_rate: float
    compliance: ComplianceLevel
    score: float
    advice: tuple[str, ...] = field(default_factory=tuple)


def run_all_stress(
    portfolio: RiskPortfolio,
    scenarios: Sequence[StressScenario | str] = SCENARIOS,
    *,
    var99: float | None = None,
) -> StressReport:
    """All scenarios, pass rate, compliance level, score and advice (spec §2)."""
    if not scenarios:
        raise ValueError("scenarios must not be empty")
    res = tuple(run_stress(portfolio, s, var99=var99) for s in scenarios)
    n_pass = sum(r.passed for r in res)
    probs = np.array([r.scenario.probability for r in res])
    losses = np.array([abs(r.pnl_pct) if math.isfinite(r.pnl_pct) else 0.0 for r in res])
    wmean = float(np.dot(probs, losses) / probs.sum()) if probs.sum() > 0 else float(losses.mean())
    advice: list[str] = []
    for r in res:
        name = r.scenario.name
        if not r.passed and r.drawdown > 0.30:
            advice.append(f"{name}: drawdown {r.drawdown:.0%} > 30%: cut position sizes")
        if r.recovery_days > 60:
            advice.append(f"{name}: recovery {r.recovery_days:.0f} d > 60 d: diversify")
        for strat, pnl in r.pnl_by_strategy.items():
            if pnl < -1000.0:
                advice.append(f"{name}: {strat} loses ${-pnl:,.0f} > $1,000: review the strategy")
    return StressReport(
        results=res,
        passed=n_pass,
        pass_rate=n_pass / len(res),
        compliance=compliance_level(n_pass, len(res)),
        score=min(100.0, 1000.0 * wmean),
        advice=tuple(advice),
    )


# --------------------------------------------------------------------------------------------
# historical stress replay


def worst_windows(
    dates: Sequence[date],
    prices: ArrayLike,
    window_days: int = 20,
    *,
    start: date | None = None,
    end: date | None = None,
    n: int = 1,
) -> list[tuple[int, int, float]]:
    """The `n` worst non-overlapping `window_days`-day price changes with both ends inside
    [start, end]: (start index, end index, simple return), worst first."""
    px = np.asarray(prices, dtype=np.float64)
    if px.ndim != 1 or len(dates) != px.size:
        raise ValueError(f"dates ({len(dates)}) and prices ({px.shape}) must be 1-d and aligned")
    if not np.all(np.isfinite(px)) or np.any(px <= 0):
        raise ValueError("prices must be finite and > 0")
    if window_days < 1:
        raise ValueError(f"window_days={window_days!r} must be >= 1")
    lo = (
        0
        if start is None
        else int(np.searchsorted(np.array(dates, dtype="datetime64[D]"), np.datetime64(start, "D")))
    )
    hi = px.size - 1
    if end is not None:
        hi = (
            int(
                np.searchsorted(
                    np.array(dates, dtype="datetime64[D]"), np.datetime64(end, "D"), side="right"
                )
            )
            - 1
        )
    if hi - lo < window_days:
        raise ValueError(f"fewer than {window_days + 1} prices between {start} and {end}")
    rets = px[lo + window_days : hi + 1] / px[lo : hi + 1 - window_days] - 1.0
    order = np.argsort(rets, kind="stable")
    picked: list[tuple[int, int, float]] = []
    for i in order.tolist():
        s0 = lo + i
        if all(abs(s0 - p[0]) >= window_days for p in picked):
            picked.append((s0, s0 + window_days, float(rets[i])))
            if len(picked) == n:
                break
    return picked


@dataclass(frozen=True, eq=False)
class HistoricalStressResult:
    start: date
    end: date
    dates: tuple[date, ...]
    index_path: FloatArray  # cumulative index return from the start, per date
    pnl_path: FloatArray  # portfolio P&L (currency) per date, 0 at the start
    pnl_by_position: FloatArray  # final P&L per position
    final_pnl: float
    worst_pnl: float
    max_drawdown: float  # largest peak-to-trough fall of portfolio value along the path

    @property
    def index_return(self) -> float:
        return float(self.index_path[-1])


def historical_stress(
    portfolio: RiskPortfolio,
    dates: Sequence[date],
    index_prices: ArrayLike,
    *,
    window_days: int = 20,
    periods: Sequence[tuple[date, date]] = (
        (date(2008, 1, 1), date(2008, 12, 31)),
        (date(2020, 1, 1), date(2020, 12, 31)),
    ),
    n_worst: int = 1,
    vol_index: ArrayLike | None = None,
) -> list[HistoricalStressResult]:
    """Replay the worst `window_days` windows of each period through the portfolio.

    Along a window, each underlying's spot is S (1 + beta R_t) with R_t the index's cumulative
    simple return since the window start (floored at 1 % of S); options are re-priced with the
    calendar time elapsed taken off their expiry, and implied vols scaled by vol_index_t /
    vol_index_0 when a volatility index (e.g. VIX, aligned with the prices) is given, else held.
    """
    px = np.asarray(index_prices, dtype=np.float64)
    vix = None if vol_index is None else np.asarray(vol_index, dtype=np.float64)
    if vix is not None and (vix.shape != px.shape or np.any(~(vix > 0))):
        raise ValueError("vol_index must be positive and aligned with index_prices")
    a = portfolio.arrays
    out: list[HistoricalStressResult] = []
    for p_start, p_end in periods:
        for s0, s1, _ in worst_windows(dates, px, window_days, start=p_start, end=p_end, n=n_worst):
            path = px[s0 : s1 + 1] / px[s0] - 1.0
            days = np.array(
                [(dates[t] - dates[s0]).days for t in range(s0, s1 + 1)], dtype=np.float64
            )
            move = a.beta[None, :] * path[:, None]
            vm: float | FloatArray = 1.0 if vix is None else (vix[s0 : s1 + 1] / vix[s0])[:, None]
            per = _position_pnl(portfolio, move, vm, 0.0, (days / 365.0)[:, None])
            pnl = per.sum(axis=1)
            value = portfolio.value + pnl
            peak = np.maximum.accumulate(value)
            with np.errstate(divide="ignore", invalid="ignore"):
                dd = np.where(peak > 0, (peak - value) / peak, 0.0)
            out.append(
                HistoricalStressResult(
                    start=dates[s0],
                    end=dates[s1],
                    dates=tuple(dates[s0 : s1 + 1]),
                    index_path=path,
                    pnl_path=pnl,
                    pnl_by_position=per[-1],
                    final_pnl=float(pnl[-1]),
                    worst_pnl=float(pnl.min()),
                    max_drawdown=float(dd.max()),
                )
            )
    return out
