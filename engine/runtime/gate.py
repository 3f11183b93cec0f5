"""The confirmation gate between an approved proposal and the broker.

`auto`: approved proposals go straight to the broker. `confirm`: they wait for a person's
yes/no (from the TUI or an attached client) and expire after a configurable time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from engine.domain import RiskDecision, TradeProposal


class GateMode(StrEnum):
    AUTO = "auto"
    CONFIRM = "confirm"


@dataclass(frozen=True, slots=True)
class Waiting:
    proposal: TradeProposal
    decision: RiskDecision
    expires_at: datetime


class GateError(LookupError):
    pass


class ConfirmationGate:
    def __init__(self, mode: GateMode, timeout: timedelta) -> None:
        self.mode = mode
        self.timeout = timeout
        self._waiting: dict[str, Waiting] = {}

    def admit(self, proposal: TradeProposal, decision: RiskDecision, now: datetime) -> bool:
        """True when the proposal may go to the broker now; False when it must wait."""
        if self.mode is GateMode.AUTO:
            return True
        expires = now + self.timeout
        if proposal.expires_at is not None:
            expires = min(expires, proposal.expires_at) if proposal.expires_at > now else expires
        self._waiting[proposal.proposal_id] = Waiting(proposal, decision, expires)
        return False

    def waiting(self) -> tuple[Waiting, ...]:
        return tuple(sorted(self._waiting.values(), key=lambda w: w.proposal.created_at))

    def get(self, proposal_id: str) -> Waiting:
        try:
            return self._waiting[proposal_id]
        except KeyError:
            raise GateError(f"proposal {proposal_id} is not waiting for confirmation") from None

    def take(
        self,
        proposal_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        now: datetime | None = None,
    ) -> tuple[TradeProposal, bool]:
        """Remove a waiting proposal for confirmation. Returns the (possibly edited) proposal
        and whether it was edited (an edited proposal must be re-checked by risk).

        With `now`, a proposal past its deadline is refused even if no tick has swept it yet
        (a wall-paced clock has no ticks between the close and the next open)."""
        w = self.get(proposal_id)
        if now is not None and w.expires_at <= now:
            raise GateError(f"proposal {proposal_id} expired at {w.expires_at.isoformat()}")
        del self._waiting[proposal_id]
        edited = False
        p = w.proposal
        if quantity is not None and quantity != p.quantity:
            if quantity <= 0:
                self._waiting[proposal_id] = w
                raise ValueError(f"quantity {quantity} must be a positive whole number")
            p = replace(p, quantity=quantity)
            edited = True
        if limit_price is not None and limit_price != p.limit_price:
            p = replace(p, limit_price=limit_price)
            edited = True
        return p, edited

    def drop(self, proposal_id: str) -> Waiting:
        w = self.get(proposal_id)
        del self._waiting[proposal_id]
        return w

    def expire(self, now: datetime) -> list[Waiting]:
        gone = [w for w in self._waiting.values() if w.expires_at <= now]
        for w in gone:
            del self._waiting[w.proposal.proposal_id]
        return gone

    def restore(self, items: list[Waiting]) -> None:
        for w in items:
            self._waiting[w.proposal.proposal_id] = w
