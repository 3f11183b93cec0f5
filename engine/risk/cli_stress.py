"""`wsb risk stress --db PATH [--json]`: the six spec scenarios on the stored portfolio.

Positions and cash come from the store.  Marks (underlying spots, option implied vols) come
from the last stored risk snapshot when it covers every position - the live monitor stores
the book's spots and vols with each snapshot - else from the simulator reconstructed at the
stored market clock (`sim_clock` setting, the configured seed).  An option that still has
no implied vol, or an underlying with no spot, is an error naming it: a stress result on a
guessed price would be worse than none.

This is a CLI entry point, the top of the stack: it imports the store and the simulator
lazily, inside the functions, so `engine.risk` itself keeps depending on domain and pricing
only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.domain import OptionContract, Portfolio, Position
from engine.risk.portfolio_model import MissingRiskInput, from_domain
from engine.risk.stress import SCENARIOS, StressScenario, run_all_stress

__all__ = ["format_stress_text", "stress_from_db", "stress_from_db_sync", "stress_report"]

_EXPIRY_VOL = 0.30


def stress_report(
    portfolio: Portfolio,
    spots: Mapping[str, float],
    ivs: Mapping[str, float],
    *,
    as_of: datetime,
    rate: float = 0.0,
    strategies: Mapping[str, str] | None = None,
    sectors: Mapping[str, str] | None = None,
    betas: Mapping[str, float] | None = None,
    marks_from: str = "",
    scenarios: Sequence[StressScenario | str] = SCENARIOS,
) -> dict[str, Any]:
    """The JSON-ready stress report of one portfolio (pure; the CLI's --json output)."""
    live = {s: p for s, p in portfolio.positions.items() if p.quantity != 0}
    base: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "marks_from": marks_from,
        "positions": len(live),
        "cash": float(portfolio.cash),
    }
    if not live:
        return base | {
            "value": float(portfolio.cash),
            "scenarios": [],
            "passed": 0,
            "pass_rate": 1.0,
            "compliance": "n/a",
            "score": 0.0,
            "advice": ["no positions: nothing to stress"],
        }
    today = as_of.date()
    ivs = dict(ivs)
    for sym, p in live.items():
        inst = p.instrument
        if isinstance(inst, OptionContract) and inst.dte(today) <= 0 and sym not in ivs:
            ivs[sym] = _EXPIRY_VOL  # at expiry the value is intrinsic, whatever the vol
    rp = from_domain(
        portfolio,
        spots,
        today=today,
        ivs=ivs,
        rate=rate,
        strategies=strategies,
        sectors=sectors,
        betas=betas,
    )
    rep = run_all_stress(rp, scenarios)
    return base | {
        "value": rp.value,
        "scenarios": [
            {
                "key": r.scenario.key,
                "name": r.scenario.name,
                "pnl": r.pnl,
                "pnl_pct": r.pnl_pct,
                "market_pnl": r.market_pnl,
                "liquidity_cost": r.liquidity_cost,
                "worst_position": r.worst_position,
                "worst_position_pnl": r.worst_position_pnl,
                "drawdown": r.drawdown,
                "recovery_days": r.recovery_days,
                "passed": r.passed,
            }
            for r in rep.results
        ],
        "passed": rep.passed,
        "pass_rate": rep.pass_rate,
        "compliance": rep.compliance.value,
        "score": rep.score,
        "advice": list(rep.advice),
    }


def format_stress_text(report: Mapping[str, Any]) -> str:
    """The human table for the CLI without --json."""
    lines = [
        f"stress test of {report['positions']} positions, value ${report['value']:,.2f} "
        f"(marks: {report['marks_from']}, as of {report['as_of']})",
    ]
    rows = report["scenarios"]
    if rows:
        lines.append(
            f"{'scenario':<24} {'P&L':>14} {'%':>8} {'recovery':>9}  {'result':<6} worst position"
        )
        for r in rows:
            lines.append(
                f"{r['name']:<24} {r['pnl']:>14,.2f} {r['pnl_pct']:>8.2%} "
                f"{r['recovery_days']:>8.0f}d  {'PASS' if r['passed'] else 'FAIL':<6} "
                f"{r['worst_position'] or '-'} ({r['worst_position_pnl']:,.2f})"
            )
        lines.append(
            f"{report['passed']} of {len(rows)} passed: {report['compliance']} "
            f"(score {report['score']:.1f})"
        )
    lines.extend(f"- {a}" for a in report["advice"])
    return "\n".join(lines)


def _complete(
    positions: Mapping[str, Position],
    spots: Mapping[str, float],
    ivs: Mapping[str, float],
    as_of: date,
) -> bool:
    for p in positions.values():
        if p.quantity == 0:
            continue
        inst = p.instrument
        if inst.underlying not in spots:
            return False
        if isinstance(inst, OptionContract) and p.symbol not in ivs and inst.dte(as_of) > 0:
            return False
    return True


async def stress_from_db(
    db_path: str | Path, *, seed: int = 7, history_days: int = 300
) -> dict[str, Any]:
    """Stress the portfolio stored at `db_path` (see the module docstring for the marks).

    `seed` and `history_days` rebuild the simulator when the stored snapshot lacks a mark.
    Raises FileNotFoundError for a missing database, MissingRiskInput for a position that
    cannot be valued.
    """
    from engine.store import Store

    path = Path(db_path)
    if not await asyncio.to_thread(path.is_file):
        raise FileNotFoundError(f"--db {path}: no database there (run the engine first)")
    store = await Store.open(path)
    try:
        positions = await store.load_positions()
        acct = await store.load_account()
        cash = acct.cash if acct is not None else None
        by_strat = await store.load_strategy_positions()
        snap = await store.last_risk_snapshot()
        clock_setting = await store.get_setting("sim_clock")
    finally:
        await store.close()
    if cash is None:
        raise MissingRiskInput(f"--db {path}: no account row (the engine never started here)")
    strategies = {sym: s for s, book in by_strat.items() for sym in book}
    book = snap.details.get("book") if snap is not None else None
    spots: dict[str, float] = {}
    ivs: dict[str, float] = {}
    sectors: dict[str, str] = {}
    betas: dict[str, float] = {}
    rate = 0.0
    as_of: datetime | None = None
    marks_from = ""
    if snap is not None and isinstance(book, dict):
        spots = _floats(book.get("spots"))
        ivs = _floats(book.get("ivs"))
        raw_sectors = book.get("sectors")
        if isinstance(raw_sectors, dict):
            sectors = {str(k): str(v) for k, v in raw_sectors.items()}
        betas = _floats(book.get("betas"))
        r = book.get("rate")
        rate = float(r) if isinstance(r, int | float) else 0.0
        as_of = snap.ts
        marks_from = f"risk snapshot {snap.ts.isoformat()}"
    if as_of is None or not _complete(positions, spots, ivs, as_of.date()):
        when = datetime.fromisoformat(clock_setting) if isinstance(clock_setting, str) else None
        if when is None:
            raise MissingRiskInput(
                f"--db {path}: no stored marks and no market clock to rebuild them from"
            )
        spots, ivs, sectors, betas, rate = await _sim_marks(positions, when, seed, history_days)
        as_of = when
        marks_from = f"simulator seed {seed} at {when.isoformat()}"
    assert as_of is not None
    port = Portfolio(ts=as_of, cash=cash, positions=positions)
    return stress_report(
        port,
        spots,
        ivs,
        as_of=as_of,
        rate=rate,
        strategies=strategies,
        sectors=sectors,
        betas=betas,
        marks_from=marks_from,
    )


def stress_from_db_sync(
    db_path: str | Path, *, seed: int = 7, history_days: int = 300
) -> dict[str, Any]:
    """`stress_from_db` for a synchronous caller (the click command)."""
    return asyncio.run(stress_from_db(db_path, seed=seed, history_days=history_days))


def _floats(x: object) -> dict[str, float]:
    if not isinstance(x, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in x.items()
        if isinstance(v, int | float) and math.isfinite(v) and v > 0
    }


async def _sim_marks(
    positions: Mapping[str, Position], when: datetime, seed: int, history_days: int
) -> tuple[dict[str, float], dict[str, float], dict[str, str], dict[str, float], float]:
    from engine.data.calendar import default_calendar
    from engine.data.protocol import DataUnavailable
    from engine.data.simulator import SimulatedMarket
    from engine.domain import BadMarketData
    from engine.runtime.clock import SimulatedClock

    calendar = default_calendar()
    market = SimulatedMarket(
        SimulatedClock(when), seed=seed, history_days=history_days, calendar=calendar
    )
    spots: dict[str, float] = {}
    ivs: dict[str, float] = {}
    for p in positions.values():
        if p.quantity == 0:
            continue
        inst = p.instrument
        und = inst.underlying
        try:
            if und not in spots:
                spots[und] = (await market.latest_quote(und)).mid
            if isinstance(inst, OptionContract) and inst.dte(when.date()) > 0:
                q = await market.option_quote(inst)
                if q.iv is not None and q.iv > 0:
                    ivs[p.symbol] = q.iv
        except (DataUnavailable, BadMarketData) as exc:
            raise MissingRiskInput(
                f"{p.symbol}: the simulator has no mark at {when}: {exc}"
            ) from exc
    sectors = {u: market.spec(u).sector for u in spots}
    betas = {u: market.spec(u).beta for u in spots}
    return spots, ivs, sectors, betas, float(market.rate)
