"""Cash-account collateral: what a set of holdings must keep in reserve, and what is forbidden.

The paper broker is a cash account (no margin loans, no short stock). Option shorts must be
secured, with strategy-based pairing the way brokers do it:

* a short call is covered by a long call of the same or a later expiry with a strike at or
  below it (nothing to reserve), by `multiplier` shares of the underlying (a covered call,
  nothing to reserve), or by a long call with a higher strike (reserve the width x multiplier).
  Otherwise it is naked and rejected (`UncoveredShortCall`);
* a short put is covered by a long put of the same or a later expiry with a strike at or above
  it (nothing to reserve), by one with a lower strike (reserve the width x multiplier), or else
  it is cash-secured (reserve strike x multiplier);
* an iron condor (put and call verticals of one expiry whose short strikes do not overlap) can
  lose on one side only, so it reserves the larger side, not the sum.

The reserve is the worst-case cash the holdings owe at settlement. Premium received is already
in cash, so the buying-power cost of opening a credit spread is width x 100 - credit, and of a
cash-secured put strike x 100 - premium; a debit spread reserves nothing and pays its debit.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.domain import Equity, Instrument, OptionContract, OptionRight
from engine.domain.instruments import CASH_SETTLED_INDEXES

ZERO = Decimal(0)

# Weekly/PM-settled roots that settle against another symbol's index level.
SETTLEMENT_ROOTS: Mapping[str, str] = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT"}


def settlement_symbol(contract: OptionContract) -> str:
    """The underlying whose price settles the contract (SPXW settles on SPX)."""
    return SETTLEMENT_ROOTS.get(contract.underlying, contract.underlying)


class UncoveredShortCall(ValueError):
    """A short call with neither shares nor a long call behind it (unbounded loss)."""


class ShortStock(ValueError):
    """Selling shares the account does not hold; a cash account cannot short stock."""


@dataclass(frozen=True, slots=True)
class CollateralLine:
    """One reserve: which short, covered how, for how much."""

    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CollateralRequirement:
    total: Decimal
    lines: tuple[CollateralLine, ...] = field(default_factory=tuple)


@dataclass(slots=True)
class _Lot:
    contract: OptionContract
    quantity: int  # contracts still free to pair (always positive)


@dataclass(slots=True)
class _Verticals:
    """Same-expiry spreads of one root and expiry, for the iron-condor rule."""

    put_reserve: Decimal = ZERO
    call_reserve: Decimal = ZERO
    highest_short_put: Decimal | None = None
    lowest_short_call: Decimal | None = None


def _fmt(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def check_no_short_stock(holdings: Mapping[Instrument, int]) -> None:
    # Asked before every fill; a book rarely holds a short, so look before sorting by symbol
    # (the first one by symbol is the one reported).
    if not any(qty < 0 and isinstance(inst, Equity) for inst, qty in holdings.items()):
        return
    for inst, qty in sorted(holdings.items(), key=lambda kv: kv[0].symbol):
        if isinstance(inst, Equity) and qty < 0:
            raise ShortStock(
                f"{inst.symbol}: the order would leave {qty} shares; a cash account cannot "
                "sell shares it does not hold"
            )


def collateral_requirement(
    holdings: Mapping[Instrument, int], *, allow_naked: bool = False
) -> CollateralRequirement:
    """Reserve for `holdings` (instrument -> signed quantity).

    Raises `UncoveredShortCall` for a naked call, unless `allow_naked` (used to report on an
    account restored with one): then it is listed with a zero amount and no reserve.
    """
    # The engine asks for the same book's reserve every time it builds a portfolio view (many
    # times a minute) while the book changes only on fills. The result is a pure function of
    # the holdings; the memo is keyed by the instrument objects themselves (identity, kept
    # alive by the entry), so a hit is exactly the computation it replaces, down to the
    # Decimal representation of the amounts.
    for inst in holdings:
        if isinstance(inst, OptionContract):
            break
    else:
        # Shares alone reserve nothing: what `_collateral_requirement` returns for them,
        # without building a memo key (each new book would be a miss).
        return _NOTHING
    key = (frozenset((id(inst), qty) for inst, qty in holdings.items()), allow_naked)
    hit = _MEMO.get(key)
    if hit is not None:
        _MEMO.move_to_end(key)
        return hit[0]
    result = _collateral_requirement(holdings, allow_naked=allow_naked)
    _MEMO[key] = (result, tuple(holdings))
    if len(_MEMO) > _MEMO_SIZE:
        _MEMO.popitem(last=False)
    return result


_MEMO_SIZE = 256
_NOTHING = CollateralRequirement(ZERO, ())
_MEMO: OrderedDict[
    tuple[frozenset[tuple[int, int]], bool], tuple[CollateralRequirement, tuple[Instrument, ...]]
] = OrderedDict()


def _collateral_requirement(
    holdings: Mapping[Instrument, int], *, allow_naked: bool
) -> CollateralRequirement:
    shares: dict[str, int] = defaultdict(int)
    groups: dict[str, list[tuple[OptionContract, int]]] = defaultdict(list)
    for inst, qty in holdings.items():
        if qty == 0:
            continue
        if isinstance(inst, OptionContract):
            groups[settlement_symbol(inst)].append((inst, qty))
        elif qty > 0 and not inst.is_index and inst.symbol not in CASH_SETTLED_INDEXES:
            shares[inst.symbol] += qty
    lines: list[CollateralLine] = []
    total = ZERO
    for root in sorted(groups):
        group_total, group_lines = _group_requirement(
            groups[root], shares.get(root, 0), allow_naked=allow_naked
        )
        total += group_total
        lines.extend(group_lines)
    return CollateralRequirement(total, tuple(lines))


def _group_requirement(
    options: list[tuple[OptionContract, int]], shares: int, *, allow_naked: bool
) -> tuple[Decimal, list[CollateralLine]]:
    def by_symbol(item: tuple[OptionContract, int]) -> str:
        return item[0].symbol

    options = sorted(options, key=by_symbol)
    long_calls = [_Lot(c, q) for c, q in options if q > 0 and c.is_call]
    long_puts = [_Lot(c, q) for c, q in options if q > 0 and not c.is_call]
    short_calls = sorted(
        ((c, -q) for c, q in options if q < 0 and c.is_call),
        key=lambda x: (x[0].expiry, x[0].strike),
    )
    short_puts = sorted(
        ((c, -q) for c, q in options if q < 0 and not c.is_call),
        key=lambda x: (x[0].expiry, -x[0].strike),
    )
    lines: list[CollateralLine] = []
    total = ZERO
    verticals: dict[date, _Verticals] = defaultdict(_Verticals)
    free_shares = shares

    for short, qty in short_calls:
        need = qty
        # 1. long calls at or below the strike, same expiry first: nothing at risk.
        free = [
            lot
            for lot in long_calls
            if lot.quantity > 0
            and lot.contract.expiry >= short.expiry
            and lot.contract.strike <= short.strike
        ]
        free.sort(
            key=lambda lot: (
                lot.contract.expiry != short.expiry,
                lot.contract.expiry,
                -lot.contract.strike,
            )
        )
        for lot in free:
            take = min(need, lot.quantity)
            lot.quantity -= take
            need -= take
            if take and lot.contract.expiry == short.expiry:
                _note_vertical(verticals[short.expiry], short, ZERO)
            if need == 0:
                break
        # 2. shares: covered calls.
        if need:
            by_shares = min(need, free_shares // short.multiplier)
            free_shares -= by_shares * short.multiplier
            need -= by_shares
        # 3. long calls above the strike: the width is at risk.
        wider = [
            lot
            for lot in long_calls
            if lot.quantity > 0
            and lot.contract.expiry >= short.expiry
            and lot.contract.strike > short.strike
        ]
        wider.sort(
            key=lambda lot: (
                lot.contract.strike,
                lot.contract.expiry != short.expiry,
                lot.contract.expiry,
            )
        )
        for lot in wider:
            if need == 0:
                break
            take = min(need, lot.quantity)
            lot.quantity -= take
            need -= take
            amount = (lot.contract.strike - short.strike) * short.multiplier * take
            desc = (
                f"{take} x {short.describe()} short against {lot.contract.describe()}: "
                f"width {_fmt(amount)}"
            )
            if lot.contract.expiry == short.expiry:
                _note_vertical(verticals[short.expiry], short, amount)
            else:
                total += amount
            lines.append(CollateralLine(desc, amount))
        if need and allow_naked:
            lines.append(CollateralLine(f"{need} x {short.describe()} NAKED short call", ZERO))
        elif need:
            raise UncoveredShortCall(
                f"{need} x {short.describe()} short call would be naked: cover it with "
                f"{short.multiplier * need} shares of {short.underlying} or a long call of the "
                "same or a later expiry (naked calls are not allowed in a cash account)"
            )

    for short, qty in short_puts:
        need = qty
        free = [
            lot
            for lot in long_puts
            if lot.quantity > 0
            and lot.contract.expiry >= short.expiry
            and lot.contract.strike >= short.strike
        ]
        free.sort(
            key=lambda lot: (
                lot.contract.expiry != short.expiry,
                lot.contract.expiry,
                lot.contract.strike,
            )
        )
        for lot in free:
            take = min(need, lot.quantity)
            lot.quantity -= take
            need -= take
            if take and lot.contract.expiry == short.expiry:
                _note_vertical(verticals[short.expiry], short, ZERO)
            if need == 0:
                break
        wider = [
            lot
            for lot in long_puts
            if lot.quantity > 0
            and lot.contract.expiry >= short.expiry
            and lot.contract.strike < short.strike
        ]
        wider.sort(
            key=lambda lot: (
                -lot.contract.strike,
                lot.contract.expiry != short.expiry,
                lot.contract.expiry,
            )
        )
        for lot in wider:
            if need == 0:
                break
            take = min(need, lot.quantity)
            lot.quantity -= take
            need -= take
            amount = (short.strike - lot.contract.strike) * short.multiplier * take
            desc = (
                f"{take} x {short.describe()} short against {lot.contract.describe()}: "
                f"width {_fmt(amount)}"
            )
            if lot.contract.expiry == short.expiry:
                _note_vertical(verticals[short.expiry], short, amount)
            else:
                total += amount
            lines.append(CollateralLine(desc, amount))
        if need:
            amount = short.strike * short.multiplier * need
            lines.append(
                CollateralLine(f"{need} x {short.describe()} cash-secured: {_fmt(amount)}", amount)
            )
            total += amount

    for expiry in sorted(verticals):
        v = verticals[expiry]
        overlap = (
            v.highest_short_put is not None
            and v.lowest_short_call is not None
            and v.highest_short_put > v.lowest_short_call
        )
        if overlap:
            total += v.put_reserve + v.call_reserve
        else:
            # Only one side of an iron condor can finish in the money.
            total += max(v.put_reserve, v.call_reserve)
    return total, lines


def _note_vertical(v: _Verticals, short: OptionContract, amount: Decimal) -> None:
    if short.right is OptionRight.PUT:
        v.put_reserve += amount
        if v.highest_short_put is None or short.strike > v.highest_short_put:
            v.highest_short_put = short.strike
    else:
        v.call_reserve += amount
        if v.lowest_short_call is None or short.strike < v.lowest_short_call:
            v.lowest_short_call = short.strike
