"""`build_risk_report_view`: the risk screen's read model (`views.RiskReportView`).

Built from the risk monitor's latest `engine.risk.report.RiskReport`, the
per-position greeks of the snapshot and the breaker board.

Units: VaR/CVaR/LVaR and stress P&L in dollars (positive VaR is a loss) with the fraction of
net liquidation value alongside; greeks in dollars as in `PositionGreeks`; one-day horizon.

Greeks by underlying *and* expiry come from the per-position greeks (the monitor's report
groups by one key at a time); totals from the monitor's report when there is one, so the
screen's total agrees with what the pre-trade greek limits check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from engine.domain import OptionContract, Position
from engine.risk.breakers import BREAKERS
from engine.risk.report import RiskReport
from engine.runtime.position_greeks import position_greeks
from engine.runtime.views import (
    ENVELOPE,
    BreakerStatus,
    GreeksBucket,
    GreeksTotal,
    PositionGreeks,
    RiskReportView,
    StressResult,
    VarBacktest,
    VarEstimate,
)

__all__ = [
    "ENVELOPE",
    "BreakerState",
    "BreakerStatus",
    "GreeksBucket",
    "GreeksTotal",
    "RiskInputs",
    "RiskReportView",
    "StressResult",
    "VarBacktest",
    "VarEstimate",
    "build_risk_report_view",
]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """What the engine knows about one tripped breaker (gathered on the event loop)."""

    name: str
    reason: str = ""
    since: datetime | None = None
    cooldown_left: timedelta | None = None


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """A copy of the engine state the view is built from, taken on the event loop."""

    now: datetime
    report: RiskReport | None
    report_error: str
    positions: tuple[Position, ...]
    spots: Mapping[str, float]
    rate: float
    tripped: tuple[BreakerState, ...]


def build_risk_report_view(inputs: RiskInputs) -> RiskReportView:
    """Pure, so it runs in a worker thread: the inputs are immutable values or copies."""
    now, report, report_error = inputs.now, inputs.report, inputs.report_error
    positions = inputs.positions
    greeks = position_greeks(positions, inputs.spots, today=now.date(), rate=inputs.rate)
    tripped = inputs.tripped
    buckets = _buckets(positions, greeks)
    breakers = _breakers(tripped)
    if report is None:
        note = (
            f"risk model unavailable, new risk blocked: {report_error}"
            if report_error
            else "no risk snapshot yet (the monitor measures on its first tick)"
        )
        return RiskReportView(
            ts=now,
            var=(),
            stress=(),
            greeks=buckets,
            backtest=None,
            breakers=breakers,
            note=note,
            available=False,
            greeks_total=_sum(buckets),
        )
    notes = [
        n for n in (report.note, report_error and f"latest snapshot failed: {report_error}") if n
    ]
    notes.extend(f"{k}: {v}" for k, v in report.errors)
    bt = report.backtest
    gt = report.greeks_total
    return RiskReportView(
        ts=now,
        var=_var_rows(report),
        stress=tuple(
            StressResult(
                scenario=s.name,
                pnl=s.pnl,
                pnl_pct=s.pnl_pct,
                recovery_days=s.recovery_days,
                passed=s.passed,
                key=s.key,
                worst_position=s.worst_position,
                worst_position_pnl=s.worst_position_pnl,
                drawdown=s.drawdown,
            )
            for s in report.stress
        ),
        greeks=buckets,
        backtest=None
        if bt is None
        else VarBacktest(
            window=bt.observations,
            exceptions=bt.exceptions,
            kupiec_lr=bt.kupiec_lr,
            traffic_light=bt.zone,
            christoffersen_lr=bt.christoffersen_lr,
            kupiec_reject=bt.kupiec_reject,
            christoffersen_reject=bt.christoffersen_reject,
        ),
        breakers=breakers,
        note="; ".join(notes),
        available=True,
        report_ts=report.ts,
        value=report.value,
        observations=report.observations,
        greeks_total=GreeksTotal(gt.delta, gt.gamma, gt.vega, gt.theta, gt.beta_delta),
        stress_compliance=report.stress_compliance,
        stress_advice=report.stress_advice,
        monte_carlo=report.monte_carlo,
    )


def _var_rows(r: RiskReport) -> tuple[VarEstimate, ...]:
    rows: list[VarEstimate] = []
    top = max(r.levels) if r.levels else None
    for c, v, cv in zip(r.levels, r.var, r.cvar, strict=True):
        rows.append(
            VarEstimate(
                method=ENVELOPE,
                confidence=c,
                horizon_days=1,
                var=v * r.value,
                cvar=cv * r.value,
                lvar=r.lvar_dollars if c == top else None,
                var_pct=v,
                cvar_pct=cv,
                in_envelope=True,
            )
        )
    for m in r.methods:
        rows.append(
            VarEstimate(
                method=m.method,
                confidence=m.confidence,
                horizon_days=1,
                var=m.var_dollars,
                cvar=m.cvar_dollars,
                var_pct=m.var,
                cvar_pct=m.cvar,
                in_envelope=m.in_envelope,
            )
        )
    return tuple(rows)


def _buckets(
    positions: Iterable[Position], greeks: Mapping[str, PositionGreeks]
) -> tuple[GreeksBucket, ...]:
    acc: dict[tuple[str, date | None], list[float]] = {}
    for p in positions:
        g = greeks.get(p.symbol)
        if g is None or p.quantity == 0:
            continue
        inst = p.instrument
        expiry = inst.expiry if isinstance(inst, OptionContract) else None
        row = acc.setdefault((inst.underlying, expiry), [0.0, 0.0, 0.0, 0.0, 0.0])
        row[0] += g.delta_dollars
        row[1] += g.gamma_dollars
        row[2] += g.vega_dollars
        row[3] += g.theta_dollars
        row[4] += 1
    # Shares (no expiry) first within an underlying, then expiries in date order.
    keys = sorted(acc, key=lambda k: (k[0], k[1] is not None, k[1] or date.min))
    return tuple(
        GreeksBucket(
            u, e, acc[u, e][0], acc[u, e][1], acc[u, e][2], acc[u, e][3], int(acc[u, e][4])
        )
        for u, e in keys
    )


def _sum(buckets: Sequence[GreeksBucket]) -> GreeksTotal:
    return GreeksTotal(
        delta=sum(b.delta for b in buckets),
        gamma=sum(b.gamma for b in buckets),
        vega=sum(b.vega for b in buckets),
        theta=sum(b.theta for b in buckets),
    )


def _breakers(tripped: Sequence[BreakerState]) -> tuple[BreakerStatus, ...]:
    by_name = {t.name: t for t in tripped}
    out: list[BreakerStatus] = []
    for name, spec in BREAKERS.items():
        t = by_name.pop(name, None)
        out.append(_status(name, spec.kind.value, spec.description, t))
    # Trips the engine raised itself (e.g. "risk_model" when the monitor failed).
    for name, t in by_name.items():
        out.append(_status(name, "engine", "", t))
    # Tripped first, so the screen's cursor starts on what needs a decision.
    return tuple(sorted(out, key=lambda b: not b.tripped))


def _status(name: str, kind: str, description: str, t: BreakerState | None) -> BreakerStatus:
    if t is None:
        return BreakerStatus(name, False, description, kind)
    left = t.cooldown_left.total_seconds() if t.cooldown_left is not None else None
    return BreakerStatus(name, True, t.reason or description, kind, t.since, left)
