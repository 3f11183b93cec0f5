"""A risk decision's checks as one JSON array, read back exactly as the v1 `risk_checks` rows were.

Every pre-trade decision stores about 26 checks. One row per check (schema v1) cost more to
write than the rest of the decision; from schema v2 the checks are one JSON array on the
decision's row: ``[[name, outcome, value, limit, message, suggested_quantity], ...]`` in
check order. The encoding applies the conversions the v1 columns applied, so a check loads
back the same either way: `value` and `limit` as a REAL column does (a float, ints widened,
NaN as None, -0.0 as 0.0), `suggested_quantity` as an INTEGER column does (a whole float or a
bool as an int).
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Iterable
from typing import Any

from engine.domain.proposals import CheckOutcome, RiskCheckResult
from engine.store.codec import CodecError


def _real(v: float | None) -> float | None:
    if v is None:
        return None
    f = float(v)
    if math.isnan(f):
        return None
    return 0.0 if f == 0.0 else f


def _integer(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# `json.dumps` with these options would build a new encoder on every call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

# What `_ENCODER` (ensure_ascii=False) writes for a str, and for a float (allow_nan=True).
_json_string = json.encoder.encode_basestring
_float_text = float.__repr__


def _row(c: RiskCheckResult) -> list[Any]:
    return [
        c.name,
        c.outcome.value,
        _real(c.value),
        _real(c.limit),
        c.message,
        _integer(c.suggested_quantity),
    ]


def _real_text(v: float | None) -> str:
    """`_ENCODER`'s text of `_real(v)`."""
    return _ENCODER.encode(_real(v))


# The start of a row, ``["name","outcome",``, by (name, outcome): ~26 checks share a few
# dozen of them.
_HEADS: dict[tuple[str, str], str] = {}
# Whole rows without a suggested quantity, by (name, outcome, value, limit, message).
_ROWS: dict[tuple[object, ...], str] = {}


def encode_checks(checks: Iterable[RiskCheckResult]) -> str:
    """``[[name, outcome, value, limit, message, suggested_quantity], ...]``: exactly
    ``_ENCODER.encode([_row(c) for c in checks])``, with each row written directly for the
    usual field types (a decision stores ~26 checks; encoding them was the bulk of recording
    one). A row holding anything else is encoded by `_ENCODER`."""
    # Infinity is valid here (Python's json reads it back; a REAL column keeps it too).
    rows: list[str] = []
    add = rows.append
    for c in checks:
        name = c.name
        outcome = c.outcome._value_
        message = c.message
        q = c.suggested_quantity
        if q is None:
            # Most rows repeat (a check passing the same way, with the same message): by
            # value, as equal values of value/limit encode alike (a REAL column's float).
            key = (name, outcome, c.value, c.limit, message)
            text = _ROWS.get(key)
            if text is not None:
                add(text)
                continue
        else:
            key = None
        if type(name) is not str or type(outcome) is not str or type(message) is not str:
            add(_ENCODER.encode(_row(c)))
            continue
        head = _HEADS.get((name, outcome))
        if head is None:
            if len(_HEADS) >= 4096:
                _HEADS.clear()
            head = _HEADS[(name, outcome)] = _ENCODER.encode([name, outcome])[:-1] + ","
        # A finite float is written as itself (`v - v` is NaN for NaN and the infinities).
        v = c.value
        if v is None:
            value = "null"
        elif type(v) is float and v - v == 0.0:
            value = _float_text(v) if v else "0.0"  # -0.0 too
        elif type(v) is int:
            value = _float_text(float(v))  # widened, as a REAL column does
        else:
            value = _real_text(v)
        v = c.limit
        if v is None:
            limit = "null"
        elif type(v) is float and v - v == 0.0:
            limit = _float_text(v) if v else "0.0"
        elif type(v) is int:
            limit = _float_text(float(v))  # widened, as a REAL column does
        else:
            limit = _real_text(v)
        if q is None:
            suggested = "null"
        elif type(q) is int:
            suggested = int.__repr__(q)
        else:
            suggested = _ENCODER.encode(_integer(q))
        text = f"{head}{value},{limit},{_json_string(message)},{suggested}]"
        if key is not None:
            if len(_ROWS) >= 8192:
                _ROWS.clear()
            _ROWS[key] = text
        add(text)
    return f"[{','.join(rows)}]"


def decode_checks(text: str) -> tuple[RiskCheckResult, ...]:
    try:
        rows = json.loads(text)
        return tuple(
            RiskCheckResult(name, CheckOutcome(outcome), value, limit, message, suggested)
            for name, outcome, value, limit, message, suggested in rows
        )
    except (ValueError, TypeError) as exc:
        raise CodecError(f"risk_decisions.checks holds invalid checks: {exc}") from exc
