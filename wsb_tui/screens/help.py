"""Every binding, by where it works, with the key in force (user keymap applied)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from widgets.keyed_table import CellSpec, Column, KeyedTable, cell
from widgets.styles import signal_styles
from wsb_tui.bindings import SCOPE_TITLES, SCOPES, bindings, display_key
from wsb_tui.screens.base import DeskScreen

COLUMNS = (
    Column("where", "where"),
    Column("key", "key"),
    Column("does", "does"),
    Column("palette", "command palette"),
    Column("id", "binding id"),
)


class HelpScreen(DeskScreen):
    SCOPE = "help"
    BINDINGS = bindings("help")

    def __init__(self) -> None:
        super().__init__(id="help-screen")

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Vertical(id="help-box", classes="box"):
            yield KeyedTable(COLUMNS, id="help-table")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "Keys"
        box.border_subtitle = "ctrl+p: command palette · esc: back"
        self.query_one("#help-table", KeyedTable).focus()

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if "theme" not in topics and self.query_one("#help-table", KeyedTable).row_count:
            return
        st = signal_styles(self.app)
        keymap = self.wsb.settings.keymap
        rows: list[tuple[str, list[CellSpec]]] = []
        for scope, specs in SCOPES.items():
            for s in specs:
                rows.append(
                    (
                        s.id,
                        [
                            cell(SCOPE_TITLES.get(scope, scope), st.muted),
                            cell(display_key(s, keymap), f"bold {st.accent}"),
                            cell(s.description),
                            cell(s.palette or "", st.muted),
                            cell(s.id, st.muted),
                        ],
                    )
                )
        rows.append(
            (
                "palette",
                [
                    cell("everywhere", st.muted),
                    cell("^p", f"bold {st.accent}"),
                    cell("command palette"),
                    cell(""),
                    cell(""),
                ],
            )
        )
        self.query_one("#help-table", KeyedTable).sync(rows)
