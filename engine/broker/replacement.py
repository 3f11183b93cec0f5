"""Replacing an open order (modify): which orders may be replaced, the replacement's request and
its client order id. Shared by every broker and the engine, so they agree on all three.

Semantics (both brokers):

* only an open (new or partially filled) limit order can be replaced; a market order or a
  filled, canceled, rejected or expired one is refused with `OrderNotReplaceable`;
* `quantity` is the new *total* order quantity (what the blotter shows), so it must exceed
  what is already filled. The replacement is a new order for the rest: ``quantity - filled``.
  The old order ends CANCELED with ``reject_reason`` "replaced by <id>" and keeps its fills;
* the replacement gets a new client order id, derived deterministically from the old id and a
  sequence number (`replacement_client_order_id`). The caller (the engine) picks the first
  sequence number its store has not seen and passes the id; a broker given an id it already
  knows returns that order instead of replacing again, exactly as a resubmitted
  `submit` does. So a retried replace never leaves two live orders, and a refused attempt
  (kept as a REJECTED order under its id) is followed by the next sequence number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from engine.domain.orders import Order, OrderRequest, OrderType, make_client_order_id

# A note of this form on a CANCELED order marks it as replaced (paper: the new client order
# id; Alpaca: the new order's broker id, which is all Alpaca reports).
REPLACED_BY = "replaced by "
# Refused replace attempts are rare; this bounds a search for the next free sequence number.
_MAX_SEQUENCE = 10_000


class OrderNotReplaceable(ValueError):
    """The order cannot be replaced (not open, not a limit order, or nothing to change)."""


def replacement_client_order_id(client_order_id: str, sequence: int) -> str:
    """The client order id of the `sequence`-th replace attempt (1, 2, ...) of an order.

    Deterministic (a retry carries the same id) and of fixed length however long a chain of
    modifications gets (Alpaca caps client order ids at 128 characters)."""
    if sequence < 1:
        raise ValueError(f"replacement sequence {sequence} must be >= 1")
    return make_client_order_id("replace", client_order_id, sequence)


def next_replacement_client_order_id(client_order_id: str, known: Callable[[str], bool]) -> str:
    """The first replacement id of `client_order_id` that `known` has not seen."""
    for seq in range(1, _MAX_SEQUENCE + 1):
        candidate = replacement_client_order_id(client_order_id, seq)
        if not known(candidate):
            return candidate
    raise OrderNotReplaceable(
        f"order {client_order_id}: {_MAX_SEQUENCE} replace attempts already made"
    )


def replace_problem(order: Order, quantity: int | None, limit_price: Decimal | None) -> str | None:
    """Why `order` cannot be replaced with this quantity/limit, or None when it can."""
    coid = order.client_order_id
    request = order.request
    if not order.status.is_open:
        return (
            f"order {coid} is {order.status.value} and cannot be replaced "
            "(only new or partially filled limit orders can)"
        )
    if request.order_type is not OrderType.LIMIT:
        return (
            f"order {coid} is a {request.order_type.value} order: only limit orders can be replaced"
        )
    if quantity is None and limit_price is None:
        return f"order {coid}: nothing to change (give a new quantity and/or limit price)"
    if quantity is not None and quantity <= order.filled_quantity:
        return (
            f"order {coid}: quantity {quantity} must exceed the {order.filled_quantity} "
            "already filled"
        )
    if limit_price is not None:
        if not limit_price.is_finite():
            return f"order {coid}: limit price {limit_price} is not a finite amount"
        if not request.is_combo and limit_price <= 0:
            return f"order {coid}: limit price {limit_price} must be positive"
    new_qty = request.quantity if quantity is None else quantity
    new_limit = request.limit_price if limit_price is None else limit_price
    if new_qty == request.quantity and new_limit == request.limit_price:
        return f"order {coid}: quantity and limit are unchanged"
    return None


def replacement_request(
    order: Order, new_client_order_id: str, quantity: int | None, limit_price: Decimal | None
) -> OrderRequest:
    """The replacement's request: the old one with the new limit, for what is left to fill."""
    request = order.request
    total = request.quantity if quantity is None else quantity
    return replace(
        request,
        client_order_id=new_client_order_id,
        quantity=total - order.filled_quantity,
        limit_price=request.limit_price if limit_price is None else limit_price,
    )


def increases_risk(order: Order, quantity: int | None, limit_price: Decimal | None) -> bool:
    """Would the modified order trade more, or pay more per unit, than the open one?

    The limit is compared in net terms (positive = pay at most, negative = receive at least),
    so a higher buy limit and a lower sell limit both count as more aggressive."""
    request = order.request
    if quantity is not None and quantity > request.quantity:
        return True
    if limit_price is None or request.limit_price is None:
        return False
    return _net_limit(request, limit_price) > _net_limit(request, request.limit_price)


def _net_limit(request: OrderRequest, limit: Decimal) -> Decimal:
    if request.is_combo:
        return limit
    return abs(limit) * request.legs[0].side.sign


def limit_notional(request: OrderRequest) -> Decimal:
    """Dollars the request moves at its limit: |limit| x quantity x contract size."""
    if request.limit_price is None:
        return Decimal(0)
    unit = max(leg.instrument.multiplier for leg in request.legs)
    return abs(request.limit_price) * request.quantity * unit


def resting_cost(order: Order) -> Decimal:
    """What the unfilled rest of a limit order could cost at its limit (0 for a credit or a
    sell): roughly the buying power a broker holds for it, commission aside."""
    request = order.request
    if request.limit_price is None or _net_limit(request, request.limit_price) <= 0:
        return Decimal(0)
    unit = max(leg.instrument.multiplier for leg in request.legs)
    return abs(request.limit_price) * order.remaining_quantity * unit
