"""`RiskReport`: the full live risk picture as plain frozen values for clients.

Built from a `RiskSnapshot` (and the Monte Carlo results when the snapshot had them): VaR and
CVaR by method and level, the conservative envelope, LVaR, greeks by underlying, expiry and
strategy, concentration, the six stress scenarios, the VaR backtest.  Everything a TUI or a
remote client needs to draw the risk screen, nothing it must compute.  `to_details()` is the
JSON the store keeps with each risk snapshot (spec §6 risk result: alpha, var, cvar, lvar,
exceptions_250, kupiec_lr, details).

Fractions are of `value` (net liquidation value at the snapshot), 1 day; dollar figures are
fractions x value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from engine.risk.greeks import ExposureBreakdown, GreekTotals
from engine.risk.montecarlo import MonteCarloResult
from engine.risk.portfolio_model import RiskPortfolio
from engine.risk.snapshot import ENVELOPE_METHODS, RiskSnapshot

__all__ = [
    "BacktestRow",
    "ExposureRow",
    "GreekRow",
    "MethodRow",
    "RiskReport",
    "StressRow",
    "build_report",
    "empty_report",
]


@dataclass(frozen=True, slots=True)
class MethodRow:
    method: str
    confidence: float
    var: float
    cvar: float
    var_dollars: float
    cvar_dollars: float
    in_envelope: bool


@dataclass(frozen=True, slots=True)
class GreekRow:
    key: str
    delta: float
    gamma: float
    vega: float
    theta: float
    beta_delta: float

    @classmethod
    def of(cls, key: str, g: GreekTotals) -> GreekRow:
        return cls(key, g.delta, g.gamma, g.vega, g.theta, g.beta_delta)


@dataclass(frozen=True, slots=True)
class ExposureRow:
    key: str
    weight: float  # share of total absolute exposure
    exposure: float  # signed dollars


@dataclass(frozen=True, slots=True)
class StressRow:
    key: str
    name: str
    pnl: float
    pnl_pct: float
    worst_position: str | None
    worst_position_pnl: float
    drawdown: float
    recovery_days: float
    passed: bool
    stressed_var: float | None


@dataclass(frozen=True, slots=True)
class BacktestRow:
    exceptions: int
    observations: int
    kupiec_lr: float
    kupiec_reject: bool
    christoffersen_lr: float
    christoffersen_reject: bool
    zone: str


@dataclass(frozen=True, slots=True)
class RiskReport:
    ts: datetime
    value: float
    gross_exposure: float
    positions: int
    observations: int
    levels: tuple[float, ...]
    var: tuple[float, ...]  # envelope per level, fraction
    cvar: tuple[float, ...]
    methods: tuple[MethodRow, ...]
    lvar_dollars: float | None
    liquidity_cost: float
    greeks_total: GreekRow
    greeks_by_underlying: tuple[GreekRow, ...]
    greeks_by_expiry: tuple[GreekRow, ...]
    greeks_by_strategy: tuple[GreekRow, ...]
    greeks_shock_loss: float
    concentration_by_name: tuple[ExposureRow, ...]
    concentration_by_sector: tuple[ExposureRow, ...]
    concentration_by_expiry: tuple[ExposureRow, ...]
    stress: tuple[StressRow, ...]
    stress_compliance: str
    stress_score: float
    stress_advice: tuple[str, ...]
    backtest: BacktestRow | None
    vol_ewma: float | None
    vol_garch: float | None
    monte_carlo: bool
    errors: tuple[tuple[str, str], ...] = ()
    note: str = ""

    def var_at(self, confidence: float) -> float | None:
        return _at(self.levels, self.var, confidence)

    def cvar_at(self, confidence: float) -> float | None:
        return _at(self.levels, self.cvar, confidence)

    def var_dollars(self, confidence: float) -> float | None:
        v = self.var_at(confidence)
        return None if v is None else v * self.value

    def cvar_dollars(self, confidence: float) -> float | None:
        v = self.cvar_at(confidence)
        return None if v is None else v * self.value

    def to_details(self) -> dict[str, Any]:
        """JSON-able summary for the store (keys are strings; non-finite numbers -> None)."""
        bt = self.backtest
        return {
            "alpha": max(self.levels) if self.levels else None,
            "value": _num(self.value),
            "gross_exposure": _num(self.gross_exposure),
            "positions": self.positions,
            "observations": self.observations,
            "var": {f"{c:g}": _num(v) for c, v in zip(self.levels, self.var, strict=True)},
            "cvar": {f"{c:g}": _num(v) for c, v in zip(self.levels, self.cvar, strict=True)},
            "methods": [
                {
                    "method": m.method,
                    "confidence": m.confidence,
                    "var": _num(m.var),
                    "cvar": _num(m.cvar),
                }
                for m in self.methods
            ],
            "lvar_dollars": _num(self.lvar_dollars),
            "greeks": {
                "delta": _num(self.greeks_total.delta),
                "gamma": _num(self.greeks_total.gamma),
                "vega": _num(self.greeks_total.vega),
                "theta": _num(self.greeks_total.theta),
                "beta_delta": _num(self.greeks_total.beta_delta),
            },
            "stress": [
                {"key": s.key, "pnl": _num(s.pnl), "pnl_pct": _num(s.pnl_pct), "passed": s.passed}
                for s in self.stress
            ],
            "stress_compliance": self.stress_compliance,
            "exceptions_250": None if bt is None else bt.exceptions,
            "kupiec_lr": None if bt is None else _num(bt.kupiec_lr),
            "traffic_light": None if bt is None else bt.zone,
            "vol_ewma": _num(self.vol_ewma),
            "vol_garch": _num(self.vol_garch),
            "monte_carlo": self.monte_carlo,
            "errors": {k: v for k, v in self.errors},
            "note": self.note,
        }


def _at(levels: tuple[float, ...], vals: tuple[float, ...], c: float) -> float | None:
    for lv, v in zip(levels, vals, strict=True):
        if abs(lv - c) < 1e-12:
            return v
    return None


def _num(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _rows(b: ExposureBreakdown) -> tuple[ExposureRow, ...]:
    return tuple(
        ExposureRow(k, b.weights.get(k, 0.0), v)
        for k, v in sorted(b.exposure.items(), key=lambda kv: -abs(kv[1]))
    )


def _greek_groups(keys: list[str], per: Mapping[str, np.ndarray]) -> tuple[GreekRow, ...]:
    out: dict[str, list[float]] = {}
    fields = ("delta", "gamma", "vega", "theta", "beta_delta")
    for i, k in enumerate(keys):
        acc = out.setdefault(k, [0.0] * 5)
        for j, f in enumerate(fields):
            acc[j] += float(per[f][i])
    return tuple(GreekRow(k, *v) for k, v in sorted(out.items()))


def build_report(
    ts: datetime,
    portfolio: RiskPortfolio,
    snap: RiskSnapshot,
    *,
    monte_carlo: Mapping[float, MonteCarloResult] | None = None,
    note: str = "",
) -> RiskReport:
    value = snap.value
    methods: list[MethodRow] = []
    for name, by_level in snap.methods.items():
        for c, r in sorted(by_level.items()):
            methods.append(
                MethodRow(name, c, r.var, r.cvar, r.var * value, r.cvar * value,
                          name in ENVELOPE_METHODS)
            )  # fmt: skip
    for c, mc in sorted((monte_carlo or {}).items()):
        methods.append(
            MethodRow("monte_carlo", c, mc.var, mc.cvar, mc.var_dollars, mc.cvar_dollars, True)
        )
    per = snap.greeks.per_position
    today = ts.date()
    expiry_keys = [
        (today + timedelta(days=round(p.expiry_years * 365.0))).isoformat()
        if p.is_option
        else "stock"
        for p in portfolio.positions
    ]
    bt = snap.backtest
    st = snap.stress
    return RiskReport(
        ts=ts,
        value=value,
        gross_exposure=portfolio.gross_exposure,
        positions=len(portfolio.positions),
        observations=int(snap.returns.size),
        levels=snap.levels,
        var=tuple(snap.var[c] for c in snap.levels),
        cvar=tuple(snap.cvar[c] for c in snap.levels),
        methods=tuple(methods),
        lvar_dollars=None if snap.lvar is None else snap.lvar.lvar,
        liquidity_cost=0.0 if snap.lvar is None else snap.lvar.cost,
        greeks_total=GreekRow.of("total", snap.greeks.total),
        greeks_by_underlying=tuple(
            GreekRow.of(k, g) for k, g in sorted(snap.greeks.by_underlying.items())
        ),
        greeks_by_expiry=_greek_groups(expiry_keys, per),
        greeks_by_strategy=tuple(
            GreekRow.of(k, g) for k, g in sorted(snap.greeks.by_strategy.items())
        ),
        greeks_shock_loss=snap.greeks_shock_loss,
        concentration_by_name=_rows(snap.concentration.by_name),
        concentration_by_sector=_rows(snap.concentration.by_sector),
        concentration_by_expiry=_rows(snap.concentration.by_expiry),
        stress=tuple(
            StressRow(
                r.scenario.key,
                r.scenario.name,
                r.pnl,
                r.pnl_pct,
                r.worst_position,
                r.worst_position_pnl,
                r.drawdown,
                r.recovery_days,
                r.passed,
                r.stressed_var,
            )
            for r in st.results
        ),
        stress_compliance=st.compliance.value,
        stress_score=st.score,
        stress_advice=st.advice,
        backtest=None
        if bt is None
        else BacktestRow(
            bt.exceptions,
            int(bt.hits.size),
            bt.kupiec.lr,
            bt.kupiec.reject,
            bt.christoffersen.lr_cc,
            bt.christoffersen.reject_cc,
            bt.traffic_light.zone.value,
        ),
        vol_ewma=snap.vol_ewma,
        vol_garch=snap.vol_garch,
        monte_carlo=bool(monte_carlo),
        errors=tuple(sorted(snap.errors.items())),
        note=note,
    )


def empty_report(ts: datetime, value: float, levels: tuple[float, ...], note: str) -> RiskReport:
    """The report of a book with no positions: no market risk at all."""
    zero = GreekRow("total", 0.0, 0.0, 0.0, 0.0, 0.0)
    return RiskReport(
        ts=ts,
        value=value,
        gross_exposure=0.0,
        positions=0,
        observations=0,
        levels=levels,
        var=tuple(0.0 for _ in levels),
        cvar=tuple(0.0 for _ in levels),
        methods=(),
        lvar_dollars=0.0,
        liquidity_cost=0.0,
        greeks_total=zero,
        greeks_by_underlying=(),
        greeks_by_expiry=(),
        greeks_by_strategy=(),
        greeks_shock_loss=0.0,
        concentration_by_name=(),
        concentration_by_sector=(),
        concentration_by_expiry=(),
        stress=(),
        stress_compliance="n/a",
        stress_score=0.0,
        stress_advice=(),
        backtest=None,
        vol_ewma=None,
        vol_garch=None,
        monte_carlo=False,
        note=note,
    )
