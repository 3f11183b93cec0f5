"""A DataTable that syncs to keyed rows, touching only the cells that changed.

Redrawing a whole table on every tick is what makes terminal dashboards stutter and leak:
here each sync compares the new display text of every cell with what is on screen and calls
`update_cell` only where it differs, adds new rows and removes vanished ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from widgets.styles import ThemeAware


class Cell(Text):
    """Text that carries the row it belongs to and a value to sort by."""

    # No per-cell __dict__: a 500-row table holds thousands of these, and every object the
    # garbage collector tracks makes its full collections (UI stalls) longer.
    __slots__ = ("row_key", "sort_key")

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


# Render-cache sizes: rows and cells of two tall screens (a 100-row terminal, 12 columns).
ROW_CACHE = 200
CELL_CACHE = 2_400

# What a caller asks a cell to show: (text, style, sort key, justify). Plain tuples are
# cheap; a `Cell` (Rich Text) is only built when the text or style actually changed.
CellSpec = tuple[str, str, Any, "str | None"]


def cell(
    text: str, style: str = "", *, sort_key: Any = None, justify: str | None = None
) -> CellSpec:
    return (text, style, text if sort_key is None else sort_key, justify)


def num(text: str, value: float | None, style: str = "") -> CellSpec:
    """A right-aligned numeric cell; unknown values sort last."""
    return (text, style, value if value is not None else float("-inf"), "right")


def _make(spec: CellSpec, row_key: str) -> Cell:
    c = Cell(spec[0], spec[1], sort_key=spec[2], justify=spec[3])
    c.row_key = row_key
    return c


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


class KeyedTable(ThemeAware, DataTable[Any]):
    """Rows are identified by string keys; `sync` makes the table match a list of rows."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        id: str | None = None,
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
        # What is on screen, per row: column key -> the spec drawn (text and style are
        # compared on sync).
        self._shown: dict[str, dict[str, CellSpec]] = {}
        self._order: list[str] = []
        self._col_keys = [c.key for c in self._columns_spec]
        # Redraws the table from its owner's last data (set by widgets that keep it).
        self._replay: Callable[[], object] | None = None
        self._batched = 0
        self._widths: dict[str, int] = {c.key: len(c.label) for c in self._columns_spec}
        # DataTable keys every render cache on its update count, so after a sync nothing
        # cached before it is ever hit again. Its default sizes (10,000 rendered cells)
        # would keep up to a dozen stale frames alive: memory, and objects the garbage
        # collector walks on every full collection. A few screens' worth is enough.
        self._cell_render_cache = LRUCache(CELL_CACHE)
        self._row_render_cache = LRUCache(ROW_CACHE)
        self._row_renderable_cache = LRUCache(ROW_CACHE)
        self._line_cache = LRUCache(ROW_CACHE)
        # Cell writes go straight into DataTable's row storage when it is laid out as
        # this code expects (a dict of row dicts); otherwise through `update_cell`.
        self._fast_writes = isinstance(getattr(self, "_data", None), dict) and hasattr(
            self, "_update_count"
        )
        self._col_objs: dict[str, Any] = {}
        # Columns whose cells the last `sync` rewrote (a caller sorting by a column can
        # skip the sort when nothing in it moved).
        self.changed_columns: set[str] = set()

    def on_mount(self) -> None:
        for col in self._columns_spec:
            self._col_objs[col.key] = self.add_column(col.label, key=col.key, width=col.width)

    @property
    def row_keys(self) -> list[str]:
        return list(self._order)

    def sync(
        self, rows: Iterable[tuple[str, Sequence[CellSpec]]], *, keep_order: bool = True
    ) -> SyncStats:
        """Make the table show exactly `rows` (in that order unless `keep_order` is False,
        in which case new rows go to the end and the caller sorts)."""
        added = updated = removed = 0
        col_keys = self._col_keys
        col_objs = self._col_objs
        changed_columns = self.changed_columns
        changed_columns.clear()
        data: dict[Any, dict[Any, Any]] | None = self._data if self._fast_writes else None
        widths = self._widths
        wanted: list[str] = []
        for key, specs in rows:
            wanted.append(key)
            shown = self._shown.get(key)
            if shown is None:
                self.add_row(*(_make(sp, key) for sp in specs), key=key)
                self._shown[key] = dict(zip(col_keys, specs, strict=True))
                for ck, sp in zip(col_keys, specs, strict=True):
                    if len(sp[0]) > widths.get(ck, 0):
                        widths[ck] = len(sp[0])
                added += 1
                continue
            row: dict[Any, Any] | None = None
            for ck, sp in zip(col_keys, specs, strict=True):
                old = shown.get(ck)
                if old is not None and old[0] == sp[0] and old[1] == sp[1]:
                    continue
                # Only a cell wider than anything in its column makes the table re-measure.
                grow = len(sp[0]) > widths.get(ck, 0)
                if grow:
                    widths[ck] = len(sp[0])
                column = col_objs.get(ck)
                if grow or data is None or column is None:
                    if not self._write_cell(key, ck, _make(sp, key), grow):
                        continue
                else:
                    # The hot path (every re-marked cell): straight into the row's storage,
                    # the row looked up once, one repaint for the batch (see `_write_cell`).
                    if row is None:
                        row = data.get(key)  # RowKey hashes and compares equal to its str
                        if row is None:
                            break
                    if column not in row:
                        continue
                    row[column] = _make(sp, key)
                    self._batched += 1
                shown[ck] = sp
                changed_columns.add(ck)
                updated += 1
        if self._batched:
            # One repaint for the whole batch of cell writes.
            self._update_count += self._batched
            self._batched = 0
            self.refresh()
        if len(wanted) != len(self._shown):
            wanted_set = set(wanted)
            for key in [k for k in self._shown if k not in wanted_set]:
                with contextlib.suppress(RowDoesNotExist):
                    self.remove_row(key)
                del self._shown[key]
                removed += 1
        if (
            keep_order
            and (added or removed or wanted != self._order)
            and wanted != self._current_order()
        ):
            rank = {k: i for i, k in enumerate(wanted)}
            self.sort(col_keys[0], key=lambda c: rank.get(getattr(c, "row_key", ""), 1 << 30))
        if keep_order:
            self._order = wanted
        elif added or removed:
            self._order = self._current_order()
        return SyncStats(added, updated, removed)

    def _write_cell(self, key: str, col: str, value: Cell, grow: bool) -> bool:
        """Change one cell. A cell that widens its column goes through `update_cell` (the
        table re-measures); other writes are batched, with one refresh per sync, because
        `update_cell` repaints per call and 500 rows x 4 ticks/s would swamp the loop."""
        data = getattr(self, "_data", None)
        if grow or not isinstance(data, dict) or not hasattr(self, "_update_count"):
            try:
                self.update_cell(key, col, value, update_width=grow)
            except CellDoesNotExist:
                return False
            return True
        row = data.get(key)  # RowKey hashes and compares equal to its string value
        if row is None or col not in row:
            return False
        row[col] = value
        self._batched += 1
        return True

    def _current_order(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def on_theme_change(self) -> None:
        self.restyle()
        if self._replay is not None:
            self._replay()

    def reset(self) -> None:
        """Drop every row (a different data set is about to be shown)."""
        self.clear()
        self._shown.clear()
        self._order = []
        self._widths = {c.key: len(c.label) for c in self._columns_spec}

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
