"""What the store hands back: stored rows as frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from engine.domain.events import EngineEvent
from engine.domain.orders import Fill
from engine.domain.portfolio import Portfolio, Position
from engine.domain.proposals import ProposalState, TradeProposal
from engine.store.codec import JSONObject, event_from_json

# Fills with no strategy (manual trades, broker-side assignments) are attributed here, so
# the per-strategy positions of a symbol always add up to the account's position.
UNATTRIBUTED = "unattributed"

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class AccountState:
    """The paper account's ledger row."""

    cash: Decimal
    reserved_collateral: Decimal
    updated_at: datetime

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_collateral


@dataclass(frozen=True, slots=True)
class FillRecord:
    """A fill as committed, with the positions and cash it produced (publish these)."""

    seq: int
    fill: Fill
    position: Position
    strategy: str
    strategy_position: Position
    cash: Decimal
    reserved_collateral: Decimal


@dataclass(frozen=True, slots=True)
class EquitySnapshot:
    """A point of the equity curve. Valuations come from float marks, so they are kept to
    the cent; cash and collateral are the ledger's exact values."""

    ts: datetime
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    reserved_collateral: Decimal
    positions_value: Decimal
    day_pnl: Decimal | None = None

    @classmethod
    def from_portfolio(cls, portfolio: Portfolio) -> EquitySnapshot:
        day = portfolio.day_pnl
        return cls(
            ts=portfolio.ts,
            cash=portfolio.cash,
            equity=_cents(portfolio.equity),
            buying_power=portfolio.buying_power,
            reserved_collateral=portfolio.reserved_collateral,
            positions_value=_cents(portfolio.positions_value),
            day_pnl=None if day is None else _cents(day),
        )


def _cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_CENT, ROUND_HALF_EVEN)  # positional: ~7.5k calls


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    proposal: TradeProposal
    state: ProposalState
    updated_at: datetime
    note: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One row of the event log; `payload` is `event_to_json(event)` (it includes ``kind``)."""

    id: int
    ts: datetime
    kind: str
    payload: JSONObject

    def decode(self) -> EngineEvent:
        return event_from_json(self.payload)


@dataclass(frozen=True, slots=True)
class StrategyStateRecord:
    strategy: str
    status: str
    profile: str | None
    state: JSONObject
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """An audited remote-control command: who sent what, when, and what came of it."""

    id: int
    ts: datetime
    client_id: str
    role: str | None
    command: str
    args: JSONObject
    result: str
    detail: str
    completed_at: datetime | None


@dataclass(frozen=True, slots=True)
class RiskSnapshotRecord:
    ts: datetime
    var: float | None
    cvar: float | None
    lvar: float | None
    details: JSONObject


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One way the stored ledger disagrees with itself (found by `Store.verify_ledger`)."""

    kind: str  # position | strategy_position | attribution | cash | ledger
    key: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: expected {self.expected}, stored {self.actual}"
