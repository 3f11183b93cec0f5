"""Fills, positions (account and per strategy) and the cash ledger: the part that must never
be half-written."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from engine.domain.orders import Fill
from engine.domain.portfolio import Position, empty_position
from engine.store.base import ZERO, StoreBase, WriteCursor, check_name, log
from engine.store.codec import format_ts, parse_decimal, parse_ts, ts_text
from engine.store.errors import StoreError
from engine.store.ledger import (
    StrategyPositions,
    attribution,
    check_attribution,
    check_cash,
    compare_positions,
    compare_strategy_positions,
    replay_fills,
)
from engine.store.records import UNATTRIBUTED, AccountState, Discrepancy, FillRecord
from engine.store.rows import (
    FILL_COLUMNS,
    POSITION_COLUMNS,
    fill_from_row,
    fill_values,
    position_from_row,
    position_values,
)

_POSITION_UPSERT = """
INSERT INTO {table} ({keys}, instrument, quantity, avg_price, realized_pnl, opened_at,
                     updated_at, last_fill_seq)
VALUES ({key_params}, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT ({keys}) DO UPDATE SET
    instrument = excluded.instrument, quantity = excluded.quantity,
    avg_price = excluded.avg_price, realized_pnl = excluded.realized_pnl,
    opened_at = excluded.opened_at, updated_at = excluded.updated_at,
    last_fill_seq = excluded.last_fill_seq
"""
_UPSERT_POSITION = _POSITION_UPSERT.format(table="positions", keys="symbol", key_params="?")
_UPSERT_STRATEGY_POSITION = _POSITION_UPSERT.format(
    table="strategy_positions", keys="strategy, symbol", key_params="?, ?"
)
_UPSERT_ACCOUNT = """
INSERT INTO account (id, cash, reserved_collateral, updated_at) VALUES (1, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET cash = excluded.cash,
    reserved_collateral = excluded.reserved_collateral, updated_at = excluded.updated_at
"""
_INSERT_LEDGER = (
    "INSERT INTO cash_ledger (ts, kind, ref, amount, balance, note) VALUES (?, ?, ?, ?, ?, ?)"
)
# One round trip for everything a fill reads: its position, its strategy's, the account.
_FILL_CONTEXT = """
SELECT p.instrument, p.quantity, p.avg_price, p.realized_pnl, p.opened_at,
       s.instrument, s.quantity, s.avg_price, s.realized_pnl, s.opened_at,
       a.cash, a.reserved_collateral
FROM (SELECT 1) AS one
LEFT JOIN positions AS p ON p.symbol = ?
LEFT JOIN strategy_positions AS s ON s.strategy = ? AND s.symbol = ?
LEFT JOIN account AS a ON a.id = 1
"""
_INSERT_FILL = (
    f"INSERT INTO fills ({FILL_COLUMNS}) VALUES ({', '.join('?' * 14)}) "  # noqa: S608
    "ON CONFLICT (fill_id) DO NOTHING"
)


# Account figures as written by `record_fill`, by their text: the next fill reads the account
# row back, and the same text is the same Decimal (str round-trips a Decimal exactly), so it
# is not parsed again. Keyed by text, right whichever store or transaction wrote it.
_WRITTEN_DECIMALS: dict[str, Decimal] = {}
_WRITTEN_DECIMALS_MAX = 64


def _account_decimal(text: str, field: str) -> Decimal:
    got = _WRITTEN_DECIMALS.get(text)
    return got if got is not None else parse_decimal(text, field=field)


def _remember_account_decimal(text: str, value: Decimal) -> None:
    if len(_WRITTEN_DECIMALS) >= _WRITTEN_DECIMALS_MAX:
        _WRITTEN_DECIMALS.clear()
    _WRITTEN_DECIMALS[text] = value


def _refuse_non_finite(
    fill: Fill, account_cash: Decimal | None, reserved_collateral: Decimal | None
) -> None:
    for name, value in (
        ("price", fill.price),
        ("commission", fill.commission),
        ("account_cash", account_cash),
        ("reserved_collateral", reserved_collateral),
    ):
        if value is not None and not value.is_finite():
            raise ValueError(f"fill {fill.fill_id}: {name}={value} must be a finite decimal")


class LedgerStore(StoreBase):
    """Fills, positions and cash."""

    # ------------------------------------------------------------------ fills and the ledger

    async def record_fill(
        self,
        fill: Fill,
        *,
        account_cash: Decimal | None = None,
        reserved_collateral: Decimal | None = None,
    ) -> FillRecord | None:
        """Write a fill, the account's position, the strategy's position and the cash in one
        durable transaction. Returns what was committed, or None if this fill_id is already
        stored (then nothing changes).

        `account_cash` is the broker's cash after the fill; when it differs from the stored
        cash plus the fill's cash delta, the difference is booked as an ``adjustment`` entry
        (and logged), never silently. `reserved_collateral` replaces the stored collateral.
        """
        if self._owns_tx():
            raise StoreError(
                f"record_fill({fill.fill_id}) was called inside store.transaction(); a fill "
                "commits in its own transaction so it is durable before it is published"
            )
        if not (
            fill.price.is_finite()
            and fill.commission.is_finite()
            and (account_cash is None or account_cash.is_finite())
            and (reserved_collateral is None or reserved_collateral.is_finite())
        ):
            _refuse_non_finite(fill, account_cash, reserved_collateral)
        # The timestamp is checked before the transaction starts.
        at = ts_text(fill.ts) or format_ts(fill.ts, field=f"fill {fill.fill_id} ts")
        delta = fill.cash_delta  # a Decimal product: computed once, used three times
        symbol = fill.symbol
        strategy = attribution(fill)
        values = fill_values(fill, at, delta)
        context = (symbol, strategy, symbol)
        # On an inline connection the statements run directly (`StoreBase._write`): this
        # task owns the transaction, and they never yield.
        sync = self._sync
        async with self._tx() as conn:
            cur: WriteCursor
            if sync is not None:
                cur = sync.run(_INSERT_FILL, values)
            else:
                cur = await conn.execute(_INSERT_FILL, values)
            if cur.rowcount == 0:
                return None
            seq = cur.lastrowid
            assert seq is not None  # an INSERT that wrote a row has a rowid
            if sync is not None:
                (row,) = sync.run(_FILL_CONTEXT, context).fetchall()
            else:
                (row,) = await self._rows(conn, _FILL_CONTEXT, context)
            before = (
                empty_position(fill.instrument)
                if row[1] is None
                else position_from_row(row[0:5], where=lambda: f"positions[{symbol}]")
            )
            strategy_row = row[5:10]
            if strategy_row == row[0:5]:
                # The strategy's holding is the account's (one strategy trades the name, or
                # neither holds it): the same values before, so the same after the fill.
                before_s = before
            elif row[6] is None:
                before_s = empty_position(fill.instrument)
            else:
                before_s = position_from_row(
                    strategy_row, where=lambda: f"strategy_positions[{strategy}/{symbol}]"
                )
            position = before.apply(fill)
            strategy_position = position if before_s is before else before_s.apply(fill)
            prev_cash = ZERO if row[10] is None else _account_decimal(row[10], "account.cash")
            prev_reserved = (
                ZERO
                if row[11] is None
                else _account_decimal(row[11], "account.reserved_collateral")
            )
            cash = prev_cash + delta
            reserved = prev_reserved if reserved_collateral is None else reserved_collateral
            values_now = position_values(position)
            writes: list[tuple[str, tuple[object, ...]]] = [
                (_UPSERT_POSITION, (symbol, *values_now, at, seq)),
                (
                    _UPSERT_STRATEGY_POSITION,
                    (
                        strategy,
                        symbol,
                        *(
                            values_now
                            if strategy_position is position
                            else position_values(strategy_position)
                        ),
                        at,
                        seq,
                    ),
                ),
            ]
            cash_text, reserved_text = str(cash), str(reserved)
            entry = (at, "fill", fill.fill_id, str(delta), cash_text, "")
            if account_cash is not None and account_cash != cash:
                note = f"broker cash {account_cash} vs ledger {cash} after fill {fill.fill_id}"
                log.warning("cash adjustment: %s", note)
                adjustment = (
                    at,
                    "adjustment",
                    fill.fill_id,
                    str(account_cash - cash),
                    str(account_cash),
                    note,
                )
                cash = account_cash
                cash_text = str(cash)
                writes.append((_UPSERT_ACCOUNT, (cash_text, reserved_text, at)))
                writes.append((_INSERT_LEDGER, entry))
                writes.append((_INSERT_LEDGER, adjustment))
            else:
                writes.append((_UPSERT_ACCOUNT, (cash_text, reserved_text, at)))
                writes.append((_INSERT_LEDGER, entry))
            _remember_account_decimal(cash_text, cash)
            _remember_account_decimal(reserved_text, reserved)
            if sync is not None:
                for sql, params in writes:
                    sync.run(sql, params)
            else:
                for sql, params in writes:
                    await conn.execute(sql, params)
        return FillRecord(seq, fill, position, strategy, strategy_position, cash, reserved)

    async def set_account(
        self,
        cash: Decimal,
        reserved_collateral: Decimal,
        ts: datetime,
        *,
        kind: str = "deposit",
        note: str = "",
    ) -> AccountState:
        """Set the account's cash and collateral (opening a paper account, a reset); the cash
        change is booked in the ledger under `kind`."""
        return await self._move_cash(
            None, ts, kind=kind, ref=None, note=note, target=cash, reserved=reserved_collateral
        )

    async def record_cash_movement(
        self, amount: Decimal, ts: datetime, *, kind: str, ref: str | None = None, note: str = ""
    ) -> AccountState:
        """Book cash that moved without a fill (deposit, withdrawal, cash settlement, fee)."""
        return await self._move_cash(
            amount, ts, kind=kind, ref=ref, note=note, target=None, reserved=None
        )

    async def set_reserved_collateral(
        self, reserved_collateral: Decimal, ts: datetime
    ) -> AccountState:
        return await self._move_cash(
            ZERO,
            ts,
            kind="collateral",
            ref=None,
            note="",
            target=None,
            reserved=reserved_collateral,
        )

    async def _move_cash(
        self,
        amount: Decimal | None,
        ts: datetime,
        *,
        kind: str,
        ref: str | None,
        note: str,
        target: Decimal | None,
        reserved: Decimal | None,
    ) -> AccountState:
        check_name("kind", kind)
        if kind == "fill":
            raise ValueError("kind='fill' is reserved for record_fill; use e.g. 'deposit' or 'fee'")
        for name, value in (
            ("amount", amount),
            ("cash", target),
            ("reserved_collateral", reserved),
        ):
            if value is not None and not value.is_finite():
                raise ValueError(f"{name}={value} must be a finite decimal")
        at = format_ts(ts, field="ts")
        async with self._tx() as conn:
            rows = await self._rows(
                conn, "SELECT cash, reserved_collateral FROM account WHERE id = 1"
            )
            prev_cash = parse_decimal(rows[0][0], field="account.cash") if rows else ZERO
            prev_res = (
                parse_decimal(rows[0][1], field="account.reserved_collateral") if rows else ZERO
            )
            delta = (target - prev_cash) if target is not None else (amount or ZERO)
            cash = prev_cash + delta
            new_res = prev_res if reserved is None else reserved
            if delta != 0:
                await conn.execute(_INSERT_LEDGER, (at, kind, ref, str(delta), str(cash), note))
            await conn.execute(_UPSERT_ACCOUNT, (str(cash), str(new_res), at))
        return AccountState(cash, new_res, parse_ts(at))

    async def load_account(self) -> AccountState | None:
        async with self._read() as conn:
            rows = await self._rows(
                conn, "SELECT cash, reserved_collateral, updated_at FROM account WHERE id = 1"
            )
        if not rows:
            return None
        cash, reserved, updated = rows[0]
        return AccountState(
            parse_decimal(cash, field="account.cash"),
            parse_decimal(reserved, field="account.reserved_collateral"),
            parse_ts(updated, field="account.updated_at"),
        )

    async def load_positions(self, *, include_flat: bool = False) -> dict[str, Position]:
        """The account's positions by symbol (marks are not stored: `mark` is None)."""
        where = "" if include_flat else "WHERE quantity != 0"
        async with self._read() as conn:
            sql = f"SELECT symbol, {POSITION_COLUMNS} FROM positions {where} ORDER BY symbol"  # noqa: S608
            rows = await self._rows(conn, sql)
        return {r[0]: position_from_row(r[1:], where=f"positions[{r[0]}]") for r in rows}

    async def load_strategy_positions(
        self, strategy: str | None = None, *, include_flat: bool = False
    ) -> StrategyPositions:
        """Positions attributed to each strategy: ``{strategy: {symbol: Position}}``. Fills
        without a strategy are under `UNATTRIBUTED`."""
        clauses, params = [], []
        if strategy is not None:
            clauses.append("strategy = ?")
            params.append(strategy)
        if not include_flat:
            clauses.append("quantity != 0")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT strategy, symbol, {POSITION_COLUMNS} FROM strategy_positions {where} "  # noqa: S608
                "ORDER BY strategy, symbol",
                params,
            )
        out: StrategyPositions = {}
        for r in rows:
            out.setdefault(r[0], {})[r[1]] = position_from_row(
                r[2:], where=f"strategy_positions[{r[0]}/{r[1]}]"
            )
        return out

    async def load_fills(
        self, since: datetime | None = None, strategy: str | None = None
    ) -> list[Fill]:
        """Fills in the order they were recorded; `since` is inclusive; `strategy` may be
        `UNATTRIBUTED` for fills that carried none."""
        clauses: list[str] = []
        params: list[object] = []
        if since is not None:
            clauses.append("ts >= ?")
            params.append(format_ts(since, field="since"))
        if strategy == UNATTRIBUTED:
            clauses.append("(strategy IS NULL OR strategy = '')")
        elif strategy is not None:
            clauses.append("strategy = ?")
            params.append(strategy)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._read() as conn:
            sql = f"SELECT {FILL_COLUMNS} FROM fills {where} ORDER BY seq"  # noqa: S608
            rows = await self._rows(conn, sql, params)
        return [fill_from_row(r) for r in rows]

    async def has_fill(self, fill_id: str) -> bool:
        async with self._read() as conn:
            rows = await self._rows(conn, "SELECT 1 FROM fills WHERE fill_id = ?", (fill_id,))
        return bool(rows)

    async def positions_from_fills(self) -> dict[str, Position]:
        """The account's positions recomputed from every stored fill (flat ones included)."""
        return replay_fills(await self.load_fills())[0]

    async def strategy_positions_from_fills(self) -> StrategyPositions:
        return replay_fills(await self.load_fills())[1]

    async def verify_ledger(self) -> list[Discrepancy]:
        """Check, in one consistent read, that positions (account and per strategy) equal the
        replay of the fills, that strategies add up to the account, and that cash equals the
        cash ledger with exactly one entry per fill. An empty list means consistent."""
        async with self._read(snapshot=True) as conn:
            fill_rows = await self._rows(conn, f"SELECT {FILL_COLUMNS} FROM fills ORDER BY seq")  # noqa: S608
            pos_rows = await self._rows(conn, f"SELECT symbol, {POSITION_COLUMNS} FROM positions")  # noqa: S608
            sql = f"SELECT strategy, symbol, {POSITION_COLUMNS} FROM strategy_positions"  # noqa: S608
            spos_rows = await self._rows(conn, sql)
            ledger_rows = await self._rows(
                conn, "SELECT kind, ref, amount, balance FROM cash_ledger ORDER BY id"
            )
            acct_rows = await self._rows(
                conn, "SELECT cash, reserved_collateral, updated_at FROM account WHERE id = 1"
            )
        fills = [fill_from_row(r) for r in fill_rows]
        expected, expected_s = replay_fills(fills)
        stored = {r[0]: position_from_row(r[1:], where=f"positions[{r[0]}]") for r in pos_rows}
        stored_s: StrategyPositions = {}
        for r in spos_rows:
            stored_s.setdefault(r[0], {})[r[1]] = position_from_row(
                r[2:], where=f"strategy_positions[{r[0]}/{r[1]}]"
            )
        account = (
            AccountState(
                parse_decimal(acct_rows[0][0], field="account.cash"),
                parse_decimal(acct_rows[0][1], field="account.reserved_collateral"),
                parse_ts(acct_rows[0][2], field="account.updated_at"),
            )
            if acct_rows
            else None
        )
        ledger = [
            (
                k,
                ref,
                parse_decimal(a, field="cash_ledger.amount"),
                parse_decimal(b, field="cash_ledger.balance"),
            )
            for k, ref, a, b in ledger_rows
        ]
        return (
            compare_positions(expected, stored, kind="position")
            + compare_strategy_positions(expected_s, stored_s)
            + check_attribution(stored, stored_s)
            + check_cash(account, ledger, fills)
        )
