"""Alpaca REST payloads <-> domain values, strictly.

Alpaca sends money and quantities as strings (``"buying_power": "245432.61"``); alpaca-py's
models turn them into floats, which the ledger must not see. The adapter therefore asks
alpaca-py for raw payloads and converts them here into `Decimal`. Anything malformed raises
`PayloadError` naming the field and the value.

What Alpaca accepts (and so what `unsupported_reason` refuses before a request is sent):

* equities: market and limit orders, time in force day, gtc or ioc; whole shares only here;
* single-leg options: market and limit, time in force **day only**;
* multi-leg options (``order_class="mleg"``): 2 to 4 option legs on one underlying, distinct
  symbols, market or limit, day only; the limit is the net price per combo unit (positive =
  debit, negative = credit), exactly the engine's own convention;
* not supported: combos that mix stock and option legs (a buy-write must go as two orders),
  more than 4 legs, index (cash-settled) underlyings such as SPX (Alpaca lists no index
  options), and GTC/IOC on options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from engine.broker.protocol import Account
from engine.domain import (
    Equity,
    Instrument,
    OptionContract,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionEffect,
    Side,
    TimeInForce,
    instrument_from_symbol,
    is_occ_symbol,
)
from engine.domain.instruments import CASH_SETTLED_INDEXES

ZERO = Decimal(0)
MAX_CLIENT_ORDER_ID = 128  # Alpaca's limit
MAX_MLEG_LEGS = 4


class PayloadError(ValueError):
    """An Alpaca response did not have the documented shape."""


def dec(
    payload: Mapping[str, Any], field: str, where: str, *, default: Decimal | None = None
) -> Decimal:
    raw = payload.get(field)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise PayloadError(f"{where}: {field} is missing")
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise PayloadError(f"{where}: {field}={raw!r} is not a number") from None
    if not value.is_finite():
        raise PayloadError(f"{where}: {field}={raw!r} is not finite")
    return value


def ts(payload: Mapping[str, Any], field: str, where: str) -> datetime | None:
    raw = payload.get(field)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise PayloadError(f"{where}: {field}={raw!r} is not an RFC 3339 timestamp")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise PayloadError(f"{where}: {field}={raw!r} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise PayloadError(f"{where}: {field}={raw!r} has no timezone")
    return value.astimezone(UTC)


def whole(value: Decimal, field: str, where: str) -> int:
    if value != value.to_integral_value():
        raise PayloadError(
            f"{where}: {field}={value} is fractional; this desk trades whole shares/contracts"
        )
    return int(value)


# -- account and positions -----------------------------------------------------------------


def account_from_payload(p: Mapping[str, Any], now: datetime) -> Account:
    """GET /v2/account -> Account. Buying power is the cash-like figure (no margin)."""
    where = "account"
    number = p.get("account_number")
    if not isinstance(number, str) or not number:
        raise PayloadError(f"{where}: account_number={number!r} is missing")
    cash = dec(p, "cash", where)
    # The engine books a cash account; Alpaca's `buying_power` includes margin (2x/4x).
    # `non_marginable_buying_power` is what can be spent without borrowing.
    bp = dec(p, "non_marginable_buying_power", where, default=dec(p, "buying_power", where))
    equity = dec(p, "equity", where)
    return Account(
        account_id=number,
        cash=cash,
        buying_power=bp,
        reserved_collateral=max(ZERO, cash - bp),
        equity=equity,
        ts=now,
        currency=str(p.get("currency") or "USD"),
        is_paper=number.upper().startswith("PA"),
    )


def position_from_payload(p: Mapping[str, Any]) -> Position:
    """GET /v2/positions item -> Position (signed quantity, per-share average price)."""
    symbol = p.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise PayloadError(f"position: symbol={symbol!r} is missing")
    where = f"position {symbol}"
    qty_raw = dec(p, "qty", where)
    qty = whole(qty_raw, "qty", where)
    if p.get("side") == "short" and qty > 0:
        qty = -qty
    try:
        inst = instrument_from_symbol(symbol)
    except ValueError as exc:
        raise PayloadError(f"{where}: {exc}") from None
    avg = dec(p, "avg_entry_price", where)
    mark_raw = p.get("current_price")
    mark = None
    if mark_raw not in (None, ""):
        m = float(dec(p, "current_price", where))
        mark = m if math.isfinite(m) and m > 0 else None
    return Position(inst, qty, avg, mark=mark)


# -- orders ---------------------------------------------------------------------------------

_OPEN_STATES = frozenset(
    {
        "new",
        "accepted",
        "pending_new",
        "accepted_for_bidding",
        "pending_cancel",
        "pending_replace",
        "pending_review",
        "held",
        "calculated",
        "stopped",
        "suspended",
        "done_for_day",
    }
)


def status_from_alpaca(status: str, filled: int, where: str) -> OrderStatus:
    if status == "filled":
        return OrderStatus.FILLED
    if status == "partially_filled":
        return OrderStatus.PARTIALLY_FILLED
    if status in ("canceled", "replaced"):
        return OrderStatus.CANCELED
    if status == "expired":
        return OrderStatus.EXPIRED
    if status == "rejected":
        return OrderStatus.REJECTED
    if status in _OPEN_STATES:
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW
    raise PayloadError(f"{where}: status={status!r} is not an Alpaca order status")


def _side(raw: object, where: str) -> Side:
    if raw == "buy":
        return Side.BUY
    if raw == "sell":
        return Side.SELL
    raise PayloadError(f"{where}: side={raw!r} must be buy or sell")


def _effect(intent: object) -> PositionEffect:
    return (
        PositionEffect.CLOSE
        if isinstance(intent, str) and intent.endswith("close")
        else (PositionEffect.OPEN)
    )


def leg_payloads(p: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    legs = p.get("legs")
    return [leg for leg in legs if isinstance(leg, Mapping)] if isinstance(legs, list) else []


def is_mleg(p: Mapping[str, Any]) -> bool:
    return p.get("order_class") == "mleg"


def request_from_payload(p: Mapping[str, Any]) -> OrderRequest:
    """Rebuild the request of an order this process did not submit (manual, or a restart)."""
    coid = str(p.get("client_order_id") or p.get("id") or "")
    where = f"order {coid}"
    qty = whole(dec(p, "qty", where), "qty", where)
    legs: list[OrderLeg] = []
    if is_mleg(p):
        for leg in leg_payloads(p):
            sym = str(leg.get("symbol") or "")
            ratio = whole(dec(leg, "ratio_qty", where, default=Decimal(1)), "ratio_qty", where)
            legs.append(
                OrderLeg(
                    instrument_from_symbol(sym),
                    _side(leg.get("side"), where),
                    ratio,
                    _effect(leg.get("position_intent")),
                )
            )
    else:
        sym = str(p.get("symbol") or "")
        legs.append(
            OrderLeg(
                instrument_from_symbol(sym),
                _side(p.get("side"), where),
                1,
                _effect(p.get("position_intent")),
            )
        )
    if not legs:
        raise PayloadError(f"{where}: no legs")
    kind = p.get("type") or p.get("order_type")
    order_type = OrderType.LIMIT if kind == "limit" else OrderType.MARKET
    limit = dec(p, "limit_price", where) if order_type is OrderType.LIMIT else None
    tif_raw = p.get("time_in_force")
    tif = TimeInForce(tif_raw) if tif_raw in {"day", "gtc", "ioc"} else TimeInForce.DAY
    return OrderRequest(
        client_order_id=coid,
        legs=tuple(legs),
        quantity=qty,
        order_type=order_type,
        limit_price=limit,
        time_in_force=tif,
    )


def order_from_payload(p: Mapping[str, Any], request: OrderRequest | None = None) -> Order:
    """An Alpaca order object -> Order (our request, Alpaca's state)."""
    coid = p.get("client_order_id")
    if not isinstance(coid, str) or not coid:
        raise PayloadError(f"order: client_order_id={coid!r} is missing")
    where = f"order {coid}"
    broker_id = p.get("id")
    if not isinstance(broker_id, str) or not broker_id:
        raise PayloadError(f"{where}: id={broker_id!r} is missing")
    req = request if request is not None else request_from_payload(p)
    filled = whole(dec(p, "filled_qty", where, default=ZERO), "filled_qty", where)
    status_raw = p.get("status")
    if not isinstance(status_raw, str):
        raise PayloadError(f"{where}: status={status_raw!r} is missing")
    status = status_from_alpaca(status_raw, filled, where)
    created = ts(p, "created_at", where) or ts(p, "submitted_at", where)
    updated = ts(p, "updated_at", where) or created
    if created is None or updated is None:
        raise PayloadError(f"{where}: created_at is missing")
    avg: Decimal | None = None
    if filled > 0:
        avg = dec(p, "filled_avg_price", where, default=ZERO) or None
    reason: str | None = None
    if status_raw == "replaced":
        reason = f"replaced by {p.get('replaced_by')}"
    elif status is OrderStatus.REJECTED:
        reason = "rejected by Alpaca"
    return Order(
        request=req,
        broker_order_id=broker_id,
        status=status,
        created_at=created,
        updated_at=updated,
        filled_quantity=filled,
        avg_fill_price=avg,
        reject_reason=reason,
    )


# -- requests ---------------------------------------------------------------------------------


def _is_option(inst: Instrument) -> bool:
    return isinstance(inst, OptionContract)


def unsupported_reason(request: OrderRequest) -> str | None:
    """Why Alpaca cannot take this order as one request, or None when it can."""
    coid = request.client_order_id
    if len(coid) > MAX_CLIENT_ORDER_ID:
        return f"client order id is {len(coid)} characters; Alpaca allows {MAX_CLIENT_ORDER_ID}"
    legs = request.legs
    for leg in legs:
        inst = leg.instrument
        if isinstance(inst, Equity) and (inst.is_index or inst.symbol in CASH_SETTLED_INDEXES):
            return f"{inst.symbol} is an index: it cannot be traded"
        if isinstance(inst, OptionContract) and inst.underlying in CASH_SETTLED_INDEXES:
            return (
                f"{inst.describe()}: Alpaca does not list cash-settled index options "
                f"({inst.underlying}); trade an ETF proxy (e.g. SPY for SPX)"
            )
        if isinstance(inst, OptionContract) and inst.multiplier != 100:
            return f"{inst.describe()}: non-standard contract (multiplier {inst.multiplier})"
    any_option = any(_is_option(leg.instrument) for leg in legs)
    if any_option and request.time_in_force is not TimeInForce.DAY:
        return (
            f"time_in_force={request.time_in_force.value}: Alpaca accepts options orders "
            "with time_in_force=day only"
        )
    if request.is_combo:
        if not all(_is_option(leg.instrument) for leg in legs):
            return (
                "a combo mixing stock and option legs: Alpaca multi-leg (mleg) orders are "
                "sent here with option legs only; send the stock leg as its own order"
            )
        if len(legs) > MAX_MLEG_LEGS:
            return f"{len(legs)} legs: Alpaca multi-leg orders take at most {MAX_MLEG_LEGS}"
        symbols = [leg.symbol for leg in legs]
        if len(set(symbols)) != len(symbols):
            return "legs must be distinct contracts"
        roots = {leg.instrument.underlying for leg in legs}
        if len(roots) > 1:
            return f"legs on several underlyings ({', '.join(sorted(roots))}): mleg needs one"
    return None


def _tick(price: Decimal) -> Decimal:
    return Decimal("0.0001") if abs(price) < 1 else Decimal("0.01")


def alpaca_limit(request: OrderRequest) -> Decimal:
    """The limit to send, rounded to a valid increment never against the requester.

    Single leg: a buy rounds down, a sell rounds up. Combo (net, + debit / - credit):
    rounds down, i.e. pay less or receive more.
    """
    assert request.limit_price is not None
    if request.is_combo:
        return request.limit_price.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    price = abs(request.limit_price)
    tick = Decimal("0.01") if _is_option(request.legs[0].instrument) else _tick(price)
    mode = ROUND_FLOOR if request.legs[0].side is Side.BUY else ROUND_CEILING
    return price.quantize(tick, rounding=mode)


def position_intent(leg: OrderLeg) -> str:
    open_ = leg.effect is PositionEffect.OPEN
    if leg.side is Side.BUY:
        return "buy_to_open" if open_ else "buy_to_close"
    return "sell_to_open" if open_ else "sell_to_close"


def alpaca_order_request(request: OrderRequest) -> Any:
    """Our request as an alpaca-py request model (validated by alpaca-py itself)."""
    from alpaca.trading.enums import OrderClass, OrderSide, PositionIntent
    from alpaca.trading.enums import TimeInForce as AlpacaTif
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, OptionLegRequest

    fields: dict[str, Any] = {
        "qty": request.quantity,
        "time_in_force": AlpacaTif(request.time_in_force.value),
        "client_order_id": request.client_order_id,
    }
    if request.is_combo:
        fields["order_class"] = OrderClass.MLEG
        fields["legs"] = [
            OptionLegRequest(
                symbol=leg.symbol,
                ratio_qty=leg.ratio,
                side=OrderSide(leg.side.value),
                position_intent=PositionIntent(position_intent(leg)),
            )
            for leg in request.legs
        ]
    else:
        leg = request.legs[0]
        fields["symbol"] = leg.symbol
        fields["side"] = OrderSide(leg.side.value)
        if _is_option(leg.instrument):
            fields["position_intent"] = PositionIntent(position_intent(leg))
    if request.order_type is OrderType.LIMIT:
        return LimitOrderRequest(limit_price=float(alpaca_limit(request)), **fields)
    return MarketOrderRequest(**fields)


def leg_fill_state(p: Mapping[str, Any], request: OrderRequest) -> list[tuple[int, Decimal | None]]:
    """(cumulative filled quantity, average price) per leg of `request`, from an order payload.

    A simple order is its own single leg; an mleg order carries one child per leg whose
    `filled_qty` is in contracts (ratio x combo units).
    """
    coid = request.client_order_id
    where = f"order {coid}"
    if not request.is_combo:
        filled = whole(dec(p, "filled_qty", where, default=ZERO), "filled_qty", where)
        avg = dec(p, "filled_avg_price", where, default=ZERO) if filled else None
        return [(filled, avg)]
    by_symbol: dict[str, Mapping[str, Any]] = {}
    for child_payload in leg_payloads(p):
        sym = child_payload.get("symbol")
        if isinstance(sym, str):
            by_symbol[sym] = child_payload
    out: list[tuple[int, Decimal | None]] = []
    units = whole(dec(p, "filled_qty", where, default=ZERO), "filled_qty", where)
    for i, leg in enumerate(request.legs):
        child = by_symbol.get(leg.symbol)
        if child is None:
            if units:
                raise PayloadError(f"{where}: leg {i} ({leg.symbol}) missing from a filled mleg")
            out.append((0, None))
            continue
        lw = f"{where} leg {leg.symbol}"
        filled = whole(dec(child, "filled_qty", lw, default=ZERO), "filled_qty", lw)
        avg = dec(child, "filled_avg_price", lw, default=ZERO) if filled else None
        out.append((filled, avg))
    return out


def occ_or_equity(symbol: str) -> Instrument:
    """An instrument from an Alpaca symbol (compact OCC for options)."""
    if is_occ_symbol(symbol):
        return OptionContract.from_symbol(symbol)
    return Equity(symbol)


def symbols_of(orders: Sequence[Order]) -> set[str]:
    return {leg.symbol for o in orders for leg in o.request.legs}
