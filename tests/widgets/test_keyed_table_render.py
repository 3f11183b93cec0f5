"""KeyedTable's painting: the same lines DataTable draws, and only written cells re-rendered."""

from __future__ import annotations

from typing import Any

import pytest
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable
from widget_host import Host

from widgets.keyed_table import Cell, CellSpec, Column, KeyedTable, _make, cell, num

COLUMNS = (
    Column("sym", "symbol"),
    Column("qty", "qty"),
    Column("note", "note", width=6),  # fixed width: a longer note overflows (Rich's path)
    Column("mid", "mid"),
    Column("left", "left"),
    Column("px", "px"),
)


def _row(i: int, px: float) -> list[CellSpec]:
    notes = ["ok", "", "far too long", "tail  ", "—", "Δθ", " lead"]
    return [
        cell(f"S{i:03d}", "bold" if i % 3 == 0 else ""),
        num(f"{i - 5:,}", i - 5, "red" if i < 5 else ""),
        cell(notes[i % len(notes)]),
        cell(f"m{i}", "italic #00ff00", justify="center"),
        cell(f"l{i}", justify="left"),
        num(f"{px:,.2f}", px, "green" if px > 100 else "#ff0000"),
    ]


def _rows(n: int, px: float) -> list[tuple[str, list[CellSpec]]]:
    return [(f"k{i}", _row(i, px + i)) for i in range(n)]


def _paint(table: KeyedTable) -> list[list[tuple[str, Any, Any]]]:
    width, height = table.size
    strips = table.render_lines(Region(0, 0, width, height))
    # Style equality covers colours and attributes; the metadata (row and column a mouse
    # click lands on) is compared on its own.
    return [
        [(seg.text, seg.style, seg.style.meta if seg.style else None) for seg in strip]
        for strip in strips
    ]


# DataTable's own rendering, for comparison: KeyedTable's overrides swapped back out.
REFERENCE = ("_render_cell", "_render_line_in_row", "_get_row_style", "render_lines")


def _reference_paint(table: KeyedTable, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as m:
        for name in REFERENCE:
            m.setattr(KeyedTable, name, getattr(DataTable, name))
        m.setattr(KeyedTable, "rich_style", DataTable.rich_style)
        table._clear_caches()
        painted = _paint(table)
    table._clear_caches()
    return painted


@pytest.mark.parametrize("cursor_type", ["row", "cell", "none"])
async def test_paint_when_fast_path_then_lines_identical_to_datatables_own(
    cursor_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = KeyedTable(COLUMNS, cursor_type=cursor_type)
    async with Host(table).run_test(size=(80, 14)) as pilot:
        table.sync(_rows(30, 99.0))
        await pilot.pause()
        table.move_cursor(row=3, column=1)
        table.hover_coordinate = Coordinate(5, 2)
        table._show_hover_cursor = True
        await pilot.pause()
        fast = _paint(table)
        assert table.cells_rendered > 0  # the overrides were really in play
        assert fast == _reference_paint(table, monkeypatch)
        # after a scroll and a re-mark too
        table.scroll_to(y=6, animate=False)
        table.sync(_rows(30, 101.5))
        await pilot.pause()
        assert _paint(table) == _reference_paint(table, monkeypatch)


async def test_paint_when_focus_moves_away_then_lines_still_identical(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=(80, 10)) as pilot:
        table.sync(_rows(12, 99.0))
        await pilot.pause()
        table.blur()
        await pilot.pause()
        assert _paint(table) == _reference_paint(table, monkeypatch)


@pytest.mark.parametrize("padding", [0, 2])
async def test_paint_when_cell_padding_changed_then_lines_still_identical(
    padding: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=(90, 10)) as pilot:
        table.sync(_rows(12, 99.0))
        table.cell_padding = padding
        await pilot.pause()
        assert _paint(table) == _reference_paint(table, monkeypatch)


async def test_sync_when_one_column_moves_then_next_frame_renders_only_those_cells() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=(80, 12)) as pilot:
        table.sync(_rows(200, 99.0))
        await pilot.pause()
        _paint(table)  # everything on screen rendered once
        visible_rows = table.size.height - table.header_height
        before = table.cells_rendered
        stats = table.sync(_rows(200, 250.0))  # every row's price (and its colour) moves
        assert stats.updated == 200
        _paint(table)
        # One cell per visible row: not every column of the row, not the 200-row table,
        # not the header.
        assert table.cells_rendered - before == visible_rows
        before = table.cells_rendered
        _paint(table)
        assert table.cells_rendered == before  # nothing written: nothing re-rendered


async def test_sync_when_only_cells_change_then_row_offsets_not_rebuilt() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=(80, 12)) as pilot:
        table.sync(_rows(50, 99.0))
        await pilot.pause()
        _paint(table)
        offsets = table._y_offsets
        table.sync(_rows(50, 120.0))
        # The line-to-row map (a pass over every row) carries over a cell-only update.
        assert table._y_offsets is offsets


async def test_sync_when_same_row_object_passed_again_then_row_skipped() -> None:
    table = KeyedTable(COLUMNS)
    async with Host(table).run_test(size=(80, 12)) as pilot:
        rows = _rows(5, 99.0)
        table.sync(rows)
        await pilot.pause()
        first = table.get_cell("k2", "px")
        again = table.sync(list(rows))
        assert again.updated == 0
        assert table.get_cell("k2", "px") is first
        # a new object with new values is still compared and written
        moved = table.sync([(k, _row(int(k[1:]), 300.0)) for k, _ in rows])
        assert moved.updated == 5
        assert table.get_cell("k2", "px").plain == "300.00"


@pytest.mark.parametrize(
    "spec",
    [
        cell("SPY", "bold"),
        cell("—"),
        num("1,234.56", 1234.56, "#00ff00"),
        num("—", None),
        cell("a\x07b", justify="center"),  # control codes stripped as Text does
        ("x", "", None, None),  # no sort key: sorts by its text
    ],
)
def test_make_when_cell_built_fast_then_same_as_constructor(spec: CellSpec) -> None:
    fast = _make(spec, "k1")
    slow = Cell(spec[0], spec[1], sort_key=spec[2], justify=spec[3])
    slow.row_key = "k1"
    slots = [s for klass in Cell.__mro__ for s in getattr(klass, "__slots__", ())]
    assert {"_text", "_spans", "style", "row_key", "sort_key"} <= set(slots)
    for name in slots:
        assert getattr(fast, name) == getattr(slow, name), name
