"""Start-up reconciliation of the store's book with Alpaca's: positions and open orders.

The engine already compares positions; this adds open orders, which matter more for a real
broker than for the paper one: an order open at Alpaca that the store does not know (placed
from the dashboard, or submitted just before a crash), and an order the store holds as open
that Alpaca has finished (filled or canceled while the desk was down). Nothing is changed
automatically: the differences are reported for a person to review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.domain import Order, Position


@dataclass(frozen=True, slots=True)
class OrderDifference:
    symbol: str  # the first leg's symbol, for the UI
    client_order_id: str
    stored: str  # status in the store, or "absent"
    broker: str  # status at Alpaca, or "absent"
    detail: str


@dataclass(frozen=True, slots=True)
class PositionDifference:
    symbol: str
    stored_quantity: int
    broker_quantity: int


def reconcile_positions(
    stored: Mapping[str, Position], broker: Sequence[Position]
) -> list[PositionDifference]:
    at_broker = {p.symbol: p.quantity for p in broker if p.quantity}
    in_store = {s: p.quantity for s, p in stored.items() if p.quantity}
    return [
        PositionDifference(sym, in_store.get(sym, 0), at_broker.get(sym, 0))
        for sym in sorted(set(at_broker) | set(in_store))
        if at_broker.get(sym, 0) != in_store.get(sym, 0)
    ]


def reconcile_orders(
    stored_open: Sequence[Order],
    broker_open: Sequence[Order],
    broker_now: Mapping[str, Order | None],
) -> list[OrderDifference]:
    """`broker_now` maps each stored open order's client id to Alpaca's current view of it
    (None when Alpaca has no such order)."""
    out: list[OrderDifference] = []
    stored_ids = {o.client_order_id for o in stored_open}
    for o in sorted(broker_open, key=lambda o: o.client_order_id):
        if o.client_order_id not in stored_ids:
            out.append(
                OrderDifference(
                    o.request.legs[0].symbol,
                    o.client_order_id,
                    "absent",
                    o.status.value,
                    "open at Alpaca but unknown to the desk (placed elsewhere?)",
                )
            )
    for o in sorted(stored_open, key=lambda o: o.client_order_id):
        now = broker_now.get(o.client_order_id)
        if now is None:
            out.append(
                OrderDifference(
                    o.request.legs[0].symbol,
                    o.client_order_id,
                    o.status.value,
                    "absent",
                    "open in the store but Alpaca has no such order (never reached it?)",
                )
            )
        elif not now.status.is_open:
            out.append(
                OrderDifference(
                    o.request.legs[0].symbol,
                    o.client_order_id,
                    o.status.value,
                    now.status.value,
                    f"finished at Alpaca while the desk was down ({now.filled_quantity} filled)",
                )
            )
    return out
