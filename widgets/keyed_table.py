"""A DataTable that syncs to keyed rows, touching only the cells that changed.

Redrawing a whole table on every tick is what makes terminal dashboards stutter and leak:
here each sync compares the new display text of every cell with what is on screen and calls
`update_cell` only where it differs, adds new rows and removes vanished ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


class Cell(Text):
    """Text that carries the row it belongs to and a value to sort by."""

    def __init__(
        self,
        text: str,
        style: str = "",
        *,
        sort_key: Any = None,
        justify: str | None = None,
    ) -> None:
        super().__init__(text, style=style, justify=justify, no_wrap=True, end="")  # type: ignore[arg-type]
        self.sort_key: Any = text if sort_key is None else sort_key
        self.row_key: str = ""


def num(text: str, value: float | None, style: str = "") -> Cell:
    """A right-aligned numeric cell; unknown values sort last."""
    key = value if value is not None else float("-inf")
    return Cell(text, style, sort_key=key, justify="right")


@dataclass(frozen=True, slots=True)
class SyncStats:
    added: int = 0
    updated: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int | None = None


class KeyedTable(DataTable[Any]):
    """Rows are identified by string keys; `sync` makes the table match a list of rows."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,  # noqa: A002 - Textual's name for it
        classes: str | None = None,
        cursor_type: str = "row",
    ) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type=cursor_type,  # type: ignore[arg-type]
            zebra_stripes=True,
        )
        self._columns_spec = tuple(columns)
        # What is on screen, per row: column key -> (plain text, style). Compared on sync.
        self._shown: dict[str, dict[str, tuple[str, str]]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for col in self._columns_spec:
            self.add_column(col.label, key=col.key, width=col.width)

    @property
    def row_keys(self) -> list[str]:
        return list(self._order)

    def sync(
        self, rows: Iterable[tuple[str, Sequence[Cell]]], *, keep_order: bool = True
    ) -> SyncStats:
        """Make the table show exactly `rows` (in that order unless `keep_order` is False,
        in which case new rows go to the end and the caller sorts)."""
        added = updated = removed = 0
        col_keys = [c.key for c in self._columns_spec]
        wanted: list[str] = []
        for key, cells in rows:
            wanted.append(key)
            shown = self._shown.get(key)
            if shown is None:
                for c in cells:
                    c.row_key = key
                self.add_row(*cells, key=key)
                self._shown[key] = {
                    ck: (c.plain, str(c.style)) for ck, c in zip(col_keys, cells, strict=True)
                }
                added += 1
                continue
            for ck, c in zip(col_keys, cells, strict=True):
                new = (c.plain, str(c.style))
                old = shown.get(ck)
                if old != new:
                    c.row_key = key
                    grow = old is None or len(new[0]) > len(old[0])
                    try:
                        self.update_cell(key, ck, c, update_width=grow)
                    except CellDoesNotExist:
                        continue
                    shown[ck] = new
                    updated += 1
        wanted_set = set(wanted)
        for key in [k for k in self._shown if k not in wanted_set]:
            try:
                self.remove_row(key)
            except RowDoesNotExist:
                pass
            del self._shown[key]
            removed += 1
        if keep_order and wanted != self._current_order():
            rank = {k: i for i, k in enumerate(wanted)}
            first = col_keys[0]
            self.sort(first, key=lambda c: rank.get(getattr(c, "row_key", ""), 1 << 30))
        self._order = wanted if keep_order else self._current_order()
        return SyncStats(added, updated, removed)

    def _current_order(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def reset(self) -> None:
        """Drop every row (a different data set is about to be shown)."""
        self.clear()
        self._shown.clear()
        self._order = []

    def restyle(self) -> None:
        """Forget what is on screen so the next sync rewrites every cell (theme change)."""
        for shown in self._shown.values():
            shown.clear()

    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return None if row_key.value is None else str(row_key.value)

    def move_to_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index)
        return True
