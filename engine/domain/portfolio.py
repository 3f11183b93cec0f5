"""Positions and the portfolio snapshot strategies and risk read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from engine.domain.fast_init import fast_init
from engine.domain.instruments import Instrument, OptionContract, OptionRight
from engine.domain.orders import Fill

ZERO = Decimal(0)


@fast_init
@dataclass(frozen=True, slots=True)
class Position:
    """Net holding of one instrument. `avg_price` is per unit of underlying, `mark` likewise."""

    instrument: Instrument
    quantity: int
    avg_price: Decimal
    realized_pnl: Decimal = ZERO
    mark: float | None = None
    opened_at: datetime | None = None

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def multiplier(self) -> int:
        return self.instrument.multiplier

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    @property
    def cost_basis(self) -> Decimal:
        return self.avg_price * self.quantity * self.multiplier

    @property
    def market_value(self) -> float:
        price = self.mark if self.mark is not None else float(self.avg_price)
        # `instrument.multiplier`, not the `multiplier` property: read for every position
        # at every mark and several times per risk check.
        return price * self.quantity * self.instrument.multiplier

    @property
    def unrealized_pnl(self) -> float:
        return self.market_value - float(
            self.avg_price * self.quantity * self.instrument.multiplier
        )

    def with_mark(self, mark: float) -> Position:
        return _position(
            self.instrument, self.quantity, self.avg_price, self.realized_pnl, mark, self.opened_at
        )

    def apply(self, fill: Fill) -> Position:
        """Average-cost accounting: adding keeps a weighted average, reducing realises P&L."""
        # The engine's ledger applies each fill to the account's position and then to the
        # strategy's, usually the same holding (or two fresh empty ones): the same inputs,
        # field by field, give the same result, Decimal division included.
        last = _last_apply
        if last is not None and last[1] is fill:
            was = last[0]
            if was is self or (
                was.instrument is self.instrument
                and was.quantity == self.quantity
                and was.avg_price is self.avg_price
                and was.realized_pnl is self.realized_pnl
                and was.mark is self.mark
                and was.opened_at is self.opened_at
            ):
                return last[2]
        new = self._apply(fill)
        _remember_apply(self, fill, new)
        return new

    def _apply(self, fill: Fill) -> Position:
        qty = fill.signed_quantity
        new_qty = self.quantity + qty
        realized = self.realized_pnl
        avg = self.avg_price
        if self.quantity == 0 or (self.quantity > 0) == (qty > 0):
            total = self.avg_price * abs(self.quantity) + fill.price * abs(qty)
            avg = total / abs(new_qty) if new_qty else ZERO
        else:
            closed = min(abs(qty), abs(self.quantity))
            direction = 1 if self.quantity > 0 else -1
            realized += (fill.price - self.avg_price) * closed * direction * self.multiplier
            if new_qty == 0:
                avg = ZERO
            elif (new_qty > 0) != (self.quantity > 0):
                avg = fill.price  # flipped through zero: the remainder opened at this price
        realized -= fill.commission
        opened = self.opened_at if self.quantity != 0 and new_qty != 0 else fill.ts
        return _position(self.instrument, new_qty, avg, realized, self.mark, opened)


_POSITION_FIELDS = ("instrument", "quantity", "avg_price", "realized_pnl", "mark", "opened_at")
if tuple(f.name for f in fields(Position)) != _POSITION_FIELDS or hasattr(
    Position, "__post_init__"
):  # pragma: no cover
    raise ImportError("Position's fields or checks changed: update _position")
(
    _set_instrument,
    _set_quantity,
    _set_avg_price,
    _set_realized_pnl,
    _set_mark,
    _set_opened_at,
) = (getattr(Position, name).__set__ for name in _POSITION_FIELDS)


def _position(
    instrument: Instrument,
    quantity: int,
    avg_price: Decimal,
    realized_pnl: Decimal,
    mark: float | None,
    opened_at: datetime | None,
) -> Position:
    """`Position(...)` with the slots filled directly: every held name is re-marked every
    tick and every fill applied to several books, and the generated frozen __init__ (an
    object.__setattr__ per field) cost about twice this. Position has no checks in its
    constructor (asserted above), so the object is the one the constructor would build."""
    new: Position = object.__new__(Position)
    _set_instrument(new, instrument)
    _set_quantity(new, quantity)
    _set_avg_price(new, avg_price)
    _set_realized_pnl(new, realized_pnl)
    _set_mark(new, mark)
    _set_opened_at(new, opened_at)
    return new


# The last `Position.apply` (position, fill, result), one tuple so that a reader sees a
# consistent entry; it keeps three immutable objects alive.
_last_apply: tuple[Position, Fill, Position] | None = None


def _remember_apply(position: Position, fill: Fill, result: Position) -> None:
    global _last_apply
    _last_apply = (position, fill, result)


def empty_position(instrument: Instrument) -> Position:
    return _position(instrument, 0, ZERO, ZERO, None, None)


def collateral_for_short_put(contract: OptionContract, quantity: int) -> Decimal:
    """Cash a cash-secured short put reserves: strike x multiplier per contract."""
    return contract.strike * contract.multiplier * abs(quantity)


@fast_init
@dataclass(frozen=True, slots=True)
class Portfolio:
    """A consistent snapshot of the account.

    Cash account semantics: buying power is cash not reserved as collateral for short puts
    or spread max losses. Equity marks every position at its `mark` (falling back to cost).
    """

    ts: datetime
    cash: Decimal
    positions: Mapping[str, Position] = field(default_factory=lambda: MappingProxyType({}))
    reserved_collateral: Decimal = ZERO
    start_of_day_equity: Decimal | None = None
    peak_equity: Decimal | None = None
    # positions_value and equity, worked out once on first use: strategies and risk read
    # `equity` many times per snapshot (float(cash) goes through text), and the snapshot
    # never changes.
    _positions_value: float | None = field(default=None, init=False, repr=False, compare=False)
    _equity: float | None = field(default=None, init=False, repr=False, compare=False)
    # float(cash), when whoever built the snapshot already knows it (the ledger keeps it
    # while cash stands: cash moves only with fills, snapshots are taken several a tick).
    _cash_float: float | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_collateral

    @property
    def positions_value(self) -> float:
        value = self._positions_value
        if value is None:
            # Position.market_value written out (the same products, summed in the same
            # order): a snapshot sums every holding, several snapshots a tick.
            value = sum(
                [
                    (float(p.avg_price) if p.mark is None else p.mark)
                    * p.quantity
                    * p.instrument.multiplier
                    for p in self.positions.values()
                ],
                0.0,
            )
            object.__setattr__(self, "_positions_value", value)
        return value

    @property
    def equity(self) -> float:
        value = self._equity
        if value is None:
            cash = self._cash_float
            value = (float(self.cash) if cash is None else cash) + self.positions_value
            object.__setattr__(self, "_equity", value)
        return value

    @property
    def gross_exposure(self) -> float:
        return sum(
            [
                abs(
                    (float(p.avg_price) if p.mark is None else p.mark)
                    * p.quantity
                    * p.instrument.multiplier
                )
                for p in self.positions.values()
            ],
            0.0,
        )

    def carrying(
        self,
        *,
        ts: datetime,
        cash: Decimal,
        reserved_collateral: Decimal,
        start_of_day_equity: Decimal | None,
        peak_equity: Decimal | None,
    ) -> Portfolio:
        """The same holdings (the same read-only mapping, their value summed once) with other
        account figures: the ledger's snapshot when only the clock, cash or the day's marks
        of equity moved since this one."""
        port = Portfolio(
            ts=ts,
            cash=cash,
            positions=self.positions,
            reserved_collateral=reserved_collateral,
            start_of_day_equity=start_of_day_equity,
            peak_equity=peak_equity,
        )
        object.__setattr__(port, "_positions_value", self.positions_value)
        return port

    @property
    def day_pnl(self) -> float | None:
        if self.start_of_day_equity is None:
            return None
        return self.equity - float(self.start_of_day_equity)

    def position(self, symbol: str) -> Position | None:
        pos = self.positions.get(symbol)
        return pos if pos is not None and pos.quantity != 0 else None

    def quantity(self, symbol: str) -> int:
        pos = self.positions.get(symbol)
        return pos.quantity if pos is not None else 0

    def option_positions(self, underlying: str | None = None) -> list[Position]:
        return [
            p
            for p in self.positions.values()
            if p.quantity != 0
            and isinstance(p.instrument, OptionContract)
            and (underlying is None or p.instrument.underlying == underlying)
        ]

    def short_puts(self) -> list[Position]:
        return [
            p
            for p in self.option_positions()
            if p.quantity < 0
            and isinstance(p.instrument, OptionContract)
            and p.instrument.right is OptionRight.PUT
        ]
