"""Reversible JSON encoding of the domain dataclasses, shared by the store and the remote protocol.

Encoding rules (stable: stored rows and wire messages depend on them):

- ``Decimal`` -> its exact string (``"1.10"`` stays ``"1.10"``); never a float.
- ``datetime`` -> ISO-8601 in UTC with microseconds (``2024-01-02T14:30:00.000000+00:00``): a
  fixed width, so text order is time order in SQL. Naive datetimes are refused.
- ``date`` -> ``YYYY-MM-DD``; enums -> their value; tuples, lists and sets -> lists;
  mappings -> objects with string keys.
- Non-finite floats -> ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` so the JSON stays strict.
- Instruments -> their symbol (OCC for options) when ``instrument_from_symbol`` gives the same
  instrument back; otherwise (an adjusted contract's multiplier, an index flag the symbol does
  not imply) an object carrying every field.
- Other dataclasses -> an object of their init fields. Engine events also carry ``kind``.

Decoding is driven by the target type's annotations, strictly: a wrong type, an unknown key
or a value the domain refuses raises `CodecError` naming the path, the value and what was
expected.
"""

from __future__ import annotations

import dataclasses
import json
import json.encoder
import math
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import lru_cache
from typing import Any, TypeAlias, TypeVar, overload

from engine.domain.events import EngineEvent
from engine.domain.instruments import Equity, Instrument, OptionContract, instrument_from_symbol

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

T = TypeVar("T")

_NONFINITE_OUT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_NONFINITE_IN = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class CodecError(ValueError):
    """A value could not be encoded or decoded; the message names where and why."""


# --------------------------------------------------------------------------- timestamps


def format_ts(value: datetime, *, field: str = "datetime") -> str:
    """UTC ISO-8601 with microseconds, fixed width so that string order is time order."""
    # The engine stamps every row of a tick with the same few clock readings (a trade's
    # rows format them some ten times; a backtest ~30k times for ~5k distinct instants).
    text = _TS_TEXT.get(value)
    if text is not None:
        return text
    if value.tzinfo is None or value.utcoffset() is None:
        raise CodecError(f"{field}={value!r} is naive; timestamps must be timezone-aware UTC")
    utc = value.astimezone(UTC)
    text = utc.isoformat(timespec="microseconds")
    if type(utc) is datetime:
        # Keyed by the UTC reading: an aware datetime equals it exactly when it is the same
        # instant (equality across zones compares instants), and so has the same text.
        if len(_TS_TEXT) >= _TS_TEXT_MAX:
            _TS_TEXT.clear()
        _TS_TEXT[utc] = text
    return text


_TS_TEXT: dict[datetime, str] = {}
_TS_TEXT_MAX = 4096


def ts_text(value: datetime) -> str | None:
    """`format_ts(value)` if it is at hand, else None: for a caller that would build the
    error context of `format_ts` (an f-string) on every call otherwise."""
    return _TS_TEXT.get(value)


def parse_ts(text: str, *, field: str = "datetime") -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{field}={text!r} is not an ISO-8601 timestamp") from exc
    if value.tzinfo is None:
        raise CodecError(f"{field}={text!r} has no UTC offset; stored timestamps are UTC")
    return value.astimezone(UTC)


def parse_decimal(text: str, *, field: str = "decimal") -> Decimal:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise CodecError(f"{field}={text!r} is not a decimal number") from exc


# --------------------------------------------------------------------------- instruments


def instrument_to_jsonable(instrument: Instrument) -> JSONValue:
    out = _instrument_to_jsonable(instrument)
    # The memo's objects are shared; hand out a copy of the (rare) object form.
    return dict(out) if isinstance(out, dict) else out


@lru_cache(maxsize=8192)
def _instrument_to_jsonable(instrument: Instrument) -> JSONValue:
    # Memoised: parsing the OCC symbol back is most of an order's encoding cost, and a run
    # encodes the same few hundred instruments over and over.
    symbol = instrument.symbol
    try:
        if instrument_from_symbol(symbol) == instrument:
            return symbol
    except ValueError:
        pass
    if isinstance(instrument, OptionContract):
        return {
            "type": "option",
            "underlying": instrument.underlying,
            "expiry": instrument.expiry.isoformat(),
            "strike": str(instrument.strike),
            "right": instrument.right.value,
            "multiplier": instrument.multiplier,
        }
    return {"type": "equity", "symbol": instrument.symbol, "is_index": instrument.is_index}


def instrument_from_jsonable(data: object, *, path: str = "instrument") -> Instrument:
    if isinstance(data, str):
        try:
            return instrument_from_symbol(data)
        except ValueError as exc:
            raise CodecError(f"{path}={data!r}: {exc}") from exc
    if isinstance(data, dict):
        kind = data.get("type")
        if kind == "option":
            return _decode_dataclass(
                OptionContract, {k: v for k, v in data.items() if k != "type"}, path
            )
        if kind == "equity":
            return _decode_dataclass(Equity, {k: v for k, v in data.items() if k != "type"}, path)
        raise CodecError(f"{path}.type={kind!r}: expected 'option' or 'equity'")
    raise CodecError(f"{path}={data!r}: expected a symbol string or an instrument object")


# --------------------------------------------------------------------------- encoding


@lru_cache(maxsize=512)
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def to_jsonable(obj: object) -> JSONValue:
    """Encode a domain value (dataclasses, Decimal, datetimes, enums, containers) as JSON data."""
    # Dispatch on the exact type first (the rules below, looked up once per type): a proposal
    # or an order is encoded on every trade and the isinstance chain dominated it.
    enc = _BY_TYPE.get(type(obj))
    if enc is not None:
        return enc(obj)
    out = _to_jsonable_slow(obj)
    t = type(obj)
    if isinstance(obj, Enum):
        _BY_TYPE[t] = _enum_value
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type | Equity | OptionContract):
        _BY_TYPE[t] = _dataclass_encoder(t)
    return out


def _enum_value(obj: Any) -> JSONValue:
    return to_jsonable(obj.value)


def _dataclass_encoder(cls: type) -> Callable[[Any], JSONValue]:
    """An object of `cls`'s init fields, each encoded by `to_jsonable`, as one generated
    function: a trade encodes a proposal and an order request (some 40 values), and a call
    per value was most of that. A field whose annotation names a plain type tries it inline
    first (``v if type(v) is str else to_jsonable(v)``): the annotation only picks which
    exact-type test to try, any other value still goes through `to_jsonable`, so the output
    is `to_jsonable`'s whatever the field holds."""
    names = _init_fields(cls)
    hints = _encoder_hints(cls)
    env: dict[str, Any] = {
        "_enc": to_jsonable,
        "_get": _BY_TYPE.get,
        "_ts": format_ts,
        "_float": float,
    }
    reads: list[str] = []
    items: list[str] = []
    for i, name in enumerate(names):
        if not name.isidentifier():  # pragma: no cover - dataclass fields are identifiers
            return _generic_dataclass_encoder(names)
        var = f"v{i}"
        reads.append(f"    {var} = obj.{name}\n")
        items.append(f"{name!r}: {_field_expr(var, hints.get(name), env, i)}")
    src = f"def encode(obj):\n{''.join(reads)}    return {{{', '.join(items)}}}\n"
    exec(src, env)  # noqa: S102 - the text is built above from field names and fixed parts
    encode: Callable[[Any], JSONValue] = env["encode"]
    return encode


def _generic_dataclass_encoder(names: tuple[str, ...]) -> Callable[[Any], JSONValue]:
    def encode(obj: object) -> JSONValue:
        return {name: to_jsonable(getattr(obj, name)) for name in names}

    return encode


def _unwrap_optional(hint: object) -> tuple[object, bool]:
    """(the one type a union names besides None, or None for a wider union; whether None
    is allowed): the generated encoders pick their fast path by that type."""
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return (args[0] if len(args) == 1 else None), len(args) < len(typing.get_args(hint))
    return hint, False


def _field_expr(var: str, hint: object, env: dict[str, Any], i: int) -> str:
    """The expression encoding `var` (see `_dataclass_encoder`)."""
    hint, optional = _unwrap_optional(hint)
    # `to_jsonable(v)` without its frame: its own first step, then it for an unknown type.
    general = f"_get(type({var}), _enc)({var})"
    if hint is str or hint is int or hint is bool:
        # to_jsonable gives these exact types back unchanged
        fast = f"{var} if type({var}) is {hint.__name__} else {general}"
    elif hint is float:
        # a finite float is itself (`v - v` is NaN for NaN and the infinities)
        fast = f"{var} if type({var}) is _float and {var} - {var} == 0.0 else {general}"
    elif hint is Decimal:
        env["_Decimal"] = Decimal
        fast = f"str({var}) if type({var}) is _Decimal else {general}"
    elif hint is datetime:
        env["_datetime"] = datetime
        fast = f"_ts({var}) if type({var}) is _datetime else {general}"
    elif isinstance(hint, type) and issubclass(hint, Enum) and _str_valued(hint):
        # to_jsonable(member) is to_jsonable(member.value): the str itself
        env[f"_E{i}"] = hint
        fast = f"{var}._value_ if type({var}) is _E{i} else {general}"
    else:
        return general
    return f"(None if {var} is None else ({fast}))" if optional else f"({fast})"


def _str_valued(cls: type[Enum]) -> bool:
    return all(type(member._value_) is str for member in cls)


def _same(obj: Any) -> JSONValue:
    out: JSONValue = obj
    return out


def _float(obj: float) -> JSONValue:
    return obj if math.isfinite(obj) else _NONFINITE_OUT[repr(obj)]


def _sequence(obj: list[Any] | tuple[Any, ...]) -> JSONValue:
    # `to_jsonable(v)` for each, without its frame (see `_dataclass_encoder`).
    get = _BY_TYPE.get
    return [get(type(v), to_jsonable)(v) for v in obj]


def _mapping(obj: Mapping[Any, Any]) -> JSONValue:
    out: JSONObject = {}
    for key, value in obj.items():
        k = to_jsonable(key)
        if not isinstance(k, str):
            raise CodecError(f"mapping key {key!r} must encode to a string, got {k!r}")
        out[k] = to_jsonable(value)
    return out


def _to_jsonable_slow(obj: object) -> JSONValue:
    # Enum first: StrEnum members are also str, IntEnum members also int.
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else _NONFINITE_OUT[repr(obj)]
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return format_ts(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Equity | OptionContract):
        return instrument_to_jsonable(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: to_jsonable(getattr(obj, name)) for name in _init_fields(type(obj))}
    if isinstance(obj, Mapping):
        out: JSONObject = {}
        for key, value in obj.items():
            k = to_jsonable(key)
            if not isinstance(k, str):
                raise CodecError(f"mapping key {key!r} must encode to a string, got {k!r}")
            out[k] = to_jsonable(value)
        return out
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, set | frozenset):
        items = [to_jsonable(v) for v in obj]
        # Sorted by their JSON text so the same set always encodes the same way.
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    raise CodecError(f"cannot encode {type(obj).__name__} value {obj!r} as JSON")


_BY_TYPE: dict[type, Callable[[Any], JSONValue]] = {
    type(None): _same,
    bool: _same,
    str: _same,
    int: _same,
    float: _float,
    Decimal: str,
    datetime: format_ts,
    date: date.isoformat,
    Equity: instrument_to_jsonable,
    OptionContract: instrument_to_jsonable,
    list: _sequence,
    tuple: _sequence,
    dict: _mapping,
    types.MappingProxyType: _mapping,
}


def dumps(obj: object) -> str:
    """Compact, strict JSON text of a domain value."""
    text = _TEXT_BY_TYPE.get(type(obj))
    if text is not None:
        return text(obj)
    t = type(obj)
    if t is tuple or t is list:
        # What the encoder writes for an array: its items' texts between brackets.
        return f"[{','.join([dumps(v) for v in obj])}]"  # type: ignore[attr-defined]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type | Equity | OptionContract):
        out = _DUMPS.encode(to_jsonable(obj))
        _TEXT_BY_TYPE[t] = _dataclass_text(t)
        return out
    return _DUMPS.encode(to_jsonable(obj))


def _dataclass_text(cls: type) -> Callable[[Any], str]:
    """`dumps` for a dataclass, generated like `_dataclass_encoder` but writing the JSON text
    itself (a trade writes a proposal and an order request; building their objects and then
    encoding them was most of that): each field whose annotation names a plain type is
    written directly when it holds exactly that type (``"null"`` for None where optional),
    anything else is ``dumps(value)``. So the text is ``_DUMPS.encode(to_jsonable(obj))``
    whatever the fields hold (compact separators, keys in field order)."""
    names = _init_fields(cls)
    hints = _encoder_hints(cls)
    env: dict[str, Any] = {
        "_dumps": dumps,
        "_s": _json_string,
        "_ts": format_ts,
        "_int": int.__repr__,
        "_fr": float.__repr__,
        "_float": float,
        "_Decimal": Decimal,
        "_datetime": datetime,
    }
    reads: list[str] = []
    parts: list[str] = []
    for i, name in enumerate(names):
        if not name.isidentifier():  # pragma: no cover - dataclass fields are identifiers
            return lambda obj: _DUMPS.encode(to_jsonable(obj))
        var = f"v{i}"
        reads.append(f"    {var} = obj.{name}\n")
        head = ("{" if i == 0 else ",") + _DUMPS.encode(name) + ":"
        parts += [repr(head), _text_expr(var, hints.get(name), env, i)]
    parts.append(repr("}") if names else repr("{}"))
    src = f"def text(obj):\n{''.join(reads)}    return ''.join(({', '.join(parts)},))\n"
    exec(src, env)  # noqa: S102 - the text is built above from field names and fixed parts
    text: Callable[[Any], str] = env["text"]
    return text


def _text_expr(var: str, hint: object, env: dict[str, Any], i: int) -> str:
    """The expression writing `var`'s JSON text (see `_dataclass_text`)."""
    hint, optional = _unwrap_optional(hint)
    general = f"_dumps({var})"
    if hint is str:
        fast = f"_s({var}) if type({var}) is str else {general}"
    elif hint is int:
        fast = f"_int({var}) if type({var}) is int else {general}"
    elif hint is bool:
        fast = f"('true' if {var} else 'false') if type({var}) is bool else {general}"
    elif hint is float:
        # a finite float is written by its repr (`v - v` is NaN for NaN and the infinities)
        fast = f"_fr({var}) if type({var}) is _float and {var} - {var} == 0.0 else {general}"
    elif hint is Decimal:
        fast = f"_s(str({var})) if type({var}) is _Decimal else {general}"
    elif hint is datetime:
        fast = f"_s(_ts({var})) if type({var}) is _datetime else {general}"
    elif isinstance(hint, type) and issubclass(hint, Enum) and _str_valued(hint):
        env[f"_E{i}"] = hint
        fast = f"_s({var}._value_) if type({var}) is _E{i} else {general}"
    else:
        return f"('null' if {var} is None else {general})" if optional else general
    return f"('null' if {var} is None else ({fast}))" if optional else f"({fast})"


# `json.dumps` with these options would build a new encoder on every call.
_DUMPS = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)
# What `_DUMPS` (ensure_ascii=False) writes for a str.
_json_string = json.encoder.encode_basestring


def _instrument_text(instrument: Instrument) -> str:
    data = instrument_to_jsonable(instrument)
    return _json_string(data) if type(data) is str else _DUMPS.encode(data)


def _mapping_text(obj: Mapping[Any, Any]) -> str:
    return "{}" if not obj else _DUMPS.encode(to_jsonable(obj))


# `dumps` by exact type: dataclasses (`_dataclass_text`, added on first use) and the values
# their fields hold most, each written as `_DUMPS.encode(to_jsonable(value))` writes it.
_TEXT_BY_TYPE: dict[type, Callable[[Any], str]] = {
    str: _json_string,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
    Equity: _instrument_text,
    OptionContract: _instrument_text,
    dict: _mapping_text,
    types.MappingProxyType: _mapping_text,
}


def event_to_json(event: EngineEvent) -> JSONObject:
    """An engine event as a JSON object with its stable ``kind`` first."""
    body = to_jsonable(event)
    assert isinstance(body, dict)  # a dataclass always encodes to an object
    return {"kind": event.kind, **body}


# --------------------------------------------------------------------------- decoding


@overload
def from_jsonable(cls: type[T], data: object) -> T: ...
@overload
def from_jsonable(cls: object, data: object) -> Any: ...
def from_jsonable(cls: object, data: object) -> Any:
    """Decode JSON data into `cls` (a dataclass, Decimal, datetime, enum, ``Instrument``,
    ``tuple[X, ...]``, ``X | None``...). The inverse of `to_jsonable`."""
    return _decode(cls, data, getattr(cls, "__name__", str(cls)))


def loads(cls: type[T], text: str | bytes) -> T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CodecError(f"not valid JSON: {exc}") from exc
    result: T = from_jsonable(cls, data)
    return result


def event_from_json(data: object) -> EngineEvent:
    """Decode an object made by `event_to_json`, choosing the class from its ``kind``."""
    if not isinstance(data, dict):
        raise CodecError(f"event={data!r}: expected a JSON object with a 'kind'")
    kind = data.get("kind")
    cls = event_class(kind if isinstance(kind, str) else "")
    event: EngineEvent = _decode_dataclass(cls, data, cls.__name__)
    return event


def event_class(kind: str) -> type[EngineEvent]:
    """The `EngineEvent` subclass whose ``kind`` is `kind` (classes defined anywhere count)."""
    registry = _event_registry()
    cls = registry.get(kind)
    if cls is None:
        _event_registry.cache_clear()  # a module defining new events may have been imported
        registry = _event_registry()
        cls = registry.get(kind)
    if cls is None:
        raise CodecError(f"event kind {kind!r} is unknown; known kinds: {sorted(registry)}")
    return cls


@lru_cache(maxsize=1)
def _event_registry() -> dict[str, type[EngineEvent]]:
    registry: dict[str, type[EngineEvent]] = {}
    stack: list[type[EngineEvent]] = [EngineEvent]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if _superseded(cls):
            continue
        other = registry.get(cls.kind)
        if other is not None and other is not cls:
            raise CodecError(
                f"event kind {cls.kind!r} is used by both {other.__qualname__} and "
                f"{cls.__qualname__}; kinds must be unique"
            )
        registry[cls.kind] = cls
    return registry


def _superseded(cls: type) -> bool:
    """`@dataclass(slots=True)` builds a new class; the original lingers among
    ``__subclasses__()`` until collected. The module's own name for it is the live one."""
    module = sys.modules.get(cls.__module__)
    live = getattr(module, cls.__qualname__, cls) if "<locals>" not in cls.__qualname__ else cls
    return live is not cls and isinstance(live, type) and live.__qualname__ == cls.__qualname__


@lru_cache(maxsize=512)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _encoder_hints(cls: type) -> dict[str, Any]:
    """`cls`'s field types for the generated encoders; none when an annotation cannot be
    resolved (every field then takes the general path)."""
    try:
        return _hints(cls)
    except Exception:
        return {}


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", None) or str(tp)


def _decode(tp: object, data: object, path: str) -> Any:
    if tp is Any or tp is object:
        return data
    if tp is type(None):
        if data is not None:
            raise CodecError(f"{path}={data!r}: expected null")
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _decode_union(typing.get_args(tp), data, path)
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if data not in allowed:
            raise CodecError(f"{path}={data!r}: expected one of {list(allowed)}")
        return data
    if origin is not None:
        return _decode_generic(origin, typing.get_args(tp), data, path)
    if not isinstance(tp, type):
        raise CodecError(f"{path}: cannot decode into {tp!r}")
    return _decode_class(tp, data, path)


def _decode_union(args: tuple[Any, ...], data: object, path: str) -> Any:
    if data is None:
        if type(None) in args:
            return None
        raise CodecError(f"{path}=None: expected {' | '.join(_type_name(a) for a in args)}")
    arms = [a for a in args if a is not type(None)]
    if set(arms) == {Equity, OptionContract}:
        return instrument_from_jsonable(data, path=path)
    if len(arms) == 1:
        return _decode(arms[0], data, path)
    # Prefer the arm whose JSON type matches exactly, so `float | str` keeps the string "NaN".
    exact = [a for a in arms if isinstance(a, type) and type(data) is a]
    errors: list[str] = []
    for arm in exact + [a for a in arms if a not in exact]:
        try:
            return _decode(arm, data, path)
        except CodecError as exc:
            errors.append(str(exc))
    raise CodecError(
        f"{path}={data!r}: matches none of {' | '.join(_type_name(a) for a in arms)} "
        f"({'; '.join(errors)})"
    )


def _decode_generic(origin: Any, args: tuple[Any, ...], data: object, path: str) -> Any:
    if origin in (tuple, list, set, frozenset, Sequence):
        if not isinstance(data, list):
            raise CodecError(f"{path}={data!r}: expected a JSON array")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(data):
                raise CodecError(f"{path}: expected {len(args)} items, got {len(data)}")
            return tuple(
                _decode(a, v, f"{path}[{i}]")
                for i, (a, v) in enumerate(zip(args, data, strict=True))
            )
        item = args[0] if args else Any
        items = [_decode(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
        if origin is list:
            return items
        if origin is set:
            return set(items)
        if origin is frozenset:
            return frozenset(items)
        return tuple(items)
    if origin in (dict, Mapping):
        if not isinstance(data, dict):
            raise CodecError(f"{path}={data!r}: expected a JSON object")
        key_t, val_t = args if args else (Any, Any)
        out = {
            _decode(key_t, k, f"{path}.<key>"): _decode(val_t, v, f"{path}[{k!r}]")
            for k, v in data.items()
        }
        # The domain's Mapping fields default to read-only proxies; keep them read-only.
        return out if origin is dict else types.MappingProxyType(out)
    raise CodecError(f"{path}: cannot decode into {origin!r}")


def _decode_class(tp: type, data: object, path: str) -> Any:
    if issubclass(tp, Enum):
        try:
            return tp(data)
        except ValueError as exc:
            allowed = [m.value for m in tp]
            raise CodecError(f"{path}={data!r}: expected one of {allowed}") from exc
    if tp is bool:
        if not isinstance(data, bool):
            raise CodecError(f"{path}={data!r}: expected true or false")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise CodecError(f"{path}={data!r}: expected an integer")
        return data
    if tp is float:
        if isinstance(data, str) and data in _NONFINITE_IN:
            return _NONFINITE_IN[data]
        if not isinstance(data, int | float) or isinstance(data, bool):
            raise CodecError(f"{path}={data!r}: expected a number")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise CodecError(f"{path}={data!r}: expected a string")
        return data
    if tp is Decimal:
        # Floats are refused: they would smuggle binary rounding into the ledger.
        if isinstance(data, str):
            return parse_decimal(data, field=path)
        if isinstance(data, int) and not isinstance(data, bool):
            return Decimal(data)
        raise CodecError(f'{path}={data!r}: expected a decimal as a string, e.g. "1.25"')
    if tp is datetime:
        if not isinstance(data, str):
            raise CodecError(f"{path}={data!r}: expected an ISO-8601 UTC timestamp string")
        return parse_ts(data, field=path)
    if tp is date:
        if not isinstance(data, str):
            raise CodecError(f"{path}={data!r}: expected a YYYY-MM-DD string")
        try:
            return date.fromisoformat(data)
        except ValueError as exc:
            raise CodecError(f"{path}={data!r}: expected a YYYY-MM-DD date") from exc
    if tp in (Equity, OptionContract):
        inst = instrument_from_jsonable(data, path=path)
        if not isinstance(inst, tp):
            raise CodecError(f"{path}={data!r}: expected {tp.__name__}, got {type(inst).__name__}")
        return inst
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, data, path)
    raise CodecError(f"{path}: cannot decode into {tp.__name__}")


def _decode_dataclass(tp: type[T], data: object, path: str) -> T:
    if not isinstance(data, dict):
        raise CodecError(f"{path}={data!r}: expected a JSON object for {tp.__name__}")
    cls: type = tp  # lru_cache wants a Hashable; a class is one
    names = _init_fields(cls)
    extra = set(data) - set(names)
    # Events carry their ClassVar kind on the wire; it must agree with the target class.
    if "kind" in extra and data["kind"] == getattr(tp, "kind", object()):
        extra.discard("kind")
    if extra:
        raise CodecError(f"{path}: unknown field(s) {sorted(extra)} for {tp.__name__}")
    hints = _hints(cls)
    kwargs = {n: _decode(hints[n], data[n], f"{path}.{n}") for n in names if n in data}
    try:
        return tp(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"{path}: {tp.__name__} refused the value: {exc}") from exc
