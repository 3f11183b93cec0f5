"""The positions table's per-tick work: cells written in place, moving sorts throttled."""

from __future__ import annotations

import asyncio
from typing import Any

from widget_host import Host, equity

from widgets import positions as positions_module
from widgets.positions import PositionsTable


def _book(spy_mark: float, aapl_mark: float) -> dict[str, object]:
    ps = [equity("SPY", 60, "581.20", spy_mark), equity("AAPL", 10, "230.00", aapl_mark)]
    return {p.symbol: p for p in ps}


def _order(table: PositionsTable) -> list[str]:
    return [str(table.get_row_at(i)[0].row_key) for i in range(table.row_count)]


async def test_show_when_marks_change_then_cells_rewritten_in_place_and_columns_reported() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book(584.0, 231.0))  # type: ignore[arg-type]
        await pilot.pause()
        stats = table.show(_book(590.0, 231.0))  # type: ignore[arg-type]
        assert stats.updated == 3  # SPY's mark, P&L and %
        assert table.changed_columns == {"mark", "pnl", "pct"}
        assert table.get_cell("SPY", "mark").plain == "590.00"
        assert table.get_cell("AAPL", "mark").plain == "231.00"


async def test_show_when_sorted_by_pnl_and_ticks_fast_then_resorted_once_after_window(
    monkeypatch: object,
) -> None:
    monkeypatch.setattr(positions_module, "RESORT_SECONDS", 0.3)  # type: ignore[attr-defined]
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book(584.0, 231.0))  # type: ignore[arg-type]  SPY +$168, AAPL +$10
        table.sort_by("pnl", reverse=True)
        await pilot.pause()
        assert _order(table) == ["SPY", "AAPL"]
        # AAPL jumps above SPY right after the sort: inside the window the order holds...
        table.show(_book(584.0, 260.0))  # type: ignore[arg-type]  AAPL +$300
        # No await before these checks: the trailing sort is a timer on this event loop, so
        # it cannot run in between, however slow the machine (a pause here once outlasted
        # the 0.3 s window on a loaded CI machine).
        assert _order(table) == ["SPY", "AAPL"]
        assert table._resort_timer is not None  # the trailing sort is scheduled
        assert table.get_cell("AAPL", "mark").plain == "260.00"  # values are current
        # ...and one trailing sort puts it right once the window has passed.
        await asyncio.sleep(0.5)
        await pilot.pause()
        assert _order(table) == ["AAPL", "SPY"]


async def test_show_when_sorted_by_symbol_and_marks_move_then_no_resort_scheduled() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book(584.0, 231.0))  # type: ignore[arg-type]
        await pilot.pause()
        table.show(_book(500.0, 300.0))  # type: ignore[arg-type]
        assert table._resort_timer is None
        assert _order(table) == ["AAPL", "SPY"]  # by symbol, as sorted when the rows came


async def test_show_when_book_resent_unchanged_then_no_row_reformatted_or_rewritten(
    monkeypatch: Any,
) -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book(584.0, 231.0))  # type: ignore[arg-type]
        await pilot.pause()
        spy_mark = table.get_cell("SPY", "mark")
        spy_qty = table.get_cell("SPY", "qty")
        formatted: list[object] = []
        original = positions_module.money

        def counting(x: Any, **kw: Any) -> str:
            formatted.append(x)
            return original(x, **kw)

        monkeypatch.setattr(positions_module, "money", counting)
        # The snapshot poll re-sends the whole book as new objects with the same figures.
        stats = table.show(_book(584.0, 231.0))  # type: ignore[arg-type]
        assert (stats.updated, formatted) == (0, [])
        assert table.get_cell("SPY", "mark") is spy_mark
        # One mark moves: only that row's P&L is formatted again (no greeks, no theta)...
        stats = table.show(_book(590.0, 231.0))  # type: ignore[arg-type]
        assert len(formatted) == 1
        assert stats.updated == 3
        # ...and its unchanged cells are the very objects already in the table.
        assert table.get_cell("SPY", "qty") is spy_qty
        assert table.get_cell("SPY", "mark").plain == "590.00"


async def test_show_when_big_book_remarked_then_next_frame_renders_only_moved_visible_cells() -> (
    None
):
    tickers = [f"Z{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(500)]
    book = {t: equity(t, 10 + i, "100.00", 100.0 + i / 10) for i, t in enumerate(tickers)}
    table = PositionsTable()
    async with Host(table).run_test(size=(100, 20)) as pilot:
        table.show(book)  # type: ignore[arg-type]
        await pilot.pause()
        await pilot.pause()
        visible = table.size.height - table.header_height
        before = table.cells_rendered
        remarked = {s: p.with_mark((p.mark or 0.0) + 1.0) for s, p in book.items()}
        stats = table.show(remarked)  # type: ignore[arg-type]
        assert stats.updated == 3 * 500  # mark, P&L, % of every row
        await pilot.pause()
        await pilot.pause()
        # Mark, P&L and % of the rows on screen: not the other 470-odd rows, not the
        # unchanged columns (symbol, qty, avg, greeks), not the header.
        assert table.cells_rendered - before == 3 * visible
