"""Trade proposals (what a strategy wants) and risk decisions (what risk allows)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from engine.domain.fast_init import fast_init
from engine.domain.orders import OrderLeg, OrderType, PositionEffect, TimeInForce


class ProposalIntent(StrEnum):
    OPEN = "open"  # adds risk
    CLOSE = "close"  # reduces or removes risk (exits, stops, rolls' closing half)


class ExitReason(StrEnum):
    TAKE_PROFIT = "take_profit"
    STOP = "stop"
    DELTA = "delta"
    TIME = "time"
    EXPIRY = "expiry"
    END_OF_DAY = "end_of_day"
    NEXT_DAY = "next_day"
    SCALE_OUT = "scale_out"
    SIGNAL = "signal"
    ROLL = "roll"
    EVENT = "event"
    REBALANCE = "rebalance"
    TAX_LOSS = "tax_loss"
    MANUAL = "manual"


def make_proposal_id(strategy: str, created_at: datetime, key: str) -> str:
    """Deterministic: the same strategy, instant and key always give the same id, so a replay
    of the same market produces the same ids (and the same client order ids downstream)."""
    raw = f"{strategy}|{created_at.isoformat()}|{key}"
    return "p-" + hashlib.sha256(raw.encode()).hexdigest()[:20]


@fast_init
@dataclass(frozen=True, slots=True)
class TradeProposal:
    """A strategy's request for a trade, with its reasons. Never sent to a broker directly.

    `limit_price` is per combo unit, per share: positive = net debit, negative = net credit.
    `max_loss` / `max_profit` are dollars for the whole proposal (None = unbounded).
    """

    proposal_id: str
    strategy: str
    created_at: datetime
    intent: ProposalIntent
    legs: tuple[OrderLeg, ...]
    quantity: int
    reason: str
    order_type: OrderType = OrderType.LIMIT
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    max_loss: Decimal | None = None
    max_profit: Decimal | None = None
    breakevens: tuple[float, ...] = ()
    confidence: float = 1.0
    expires_at: datetime | None = None
    exit_reason: ExitReason | None = None
    meta: Mapping[str, float | str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("a proposal needs at least one leg")
        if self.quantity <= 0:
            raise ValueError(f"proposal quantity {self.quantity} must be positive")
        if not self.reason:
            raise ValueError("a proposal must say why")
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit proposal needs a limit_price")
        if self.intent is ProposalIntent.CLOSE and any(
            leg.effect is not PositionEffect.CLOSE for leg in self.legs
        ):
            raise ValueError("a closing proposal's legs must all close positions")

    @property
    def underlying(self) -> str:
        return self.legs[0].instrument.underlying

    @property
    def is_risk_reducing(self) -> bool:
        return self.intent is ProposalIntent.CLOSE

    @property
    def notional(self) -> Decimal:
        """Absolute dollars changing hands at the limit (premium for options)."""
        if self.limit_price is None:
            return Decimal(0)
        mult = max(leg.instrument.multiplier for leg in self.legs)
        return abs(self.limit_price) * self.quantity * mult


class CheckOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - an outcome, not a password
    WARN = "warn"
    FAIL = "fail"


@fast_init
@dataclass(frozen=True, slots=True)
class RiskCheckResult:
    """One pre-trade check: its value against its limit, so a person can see exactly why."""

    name: str
    outcome: CheckOutcome
    value: float | None = None
    limit: float | None = None
    message: str = ""
    suggested_quantity: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is not CheckOutcome.FAIL


@fast_init
@dataclass(frozen=True, slots=True)
class RiskDecision:
    proposal_id: str
    approved: bool
    approved_quantity: int
    checks: tuple[RiskCheckResult, ...]
    decided_at: datetime
    reason: str = ""

    @property
    def failed_checks(self) -> tuple[RiskCheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)


class ProposalState(StrEnum):
    PENDING_RISK = "pending_risk"
    DENIED = "denied"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # by a person
    EXPIRED = "expired"
    SUBMITTED = "submitted"
