"""A bare app that hosts one widget, registered with the desk's themes, and sample data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget

import themes
from engine.domain import Equity, OptionContract, OptionRight, Position

NOW = datetime(2025, 1, 15, 15, 42, tzinfo=UTC)


class Host(App[None]):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        for t in themes.THEMES:
            self.register_theme(t)
        self.theme = themes.DEFAULT_THEME
        self.widget = widget
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield self.widget

    async def _on_message(self, message: Message) -> None:
        self.messages.append(message)  # everything widgets post upward bubbles to here
        await super()._on_message(message)


def equity(symbol: str, qty: int, avg: str, mark: float) -> Position:
    return Position(Equity(symbol), qty, Decimal(avg), mark=mark)


def option(
    under: str, strike: str, right: OptionRight, qty: int, avg: str, mark: float
) -> Position:
    return Position(
        OptionContract(under, date(2025, 2, 21), Decimal(strike), right),
        qty,
        Decimal(avg),
        mark=mark,
    )
