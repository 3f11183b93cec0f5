"""The live risk computation: one call, run off the event loop, per monitor snapshot.

Given the account book, current spots and option implied vols and the universe's daily
history, `compute_live_risk` returns the full `RiskReport` (every VaR method but Monte Carlo,
which runs only when asked for, LVaR, greeks, concentration, six stress scenarios, VaR
backtest) and the `MarginalVaR` model the pre-trade checks use until the next snapshot.
Option positions keep their contract's exercise style (`OptionContract.is_european`): single
names are re-priced American, cash-settled index options European.

Fail closed: a position that cannot be valued (no spot, no implied vol, no history) or too
little history raises (`MissingRiskInput`, `InsufficientData`), and the caller blocks new
risk with that reason.  Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from engine.domain import OptionContract, Portfolio
from engine.risk.marginal import MarginalVaR, ScenarioHistory
from engine.risk.montecarlo import MonteCarloResult, monte_carlo_var
from engine.risk.portfolio_model import from_domain
from engine.risk.report import RiskReport, build_report, empty_report
from engine.risk.snapshot import risk_snapshot
from engine.risk.var import MIN_OBSERVATIONS, InsufficientData

__all__ = ["LiveRiskInputs", "LiveRiskResult", "compute_live_risk"]

_EXPIRY_VOL = 0.30  # an option on its expiry day is valued at intrinsic; any vol will do


@dataclass(frozen=True, slots=True)
class LiveRiskInputs:
    ts: datetime
    portfolio: Portfolio
    history: ScenarioHistory
    spots: Mapping[str, float]  # symbol -> price now (underlyings and the universe)
    ivs: Mapping[str, float] = field(default_factory=dict)  # option symbol -> implied vol
    spreads: Mapping[str, float] = field(default_factory=dict)  # symbol -> spread / mid
    strategies: Mapping[str, str] = field(default_factory=dict)  # position symbol -> strategy
    sectors: Mapping[str, str] = field(default_factory=dict)  # underlying -> sector
    betas: Mapping[str, float] = field(default_factory=dict)  # underlying -> beta
    rate: float = 0.0
    levels: tuple[float, ...] = (0.95, 0.99)
    lookback: int = 252
    monte_carlo_paths: int = 0
    garch: bool = True


@dataclass(frozen=True, eq=False)
class LiveRiskResult:
    report: RiskReport
    model: MarginalVaR


def compute_live_risk(inp: LiveRiskInputs) -> LiveRiskResult:
    today = inp.ts.date()
    hist = inp.history
    if hist.n_obs < MIN_OBSERVATIONS:
        raise InsufficientData(
            f"{hist.n_obs} days of history, at least {MIN_OBSERVATIONS} are required"
        )
    live = [p for p in inp.portfolio.positions.values() if p.quantity != 0]
    if not live:
        model = MarginalVaR(
            hist,
            asof=inp.ts,
            rate=inp.rate,
            spots=inp.spots,
            ivs=inp.ivs,
            betas=inp.betas,
            lookback=inp.lookback,
        )
        report = empty_report(
            inp.ts, inp.portfolio.equity, inp.levels, "no positions: no market risk"
        )
        return LiveRiskResult(report, model)
    ivs = dict(inp.ivs)
    for p in live:
        inst = p.instrument
        if isinstance(inst, OptionContract) and inst.dte(today) <= 0 and p.symbol not in ivs:
            ivs[p.symbol] = _EXPIRY_VOL
    rp = from_domain(
        inp.portfolio,
        inp.spots,
        today=today,
        ivs=ivs,
        rate=inp.rate,
        strategies=inp.strategies,
        sectors=inp.sectors,
        betas=inp.betas,
        spreads=inp.spreads,
    )
    rows = min(hist.n_obs, inp.lookback + 250)
    returns = hist.matrix(rp.underlyings, rows)
    mc: dict[float, MonteCarloResult] | None = None
    if inp.monte_carlo_paths > 0:
        window = returns[-inp.lookback :]
        mc = {
            c: monte_carlo_var(
                rp,
                c,
                returns=window,
                n_scenarios=inp.monte_carlo_paths,
                seed=42,
                check_repricing=False,
            )
            for c in inp.levels
        }
    snap = risk_snapshot(
        rp,
        returns,
        levels=inp.levels,
        lookback=inp.lookback,
        kind="log",
        garch=inp.garch,
        monte_carlo=mc,
    )
    hist_m = snap.methods["historical"]
    excess = {
        c: (
            max(0.0, snap.var[c] - hist_m[c].var),
            max(0.0, snap.cvar[c] - hist_m[c].cvar),
        )
        for c in inp.levels
    }
    model = MarginalVaR(
        hist,
        asof=inp.ts,
        rate=inp.rate,
        spots=inp.spots,
        ivs=ivs,
        betas=inp.betas,
        envelope_excess=excess,
        lookback=inp.lookback,
    )
    model.prime(inp.portfolio)  # price the held book here, off the event loop
    report = build_report(inp.ts, rp, snap, monte_carlo=mc)
    return LiveRiskResult(report, model)
