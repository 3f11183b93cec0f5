"""Orders: insert, advance monotonically, load for restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from engine.domain.orders import Order, OrderStatus
from engine.store.base import StoreBase, log
from engine.store.codec import format_ts
from engine.store.order_updates import OrderWrite, classify_order_update
from engine.store.rows import (
    ORDER_COLUMNS,
    Row,
    dec_or_none,
    order_from_row,
    order_values,
    parse_dec_or_none,
)

_INSERT_ORDER = f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * 13)})"  # noqa: S608
_INSERT_NEW_ORDER = f"{_INSERT_ORDER} ON CONFLICT (client_order_id) DO NOTHING"
# Client order ids this store has written: their next write is an update (see upsert_order).
# Only a hint, so it is simply emptied when full.
_KNOWN_ORDERS_MAX = 65_536


_SELECT_STATE = (
    "SELECT status, filled_quantity, broker_order_id, avg_fill_price, reject_reason "
    "FROM orders WHERE client_order_id = ?"
)


@dataclass(frozen=True, slots=True)
class _StoredState:
    status: OrderStatus
    filled_quantity: int
    broker_order_id: str
    avg_fill_price: Decimal | None
    reject_reason: str | None


def _state_from_row(row: Row) -> _StoredState:
    return _StoredState(
        OrderStatus(row[0]),
        int(row[1]),
        row[2],
        parse_dec_or_none(row[3], field="orders.avg_fill_price"),
        row[4],
    )


class OrderStore(StoreBase):
    """Orders."""

    # ------------------------------------------------------------------ orders

    async def upsert_order(self, order: Order) -> bool:
        """Insert or advance an order. Returns True if the row was written; a repeated or
        stale update (behind the stored state) changes nothing and returns False. An update
        that would rewrite history raises `IllegalOrderTransition`."""
        # Timestamps are checked before the transaction starts.
        updated_at = format_ts(order.updated_at, field="order updated_at")
        coid = order.client_order_id
        known = self._known_orders
        if coid not in known:
            # Most orders are new (a backtest's every one): one INSERT that does nothing if
            # the row exists, instead of a transaction around a read and the insert. A
            # single statement is atomic on its own, and a row already there (another
            # process, a restart) goes the full way below.
            inserted = (
                await self._write(_INSERT_NEW_ORDER, order_values(order, updated_at))
            ).rowcount > 0
            if len(known) >= _KNOWN_ORDERS_MAX:
                known.clear()
            known.add(coid)
            if inserted:
                return True
        async with self._tx() as conn:
            # Only the state columns: the request is the first report's and never changes,
            # so it is neither decoded here nor re-encoded for an update.
            rows = await self._rows(conn, _SELECT_STATE, (order.client_order_id,))
            stored = _state_from_row(rows[0]) if rows else None
            action = classify_order_update(stored, order)
            if action is OrderWrite.INSERT:
                await conn.execute(_INSERT_ORDER, order_values(order, updated_at))
            elif action is OrderWrite.UPDATE:
                # created_at and the request are the first report's; the rest moves forward.
                await conn.execute(
                    "UPDATE orders SET broker_order_id = ?, status = ?, is_open = ?, "
                    "filled_quantity = ?, avg_fill_price = ?, reject_reason = ?, updated_at = ? "
                    "WHERE client_order_id = ?",
                    (
                        order.broker_order_id,
                        order.status.value,
                        int(order.status.is_open),
                        order.filled_quantity,
                        dec_or_none(order.avg_fill_price),
                        order.reject_reason,
                        updated_at,
                        order.client_order_id,
                    ),
                )
            else:
                log.debug(
                    "order %s update %s ignored (%s)", order.client_order_id, order.status, action
                )
        return action.written

    async def load_order(self, client_order_id: str) -> Order | None:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id = ?",  # noqa: S608
                (client_order_id,),
            )
        return order_from_row(rows[0]) if rows else None

    async def load_open_orders(self) -> list[Order]:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE is_open = 1 ORDER BY created_at, client_order_id",  # noqa: S608
            )
        return [order_from_row(r) for r in rows]

    async def load_orders(self, *, since: datetime | None = None, limit: int = 1000) -> list[Order]:
        """Orders (any state) created at or after `since`, oldest first, at most `limit`."""
        params: list[object] = []
        where = ""
        if since is not None:
            where = "WHERE created_at >= ?"
            params.append(format_ts(since, field="since"))
        params.append(limit)
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {ORDER_COLUMNS} FROM orders {where} ORDER BY created_at, client_order_id LIMIT ?",  # noqa: S608
                params,
            )
        return [order_from_row(r) for r in rows]

    async def client_order_ids(self) -> set[str]:
        async with self._read() as conn:
            rows = await self._rows(conn, "SELECT client_order_id FROM orders")
        return {r[0] for r in rows}
