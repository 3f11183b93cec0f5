"""Trades as position cycles (flat -> open -> flat) per strategy and instrument, from fills.

A cycle is what a trader calls one trade: every fill from the one that opens a position until
the one that brings it back to zero (a fill through zero closes one cycle and opens the next).
P&L is average-cost, like the ledger (`Position.apply`), with every commission of the cycle
deducted, so the closed cycles' P&L adds up to the ledger's realised P&L.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from engine.domain import Fill, OptionContract

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One position cycle. `exit_ts` is None while the position is still open."""

    strategy: str
    symbol: str
    kind: str  # "equity" | "option"
    direction: int  # +1 long, -1 short
    quantity: int  # units opened over the cycle
    entry_ts: datetime
    exit_ts: datetime | None
    entry_price: float  # average opening price per unit of underlying
    exit_price: float | None  # average closing price
    pnl: float  # realised, all commissions deducted (closed part only while open)
    commission: float
    multiplier: int

    @property
    def closed(self) -> bool:
        return self.exit_ts is not None

    @property
    def return_pct(self) -> float:
        cost = self.entry_price * self.quantity * self.multiplier
        return self.pnl / cost if cost else math.nan

    @property
    def holding_days(self) -> float | None:
        if self.exit_ts is None:
            return None
        return (self.exit_ts - self.entry_ts).total_seconds() / 86400.0


@dataclass(slots=True)
class _Open:
    strategy: str
    symbol: str
    kind: str
    multiplier: int
    direction: int
    entry_ts: datetime
    quantity: int = 0  # signed, current
    avg: Decimal = ZERO
    opened: int = 0
    open_notional: Decimal = ZERO
    closed_qty: int = 0
    close_notional: Decimal = ZERO
    realized: Decimal = ZERO
    commission: Decimal = ZERO
    last_ts: datetime | None = field(default=None)

    def trip(self, *, closed: bool) -> RoundTrip:
        return RoundTrip(
            strategy=self.strategy,
            symbol=self.symbol,
            kind=self.kind,
            direction=self.direction,
            quantity=self.opened,
            entry_ts=self.entry_ts,
            exit_ts=self.last_ts if closed else None,
            entry_price=float(self.open_notional / self.opened) if self.opened else 0.0,
            exit_price=float(self.close_notional / self.closed_qty) if self.closed_qty else None,
            pnl=float(self.realized),
            commission=float(self.commission),
            multiplier=self.multiplier,
        )


def round_trips(fills: Iterable[Fill], *, include_open: bool = False) -> list[RoundTrip]:
    """Closed cycles in the order they closed (then open ones, if asked, by entry time)."""
    book: dict[tuple[str, str], _Open] = {}
    out: list[RoundTrip] = []
    for f in fills:
        key = (f.strategy or "manual", f.symbol)
        remaining = f.signed_quantity
        commission_left = f.commission
        while remaining:
            cur = book.get(key)
            if cur is None or cur.quantity == 0:
                inst = f.instrument
                cur = _Open(
                    strategy=key[0],
                    symbol=f.symbol,
                    kind="option" if isinstance(inst, OptionContract) else "equity",
                    multiplier=inst.multiplier,
                    direction=1 if remaining > 0 else -1,
                    entry_ts=f.ts,
                )
                book[key] = cur
            same_way = (remaining > 0) == (cur.direction > 0)
            if same_way or cur.quantity == 0:
                qty = abs(remaining)
                total = cur.avg * abs(cur.quantity) + f.price * qty
                cur.quantity += remaining
                cur.avg = total / abs(cur.quantity)
                cur.opened += qty
                cur.open_notional += f.price * qty
                step = remaining
            else:
                qty = min(abs(remaining), abs(cur.quantity))
                cur.realized += (f.price - cur.avg) * qty * cur.direction * cur.multiplier
                cur.closed_qty += qty
                cur.close_notional += f.price * qty
                step = -cur.direction * qty
                cur.quantity += step
            # Commission follows the units: a fill through zero splits it pro rata.
            share = commission_left * Decimal(abs(step)) / Decimal(abs(remaining))
            commission_left -= share
            cur.realized -= share
            cur.commission += share
            cur.last_ts = f.ts
            remaining -= step
            if cur.quantity == 0:
                out.append(cur.trip(closed=True))
                del book[key]
    if include_open:
        out.extend(o.trip(closed=False) for o in sorted(book.values(), key=lambda o: o.entry_ts))
    return out


@dataclass(frozen=True, slots=True)
class TradeStats:
    """Figures over closed trades. `avg_loss` and `largest_loss` are negative numbers."""

    trades: int
    wins: int
    losses: int
    win_rate: float
    profit_factor: float
    avg_win: float
    avg_loss: float
    expectancy: float
    largest_win: float
    largest_loss: float


def trade_stats(trips: Iterable[RoundTrip]) -> TradeStats:
    pnl = [t.pnl for t in trips if t.closed]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p < 0]
    gross_win, gross_loss = math.fsum(wins), -math.fsum(losses)
    no_loss_pf = math.inf if gross_win > 0 else math.nan
    pf = gross_win / gross_loss if gross_loss > 0 else no_loss_pf
    n = len(pnl)
    return TradeStats(
        trades=n,
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / n if n else math.nan,
        profit_factor=pf,
        avg_win=gross_win / len(wins) if wins else math.nan,
        avg_loss=-gross_loss / len(losses) if losses else math.nan,
        expectancy=math.fsum(pnl) / n if n else math.nan,
        largest_win=max(wins) if wins else math.nan,
        largest_loss=min(losses) if losses else math.nan,
    )
