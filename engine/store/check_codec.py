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


def encode_checks(checks: Iterable[RiskCheckResult]) -> str:
    # Infinity is valid here (Python's json reads it back; a REAL column keeps it too).
    return _ENCODER.encode(
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


def decode_checks(text: str) -> tuple[RiskCheckResult, ...]:
    try:
        rows = json.loads(text)
        return tuple(
            RiskCheckResult(name, CheckOutcome(outcome), value, limit, message, suggested)
            for name, outcome, value, limit, message, suggested in rows
        )
    except (ValueError, TypeError) as exc:
        raise CodecError(f"risk_decisions.checks holds invalid checks: {exc}") from exc
