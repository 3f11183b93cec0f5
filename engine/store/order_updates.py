"""Which order updates may overwrite a stored order: state only moves forward.

Broker streams can repeat or reorder updates (a reconnect replays "new" after "filled"). An
update that is behind the stored state is stale and ignored; one that would rewrite history
(a filled order becoming canceled, a filled quantity shrinking) is a bug and raises.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from engine.domain.orders import IllegalOrderTransition, Order, OrderStatus, check_transition


class OrderState(Protocol):
    """What the comparison reads of the stored order (an `Order` has all of it)."""

    @property
    def status(self) -> OrderStatus: ...
    @property
    def filled_quantity(self) -> int: ...
    @property
    def broker_order_id(self) -> str: ...
    @property
    def avg_fill_price(self) -> Decimal | None: ...
    @property
    def reject_reason(self) -> str | None: ...


_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.FILLED: 2,
    OrderStatus.CANCELED: 2,
    OrderStatus.REJECTED: 2,
    OrderStatus.EXPIRED: 2,
}


class OrderWrite(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    UNCHANGED = "unchanged"  # the same state again
    STALE = "stale"  # behind what is stored

    @property
    def written(self) -> bool:
        return self in (OrderWrite.INSERT, OrderWrite.UPDATE)


def classify_order_update(stored: OrderState | None, incoming: Order) -> OrderWrite:
    if stored is None:
        return OrderWrite.INSERT
    cid = incoming.client_order_id
    old, new = stored.status, incoming.status
    old_filled, new_filled = stored.filled_quantity, incoming.filled_quantity
    if old is new:
        if new_filled == old_filled:
            same = (
                stored.broker_order_id == incoming.broker_order_id
                and stored.avg_fill_price == incoming.avg_fill_price
                and stored.reject_reason == incoming.reject_reason
            )
            return OrderWrite.UNCHANGED if same else OrderWrite.UPDATE
        if old is OrderStatus.PARTIALLY_FILLED:
            return OrderWrite.UPDATE if new_filled > old_filled else OrderWrite.STALE
        raise IllegalOrderTransition(
            f"order {cid}: {old} with filled_quantity {old_filled} cannot become {new} with "
            f"filled_quantity {new_filled}"
        )
    if _RANK[new] < _RANK[old]:
        return OrderWrite.STALE
    check_transition(old, new)
    if new_filled < old_filled:
        raise IllegalOrderTransition(
            f"order {cid}: {old} -> {new} would shrink filled_quantity from {old_filled} to "
            f"{new_filled}"
        )
    return OrderWrite.UPDATE
