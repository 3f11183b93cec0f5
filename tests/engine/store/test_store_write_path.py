"""The store's write-path shortcuts give exactly what the general code gives.

Each shortcut (generated dataclass encoders, the hand-written check rows, memoised timestamp
texts and setting keys, insert-first orders, error-free row decoding) is compared with the
plain path it replaces, on values chosen to hit every branch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from store_fixtures import AAPL_P170, SPY, T0, make_fill

from engine.domain.orders import (
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionEffect,
    Side,
    TimeInForce,
)
from engine.domain.proposals import (
    CheckOutcome,
    ProposalIntent,
    RiskCheckResult,
    TradeProposal,
)
from engine.store import Store
from engine.store.check_codec import _integer, _real, decode_checks, encode_checks
from engine.store.codec import CodecError, dumps, format_ts, from_jsonable, loads, to_jsonable
from engine.store.errors import SecretSettingRefusedError
from engine.store.rows import fill_from_row, position_from_row

# --------------------------------------------------------------------------- risk checks


def _reference_checks(checks: Iterable[RiskCheckResult]) -> str:
    """The encoding before rows were written by hand: one `JSONEncoder` over lists."""
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    return encoder.encode(
        [
            [
                c.name,
                c.outcome.value,
                _real(c.value),
                _real(c.limit),
                c.message,
                _integer(c.suggested_quantity),
            ]
            for c in checks
        ]
    )


_NUMBERS: tuple[Any, ...] = (
    None,
    0.0,
    -0.0,
    0,
    -3,
    7,
    1.5,
    -2.25,
    0.1 + 0.2,
    1e-300,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
    True,
    Decimal("2.50"),
)
_SUGGESTED: tuple[Any, ...] = (None, 0, 3, -4, 7.0, 2.5, True, False)
_MESSAGES = ("", "plain", 'quote " and \\ backslash', "é unicode ✓", "tab\tnew\nline \x01")


def test_encode_checks_when_any_value_then_same_text_as_the_list_encoder() -> None:
    checks = [
        RiskCheckResult(
            f"check_{i % 5}",
            CheckOutcome.FAIL if i % 3 == 0 else CheckOutcome.PASS,
            _NUMBERS[i % len(_NUMBERS)],
            _NUMBERS[(i * 7 + 3) % len(_NUMBERS)],
            _MESSAGES[i % len(_MESSAGES)],
            _SUGGESTED[i % len(_SUGGESTED)],
        )
        for i in range(len(_NUMBERS) * len(_SUGGESTED))
    ]
    text = encode_checks(checks)
    assert text == _reference_checks(checks)
    assert encode_checks(checks) == text  # again, now from the memo of repeated rows
    # Equal values of other types share a memo entry: they must encode alike.
    widened = [dataclasses.replace(c, value=float(c.value)) for c in checks if type(c.value) is int]
    assert encode_checks(widened) == _reference_checks(widened)
    assert encode_checks([]) == _reference_checks([]) == "[]"
    assert len(decode_checks(text)) == len(checks)


def test_encode_checks_when_a_field_has_an_odd_type_then_the_encoder_writes_the_row() -> None:
    odd = [
        RiskCheckResult("n", CheckOutcome.WARN, 1.0, 2.0, None, None),  # type: ignore[arg-type]
        RiskCheckResult('ö "q"', CheckOutcome.PASS, 1, 2, "m", None),
    ]
    assert encode_checks(odd) == _reference_checks(odd)


# --------------------------------------------------------------------------- dataclass encoder


@dataclass(frozen=True)
class _Mixed:
    text: str
    count: int
    flag: bool
    ratio: float
    amount: Decimal
    maybe_amount: Decimal | None
    at: datetime
    maybe_at: datetime | None
    side: Side
    maybe_side: Side | None
    legs: tuple[int, ...]
    meta: Mapping[str, Any]


def _generic(obj: object) -> Any:
    """`to_jsonable`'s object for a dataclass, field by field, without the generated code."""
    return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


def test_generated_encoder_when_fields_hold_other_types_than_annotated_then_same_object() -> None:
    base = _Mixed(
        "t", 3, True, 1.5, Decimal("1.10"), None, T0, None, Side.BUY, None, (1, 2), {"k": 1}
    )
    variants = [
        base,
        dataclasses.replace(base, maybe_amount=Decimal("-0.00"), maybe_at=T0, maybe_side=Side.SELL),
        # Values of other types than the annotations name: the general path must take them.
        dataclasses.replace(base, text=Side.SELL, count=True, flag=1, ratio=math.nan),  # type: ignore[arg-type]
        dataclasses.replace(base, ratio=math.inf, amount=2, at=T0.date()),  # type: ignore[arg-type]
        dataclasses.replace(base, ratio=7, side="buy", maybe_side="x", meta=MappingProxyType({})),  # type: ignore[arg-type]
        dataclasses.replace(
            base, at=datetime(2024, 3, 1, 9, 30, tzinfo=ZoneInfo("America/New_York"))
        ),
    ]
    encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for value in variants:
        first = to_jsonable(value)
        assert first == _generic(value)
        assert json.dumps(first) == json.dumps(_generic(value))  # same key order, same texts
        # The generated text writer (from the second call of a type on) gives the encoder's.
        assert dumps(value) == encoder.encode(_generic(value))
    for value in variants:
        assert dumps(value) == encoder.encode(_generic(value))
    nan_ratio = dataclasses.replace(base, ratio=math.nan, maybe_amount=None)
    assert dumps(nan_ratio) == encoder.encode(_generic(nan_ratio))  # "NaN", a string
    assert dumps([base, (1.5, "x")]) == encoder.encode([_generic(base), [1.5, "x"]])
    plain: list[Any] = ['é\n"', 3, True, False, None, {}, MappingProxyType({"a": 1}), {"b": [2]}]
    plain += [SPY, AAPL_P170, Side.BUY, 1.5, math.inf, Decimal("1.10"), T0]
    for value in plain:
        assert dumps(value) == encoder.encode(to_jsonable(value))


def test_proposal_when_encoded_then_round_trips() -> None:
    proposal = TradeProposal(
        proposal_id="p-1",
        strategy="wheel",
        created_at=T0,
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(AAPL_P170, Side.SELL), OrderLeg(SPY, Side.BUY, 2, PositionEffect.CLOSE)),
        quantity=2,
        reason="why",
        order_type=OrderType.LIMIT,
        limit_price=Decimal("1.25"),
        time_in_force=TimeInForce.GTC,
        max_loss=Decimal("300"),
        breakevens=(168.75,),
        confidence=0.5,
        expires_at=T0 + timedelta(minutes=15),
        meta=MappingProxyType({"delta": -0.3, "note": "x"}),
    )
    encoder = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for _ in range(2):  # the first call takes the general path, the second the generated one
        data = to_jsonable(proposal)
        assert data == _generic(proposal)
        assert from_jsonable(TradeProposal, data) == proposal
        assert dumps(proposal) == encoder.encode(data)
        assert loads(TradeProposal, dumps(proposal)) == proposal


# --------------------------------------------------------------------------- timestamps


def test_format_ts_when_same_instant_in_other_zones_then_same_text() -> None:
    ny = ZoneInfo("America/New_York")
    utc = datetime(2024, 3, 1, 14, 30, 0, 5, tzinfo=UTC)
    assert format_ts(utc) == "2024-03-01T14:30:00.000005+00:00"
    assert format_ts(utc.astimezone(ny)) == format_ts(utc)
    # The ambiguous hour: equal wall clocks, different instants, different texts.
    first = datetime(2024, 11, 3, 1, 30, tzinfo=ny)
    second = first.replace(fold=1)
    assert format_ts(first) == "2024-11-03T05:30:00.000000+00:00"
    assert format_ts(second) == "2024-11-03T06:30:00.000000+00:00"
    assert format_ts(first) == "2024-11-03T05:30:00.000000+00:00"


def test_format_ts_when_naive_then_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(CodecError, match="naive"):
            format_ts(datetime(2024, 3, 1, 14, 30), field="x")


# --------------------------------------------------------------------------- settings


async def test_set_setting_when_key_accepted_once_then_credentials_still_refused(
    store: Store,
) -> None:
    for _ in range(2):
        await store.set_setting("clock", "2024-03-01T14:30:00+00:00", at=T0)
        with pytest.raises(SecretSettingRefusedError):
            await store.set_setting("api_key", "x", at=T0)
        with pytest.raises(ValueError, match="non-empty"):
            await store.set_setting(" ", "x", at=T0)
    assert await store.get_setting("clock") == "2024-03-01T14:30:00+00:00"
    await store.set_setting("quote", 'a "b" é\n', at=T0)
    assert await store.get_setting("quote") == 'a "b" é\n'


# --------------------------------------------------------------------------- orders


def _order(status: OrderStatus, *, minutes: int = 0, filled: int = 0) -> Order:
    request = OrderRequest(
        client_order_id="wsb-9",
        legs=(OrderLeg(SPY, Side.BUY),),
        quantity=5,
        order_type=OrderType.LIMIT,
        limit_price=Decimal("400.10"),
        strategy="s",
        proposal_id="p-9",
    )
    return Order(
        request,
        "b-9",
        status,
        T0,
        T0 + timedelta(minutes=minutes),
        filled_quantity=filled,
        avg_fill_price=Decimal("400.05") if filled else None,
    )


async def test_upsert_order_when_row_written_by_another_store_then_update_rules_apply(
    db_path: Path,
) -> None:
    # Another store (another process) wrote the order: this one has never seen its id, so
    # it tries the insert first; the row is there, so the update rules decide.
    first = await Store.open(db_path)
    try:
        assert await first.upsert_order(_order(OrderStatus.FILLED, minutes=2, filled=5))
    finally:
        await first.close()
    second = await Store.open(db_path)
    try:
        assert await second.upsert_order(_order(OrderStatus.NEW)) is False  # stale
        stored = await second.load_order("wsb-9")
        assert stored is not None
        assert stored.status is OrderStatus.FILLED
        assert await second.upsert_order(_order(OrderStatus.FILLED, minutes=2, filled=5)) is False
    finally:
        await second.close()


async def test_upsert_order_when_new_then_one_row_and_later_updates_advance_it(
    store: Store, db_path: Path
) -> None:
    assert await store.upsert_order(_order(OrderStatus.NEW)) is True
    assert await store.upsert_order(_order(OrderStatus.NEW)) is False  # unchanged
    filled = _order(OrderStatus.FILLED, minutes=1, filled=5)
    assert await store.upsert_order(filled) is True
    assert await store.load_order("wsb-9") == filled
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1


# --------------------------------------------------------------------------- reading rows back


def test_fill_from_row_when_row_is_odd_then_error_names_the_column() -> None:
    fill = make_fill(SPY, "buy", 10, "400.5", fill_id="f-odd")
    row = [
        fill.fill_id, fill.client_order_id, fill.broker_order_id, "SPY", '"SPY"', "buy", 10,
        "400.5", "0", format_ts(fill.ts), 0, None, "taker", "-4005",
    ]  # fmt: skip
    assert fill_from_row(row) == fill
    assert fill_from_row(row) == fill  # the instrument's text is known now: the fast path
    bad_price = list(row)
    bad_price[7] = "abc"
    with pytest.raises(CodecError, match=r"fills\[f-odd\]\.price"):
        fill_from_row(bad_price)
    naive = list(row)
    naive[9] = "2024-03-01T14:30:00"
    with pytest.raises(CodecError, match=r"fills\[f-odd\]\.ts"):
        fill_from_row(naive)


def test_position_from_row_when_row_is_odd_then_error_names_the_row() -> None:
    row = ['"SPY"', 10, "400.5", "0", format_ts(T0)]
    first = position_from_row(row, where="positions[SPY]")
    assert position_from_row(row, where=lambda: "positions[SPY]") == first
    assert first.opened_at == T0
    assert first.avg_price == Decimal("400.5")
    with pytest.raises(CodecError, match=r"positions\[SPY\]\.avg_price"):
        position_from_row(['"SPY"', 10, "x", "0", None], where=lambda: "positions[SPY]")
