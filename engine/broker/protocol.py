"""The `Broker` protocol: the paper broker (embedded default) and Alpaca implement it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from engine.domain import Fill, Order, OrderRequest, Position


class OrderRejected(Exception):
    """Raised by nothing: rejections are returned as an Order in REJECTED state with a reason."""


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    cash: Decimal
    buying_power: Decimal
    reserved_collateral: Decimal
    equity: Decimal
    ts: datetime
    currency: str = "USD"
    is_paper: bool = True


@runtime_checkable
class Broker(Protocol):
    @property
    def name(self) -> str: ...

    async def account(self) -> Account: ...

    async def positions(self) -> Sequence[Position]: ...

    async def submit(self, request: OrderRequest) -> Order:
        """Submit an order. Idempotent on `client_order_id`: a resubmitted id returns the
        existing order, never a second one. A rejection returns an Order in REJECTED state."""
        ...

    async def cancel(self, client_order_id: str) -> Order: ...

    async def replace(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        new_client_order_id: str | None = None,
    ) -> Order:
        """Replace (modify) an open limit order; returns the replacement order.

        `quantity` is the new total quantity (more than what is filled); the replacement
        trades the rest. The old order ends CANCELED with reject_reason "replaced by ..." and
        keeps its fills. The replacement's id is `new_client_order_id`, or else the next
        unused `engine.broker.replacement.replacement_client_order_id(client_order_id, n)`.
        Idempotent on that id: one already known returns the existing order, never a second
        replace. A broker refusing the new terms returns it in REJECTED state and leaves the
        old order open. Raises `UnknownOrder` (a LookupError) for an unknown id and
        `OrderNotReplaceable` (a ValueError) for a filled/canceled/market order or no change."""
        ...

    async def order(self, client_order_id: str) -> Order | None: ...

    async def open_orders(self) -> Sequence[Order]: ...

    def fills(self) -> AsyncIterator[Fill]:
        """The fill stream: every execution exactly once, in order."""
        ...
