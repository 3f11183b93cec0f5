"""One expiry of an option chain: calls | strike | puts, with the money line marked.

Cell cursor: the column under the cursor says whether the call or the put is meant, so a
screen can ask `selected_quote()` and build a proposal from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from textual.message import Message

from engine.domain import OptionQuote, OptionRight
from widgets.format import price
from widgets.keyed_table import CellSpec, Column, KeyedTable, cell, num
from widgets.styles import SignalStyles

SIDE_FIELDS = ("bid", "ask", "mid", "iv", "delta", "vol", "oi")
_LABELS = {
    "bid": "bid",
    "ask": "ask",
    "mid": "mid",
    "iv": "IV",
    "delta": "Δ",
    "vol": "vol",
    "oi": "OI",
}
COLUMNS = (
    *(Column(f"c_{f}", _LABELS[f]) for f in SIDE_FIELDS),
    Column("strike", "strike"),
    *(Column(f"p_{f}", _LABELS[f]) for f in SIDE_FIELDS),
)
SPOT_ROW = "spot"


def _side_cells(q: OptionQuote | None, itm: bool, st: SignalStyles) -> list[CellSpec]:
    if q is None:
        return [num("", None) for _ in SIDE_FIELDS]
    base = st.accent if itm else ""
    return [
        num(price(q.bid), q.bid, base),
        num(price(q.ask), q.ask, base),
        num(price(q.mid), q.mid, f"bold {base}".strip()),
        num(f"{q.iv * 100:.1f}" if q.iv is not None else "—", q.iv, base),
        num(f"{q.delta:+.2f}" if q.delta is not None else "—", q.delta, base),
        num(f"{q.volume:,}", q.volume, st.muted),
        num(f"{q.open_interest:,}", q.open_interest, st.muted),
    ]


class ChainTable(KeyedTable):
    class QuoteHighlighted(Message):
        def __init__(self, quote: OptionQuote | None) -> None:
            super().__init__()
            self.quote = quote

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes, cursor_type="cell")
        self._quotes: dict[tuple[str, OptionRight], OptionQuote] = {}
        self.spot: float | None = None

    def show(self, quotes: Sequence[OptionQuote], spot: float) -> None:
        st = self.theme_styles
        self._replay = lambda: self.show(quotes, spot)
        self.spot = spot
        by_strike: dict[Decimal, dict[OptionRight, OptionQuote]] = {}
        self._quotes.clear()
        for q in quotes:
            by_strike.setdefault(q.contract.strike, {})[q.contract.right] = q
            self._quotes[(str(q.contract.strike), q.contract.right)] = q
        rows: list[tuple[str, list[CellSpec]]] = []
        spot_done = False
        for strike in sorted(by_strike):
            if not spot_done and float(strike) > spot:
                rows.append((SPOT_ROW, self._spot_cells(spot, st)))
                spot_done = True
            pair = by_strike[strike]
            k = str(strike)
            strike_cell = cell(
                f"{strike.normalize():f}", "bold", sort_key=float(strike), justify="center"
            )
            rows.append(
                (
                    k,
                    [
                        *_side_cells(pair.get(OptionRight.CALL), float(strike) < spot, st),
                        strike_cell,
                        *_side_cells(pair.get(OptionRight.PUT), float(strike) > spot, st),
                    ],
                )
            )
        if not spot_done:
            rows.append((SPOT_ROW, self._spot_cells(spot, st)))
        self.sync(rows)

    @staticmethod
    def _spot_cells(spot: float, st: SignalStyles) -> list[CellSpec]:
        line = [cell("─" * 6, st.primary) for _ in SIDE_FIELDS]
        return [*line, cell(f"▶{spot:,.2f}◀", f"bold {st.primary}", justify="center"), *line]

    def selected_quote(self) -> OptionQuote | None:
        if not self.row_count:
            return None
        row_key, col_key = self.coordinate_to_cell_key(self.cursor_coordinate)
        strike, col = str(row_key.value), str(col_key.value)
        if strike == SPOT_ROW or col == "strike":
            return None
        right = OptionRight.CALL if col.startswith("c_") else OptionRight.PUT
        return self._quotes.get((strike, right))

    def on_data_table_cell_highlighted(self, event: KeyedTable.CellHighlighted) -> None:
        event.stop()
        self.post_message(self.QuoteHighlighted(self.selected_quote()))
