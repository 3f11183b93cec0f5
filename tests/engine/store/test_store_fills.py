"""record_fill: one durable transaction per fill; positions always equal the sum of fills."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from store_fixtures import AAPL_P170, SPY, T0, make_fill, raw_execute, raw_query

from engine.domain import Equity, Side
from engine.store import UNATTRIBUTED, CodecError, Store, StoreError

QQQ = Equity("QQQ")


async def test_record_fill_when_same_fill_id_recorded_twice_then_second_is_a_noop(
    store: Store, db_path: Path
) -> None:
    await store.set_account(Decimal("10000"), Decimal(0), T0)
    first = make_fill(SPY, "buy", 10, "100.00", fill_id="dup-1", strategy="dip")
    again = make_fill(SPY, "buy", 99, "1.00", fill_id="dup-1", strategy="other")

    rec = await store.record_fill(first)
    assert rec is not None
    assert rec.position.quantity == 10
    assert await store.record_fill(again) is None
    assert await store.record_fill(first) is None

    assert (await store.load_positions())["SPY"].quantity == 10
    assert (await store.load_account()).cash == Decimal("9000.00")  # type: ignore[union-attr]
    assert [f.fill_id for f in await store.load_fills()] == ["dup-1"]
    assert raw_query(db_path, "SELECT count(*) FROM cash_ledger WHERE kind = 'fill'") == [(1,)]
    assert "other" not in await store.load_strategy_positions()


async def test_positions_when_buys_sells_partial_close_and_flip_then_equal_hand_computed_and_replay(
    store: Store,
) -> None:
    await store.set_account(Decimal("100000"), Decimal(0), T0)
    trades = [
        ("buy", 10, "100"),
        ("buy", 5, "106"),  # avg 102
        ("sell", 8, "110"),  # partial close: +64
        ("sell", 12, "108"),  # close 7 (+42) and flip to -5 @108
        ("buy", 5, "100"),  # cover the short: +40, flat
        ("buy", 3, "101"),  # reopen
    ]
    for side, qty, price in trades:
        await store.record_fill(make_fill(SPY, side, qty, price, strategy="swing"))
    # A short put opened then partly bought back, with per-contract commissions.
    await store.record_fill(
        make_fill(AAPL_P170, "sell", 2, "3.10", commission="0.65", strategy="wheel")
    )
    await store.record_fill(
        make_fill(AAPL_P170, "buy", 1, "1.50", commission="0.65", strategy="wheel")
    )

    positions = await store.load_positions()
    spy = positions["SPY"]
    assert (spy.quantity, spy.avg_price, spy.realized_pnl) == (3, Decimal(101), Decimal(146))
    put = positions[AAPL_P170.symbol]
    assert put.instrument == AAPL_P170
    assert (put.quantity, put.avg_price, put.realized_pnl) == (
        -1,
        Decimal("3.10"),
        Decimal("158.70"),
    )
    # 100000 - 157 (stock) + 620 - 150 - 1.30 (put)
    assert (await store.load_account()).cash == Decimal("100311.70")  # type: ignore[union-attr]

    replay = await store.positions_from_fills()
    assert {s: (p.quantity, p.avg_price, p.realized_pnl) for s, p in replay.items()} == {
        s: (p.quantity, p.avg_price, p.realized_pnl) for s, p in positions.items()
    }
    assert await store.verify_ledger() == []


async def test_record_fill_when_position_goes_flat_then_hidden_by_default_but_kept_with_realized_pnl(
    store: Store,
) -> None:
    await store.record_fill(make_fill(SPY, "buy", 4, "10"))
    await store.record_fill(make_fill(SPY, "sell", 4, "12.5"))
    assert await store.load_positions() == {}
    flat = (await store.load_positions(include_flat=True))["SPY"]
    assert (flat.quantity, flat.realized_pnl) == (0, Decimal("10.0"))


async def test_strategy_positions_when_strategies_share_a_symbol_then_each_has_its_own_book(
    store: Store,
) -> None:
    rec = await store.record_fill(make_fill(SPY, "buy", 10, "100", strategy="dip_bot"))
    assert rec is not None
    assert rec.strategy == "dip_bot"
    rec = await store.record_fill(make_fill(SPY, "sell", 4, "101", strategy="wheel"))
    assert rec is not None
    assert rec.position.quantity == 6  # the account nets the two strategies
    assert (rec.strategy_position.quantity, rec.strategy_position.avg_price) == (-4, Decimal(101))
    await store.record_fill(make_fill(SPY, "buy", 2, "102", strategy=None))
    await store.record_fill(make_fill(QQQ, "buy", 1, "400", strategy="wheel"))

    books = await store.load_strategy_positions()
    assert {s: {sym: p.quantity for sym, p in b.items()} for s, b in books.items()} == {
        "dip_bot": {"SPY": 10},
        "wheel": {"SPY": -4, "QQQ": 1},
        UNATTRIBUTED: {"SPY": 2},
    }
    assert (await store.load_positions())["SPY"].quantity == 8
    assert set(await store.load_strategy_positions("wheel")) == {"wheel"}
    replay = await store.strategy_positions_from_fills()
    assert replay["wheel"]["SPY"].avg_price == books["wheel"]["SPY"].avg_price
    assert [f.quantity for f in await store.load_fills(strategy=UNATTRIBUTED)] == [2]
    assert [f.symbol for f in await store.load_fills(strategy="wheel")] == ["SPY", "QQQ"]
    assert await store.verify_ledger() == []


async def test_record_fill_when_broker_cash_differs_then_adjustment_is_booked_not_hidden(
    store: Store, db_path: Path
) -> None:
    await store.set_account(Decimal("1000"), Decimal(0), T0)
    fill = make_fill(SPY, "buy", 1, "500", commission="0.50")
    rec = await store.record_fill(
        fill, account_cash=Decimal("499.00"), reserved_collateral=Decimal("42")
    )
    assert rec is not None
    assert (rec.cash, rec.reserved_collateral) == (Decimal("499.00"), Decimal("42"))
    acct = await store.load_account()
    assert acct is not None
    assert (acct.cash, acct.buying_power) == (
        Decimal("499.00"),
        Decimal("457.00"),
    )
    rows = raw_query(db_path, "SELECT kind, amount, balance FROM cash_ledger ORDER BY id")
    assert rows == [
        ("deposit", "1000", "1000"),
        ("fill", "-500.50", "499.50"),
        ("adjustment", "-0.50", "499.00"),
    ]
    assert await store.verify_ledger() == []


async def test_record_fill_when_a_write_fails_mid_transaction_then_nothing_is_half_written(
    store: Store, db_path: Path
) -> None:
    await store.set_account(Decimal("5000"), Decimal(0), T0)
    await store.record_fill(make_fill(SPY, "buy", 5, "100", strategy="ok"))
    # The strategy-position write comes after the fill row, the account position and before
    # the cash: failing it must roll all of them back.
    raw_execute(
        db_path,
        "CREATE TRIGGER inject BEFORE INSERT ON strategy_positions WHEN NEW.strategy = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    bad = make_fill(SPY, "buy", 7, "100", fill_id="doomed", strategy="boom")
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        await store.record_fill(bad)

    assert not await store.has_fill("doomed")
    assert raw_query(db_path, "SELECT count(*) FROM fills") == [(1,)]
    assert (await store.load_positions())["SPY"].quantity == 5
    assert (await store.load_account()).cash == Decimal("4500")  # type: ignore[union-attr]
    assert await store.verify_ledger() == []
    # The store is still usable and the same fill_id can be recorded once the fault is gone.
    raw_execute(db_path, "DROP TRIGGER inject;")
    assert await store.record_fill(bad) is not None
    assert (await store.load_positions())["SPY"].quantity == 12


async def test_record_fill_when_stored_position_is_corrupt_then_fill_row_is_absent(
    store: Store, db_path: Path
) -> None:
    await store.record_fill(make_fill(SPY, "buy", 1, "100"))
    raw_execute(db_path, "UPDATE positions SET avg_price = 'garbage' WHERE symbol = 'SPY';")
    with pytest.raises(CodecError, match=r"positions\[SPY\]\.avg_price='garbage'"):
        await store.record_fill(make_fill(SPY, "buy", 1, "101", fill_id="after-corruption"))
    assert raw_query(db_path, "SELECT fill_id FROM fills WHERE fill_id = 'after-corruption'") == []
    assert raw_query(db_path, "SELECT count(*) FROM cash_ledger") == [(1,)]


async def test_record_fill_when_timestamp_is_naive_then_refused_before_writing(
    store: Store, db_path: Path
) -> None:
    naive = make_fill(SPY, "buy", 1, "1", ts=T0.replace(tzinfo=None))
    with pytest.raises(CodecError, match="naive"):
        await store.record_fill(naive)
    assert raw_query(db_path, "SELECT count(*) FROM fills") == [(0,)]


async def test_record_fill_when_many_tasks_race_then_writes_serialise_and_ledger_holds(
    store: Store,
) -> None:
    rng = random.Random(7)
    fills = [
        make_fill(
            rng.choice([SPY, QQQ]),
            rng.choice(["buy", "sell"]),
            rng.randint(1, 20),
            f"{rng.uniform(90, 110):.2f}",
            strategy=rng.choice(["a", "b", None]),
        )
        for _ in range(40)
    ]
    records = await asyncio.gather(*(store.record_fill(f) for f in fills))
    assert all(r is not None for r in records)
    assert sorted(r.seq for r in records if r is not None) == list(range(1, 41))
    for sym in ("SPY", "QQQ"):
        net = sum(f.signed_quantity for f in fills if f.symbol == sym)
        assert (await store.load_positions(include_flat=True))[sym].quantity == net
    assert await store.verify_ledger() == []


async def test_record_fill_when_same_fill_races_itself_then_exactly_one_wins(store: Store) -> None:
    fill = make_fill(SPY, "buy", 3, "100", fill_id="race")
    results = await asyncio.gather(*(store.record_fill(fill) for _ in range(6)))
    assert sum(r is not None for r in results) == 1
    assert (await store.load_positions())["SPY"].quantity == 3


async def test_record_fill_when_two_connections_interleave_then_each_reads_inside_its_transaction(
    db_path: Path,
) -> None:
    a = await Store.open(db_path)
    b = await Store.open(db_path)
    try:
        fills = [make_fill(SPY, "buy" if i % 3 else "sell", i % 5 + 1, "100") for i in range(30)]
        await asyncio.gather(*((a if i % 2 else b).record_fill(f) for i, f in enumerate(fills)))
        net = sum(f.signed_quantity for f in fills)
        assert (await a.load_positions())["SPY"].quantity == net
        assert await b.verify_ledger() == []
    finally:
        await a.close()
        await b.close()


async def test_record_fill_when_called_inside_a_batch_transaction_then_refused(
    store: Store,
) -> None:
    with pytest.raises(StoreError, match="own transaction"):
        async with store.transaction():
            await store.record_fill(make_fill(SPY, "buy", 1, "1"))
    assert await store.load_fills() == []


async def test_verify_ledger_when_rows_are_tampered_then_each_disagreement_is_reported(
    store: Store, db_path: Path
) -> None:
    await store.set_account(Decimal("1000"), Decimal(0), T0)
    await store.record_fill(make_fill(SPY, "buy", 2, "10", strategy="x"))
    assert await store.verify_ledger() == []
    raw_execute(
        db_path,
        "UPDATE positions SET quantity = 5 WHERE symbol = 'SPY'; UPDATE account SET cash = '1';",
    )
    found = {(d.kind, d.key) for d in await store.verify_ledger()}
    assert found == {("position", "SPY"), ("attribution", "SPY"), ("cash", "account")}


async def test_fills_and_cash_ledger_when_rewritten_then_append_only_triggers_refuse(
    store: Store, db_path: Path
) -> None:
    await store.record_fill(make_fill(SPY, "buy", 1, "1"))
    for sql in (
        "UPDATE fills SET quantity = 2",
        "DELETE FROM fills",
        "UPDATE cash_ledger SET amount = '0'",
        "DELETE FROM cash_ledger",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw_execute(db_path, sql + ";")


async def test_load_fills_when_since_given_then_inclusive_and_in_recorded_order(
    store: Store,
) -> None:
    early = make_fill(SPY, "buy", 1, "1", ts=T0)
    late = make_fill(SPY, "buy", 1, "1", ts=T0.replace(hour=16))
    mid = make_fill(QQQ, "buy", 1, "1", ts=T0.replace(hour=15))
    for f in (early, late, mid):
        await store.record_fill(f)
    got = await store.load_fills(since=T0.replace(hour=15))
    assert [f.fill_id for f in got] == [late.fill_id, mid.fill_id]
    assert got[0] == late


async def test_cash_movements_when_booked_then_account_and_ledger_agree(store: Store) -> None:
    assert await store.load_account() is None
    await store.set_account(Decimal("2500"), Decimal(0), T0)
    await store.record_cash_movement(Decimal("-25.5"), T0, kind="fee", note="data fee")
    acct = await store.set_reserved_collateral(Decimal("1700"), T0)
    assert (acct.cash, acct.reserved_collateral, acct.buying_power) == (
        Decimal("2474.5"),
        Decimal("1700"),
        Decimal("774.5"),
    )
    assert await store.load_account() == acct
    assert await store.verify_ledger() == []
    with pytest.raises(ValueError, match="reserved for record_fill"):
        await store.record_cash_movement(Decimal(1), T0, kind="fill")


async def test_side_enum_value_when_stored_then_matches_schema_check(
    store: Store, db_path: Path
) -> None:
    await store.record_fill(make_fill(SPY, Side.SELL, 1, "1"))
    assert raw_query(db_path, "SELECT side, price FROM fills") == [("sell", "1")]


async def test_record_fill_when_price_is_infinite_then_refused_naming_the_field(
    store: Store,
) -> None:
    with pytest.raises(ValueError, match=r"price[= ]Infinity must be a finite"):
        await store.record_fill(make_fill(SPY, "buy", 1, "Infinity"))
    with pytest.raises(ValueError, match="account_cash=NaN"):
        await store.record_fill(make_fill(SPY, "buy", 1, "1"), account_cash=Decimal("NaN"))
    assert await store.load_fills() == []


async def test_load_fills_when_strategy_is_empty_string_then_counted_as_unattributed(
    store: Store,
) -> None:
    await store.record_fill(make_fill(SPY, "buy", 1, "1", strategy=""))
    assert set(await store.load_strategy_positions()) == {UNATTRIBUTED}
    assert len(await store.load_fills(strategy=UNATTRIBUTED)) == 1
