"""Positions recomputed from fills, and the checks that the stored ledger agrees with itself.

Pure functions: the store feeds them rows; crash tests and `wsb status` use the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from engine.domain.orders import Fill
from engine.domain.portfolio import Position, empty_position
from engine.store.records import UNATTRIBUTED, AccountState, Discrepancy

StrategyPositions = dict[str, dict[str, Position]]


def attribution(fill: Fill) -> str:
    return fill.strategy or UNATTRIBUTED


def replay_fills(fills: Iterable[Fill]) -> tuple[dict[str, Position], StrategyPositions]:
    """Apply fills in order with `Position.apply`: the account's and each strategy's positions.

    Flat positions are kept: their realised P&L is part of the ledger.
    """
    account: dict[str, Position] = {}
    by_strategy: StrategyPositions = {}
    for fill in fills:
        sym = fill.symbol
        # An empty position only for a symbol's first fill (not as every get's default).
        pos = account.get(sym)
        if pos is None:
            pos = empty_position(fill.instrument)
        account[sym] = pos.apply(fill)
        strategy = fill.strategy or UNATTRIBUTED
        book = by_strategy.get(strategy)
        if book is None:
            book = by_strategy[strategy] = {}
        pos = book.get(sym)
        if pos is None:
            pos = empty_position(fill.instrument)
        book[sym] = pos.apply(fill)
    return account, by_strategy


def _describe(pos: Position | None) -> str:
    if pos is None:
        return "no row"
    opened = pos.opened_at.isoformat() if pos.opened_at else None
    return f"qty={pos.quantity} avg={pos.avg_price} realized={pos.realized_pnl} opened_at={opened}"


def _same(a: Position, b: Position) -> bool:
    return (
        a.instrument == b.instrument
        and a.quantity == b.quantity
        and a.avg_price == b.avg_price
        and a.realized_pnl == b.realized_pnl
        and a.opened_at == b.opened_at
    )


def compare_positions(
    expected: Mapping[str, Position], stored: Mapping[str, Position], *, kind: str, prefix: str = ""
) -> list[Discrepancy]:
    out: list[Discrepancy] = []
    for sym in sorted(set(expected) | set(stored)):
        exp, got = expected.get(sym), stored.get(sym)
        if exp is None or got is None or not _same(exp, got):
            out.append(Discrepancy(kind, f"{prefix}{sym}", _describe(exp), _describe(got)))
    return out


def compare_strategy_positions(
    expected: StrategyPositions, stored: StrategyPositions
) -> list[Discrepancy]:
    out: list[Discrepancy] = []
    for strategy in sorted(set(expected) | set(stored)):
        out += compare_positions(
            expected.get(strategy, {}),
            stored.get(strategy, {}),
            kind="strategy_position",
            prefix=f"{strategy}/",
        )
    return out


def check_attribution(
    account: Mapping[str, Position], by_strategy: StrategyPositions
) -> list[Discrepancy]:
    """Per symbol, the strategies' quantities add up to the account's."""
    totals: dict[str, int] = {}
    for book in by_strategy.values():
        for sym, pos in book.items():
            totals[sym] = totals.get(sym, 0) + pos.quantity
    out: list[Discrepancy] = []
    for sym in sorted(set(totals) | set(account)):
        acct = account[sym].quantity if sym in account else 0
        if totals.get(sym, 0) != acct:
            out.append(
                Discrepancy(
                    "attribution",
                    sym,
                    f"account qty {acct}",
                    f"strategies sum {totals.get(sym, 0)}",
                )
            )
    return out


def check_cash(
    account: AccountState | None,
    ledger: Sequence[tuple[str, str | None, Decimal, Decimal]],
    fills: Sequence[Fill],
) -> list[Discrepancy]:
    """`ledger` rows are (kind, ref, amount, balance) in id order.

    The account's cash equals the ledger's sum, every running balance adds up, and every
    fill has exactly one cash entry equal to its cash delta.
    """
    out: list[Discrepancy] = []
    running = Decimal(0)
    for i, (kind, ref, amount, balance) in enumerate(ledger):
        running += amount
        if balance != running:
            out.append(
                Discrepancy(
                    "ledger", f"cash_ledger#{i + 1} ({kind} {ref})", str(running), str(balance)
                )
            )
    if account is None:
        if ledger:
            out.append(Discrepancy("cash", "account", f"cash {running}", "no account row"))
    elif account.cash != running:
        out.append(Discrepancy("cash", "account", f"cash {running}", f"cash {account.cash}"))
    fill_entries: dict[str, list[Decimal]] = {}
    for kind, ref, amount, _ in ledger:
        if kind == "fill" and ref is not None:
            fill_entries.setdefault(ref, []).append(amount)
    for fill in fills:
        entries = fill_entries.pop(fill.fill_id, [])
        if entries != [fill.cash_delta]:
            out.append(
                Discrepancy(
                    "cash", f"fill {fill.fill_id}", f"one entry of {fill.cash_delta}", str(entries)
                )
            )
    for ref, entries in sorted(fill_entries.items()):
        out.append(Discrepancy("cash", f"fill {ref}", "a stored fill", f"orphan entries {entries}"))
    return out
