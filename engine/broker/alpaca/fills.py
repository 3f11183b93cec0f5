"""Fills from order snapshots: every execution exactly once, whoever reports it first.

The trade-updates stream and REST polling both deliver *order snapshots* (cumulative filled
quantity and average price per leg). `FillTracker` remembers, per (client order id, leg), how
much has already been turned into `Fill`s and emits only the difference, so the stream, a
reconnect replay, a poll and the engine's own order refresh can all report the same order
without a fill ever being counted twice or lost.

A fill's id is ``<client order id>:<leg>:<cumulative leg quantity after it>``: the same
execution gets the same id from any path, and the store ignores an id it already holds.
Its price is exact for a single execution (the stream's ``price``), and otherwise the
volume-weighted price of the executions merged into it, derived from the cumulative
averages, so cash is always right.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.broker.alpaca.convert import leg_fill_state
from engine.domain import Fill, OrderRequest

log = logging.getLogger(__name__)

ZERO = Decimal(0)
_PRICE_QUANTUM = Decimal("0.000001")


@dataclass(slots=True)
class _LegBook:
    quantity: int = 0
    notional: Decimal = ZERO  # sum of price x quantity already emitted


class FillTracker:
    def __init__(self) -> None:
        self._books: dict[tuple[str, int], _LegBook] = {}

    def seed(self, fills: Iterable[Fill]) -> None:
        """Count fills already recorded (from the store) so they are never emitted again."""
        for f in fills:
            book = self._books.setdefault((f.client_order_id, f.leg_index), _LegBook())
            book.quantity += f.quantity
            book.notional += f.price * f.quantity

    def knows(self, client_order_id: str) -> bool:
        return any(k[0] == client_order_id for k in self._books)

    def baseline(self, request: OrderRequest, payload: Mapping[str, Any]) -> None:
        """Treat what this snapshot shows as already recorded (orders filled before we ran)."""
        for i, (qty, avg) in enumerate(leg_fill_state(payload, request)):
            book = self._books.setdefault((request.client_order_id, i), _LegBook())
            if qty > book.quantity:
                book.quantity = qty
                book.notional = (avg or ZERO) * qty

    def emitted(self, client_order_id: str, leg: int = 0) -> int:
        book = self._books.get((client_order_id, leg))
        return book.quantity if book is not None else 0

    def observe(
        self,
        request: OrderRequest,
        broker_order_id: str,
        payload: Mapping[str, Any],
        at: datetime,
        *,
        execution: tuple[Decimal, int] | None = None,
    ) -> list[Fill]:
        """New fills shown by an order snapshot. `execution` = (price, qty) from a stream
        fill event, used when it accounts for exactly the new quantity."""
        out: list[Fill] = []
        states: Sequence[tuple[int, Decimal | None]] = leg_fill_state(payload, request)
        coid = request.client_order_id
        for i, (leg, (cum, avg)) in enumerate(zip(request.legs, states, strict=True)):
            book = self._books.setdefault((coid, i), _LegBook())
            delta = cum - book.quantity
            if delta < 0:
                log.error(
                    "alpaca order %s leg %d: filled quantity went down from %d to %d "
                    "(trade bust/correction?); not reversed automatically, please review",
                    coid,
                    i,
                    book.quantity,
                    cum,
                )
                continue
            if delta == 0:
                continue
            if avg is None or avg < 0:
                log.error("alpaca order %s leg %d: filled without a price; skipped", coid, i)
                continue
            if execution is not None and not request.is_combo and execution[1] == delta:
                price = execution[0]
            else:
                price = (avg * cum - book.notional) / delta
            price = price.quantize(_PRICE_QUANTUM)
            if price < 0:
                # Rounding in Alpaca's average can leave a tiny negative residue on a 0.01
                # option; a negative fill price is impossible, so clamp.
                price = ZERO
            book.quantity = cum
            book.notional += price * delta
            out.append(
                Fill(
                    fill_id=f"{coid}:{i}:{cum}",
                    client_order_id=coid,
                    broker_order_id=broker_order_id,
                    instrument=leg.instrument,
                    side=leg.side,
                    quantity=delta,
                    price=price,
                    commission=ZERO,
                    ts=at,
                    leg_index=i,
                    strategy=request.strategy,
                )
            )
        return out
