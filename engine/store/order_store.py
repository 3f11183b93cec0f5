"""Orders: insert, advance monotonically, load for restart."""

from __future__ import annotations

from datetime import datetime

from engine.domain.orders import Order
from engine.store.base import StoreBase, log
from engine.store.codec import format_ts
from engine.store.order_updates import OrderWrite, classify_order_update
from engine.store.rows import ORDER_COLUMNS, order_from_row, order_values

_INSERT_ORDER = f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES ({', '.join('?' * 13)})"  # noqa: S608


class OrderStore(StoreBase):
    """Orders."""

    # ------------------------------------------------------------------ orders

    async def upsert_order(self, order: Order) -> bool:
        """Insert or advance an order. Returns True if the row was written; a repeated or
        stale update (behind the stored state) changes nothing and returns False. An update
        that would rewrite history raises `IllegalOrderTransition`."""
        values = order_values(order)
        async with self._tx() as conn:
            rows = await self._rows(
                conn,
                f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_order_id = ?",  # noqa: S608
                (order.client_order_id,),
            )
            stored = order_from_row(rows[0]) if rows else None
            action = classify_order_update(stored, order)
            if action is OrderWrite.INSERT:
                await conn.execute(_INSERT_ORDER, values)
            elif action is OrderWrite.UPDATE:
                # created_at and the request are the first report's; the rest moves forward.
                await conn.execute(
                    "UPDATE orders SET broker_order_id = ?, status = ?, is_open = ?, "
                    "filled_quantity = ?, avg_fill_price = ?, reject_reason = ?, updated_at = ? "
                    "WHERE client_order_id = ?",
                    (
                        values[1],
                        values[4],
                        values[5],
                        values[7],
                        values[8],
                        values[9],
                        values[12],
                        values[0],
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
