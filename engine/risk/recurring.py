"""`recurring`: one shared `RiskCheckResult` for a check outcome that repeats verbatim.

Many pre-trade checks of an ordinary proposal end the same way over and over ("state
ACTIVE", "0 orders in the last second", "not a day trade (0 in 5 days)"...).  Results are
frozen values compared by value, so the same one can be handed out again instead of built
for every proposal (~26 per decision, and building a frozen dataclass is not free); results
that never vary at all are plain module constants beside their checks.

Only for results whose value and limit are None, ints or fixed configuration numbers: the
memo is keyed by equality (and type, so 1 and 1.0 stay apart), and -0.0 == 0.0 would hand
back a result whose value differs in sign from the one asked for.
"""

from __future__ import annotations

from engine.domain import CheckOutcome, RiskCheckResult

__all__ = ["recurring"]

# Keyed by the types too (0 == 0.0), and without the outcome (an Enum hashes in Python): a
# hit must match that as well.
_MEMO: dict[tuple[str, str, object, object, type, type], RiskCheckResult] = {}
_MEMO_MAX = 4096  # distinct messages (names x counts x symbols): cleared when full


def recurring(
    name: str,
    outcome: CheckOutcome,
    message: str,
    value: float | None = None,
    limit: float | None = None,
) -> RiskCheckResult:
    """The result `RiskCheckResult(name, outcome, value, limit, message)`, built once."""
    key = (name, message, value, limit, type(value), type(limit))
    got = _MEMO.get(key)
    if got is None or got.outcome is not outcome:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        got = _MEMO[key] = RiskCheckResult(name, outcome, value, limit, message)
    return got
