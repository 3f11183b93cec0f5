"""Orders and fills, newest first, filtered by text (symbol, strategy, id) and status."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from engine.domain import Order, OrderType
from widgets.blotter import STATUS_FILTERS, BlotterFilter, FillsTable, OrdersTable
from wsb_tui.bindings import bindings
from wsb_tui.screens.base import DeskScreen
from wsb_tui.screens.dialogs import ModifyOrderDialog, ModifyValues


class BlotterScreen(DeskScreen):
    SCOPE = "blotter"
    BINDINGS = bindings("blotter")

    def __init__(self) -> None:
        super().__init__(id="blotter-screen")
        self.filter = BlotterFilter()
        self.showing = "orders"

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Horizontal(id="blotter-filters"):
            yield Label("filter", classes="hint")
            yield Input(placeholder="symbol, strategy or order id", id="blotter-text")
            yield Label("", id="blotter-status")
        with Vertical(id="orders-box", classes="box"):
            yield OrdersTable(id="orders")
        with Vertical(id="fills-box", classes="box"):
            yield FillsTable(id="fills")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        inp = self.query_one("#blotter-text", Input)
        inp.cursor_blink = bool(getattr(self.app, "cursor_blink", True))
        self._apply_visibility()

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if topics & {"orders", "fills"}:
            self._render_tables()

    def _render_tables(self) -> None:
        desk = self.wsb.desk
        n_orders = self.query_one(OrdersTable).show(desk.orders.values(), self.filter)
        n_fills = self.query_one(FillsTable).show(desk.fills.values(), self.filter)
        self.query_one("#orders-box").border_title = f"Orders ({n_orders} of {len(desk.orders)})"
        self.query_one("#fills-box").border_title = f"Fills ({n_fills} of {len(desk.fills)})"
        self.query_one("#blotter-status", Label).update(f"status: {self.filter.status} (f)")

    def _apply_visibility(self) -> None:
        orders = self.showing == "orders"
        self.query_one("#orders-box").set_class(not orders, "-secondary")
        self.query_one("#fills-box").set_class(orders, "-secondary")
        (self.query_one(OrdersTable) if orders else self.query_one(FillsTable)).focus()

    @on(Input.Changed, "#blotter-text")
    def _text_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter = BlotterFilter(event.value, self.filter.status)
        self._render_tables()

    @on(Input.Submitted, "#blotter-text")
    def _text_done(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_visibility()

    def action_focus_filter(self) -> None:
        self.query_one("#blotter-text", Input).focus()

    def action_cycle_status(self) -> None:
        i = STATUS_FILTERS.index(self.filter.status)
        self.filter = BlotterFilter(self.filter.text, STATUS_FILTERS[(i + 1) % len(STATUS_FILTERS)])
        self._render_tables()

    def action_switch_table(self) -> None:
        self.showing = "fills" if self.showing == "orders" else "orders"
        self._apply_visibility()

    def _selected_open_order(self, verb: str) -> Order | None:
        """The selected order if it is still open; otherwise says why and returns None."""
        coid = self.query_one(OrdersTable).selected_id
        order = self.wsb.desk.orders.get(coid) if coid else None
        if order is None:
            self.notify("select an order first", timeout=2)
            return None
        if not order.status.is_open:
            self.notify(f"order is {order.status.value}: nothing to {verb}", timeout=3)
            return None
        return order

    def action_cancel_order(self) -> None:
        order = self._selected_open_order("cancel")
        if order is None:
            return
        self.wsb.run_command(
            f"cancel {', '.join(order.request.symbols)}",
            lambda: self.wsb.client.cancel_order(order.client_order_id),
        )

    def action_modify_order(self) -> None:
        order = self._selected_open_order("modify")
        if order is None:
            return
        if order.request.order_type is not OrderType.LIMIT:
            self.notify("only limit orders can be modified", timeout=3)
            return

        def send(values: ModifyValues | None) -> None:
            if values is None:
                return
            self.wsb.run_command(
                f"modify {', '.join(order.request.symbols)}",
                lambda: self.wsb.client.replace_order(
                    order.client_order_id,
                    quantity=values.quantity,
                    limit_price=values.limit_price,
                ),
            )

        self.app.push_screen(ModifyOrderDialog(order), send)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Letters typed into the filter are text, not commands.
        typing = isinstance(self.focused, Input)
        commands = ("cycle_status", "switch_table", "cancel_order", "modify_order")
        return not (typing and action in commands)
