"""Small modal dialogs: yes/no, the kill switch, and a one-line text prompt."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

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
