"""Shared frame of every full screen: the desk header on top, the footer below, redraws
driven by the app's `desk_changed` signal, Esc to go back."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from widgets.header import DeskHeader
from wsb_tui.screens.dashboard import header_view
from wsb_tui.screens.desk import DeskChange

if TYPE_CHECKING:
    from wsb_tui.app import WsbApp

ALL_TOPICS = frozenset(
    {"header", "portfolio", "risk", "strategies", "pending", "orders", "fills", "proposals", "bars"}
)


class DeskScreen(Screen[None]):
    SCOPE: ClassVar[str] = ""

    @property
    def wsb(self) -> WsbApp:
        return self.app  # type: ignore[return-value]

    def compose_header(self) -> ComposeResult:
        yield DeskHeader(self.wsb.desk.mode, id="header")

    def compose_footer(self) -> ComposeResult:
        yield Footer()

    def on_mount(self) -> None:
        self.wsb.desk_changed.subscribe(self, self._on_desk)
        self.app.theme_changed_signal.subscribe(self, self._on_theme_switched)
        self.render_desk(set(ALL_TOPICS))

    def _on_theme_switched(self, _theme: object) -> None:
        # Text coloured by the screen itself (summaries, tables it fills) is redrawn in the
        # new theme's colours; widgets that keep their own data redraw themselves.
        self.render_desk(set(ALL_TOPICS) | {"theme"})

    def on_screen_resume(self) -> None:
        self.render_desk(set(ALL_TOPICS))

    def _on_desk(self, change: DeskChange) -> None:
        if self.is_current:
            self.render_desk(change.topics)

    def render_desk(self, topics: set[str]) -> None:
        if topics & {"header", "portfolio", "pending", "risk"}:
            for header in self.query(DeskHeader):
                header.set_view(header_view(self.wsb.desk))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
