"""Domain values <-> SQLite rows. Decimals travel as exact text, timestamps as UTC ISO text."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.domain.instruments import Instrument, OptionContract
from engine.domain.orders import Fill, Order, OrderRequest, OrderStatus, Side
from engine.domain.portfolio import Position
from engine.store.codec import (
    CodecError,
    JSONObject,
    dumps,
    format_ts,
    from_jsonable,
    instrument_from_jsonable,
    parse_decimal,
    parse_ts,
)

Row = Sequence[Any]

# SQL text in this package is composed only from these column lists, fixed clauses and "?"
# placeholder runs; every value is bound as a parameter (hence the S608 noqa markers).


def ts_or_none(value: datetime | None, *, field: str) -> str | None:
    return None if value is None else format_ts(value, field=field)


def parse_ts_or_none(text: str | None, *, field: str) -> datetime | None:
    return None if text is None else parse_ts(text, field=field)


def dec_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def parse_dec_or_none(text: str | None, *, field: str) -> Decimal | None:
    return None if text is None else parse_decimal(text, field=field)


def json_object(text: str, *, field: str) -> JSONObject:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"{field} holds invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CodecError(f"{field}={data!r}: expected a JSON object")
    return data


# Instruments are immutable and every fill writes and reads its instrument's JSON (position
# rows included): the text of each is encoded and decoded once. Bounded by a reset.
_CODEC_CACHE_MAX = 4096
_TEXT_OF: dict[object, str] = {}
_INSTRUMENT_OF: dict[str, Instrument] = {}


def instrument_text(inst: Instrument) -> str:
    """`dumps(inst)`, memoised. Equal option strikes can print differently (150 vs 150.0), so
    the strike's text is part of the key."""
    key: object = (inst, str(inst.strike)) if isinstance(inst, OptionContract) else inst
    text = _TEXT_OF.get(key)
    if text is None:
        if len(_TEXT_OF) >= _CODEC_CACHE_MAX:
            _TEXT_OF.clear()
        text = _TEXT_OF[key] = dumps(inst)
    return text


def instrument_from_text(text: str, *, field: str) -> Instrument:
    hit = _INSTRUMENT_OF.get(text)
    if hit is not None:
        return hit
    inst = _instrument_from_text(text, field=field)
    if len(_INSTRUMENT_OF) >= _CODEC_CACHE_MAX:
        _INSTRUMENT_OF.clear()
    _INSTRUMENT_OF[text] = inst
    return inst


# Stored timestamps read back, by their text: a backtest's fills and positions share a few
# thousand instants. Only for the error-free fast paths below (an odd text raises there and
# is decoded again by `parse_ts`, which names the column).
_TS_OF: dict[str, datetime] = {}


def _parse_ts(text: str) -> datetime:
    value = _TS_OF.get(text)
    if value is None:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(text)
        value = parsed.astimezone(UTC)
        if len(_TS_OF) >= _CODEC_CACHE_MAX:
            _TS_OF.clear()
        _TS_OF[text] = value
    return value


def _instrument_from_text(text: str, *, field: str) -> Instrument:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"{field} holds invalid JSON: {exc}") from exc
    return instrument_from_jsonable(data, path=field)


# --------------------------------------------------------------------------- positions

# instrument, quantity, avg_price, realized_pnl, opened_at
POSITION_COLUMNS = "instrument, quantity, avg_price, realized_pnl, opened_at"


def position_values(pos: Position) -> tuple[str, int, str, str, str | None]:
    return (
        instrument_text(pos.instrument),
        pos.quantity,
        str(pos.avg_price),
        str(pos.realized_pnl),
        ts_or_none(pos.opened_at, field="opened_at"),
    )


def position_from_row(row: Row, *, where: str | Callable[[], str]) -> Position:
    """`row` is `POSITION_COLUMNS` in order; `where` names it in errors (a callable is asked
    only then: a fill reads two positions, and most rows decode cleanly)."""
    text, quantity, avg_price, realized, opened_at = row[:5]
    instrument = _INSTRUMENT_OF.get(text)
    if instrument is not None:
        try:
            return Position(
                instrument=instrument,
                quantity=int(quantity),
                avg_price=Decimal(avg_price),
                realized_pnl=Decimal(realized),
                opened_at=None if opened_at is None else _parse_ts(opened_at),
            )
        except Exception:  # noqa: S110 - decoded again below, with the error's whereabouts
            pass
    if not isinstance(where, str):
        where = where()
    return Position(
        instrument=instrument_from_text(text, field=f"{where}.instrument"),
        quantity=int(quantity),
        avg_price=parse_decimal(avg_price, field=f"{where}.avg_price"),
        realized_pnl=parse_decimal(realized, field=f"{where}.realized_pnl"),
        opened_at=parse_ts_or_none(opened_at, field=f"{where}.opened_at"),
    )


# --------------------------------------------------------------------------- fills

FILL_COLUMNS = (
    "fill_id, client_order_id, broker_order_id, symbol, instrument, side, quantity, price, "
    "commission, ts, leg_index, strategy, liquidity, cash_delta"
)


def fill_values(fill: Fill, ts: str, cash_delta: Decimal) -> tuple[object, ...]:
    """`FILL_COLUMNS` in order; `ts` is ``format_ts(fill.ts)`` (the caller formats and checks
    it), `cash_delta` is ``fill.cash_delta`` (computed once per fill)."""
    return (
        fill.fill_id,
        fill.client_order_id,
        fill.broker_order_id,
        fill.symbol,
        instrument_text(fill.instrument),
        fill.side._value_,  # not the Enum property (a Python call per fill)
        fill.quantity,
        str(fill.price),
        str(fill.commission),
        ts,
        fill.leg_index,
        fill.strategy,
        fill.liquidity,
        str(cash_delta),
    )


# Fills decoded, by their whole row: a fill row never changes (the table refuses updates),
# and a backtest reads every fill back twice (its result, then the ledger check).
_FILL_OF: dict[tuple[object, ...], Fill] = {}
_FILL_CACHE_MAX = 16_384


def fill_from_row(row: Row) -> Fill:
    """`row` is `FILL_COLUMNS` in order."""
    if type(row) is tuple:
        hit = _FILL_OF.get(row)
        if hit is not None:
            return hit
        fill = _fill_from_row(row)
        if len(_FILL_OF) >= _FILL_CACHE_MAX:
            _FILL_OF.clear()
        _FILL_OF[row] = fill
        return fill
    return _fill_from_row(row)


def _fill_from_row(row: Row) -> Fill:
    instrument = _INSTRUMENT_OF.get(row[4])
    if instrument is not None:
        # The usual case, without building an error context per column (a backtest reads
        # every fill back twice); anything odd is decoded again below, naming the column.
        try:
            return Fill(
                fill_id=row[0],
                client_order_id=row[1],
                broker_order_id=row[2],
                instrument=instrument,
                side=Side(row[5]),
                quantity=int(row[6]),
                price=Decimal(row[7]),
                commission=Decimal(row[8]),
                ts=_parse_ts(row[9]),
                leg_index=int(row[10]),
                strategy=row[11],
                liquidity=row[12],
            )
        except Exception:  # noqa: S110
            pass
    fill_id = row[0]
    where = f"fills[{fill_id}]"
    return Fill(
        fill_id=fill_id,
        client_order_id=row[1],
        broker_order_id=row[2],
        instrument=instrument_from_text(row[4], field=f"{where}.instrument"),
        side=Side(row[5]),
        quantity=int(row[6]),
        price=parse_decimal(row[7], field=f"{where}.price"),
        commission=parse_decimal(row[8], field=f"{where}.commission"),
        ts=parse_ts(row[9], field=f"{where}.ts"),
        leg_index=int(row[10]),
        strategy=row[11],
        liquidity=row[12],
    )


# --------------------------------------------------------------------------- orders

ORDER_COLUMNS = (
    "client_order_id, broker_order_id, strategy, proposal_id, status, is_open, quantity, "
    "filled_quantity, avg_fill_price, reject_reason, request, created_at, updated_at"
)


def order_values(order: Order, updated_at: str | None = None) -> tuple[object, ...]:
    """`ORDER_COLUMNS` in order; `updated_at` is ``format_ts(order.updated_at)`` if the
    caller has it."""
    req = order.request
    return (
        req.client_order_id,
        order.broker_order_id,
        req.strategy,
        req.proposal_id,
        order.status._value_,  # not the Enum property (a Python call per order row)
        int(order.status.is_open),
        req.quantity,
        order.filled_quantity,
        dec_or_none(order.avg_fill_price),
        order.reject_reason,
        dumps(req),
        format_ts(order.created_at, field="order created_at"),
        updated_at or format_ts(order.updated_at, field="order updated_at"),
    )


def order_from_row(row: Row) -> Order:
    """`row` is `ORDER_COLUMNS` in order."""
    where = f"orders[{row[0]}]"
    request = from_jsonable(OrderRequest, json_object(row[10], field=f"{where}.request"))
    return Order(
        request=request,
        broker_order_id=row[1],
        status=OrderStatus(row[4]),
        created_at=parse_ts(row[11], field=f"{where}.created_at"),
        updated_at=parse_ts(row[12], field=f"{where}.updated_at"),
        filled_quantity=int(row[7]),
        avg_fill_price=parse_dec_or_none(row[8], field=f"{where}.avg_fill_price"),
        reject_reason=row[9],
    )
