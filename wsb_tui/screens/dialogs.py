"""Small modal dialogs: yes/no, the kill switch, a one-line text prompt and an order modify."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from engine.domain import Order
from wsb_tui.bindings import bindings


class YesNoDialog(ModalScreen[bool]):
    """`y` / `n` / `Esc`, or the buttons. Dismisses with True only for yes."""

    BINDINGS = bindings("dialog")

    def __init__(self, title: str, message: str, *, yes: str = "Yes", danger: bool = False) -> None:
        super().__init__(classes="dialog")
        self._dialog_title = title
        self._message = message
        self._yes = yes
        self._danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="-danger" if self._danger else ""):
            yield Label(self._dialog_title, id="dialog-title")
            yield Static(self._message, id="dialog-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(
                    f"{self._yes} (y)", id="yes", variant="error" if self._danger else "primary"
                )
                yield Button("No (n)", id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")


class KillSwitchDialog(ModalScreen[str | None]):
    """Halt (stop new risk) or halt and flatten every position. Dismisses with
    "halt", "flatten" or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "choose('halt')", "halt"),
        Binding("f", "choose('flatten')", "halt + flatten"),
        Binding("escape", "choose(None)", "cancel"),
        Binding("n", "choose(None)", "cancel", show=False),
    ]

    def __init__(self, open_positions: int) -> None:
        super().__init__(classes="dialog")
        self._open = open_positions

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="-danger"):
            yield Label("KILL SWITCH", id="dialog-title")
            yield Static(
                "Halt stops every strategy and blocks new orders.\n"
                f"Flatten also closes all {self._open} open position(s) at market.",
                id="dialog-message",
            )
            with Horizontal(id="dialog-buttons"):
                yield Button("Halt (h)", id="halt", variant="warning")
                yield Button("Halt + flatten (f)", id="flatten", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "cancel" else event.button.id)


class PromptDialog(ModalScreen[str | None]):
    """Ask for one line of text (a symbol). Enter submits, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self._dialog_title = title
        self._initial = value
        self._hint = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Label(self._dialog_title, id="dialog-title")
            yield Input(value=self._initial, placeholder=self._hint, id="prompt-input")
            yield Label("", id="dialog-error")

    def on_mount(self) -> None:
        inp = self.query_one(Input)
        inp.cursor_blink = bool(getattr(self.app, "cursor_blink", True))
        inp.focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip().upper()
        if not value:
            self.query_one("#dialog-error", Label).update("enter a symbol, e.g. SPY")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class ModifyValues:
    """What to change on an open order; None keeps the current value."""

    quantity: int | None
    limit_price: Decimal | None


def parse_modify(order: Order, qty_text: str, limit_text: str) -> ModifyValues:
    """The modify form's values; a ValueError names the field and what is allowed."""
    request = order.request
    qty_text, limit_text = qty_text.strip(), limit_text.strip()
    try:
        qty = int(qty_text) if qty_text else request.quantity
    except ValueError:
        raise ValueError(f"quantity {qty_text!r} must be a whole number") from None
    if qty <= order.filled_quantity:
        raise ValueError(
            f"quantity {qty} must exceed the {order.filled_quantity} already filled "
            "(it is the new total)"
        )
    try:
        limit = Decimal(limit_text) if limit_text else request.limit_price
    except InvalidOperation:
        raise ValueError(f"limit {limit_text!r} must be a price like 1.25") from None
    if limit is None or not limit.is_finite() or limit == 0:
        raise ValueError(f"limit {limit_text!r} must be a non-zero price")
    if not request.is_combo and limit < 0:
        raise ValueError(f"limit {limit} must be positive for a single-leg order")
    values = ModifyValues(
        None if qty == request.quantity else qty,
        None if limit == request.limit_price else limit,
    )
    if values.quantity is None and values.limit_price is None:
        raise ValueError("nothing changed: edit the quantity or the limit")
    return values


class ModifyOrderDialog(ModalScreen[ModifyValues | None]):
    """New total quantity and/or limit for an open limit order. Enter sends, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, order: Order) -> None:
        super().__init__(classes="dialog")
        self.order = order

    def compose(self) -> ComposeResult:
        o = self.order
        r = o.request
        with Vertical(id="dialog-box"):
            yield Label("MODIFY ORDER", id="dialog-title")
            yield Static(
                f"{' / '.join(r.symbols)}  {r.quantity} @ {r.limit_price}  "
                f"filled {o.filled_quantity}\n{o.client_order_id}",
                id="dialog-message",
            )
            yield Label("new total quantity and limit (risk re-checks a bigger order)")
            yield Input(value=str(r.quantity), id="modify-qty", type="integer")
            yield Input(value=f"{r.limit_price}", id="modify-limit", placeholder="limit")
            yield Label("", id="dialog-error")
            yield Label("enter: send the modify · esc: cancel", classes="hint")

    def on_mount(self) -> None:
        blink = bool(getattr(self.app, "cursor_blink", True))
        for inp in self.query(Input):
            inp.cursor_blink = blink
        self.query_one("#modify-limit", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            values = parse_modify(
                self.order,
                self.query_one("#modify-qty", Input).value,
                self.query_one("#modify-limit", Input).value,
            )
        except ValueError as exc:
            self.query_one("#dialog-error", Label).update(str(exc))
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)
