"""Orders and fills tables for the blotter, newest first, with text and status filters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.domain import Fill, Order, OrderStatus, Side
from widgets.format import instrument_label, price
from widgets.keyed_table import Column, KeyedTable, cell, num

NEW_YORK = ZoneInfo("America/New_York")
STATUS_FILTERS = ("all", "open", "filled", "canceled", "rejected")


@dataclass(frozen=True, slots=True)
class BlotterFilter:
    text: str = ""
    status: str = "all"

    def __post_init__(self) -> None:
        if self.status not in STATUS_FILTERS:
            raise ValueError(
                f"status filter {self.status!r} is not one of {', '.join(STATUS_FILTERS)}"
            )

    def matches_order(self, o: Order) -> bool:
        if self.status == "open" and not o.status.is_open:
            return False
        if self.status == "filled" and o.status not in (
            OrderStatus.FILLED,
            OrderStatus.PARTIALLY_FILLED,
        ):
            return False
        if self.status == "canceled" and o.status not in (
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
        ):
            return False
        if self.status == "rejected" and o.status is not OrderStatus.REJECTED:
            return False
        return self._text_ok(
            " ".join((*o.request.symbols, o.request.strategy or "", o.client_order_id))
        )

    def matches_fill(self, f: Fill) -> bool:
        return self._text_ok(" ".join((f.symbol, f.strategy or "", f.client_order_id)))

    def _text_ok(self, haystack: str) -> bool:
        needle = self.text.strip().lower()
        return not needle or needle in haystack.lower()


ORDER_COLUMNS = (
    Column("time", "time"),
    Column("strategy", "strategy"),
    Column("legs", "legs"),
    Column("qty", "qty"),
    Column("limit", "limit"),
    Column("status", "status"),
    Column("filled", "filled"),
    Column("avg", "avg"),
    Column("note", "note"),
)
FILL_COLUMNS = (
    Column("time", "time"),
    Column("strategy", "strategy"),
    Column("symbol", "symbol"),
    Column("side", "side"),
    Column("qty", "qty"),
    Column("price", "price"),
    Column("comm", "comm"),
)


class OrdersTable(KeyedTable):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(ORDER_COLUMNS, id=id, classes=classes)

    def show(self, orders: Iterable[Order], flt: BlotterFilter) -> int:
        st = self.theme_styles
        orders = list(orders)
        self._replay = lambda: self.show(orders, flt)
        chosen = sorted(
            (o for o in orders if flt.matches_order(o)),
            key=lambda o: (o.created_at, o.client_order_id),
            reverse=True,
        )
        rows = []
        for o in chosen:
            r = o.request
            legs = ", ".join(
                f"{'+' if leg.side is Side.BUY else '-'}{leg.ratio if leg.ratio > 1 else ''}"
                f"{instrument_label(leg.instrument)}"
                for leg in r.legs
            )
            status_style = {
                OrderStatus.FILLED: st.gain,
                OrderStatus.REJECTED: f"bold {st.loss}",
                OrderStatus.CANCELED: st.muted,
                OrderStatus.EXPIRED: st.muted,
            }.get(o.status, st.accent)
            rows.append(
                (
                    o.client_order_id,
                    [
                        cell(f"{o.created_at.astimezone(NEW_YORK):%m-%d %H:%M:%S}", st.muted),
                        cell(r.strategy or "manual"),
                        cell(legs),
                        num(str(r.quantity), r.quantity),
                        num(price(r.limit_price) if r.limit_price is not None else "MKT", None),
                        cell(o.status.value, status_style),
                        num(str(o.filled_quantity), o.filled_quantity),
                        num(price(o.avg_fill_price), None),
                        cell(o.reject_reason or "", st.loss),
                    ],
                )
            )
        self.sync(rows)
        return len(rows)

    @property
    def selected_id(self) -> str | None:
        return self.cursor_key()


class FillsTable(KeyedTable):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(FILL_COLUMNS, id=id, classes=classes)

    def show(self, fills: Iterable[Fill], flt: BlotterFilter) -> int:
        st = self.theme_styles
        fills = list(fills)
        self._replay = lambda: self.show(fills, flt)
        chosen = sorted(
            (f for f in fills if flt.matches_fill(f)), key=lambda f: (f.ts, f.fill_id), reverse=True
        )
        rows = [
            (
                f.fill_id,
                [
                    cell(f"{f.ts.astimezone(NEW_YORK):%m-%d %H:%M:%S}", st.muted),
                    cell(f.strategy or "manual"),
                    cell(instrument_label(f.instrument)),
                    cell(f.side.value.upper(), st.gain if f.side is Side.BUY else st.loss),
                    num(f"{f.quantity:,}", f.quantity),
                    num(price(f.price), float(f.price)),
                    num(price(f.commission), float(f.commission), st.muted),
                ],
            )
            for f in chosen
        ]
        self.sync(rows)
        return len(rows)
