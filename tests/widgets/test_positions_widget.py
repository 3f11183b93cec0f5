from __future__ import annotations

from widget_host import Host, equity, option

from engine.domain import OptionRight
from widgets.positions import PositionsTable


def _book(spy_mark: float = 584.0) -> dict[str, object]:
    ps = [
        equity("SPY", 60, "581.20", spy_mark),
        equity("AAPL", -10, "230.00", 228.0),
        option("NVDA", "145", OptionRight.CALL, 4, "3.10", 4.85),
    ]
    return {p.symbol: p for p in ps}


async def test_show_when_one_mark_changes_then_only_that_rows_changed_cells_update() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        first = table.show(_book())  # type: ignore[arg-type]
        assert first.added == 3
        assert first.updated == 0
        await pilot.pause()
        second = table.show(_book(spy_mark=590.0))  # type: ignore[arg-type]
        # mark, P&L and % of SPY change; nothing else is touched
        assert (second.added, second.updated, second.removed) == (0, 3, 0)
        assert table.show(_book(spy_mark=590.0)).updated == 0  # type: ignore[arg-type]


async def test_show_when_position_closes_then_row_removed() -> None:
    table = PositionsTable()
    async with Host(table).run_test():
        table.show(_book())  # type: ignore[arg-type]
        book = _book()
        book.pop("AAPL")
        stats = table.show(book)  # type: ignore[arg-type]
        assert stats.removed == 1
        assert "AAPL" not in table.row_keys


async def test_colour_when_pnl_sign_differs_then_gain_and_loss_styles() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book())  # type: ignore[arg-type]
        await pilot.pause()
        spy = table.get_cell("SPY", "pnl")
        short = table.get_cell("AAPL", "pnl")  # short 10 from 230 to 228: a gain
        nvda_sym = next(k for k in table.row_keys if k.startswith("NVDA"))
        assert str(spy.style) == str(short.style)  # both gains
        styles = table.theme_styles
        assert str(spy.style) == styles.gain
        table.show({"SPY": equity("SPY", 60, "581.20", 570.0)})  # type: ignore[dict-item]
        assert str(table.get_cell("SPY", "pnl").style) == styles.loss
        assert nvda_sym not in table.row_keys


async def test_sort_when_by_pnl_descending_then_rows_reordered() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book())  # type: ignore[arg-type]
        table.sort_by("pnl", reverse=True)
        await pilot.pause()
        pnls = [table.get_row_at(i)[4].sort_key for i in range(table.row_count)]
        assert pnls == sorted(pnls, reverse=True)
        assert any(isinstance(m, PositionsTable.SortChanged) for m in pilot.app.messages)  # type: ignore[attr-defined]


async def test_theme_when_switched_then_cells_restyled_with_new_colours() -> None:
    table = PositionsTable()
    async with Host(table).run_test() as pilot:
        table.show(_book())  # type: ignore[arg-type]
        dark_gain = str(table.get_cell("SPY", "pnl").style)
        pilot.app.theme = "wsb-light"
        await pilot.pause()
        await pilot.pause()
        assert str(table.get_cell("SPY", "pnl").style) != dark_gain
