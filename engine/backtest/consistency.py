"""Independent checks of a run: rebuild the book from the stored fills and value it daily.

The engine keeps its book in memory (`runtime.ledger.Ledger`) and reports equity from it; here
cash and quantities are recomputed from nothing but the fills the store holds, valued at the
day's recorded closing marks, and compared with what the engine reported that day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from engine.backtest.result import DailyRecord
from engine.domain import Fill


def check_equity_curve(
    daily: Sequence[DailyRecord],
    fills: Sequence[Fill],
    closes_at: Sequence[datetime],
    start_cash: Decimal,
    *,
    tolerance: float = 0.01,
) -> tuple[list[str], float]:
    """Problems found (one line per bad day) and the largest absolute equity error.

    `closes_at[i]` is the close of `daily[i]`'s session: fills stamped at or before it count.
    """
    if len(daily) != len(closes_at):
        raise ValueError(f"{len(daily)} daily records but {len(closes_at)} close times")
    order = sorted(fills, key=lambda f: f.ts)
    n = len(order)
    cash = start_cash
    # The book and cash as floats change only on days with fills (most days have none):
    # worked out then, not every day (float(Decimal) goes through text).
    cash_f = float(cash)
    qty: dict[str, int] = {}
    mult: dict[str, int] = {}
    held: dict[str, int] = {}
    k = 0
    problems: list[str] = []
    worst = 0.0
    for rec, close in zip(daily, closes_at, strict=True):
        if k < n and order[k].ts <= close:
            while k < n and order[k].ts <= close:
                f = order[k]
                cash += f.cash_delta
                qty[f.symbol] = qty.get(f.symbol, 0) + f.signed_quantity
                mult[f.symbol] = f.instrument.multiplier
                k += 1
            cash_f = float(cash)
            held = {s: q for s, q in qty.items() if q}
        if held.keys() != {s for s, (q, _) in rec.holdings.items() if q}:
            problems.append(
                f"{rec.session}: positions from fills {sorted(held)} != engine's "
                f"{sorted(rec.holdings)}"
            )
            continue
        value = math.fsum(q * rec.marks[s] * mult[s] for s, q in held.items())
        rebuilt = cash_f + value
        err = abs(rebuilt - rec.equity)
        worst = max(worst, err)
        if err > tolerance or abs(cash_f - rec.cash) > tolerance:
            problems.append(
                f"{rec.session}: engine equity {rec.equity:,.4f} (cash {rec.cash:,.4f}) != "
                f"fills-rebuilt {rebuilt:,.4f} (cash {cash:,.4f})"
            )
    return problems, worst


def check_attribution(daily: Sequence[DailyRecord], start_equity: float) -> list[str]:
    """Every day, the strategies' P&L adds up to the account's P&L (equity - start)."""
    out: list[str] = []
    for rec in daily:
        total = math.fsum(rec.strategy_pnl.values())
        account = rec.equity - start_equity
        if abs(total - account) > 0.01 + 1e-9 * abs(account):
            out.append(
                f"{rec.session}: strategies sum to {total:,.2f}, account P&L is {account:,.2f}"
            )
    return out
