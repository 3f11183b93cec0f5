"""A DataTable that syncs to keyed rows, touching only the cells that changed.

Redrawing a whole table on every tick is what makes terminal dashboards stutter and leak:
here each sync compares the new display text of every cell with what is on screen and calls
`update_cell` only where it differs, adds new rows and removes vanished ones.

Painting is cheap too. DataTable keys every render cache on one table-wide update counter,
so after any cell write every visible cell is rendered again through Rich (Padding, Styled,
Text wrapping: ~0.1-0.2 ms a cell, 30+ ms for a screenful of a re-marked book). Here the
rendered cell is cached on the cell object itself (a write puts a new object in place, so
only written cells miss), a plain one-line `Cell` is laid out directly into the segments
Rich would produce, and the per-line style look-ups that walk the DOM are done once per
style change instead of once per line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.color import Color
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CursorType, RowDoesNotExist, RowKey

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

META_CACHE = 20_000

SegmentLines = list[list[Segment]]


class _Frame(NamedTuple):
    """What DataTable reads on every line and cell, read once per frame."""

    fixed_columns: int
    fixed_rows: int
    plain_rows: bool  # no row labels drawn
    zebra: bool
    cursor_type: CursorType
    show_cursor: bool
    show_hover_cursor: bool
    fg_css: bool
    bg_css: bool
    padding: int
    width: int


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


_new_cell = object.__new__


def _make(spec: CellSpec, row_key: str) -> Cell:
    """`Cell(text, style, sort_key=..., justify=...)` with `row_key` set, without the
    keyword-argument constructor chain: a re-marked book makes over a thousand a tick.
    The slots set are Rich Text's (a test holds this equal to the constructor)."""
    text = strip_control_codes(spec[0])
    c: Cell = _new_cell(Cell)
    c._text = [text]
    c.style = spec[1]
    c.justify = spec[3]  # type: ignore[assignment]
    c.overflow = None
    c.no_wrap = True
    c.end = ""
    c.tab_size = None
    c._spans = []
    c._length = len(text)
    c.sort_key = spec[0] if spec[2] is None else spec[2]
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
        # The row sequence each key was last synced from: a caller that hands back the same
        # object for an unchanged row (see PositionsTable) skips the cell comparison.
        self._synced: dict[str, Sequence[CellSpec]] = {}
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
        # Rendered cells keyed on the cell object rather than the table-wide update count
        # (entries hold the object, so an id is never mistaken for a recycled one).
        self._cell_lines: LRUCache[tuple[Any, ...], tuple[object, SegmentLines]] = LRUCache(
            CELL_CACHE
        )
        self._component_rich: dict[tuple[str, object], Style] = {}
        self._meta_styles: dict[tuple[int, int], Style] = {}
        self._frame: _Frame | None = None
        self._frame_style: Style | None = None
        self._in_frame = False
        # Cells rendered (cache misses) since mount: what a frame after a sync costs.
        self.cells_rendered = 0

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
        in which case new rows go to the end and the caller sorts). A row's cell sequence
        is not to be changed after it is passed: passing the same object again for a key
        means the row is unchanged and it is skipped without comparing its cells."""
        added = updated = removed = 0
        col_keys = self._col_keys
        col_objs = self._col_objs
        changed_columns = self.changed_columns
        changed_columns.clear()
        data: dict[Any, dict[Any, Any]] | None = self._data if self._fast_writes else None
        widths = self._widths
        wanted: list[str] = []
        synced = self._synced
        for key, specs in rows:
            wanted.append(key)
            if synced.get(key) is specs:
                continue
            shown = self._shown.get(key)
            if shown is None:
                self.add_row(*(_make(sp, key) for sp in specs), key=key)
                self._shown[key] = dict(zip(col_keys, specs, strict=True))
                synced[key] = specs
                for ck, sp in zip(col_keys, specs, strict=True):
                    if len(sp[0]) > widths.get(ck, 0):
                        widths[ck] = len(sp[0])
                added += 1
                continue
            row: dict[Any, Any] | None = None
            complete = True  # every differing cell written (else retried next sync)
            for ck, sp in zip(col_keys, specs, strict=True):
                old = shown.get(ck)
                if old is sp or (old is not None and old[0] == sp[0] and old[1] == sp[1]):
                    continue
                # Only a cell wider than anything in its column makes the table re-measure.
                grow = len(sp[0]) > widths.get(ck, 0)
                if grow:
                    widths[ck] = len(sp[0])
                column = col_objs.get(ck)
                if grow or data is None or column is None:
                    if not self._write_cell(key, ck, _make(sp, key), grow):
                        complete = False
                        continue
                else:
                    # The hot path (every re-marked cell): straight into the row's storage,
                    # the row looked up once, one repaint for the batch (see `_write_cell`).
                    if row is None:
                        row = data.get(key)  # RowKey hashes and compares equal to its str
                        if row is None:
                            complete = False
                            break
                    if column not in row:
                        complete = False
                        continue
                    row[column] = _make(sp, key)
                    self._batched += 1
                shown[ck] = sp
                changed_columns.add(ck)
                updated += 1
            if complete:
                synced[key] = specs
            else:
                synced.pop(key, None)
        if self._batched:
            # One repaint for the whole batch of cell writes.
            self._bump_for_cell_writes(self._batched)
            self._batched = 0
            self.refresh()
        if len(wanted) != len(self._shown):
            wanted_set = set(wanted)
            for key in [k for k in self._shown if k not in wanted_set]:
                with contextlib.suppress(RowDoesNotExist):
                    self.remove_row(key)
                del self._shown[key]
                synced.pop(key, None)
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

    def _bump_for_cell_writes(self, writes: int) -> None:
        """Invalidate what cell writes change, and carry over what they cannot: the row
        order and line offsets (rebuilt over every row, not just the visible ones)."""
        old = self._update_count
        new = old + writes
        self._update_count = new
        offsets = self._offset_cache.get(old)
        if offsets is not None:
            self._offset_cache[new] = offsets
        ordered = self._ordered_row_cache.get((len(self.rows), old))
        if ordered is not None:
            self._ordered_row_cache[(len(self.rows), new)] = ordered

    # ------------------------------------------------------------------ rendering
    def notify_style_update(self) -> None:
        self._forget_rendered()
        super().notify_style_update()

    def _clear_caches(self) -> None:
        self._forget_rendered()
        super()._clear_caches()

    def _forget_rendered(self) -> None:
        # Called from DataTable's own set-up too, before `__init__` here has run.
        with contextlib.suppress(AttributeError):
            self._cell_lines.clear()
            self._component_rich.clear()
            self._meta_styles.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Settings and styles DataTable reads per line and per cell (reactive look-ups,
        # `rich_style` walking every ancestor) cannot change while a frame is drawn.
        self._frame = None
        self._frame_style = None
        self._in_frame = True
        try:
            return super().render_lines(crop)
        finally:
            self._in_frame = False
            self._frame = None
            self._frame_style = None

    def _frame_settings(self) -> _Frame:
        frame = self._frame
        if frame is None:
            frame = _Frame(
                fixed_columns=self.fixed_columns,
                fixed_rows=self.fixed_rows,
                plain_rows=not (self._labelled_row_exists and self.show_row_labels),
                zebra=self.zebra_stripes,
                cursor_type=self.cursor_type,
                show_cursor=self.show_cursor,
                show_hover_cursor=self._show_hover_cursor,
                fg_css=self.cursor_foreground_priority == "css",
                bg_css=self.cursor_background_priority == "css",
                padding=self.cell_padding,
                width=self.size.width,
            )
            if self._in_frame:
                self._frame = frame
        return frame

    @property
    def rich_style(self) -> Style:
        if not self._in_frame:
            return super().rich_style
        style = self._frame_style
        if style is None:
            style = self._frame_style = super().rich_style
        return style

    def _component_style(self, name: str) -> Style:
        key = (name, self._pseudo_class_state)
        style = self._component_rich.get(key)
        if style is None:
            style = self.get_component_styles(name).rich_style
            self._component_rich[key] = style
        return style

    def _meta_style(self, row_index: int, column_index: int) -> Style:
        """The mouse-hit metadata of a cell (DataTable builds and pickles one per cell)."""
        key = (row_index, column_index)
        style = self._meta_styles.get(key)
        if style is None:
            if len(self._meta_styles) > META_CACHE:
                self._meta_styles.clear()
            style = Style.from_meta({"row": row_index, "column": column_index})
            self._meta_styles[key] = style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        frame = self._frame_settings()
        if row_index < 0 or row_index < frame.fixed_rows or not frame.zebra:
            return super()._get_row_style(row_index, base_style)
        return self._component_style(
            "datatable--odd-row" if row_index % 2 else "datatable--even-row"
        )

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """DataTable's row line without fixed columns or row labels (how every table here
        is set up), minus its per-line look-ups of the header and background styles (each
        walks the DOM) that only those features use."""
        frame = self._frame_settings()
        if frame.fixed_columns or not frame.plain_rows:
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        cursor_type = frame.cursor_type
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            cursor_type,
            frame.show_cursor,
            frame.show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cached = self._row_render_cache.get(cache_key)
        if cached is not None:
            return cached
        should_highlight = self._should_highlight
        render_cell = self._render_cell
        located = self._row_locations.get(row_key)
        row_index = -1 if located is None else located
        row_style = self._get_row_style(row_index, base_style)
        scrollable_row: SegmentLines = []
        table_width = self._row_label_column_width
        for column_index, column in enumerate(self.ordered_columns):
            width = column.get_render_width(self)
            table_width += width
            location = Coordinate(row_index, column_index)
            scrollable_row.append(
                render_cell(
                    row_index,
                    column_index,
                    row_style,
                    width,
                    cursor=should_highlight(cursor_location, location, cursor_type),
                    hover=should_highlight(hover_location, location, cursor_type),
                )[line_no]
            )
        remaining_space = max(0, frame.width - table_width)
        if cursor_type == "row":
            extend_style, _ = self._get_styles_to_render_cell(
                row_index == -1,
                False,
                False,
                should_highlight(hover_location, Coordinate(row_index or 0, 0), cursor_type),
                row_index == cursor_location.row,
                frame.show_cursor,
                frame.show_hover_cursor,
                False,
                False,
            )
            extend_style = row_style + extend_style
        elif row_style.bgcolor is not None:
            faded = Color.from_rich_color(row_style.bgcolor).blend(
                self.background_colors[1], factor=0.25
            )
            extend_style = Style.from_color(color=row_style.color, bgcolor=faded.rich_color)
        else:
            extend_style = Style.from_color(row_style.color, row_style.bgcolor)
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining_space, extend_style)])
        row_pair: tuple[SegmentLines, SegmentLines] = ([], scrollable_row)
        self._row_render_cache[cache_key] = row_pair
        return row_pair

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        frame = self._frame_settings()
        if column_index < frame.fixed_columns or 0 <= row_index < frame.fixed_rows:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        column_key = self._column_locations.get_key(column_index)
        value: object = None
        if column_key is None:
            pass
        elif row_index < 0:
            column = self.columns.get(column_key)
            value = column.label if column is not None else None
        else:
            row_key = self._row_locations.get_key(row_index)
            row = self._data.get(row_key) if row_key is not None else None
            value = row.get(column_key) if row is not None else None
        if value is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            row_index,
            column_index,
            id(value),
            base_style,
            width,
            cursor,
            hover,
            frame.show_cursor,
            frame.show_hover_cursor,
            frame.padding,
            self._pseudo_class_state,
        )
        hit = self._cell_lines.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        lines = None
        if type(value) is Cell and row_index >= 0:
            lines = self._layout_cell(
                value, row_index, column_index, base_style, width, cursor, hover, frame
            )
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self.cells_rendered += 1
        self._cell_lines[key] = (value, lines)
        return lines

    def _layout_cell(
        self,
        value: Cell,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool,
        hover: bool,
        frame: _Frame,
    ) -> SegmentLines | None:
        """The segments Rich renders for a one-line, single-style cell that fits its column
        (what `DataTable._render_cell` draws through Padding/Styled/Text), built directly.
        None for anything else: the caller falls back to Rich."""
        text = value.plain
        pad = frame.padding
        inner = width - 2 * pad
        length = cell_len(text)
        if (
            not text
            or length > inner
            or value.spans
            or text[-1].isspace()
            or "\t" in text
            or "\n" in text
        ):
            return None
        justify = value.justify or "default"
        if justify == "full":
            return None
        row_key = self._row_locations.get_key(row_index)
        if row_key is None or self.rows[row_key].height != 1:
            return None
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            frame.show_cursor,
            frame.show_hover_cursor,
            frame.fg_css,
            frame.bg_css,
        )
        # The order of DataTable's additions: base + metadata, then the component style.
        pre = base_style + self._meta_style(row_index, column_index)
        pre = pre + component_style
        plain_style = pre + post_style if post_style else pre
        text_style = pre + self.app.console.get_style(value.style) if value.style else pre
        if post_style:
            text_style = text_style + post_style
        room = inner - length
        line: list[Segment] = []
        if pad:
            line.append(Segment(" " * pad, plain_style))
        if justify == "right":
            line.append(Segment(" " * room + text, text_style))
        elif justify == "left":
            line.append(Segment(text + " " * room, text_style))
        elif justify == "center":
            left = room // 2
            line.append(Segment(" " * left + text + " " * (room - left), text_style))
        else:
            line.append(Segment(text, text_style))
            if room:
                line.append(Segment(" " * room, plain_style))
        if pad:
            line.append(Segment(" " * pad, plain_style))
        return [line]

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
        self._synced.clear()
        self._order = []
        self._widths = {c.key: len(c.label) for c in self._columns_spec}

    def restyle(self) -> None:
        """Forget what is on screen so the next sync rewrites every cell (theme change)."""
        for shown in self._shown.values():
            shown.clear()
        self._synced.clear()

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
