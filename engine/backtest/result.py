"""What a backtest returns: the daily record, the trades, the figures and the checks.

`BacktestResult` is plain data (picklable, JSON-able through `to_dict`), so the TUI can render
it, sweeps can ship it between processes and the report can draw it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from engine.analytics import PerformanceSummary, RoundTrip, StrategyAttribution
from engine.domain import Fill
from engine.domain.fast_init import fast_init


@fast_init  # one per session
@dataclass(frozen=True, slots=True)
class DailyRecord:
    """The account at one session's close, marked at that close.

    `marks` are the prices each held symbol was valued at; `holdings` the quantity and
    contract multiplier of each position; `strategy_pnl` each strategy's P&L since the start
    (realised + unrealised, commissions deducted)."""

    session: date
    equity: float
    cash: float
    positions_value: float
    gross_exposure: float
    benchmark_close: float | None
    strategy_pnl: Mapping[str, float]
    marks: Mapping[str, float]
    holdings: Mapping[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """Checks of the run against itself; every list empty means consistent.

    * `ledger`: `Store.verify_ledger()` (positions = replay of fills, strategies add up to the
      account, cash = the cash ledger with one entry per fill).
    * `equity`: days where the reported equity differs from cash + marked positions rebuilt
      independently from the stored fills (tolerance `tolerance` dollars).
    * `attribution`: the strategies' P&L does not add up to the account's.
    """

    ledger: tuple[str, ...]
    equity: tuple[str, ...]
    attribution: tuple[str, ...]
    max_equity_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return not (self.ledger or self.equity or self.attribution)


@dataclass(frozen=True, slots=True, repr=False)
class BacktestResult:
    config: Mapping[str, Any]
    step: str
    sessions: tuple[date, ...]
    daily: tuple[DailyRecord, ...]
    start_equity: float
    fills: tuple[Fill, ...]
    trades: tuple[RoundTrip, ...]
    summary: PerformanceSummary
    attribution: tuple[StrategyAttribution, ...]
    checks: ConsistencyReport
    model: str
    benchmark: str | None
    elapsed_seconds: float
    bars_processed: int
    errors: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        # A summary, not every fill and day: the generated repr of a 10-year run is megabytes,
        # and asyncio builds it when asyncio.run restores its SIGINT handler (the handler's
        # partial holds the main task, whose result this is): ~4% of a backtest's wall time.
        first, last = (self.sessions[0], self.sessions[-1]) if self.sessions else (None, None)
        return (
            f"BacktestResult(step={self.step!r}, sessions={len(self.sessions)} "
            f"[{first}..{last}], fills={len(self.fills)}, trades={len(self.trades)}, "
            f"end_equity={self.summary.end_equity:.2f}, checks_ok={self.checks.ok}, "
            f"errors={len(self.errors)})"
        )

    @property
    def equity_curve(self) -> list[float]:
        """Starting equity, then each session's closing equity."""
        return [self.start_equity, *(d.equity for d in self.daily)]

    @property
    def bars_per_second(self) -> float:
        return self.bars_processed / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def fingerprint(self) -> str:
        """A digest of every fill and every day's figures: equal runs have equal digests."""
        h = hashlib.sha256()
        for f in self.fills:
            h.update(
                f"{f.fill_id}|{f.symbol}|{f.side}|{f.quantity}|{f.price}|{f.commission}|"
                f"{f.ts.isoformat()}|{f.strategy}\n".encode()
            )
        for d in self.daily:
            h.update(f"{d.session}|{d.equity:.6f}|{d.cash:.6f}\n".encode())
        return h.hexdigest()

    def to_dict(self, *, include_daily: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "config": dict(self.config),
            "step": self.step,
            "sessions": len(self.sessions),
            "start": self.sessions[0].isoformat() if self.sessions else None,
            "end": self.sessions[-1].isoformat() if self.sessions else None,
            "benchmark": self.benchmark,
            "summary": self.summary.to_dict(),
            "attribution": [_clean(asdict(a)) for a in self.attribution],
            "trades": len(self.trades),
            "fills": len(self.fills),
            "checks": {
                "ok": self.checks.ok,
                "ledger": list(self.checks.ledger),
                "equity": list(self.checks.equity),
                "attribution": list(self.checks.attribution),
                "max_equity_error": self.checks.max_equity_error,
            },
            "errors": list(self.errors),
            "notes": list(self.notes),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "bars_per_second": round(self.bars_per_second, 1),
            "fingerprint": self.fingerprint(),
            "model": self.model,
        }
        if include_daily:
            out["daily"] = [
                {
                    "session": d.session.isoformat(),
                    "equity": round(d.equity, 2),
                    "cash": round(d.cash, 2),
                    "gross_exposure": round(d.gross_exposure, 2),
                    "benchmark_close": d.benchmark_close,
                    "strategy_pnl": {k: round(v, 2) for k, v in d.strategy_pnl.items()},
                }
                for d in self.daily
            ]
        return out

    def to_json(self, *, include_daily: bool = False) -> str:
        return json.dumps(self.to_dict(include_daily=include_daily), default=str)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
