"""The engine's in-memory book: account positions, per-strategy attribution, cash, marks.

It is rebuilt from the store at start and updated from fills only after they are stored, so it
never holds anything the database does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType

from engine.broker.margin import collateral_requirement
from engine.domain import (
    BROAD_INDEX_ETFS,
    Bar,
    Equity,
    Fill,
    Instrument,
    OptionContract,
    Portfolio,
    Position,
    empty_position,
)
from engine.risk.open_risk import book_open_risk

MANUAL = "manual"
_FLOATS_KEPT = 4096


def _same_position(a: Position, b: Position) -> bool:
    """Interchangeable: equal and printing the same (Decimals by their text, the very same
    instrument, timestamp and mark objects)."""
    return (
        a.quantity == b.quantity
        and a.instrument is b.instrument
        and a.mark is b.mark
        and a.opened_at is b.opened_at
        and str(a.avg_price) == str(b.avg_price)
        and str(a.realized_pnl) == str(b.realized_pnl)
    )


class Ledger:
    def __init__(self, cash: Decimal) -> None:
        # Every change bumps `_version` (holdings changes also `_holdings_version`): the engine
        # asks for the portfolio several times a tick, and rebuilding it (collateral rules,
        # a copy of the book) each time cost more than the tick's own work.
        self._version = 0
        self._holdings_version = 0
        # Bumped with the positions or their marks (not cash, start-of-day or peak equity):
        # a new snapshot at a later minute, or after roll_day, carries the last one's
        # positions and their summed value instead of copying and summing them again.
        self._book_version = 0
        self._cash = cash
        self.positions: dict[str, Position] = {}
        self.by_strategy: dict[str, dict[str, Position]] = {}
        self.marks: dict[str, float] = {}
        self._start_of_day_equity: Decimal | None = None
        self._peak_equity: Decimal | None = None
        # Realised P&L of positions already closed, per strategy (open ones carry their own).
        self._realized: dict[str, float] = {}
        # (version, now, reserved, snapshot, built with the ledger's own reserve)
        self._portfolio_memo: tuple[int, datetime, Decimal, Portfolio, bool] | None = None
        self._book_memo: tuple[int, Portfolio] | None = None
        self._reserved_memo: tuple[int, Decimal] | None = None
        self._strategy_memo: dict[str, tuple[int, Mapping[str, Position]]] = {}
        self._risk_memo: dict[tuple[str, str], tuple[int, float]] = {}
        self._unmarked_memo: tuple[tuple[int, int], frozenset[str]] | None = None
        self._options_memo: tuple[int, tuple[tuple[str, OptionContract], ...]] | None = None
        self._last_cents: tuple[float, Decimal] | None = None
        # float(cash) for the snapshots, kept while cash is the same Decimal object.
        self._cash_float: tuple[Decimal, float] | None = None
        # Floats of the Decimals realized() and unrealized() sum, per strategy, per symbol
        # (a dict per strategy: no (strategy, symbol) key built per position per call).
        self._realized_floats: dict[str, dict[str, tuple[Decimal, float]]] = {}
        self._cost_floats: dict[str, dict[str, tuple[Decimal, int, Instrument, float, float]]] = {}

    @property
    def cash(self) -> Decimal:
        return self._cash

    @cash.setter
    def cash(self, value: Decimal) -> None:
        self._cash = value
        self._version += 1

    @property
    def start_of_day_equity(self) -> Decimal | None:
        return self._start_of_day_equity

    @start_of_day_equity.setter
    def start_of_day_equity(self, value: Decimal | None) -> None:
        self._start_of_day_equity = value
        self._version += 1

    @property
    def peak_equity(self) -> Decimal | None:
        return self._peak_equity

    @peak_equity.setter
    def peak_equity(self, value: Decimal | None) -> None:
        self._peak_equity = value
        self._version += 1

    @property
    def version(self) -> int:
        """Changes whenever anything the portfolio shows changes."""
        return self._version

    def load(
        self,
        cash: Decimal,
        positions: Iterable[Position],
        strategy_positions: Mapping[str, Iterable[Position]],
    ) -> None:
        self.cash = cash
        self.positions = {p.symbol: p for p in positions if p.quantity != 0}
        self.by_strategy = {
            s: {p.symbol: p for p in ps if p.quantity != 0} for s, ps in strategy_positions.items()
        }
        self._version += 1
        self._holdings_version += 1
        self._book_version += 1

    def apply(self, fill: Fill) -> Position:
        pos = self.positions.get(fill.symbol) or empty_position(fill.instrument)
        new = pos.apply(fill)
        mark = self.marks.get(fill.symbol)
        if mark is not None:
            new = new.with_mark(mark)
        if new.quantity == 0:
            self.positions.pop(fill.symbol, None)
        else:
            self.positions[fill.symbol] = new
        strat = fill.strategy or MANUAL
        book = self.by_strategy.setdefault(strat, {})
        spos = (book.get(fill.symbol) or empty_position(fill.instrument)).apply(fill)
        if spos.quantity == 0:
            book.pop(fill.symbol, None)
            # Realised P&L of closed positions is kept per strategy for the status panes.
            self._realized[strat] = self._realized.get(strat, 0.0) + float(spos.realized_pnl)
        else:
            spos = spos if mark is None else spos.with_mark(mark)
            # The same holding in both books (one strategy trades the symbol) is kept as one
            # object, so `mark` re-marks it once; the values are compared as they print.
            book[fill.symbol] = new if _same_position(spos, new) else spos
        self.cash += fill.cash_delta  # bumps the version
        self._holdings_version += 1
        self._book_version += 1
        return new

    def realized(self, strategy: str) -> float:
        # Realised P&L moves only with fills (marks keep each position's realized_pnl), so
        # it is memoised by holdings; each position's float is kept while its realized_pnl
        # is the same Decimal object (float(Decimal) goes through text, and the P&L of
        # every strategy is asked at every close).
        key = ("realized", strategy)
        memo = self._risk_memo.get(key)
        if memo is not None and memo[0] == self._holdings_version:
            return memo[1]
        floats = self._realized_floats.get(strategy)
        if floats is None:
            floats = self._realized_floats[strategy] = {}
        terms: list[float] = []
        for sym, p in self.by_strategy.get(strategy, {}).items():
            pnl = p.realized_pnl
            known = floats.get(sym)
            if known is None or known[0] is not pnl:
                known = floats[sym] = (pnl, float(pnl))
            terms.append(known[1])
        value = self._realized.get(strategy, 0.0) + sum(terms)
        if len(floats) > _FLOATS_KEPT:
            floats.clear()  # closed positions' entries are never asked for again
        self._risk_memo[key] = (self._holdings_version, value)
        return value

    def set_realized(self, values: Mapping[str, float]) -> None:
        self._realized.clear()
        self._realized.update(values)
        self._version += 1
        self._holdings_version += 1  # realized() is memoised by holdings

    def mark(self, symbol: str, price: float) -> None:
        old = self.marks.get(symbol)
        self.marks[symbol] = price
        changed = False
        pos = self.positions.get(symbol)
        marked: Position | None = None
        if pos is not None:
            if pos.mark == price and old == price:
                return  # nothing moved: the books already carry this mark
            marked = self.positions[symbol] = pos.with_mark(price)
            changed = True
        for book in self.by_strategy.values():
            sp = book.get(symbol)
            if sp is not None:
                # A strategy book sharing the account's position object shares its new mark.
                book[symbol] = marked if sp is pos and marked is not None else sp.with_mark(price)
                changed = True
        # `marks` alone is not part of any memoised view (portfolio, strategy books, open
        # risk): a price for a name nobody holds keeps them valid.
        if changed:
            self._version += 1
            self._book_version += 1

    def mark_closes(self, bars: Mapping[str, Bar]) -> None:
        """`mark` each symbol held or marked before at its bar's close (a name never held
        gets no mark). The engine marks every bar of every tick: one call instead of one per
        bar; the same steps as `mark`, kept in step with it."""
        marks = self.marks
        positions = self.positions
        books = self.by_strategy.values()
        changed = False
        for symbol, bar in bars.items():
            price = bar.close
            old = marks.get(symbol)
            pos = positions.get(symbol)
            if old is None and pos is None:
                continue
            marks[symbol] = price
            marked: Position | None = None
            if pos is not None:
                if pos.mark == price and old == price:
                    continue
                marked = positions[symbol] = pos.with_mark(price)
                changed = True
            for book in books:
                sp = book.get(symbol)
                if sp is not None:
                    book[symbol] = (
                        marked if sp is pos and marked is not None else sp.with_mark(price)
                    )
                    changed = True
        if changed:
            self._version += 1
            self._book_version += 1

    def unmarked(self) -> frozenset[str]:
        """Symbols held by the account or by some strategy that have no mark yet. A name two
        strategies hold opposite sides of (an exercise covering another's assignment) is
        flat in the account but not in the books, and needs a price all the same."""
        # Asked every tick; the answer changes only with a fill or a first mark (marks are
        # never removed, so their count tells).
        key = (self._holdings_version, len(self.marks))
        if self._unmarked_memo is not None and self._unmarked_memo[0] == key:
            return self._unmarked_memo[1]
        held = set(self.positions)
        for book in self.by_strategy.values():
            held.update(book)
        out = frozenset(held - self.marks.keys())
        self._unmarked_memo = (key, out)
        return out

    def option_holdings(self) -> tuple[tuple[str, OptionContract], ...]:
        """(symbol, contract) of each option position the account holds, in book order.
        Asked at every tick and close (to price them); changes only with the holdings."""
        memo = self._options_memo
        if memo is not None and memo[0] == self._holdings_version:
            return memo[1]
        held = tuple(
            (sym, pos.instrument)
            for sym, pos in self.positions.items()
            if isinstance(pos.instrument, OptionContract)
        )
        self._options_memo = (self._holdings_version, held)
        return held

    def portfolio(self, now: datetime, reserved: Decimal | None = None) -> Portfolio:
        """The account now; `reserved` defaults to `reserved_collateral()`. The same snapshot
        object is handed out until the book, the clock or the reserve changes."""
        memo = self._portfolio_memo
        own = reserved is None
        if reserved is None:
            # The ledger's own reserve follows the holdings, whose changes bump the version
            # too: a snapshot built with it at this version and minute is still the answer.
            if memo is not None and memo[4] and memo[0] == self._version and memo[1] == now:
                return memo[3]
            reserved = self.reserved_collateral()
        if memo is not None and memo[0] == self._version and memo[1] == now and memo[2] == reserved:
            return memo[3]
        book = self._book_memo
        if book is not None and book[0] == self._book_version:
            port = book[1].carrying(
                ts=now,
                cash=self._cash,
                reserved_collateral=reserved,
                start_of_day_equity=self._start_of_day_equity,
                peak_equity=self._peak_equity,
            )
        else:
            port = Portfolio(
                ts=now,
                cash=self._cash,
                positions=MappingProxyType(dict(self.positions)),
                reserved_collateral=reserved,
                start_of_day_equity=self._start_of_day_equity,
                peak_equity=self._peak_equity,
            )
            self._book_memo = (self._book_version, port)
        cash_f = self._cash_float
        if cash_f is None or cash_f[0] is not self._cash:
            cash_f = self._cash_float = (self._cash, float(self._cash))
        object.__setattr__(port, "_cash_float", cash_f[1])
        self._portfolio_memo = (self._version, now, reserved, port, own)
        return port

    def strategy_positions(self, strategy: str) -> Mapping[str, Position]:
        memo = self._strategy_memo.get(strategy)
        if memo is not None and memo[0] == self._version:
            return memo[1]
        view: Mapping[str, Position] = MappingProxyType(dict(self.by_strategy.get(strategy, {})))
        self._strategy_memo[strategy] = (self._version, view)
        return view

    def strategy_open_risk(self, strategy: str) -> float:
        key = ("strategy", strategy)
        memo = self._risk_memo.get(key)
        if memo is not None and memo[0] == self._version:
            return memo[1]
        risk = book_open_risk(self.by_strategy.get(strategy, {}).values())
        self._risk_memo[key] = (self._version, risk)
        return risk

    def total_open_risk(self) -> float:
        """Open risk against the profile's max_total_risk (spec §0.1), spreads at their real
        maximum loss. Broad-index ETF stock is the baseline sleeve (spec §3 targets 55-80% of
        equity in it), bounded by its own concentration limit, so it is left out here."""
        memo = self._risk_memo.get(("total", ""))
        if memo is not None and memo[0] == self._version:
            return memo[1]
        sleeve = (
            frozenset(s for s, p in self.positions.items() if isinstance(p.instrument, Equity))
            & BROAD_INDEX_ETFS
        )
        risk = book_open_risk(self.positions.values(), exclude=sleeve)
        self._risk_memo[("total", "")] = (self._version, risk)
        return risk

    def unrealized(self, strategy: str) -> float:
        # Asked for every strategy at each session close and by the backtest's daily record,
        # while the books change only on fills and marks (both bump the version).
        key = ("unrealized", strategy)
        memo = self._risk_memo.get(key)
        if memo is not None and memo[0] == self._version:
            return memo[1]
        # Position.unrealized_pnl written out (the same terms, summed in the same order),
        # with each position's cost as a float kept while its avg_price (the same Decimal
        # object: marks keep it), quantity and instrument stay: float(Decimal) goes through
        # text, and only the marks move from one close to the next.
        costs = self._cost_floats.get(strategy)
        if costs is None:
            costs = self._cost_floats[strategy] = {}
        terms: list[float] = []
        for sym, p in self.by_strategy.get(strategy, {}).items():
            avg, qty, inst = p.avg_price, p.quantity, p.instrument
            known = costs.get(sym)
            if known is None or known[0] is not avg or known[1] != qty or known[2] is not inst:
                known = costs[sym] = (
                    avg,
                    qty,
                    inst,
                    float(avg * qty * inst.multiplier),
                    float(avg),
                )
            terms.append(
                (p.mark if p.mark is not None else known[4]) * qty * inst.multiplier - known[3]
            )
        value = sum(terms)
        if len(costs) > _FLOATS_KEPT:
            costs.clear()  # closed positions' entries are never asked for again
        self._risk_memo[key] = (self._version, value)
        return value

    def reserved_collateral(self) -> Decimal:
        """Cash the positions hold back, by the paper broker's own margin rules, so the
        buying power strategies and risk see is the buying power the broker will allow."""
        memo = self._reserved_memo
        if memo is not None and memo[0] == self._holdings_version:
            return memo[1]
        holdings = {p.instrument: p.quantity for p in self.positions.values() if p.quantity}
        total = collateral_requirement(holdings, allow_naked=True).total
        self._reserved_memo = (self._holdings_version, total)
        return total

    def roll_day(self, equity: float) -> None:
        eq = self._cents(equity)
        self.start_of_day_equity = eq
        if self.peak_equity is None or eq > self.peak_equity:
            self.peak_equity = eq

    def note_equity(self, equity: float) -> None:
        eq = self._cents(equity)
        if self.peak_equity is None or eq > self.peak_equity:
            self.peak_equity = eq

    def _cents(self, equity: float) -> Decimal:
        """`equity` to the cent as a Decimal (through its text). The last answer is kept:
        the equity noted at a tick is usually the one the next session opens with. Zero is
        always converted afresh (0.0 and -0.0 are equal but print differently)."""
        last = self._last_cents
        if last is not None and last[0] == equity and equity:
            return last[1]
        eq = Decimal(str(round(equity, 2)))
        self._last_cents = (equity, eq)
        return eq
