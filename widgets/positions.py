"""The positions table: equities and options, sortable, gains and losses coloured by sign."""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from textual.message import Message
from textual.timer import Timer

from engine.domain import Instrument, OptionContract, Position
from widgets.format import greek, money, pct, price, sign_of
from widgets.keyed_table import CellSpec, Column, KeyedTable, SyncStats, cell, num
from widgets.styles import SignalStyles


class PositionGreeks(Protocol):
    """Per-position greeks as the engine reports them (delta per unit, theta $/day)."""

    delta: float
    theta: float


COLUMNS = (
    Column("symbol", "symbol"),
    Column("qty", "qty"),
    Column("avg", "avg"),
    Column("mark", "mark"),
    Column("pnl", "P&L"),
    Column("pct", "%"),
    Column("delta", "Δ"),
    Column("theta", "θ"),
)
SORTABLE = tuple(c.key for c in COLUMNS)
# (what the row was built from, its cells, cost basis, multiplier)
_Built = tuple[tuple[object, ...], list[CellSpec], float, int]
RESORT_SECONDS = 1.0


@lru_cache(maxsize=4096)
def _describe(instrument: OptionContract) -> str:
    return instrument.describe()


def _label(p: Position) -> str:
    return _describe(p.instrument) if isinstance(p.instrument, OptionContract) else p.symbol


@lru_cache(maxsize=4096)
def _fixed(
    instrument: Instrument,
    quantity: int,
    avg_price: Decimal,
    multiplier: int,
    text_style: str,
    short_style: str,
    loss_style: str,
) -> tuple[CellSpec, CellSpec, CellSpec, float, bool, int]:
    """What a re-mark does not change (label, quantity, average cost, cost basis): formatted
    once per holding instead of on every tick for every row."""
    is_opt = isinstance(instrument, OptionContract)
    label = _describe(instrument) if is_opt else instrument.symbol
    return (
        cell(label, text_style if quantity >= 0 else short_style, sort_key=label),
        num(f"{quantity:,}", quantity, loss_style if quantity < 0 else ""),
        num(price(avg_price), float(avg_price)),
        float(avg_price * quantity * multiplier),
        is_opt,
        multiplier,
    )


class PositionsTable(KeyedTable):
    """Call `show(positions, greeks)` on every portfolio update; only changed cells redraw."""

    class SortChanged(Message):
        def __init__(self, column: str, reverse: bool) -> None:
            super().__init__()
            self.column = column
            self.reverse = reverse

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)
        self.sort_column = "symbol"
        self.sort_reverse = False
        self._last_sort = 0.0
        self._resort_timer: Timer | None = None
        # Per symbol: what its row was built from, the row, and the holding's cost basis
        # and multiplier. A position whose figures did not move (the snapshot poll re-sends
        # the book every second; a tick moves a few marks, not all) hands `sync` the same
        # row object, which it skips unread; one whose mark alone moved gets its three
        # moving cells formatted and keeps the other five cell objects (skipped cell by
        # cell).
        self._rows: dict[str, _Built] = {}

    def show(
        self,
        positions: Mapping[str, Position],
        greeks: Mapping[str, PositionGreeks] | None = None,
    ) -> SyncStats:
        greeks = greeks or {}
        self._replay = lambda: self.show(positions, greeks)
        st = self.theme_styles
        built = self._rows
        fresh: dict[str, _Built] = {}
        rows: list[tuple[str, list[CellSpec]]] = []
        moving = self._moving
        for sym, p in positions.items():
            quantity = p.quantity
            if quantity == 0:
                continue
            g = greeks.get(sym)
            mark = p.mark
            basis = (
                mark,
                quantity,
                p.avg_price,
                p.instrument,
                None if g is None else g.delta,
                None if g is None else g.theta,
                st,
            )
            prior = built.get(sym)
            if prior is None:
                entry = self._build(p, g, st, basis)
            elif prior[0] == basis:
                entry = prior
            elif prior[0][1:] == basis[1:]:
                _, old, cost, multiplier = prior
                specs = old.copy()
                specs[3:6] = moving(mark, quantity, multiplier, cost, st)
                entry = (basis, specs, cost, multiplier)
            else:
                entry = self._build(p, g, st, basis)
            fresh[sym] = entry
            rows.append((sym, entry[1]))
        self._rows = fresh
        stats = self.sync(rows, keep_order=False)
        if stats.added or stats.removed:
            self._apply_sort()
        elif stats.updated and self.sort_column in self.changed_columns:
            self._resort_soon()
        return stats

    @classmethod
    def _build(
        cls, p: Position, g: PositionGreeks | None, st: SignalStyles, basis: tuple[object, ...]
    ) -> _Built:
        label_spec, qty_spec, avg_spec, cost, is_opt, multiplier = _fixed(
            p.instrument, p.quantity, p.avg_price, p.multiplier, st.text, st.warn, st.loss
        )
        if g is not None:
            delta_val: float | None = g.delta if is_opt else float(p.quantity)
            theta_val: float | None = g.theta
        else:
            delta_val = None if is_opt else float(p.quantity)
            theta_val = None
        delta_txt = (
            greek(delta_val) if is_opt else (f"{delta_val:,.0f}" if delta_val is not None else "—")
        )
        specs = [
            label_spec,
            qty_spec,
            avg_spec,
            *cls._moving(p.mark, p.quantity, multiplier, cost, st),
            num(delta_txt, delta_val),
            num(
                money(theta_val, signed=True, cents=False) if theta_val is not None else "—",
                theta_val,
            ),
        ]
        return (basis, specs, cost, multiplier)

    @staticmethod
    def _moving(
        mark: float | None, quantity: int, multiplier: int, cost: float, st: SignalStyles
    ) -> tuple[CellSpec, CellSpec, CellSpec]:
        """Mark, P&L and return: the cells a re-mark changes."""
        # Position.unrealized_pnl, without re-deriving the Decimal cost basis per tick.
        pnl = mark * quantity * multiplier - cost if mark is not None else None
        ret = (pnl / abs(cost)) if pnl is not None and cost else None
        s = st.for_sign(sign_of(pnl))
        return (
            num(price(mark), mark),
            num(money(pnl, signed=True, cents=False), pnl, s),
            num(pct(ret, digits=1), ret, s),
        )

    def _resort_soon(self) -> None:
        """Order by a moving value (mark, P&L, greeks) at most once a second: re-sorting
        500 rows on every tick costs a full re-layout of the table, and rows that jump
        four times a second cannot be read anyway. The newest values always win: a tick
        inside the window schedules one trailing sort."""
        if self._resort_timer is not None:
            return
        wait = self._last_sort + RESORT_SECONDS - time.monotonic()
        if wait <= 0:
            self._apply_sort()
        else:
            self._resort_timer = self.set_timer(wait, self._trailing_sort)

    def _trailing_sort(self) -> None:
        self._resort_timer = None
        self._apply_sort()

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if column not in SORTABLE:
            raise ValueError(f"sort column {column!r} is not one of {', '.join(SORTABLE)}")
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else column != "symbol"
        self.sort_column, self.sort_reverse = column, reverse
        self._apply_sort()
        self.post_message(self.SortChanged(column, reverse))

    def cycle_sort(self) -> None:
        i = SORTABLE.index(self.sort_column)
        self.sort_by(SORTABLE[(i + 1) % len(SORTABLE)])

    def _apply_sort(self) -> None:
        self._last_sort = time.monotonic()
        if self.row_count:
            self.sort(self.sort_column, key=lambda c: c.sort_key, reverse=self.sort_reverse)

    def on_data_table_header_selected(self, event: KeyedTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))
