"""A manual ticket built on the option-chain screen, turned into a `TradeProposal` that goes
through risk and confirmation exactly like a strategy's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from engine.domain import (
    OptionQuote,
    OptionRight,
    OrderLeg,
    OrderType,
    ProposalIntent,
    Side,
    TradeProposal,
    make_proposal_id,
)
from widgets.format import instrument_label

MANUAL_STRATEGY = "manual"
MAX_LEGS = 4
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class TicketLeg:
    quote: OptionQuote
    side: Side

    def label(self) -> str:
        sign = "+" if self.side is Side.BUY else "-"
        return f"{sign}{instrument_label(self.quote.contract)} @{self.quote.mid:.2f}"


def net_mid(legs: Sequence[TicketLeg]) -> Decimal:
    """Per-unit net price at mid: positive = debit, negative = credit."""
    total = sum((leg.side.sign * leg.quote.mid for leg in legs), 0.0)
    return Decimal(str(total)).quantize(CENT, rounding=ROUND_HALF_UP)


def _risk_bounds(
    legs: Sequence[TicketLeg], qty: int, limit: Decimal
) -> tuple[Decimal | None, Decimal | None, tuple[float, ...]]:
    mult = Decimal(legs[0].quote.contract.multiplier)
    q = Decimal(qty)
    if len(legs) == 1:
        leg = legs[0]
        k = leg.quote.contract.strike
        prem = abs(limit)
        is_call = leg.quote.contract.right is OptionRight.CALL
        be = float(k + prem) if is_call else float(k - prem)
        if leg.side is Side.BUY:
            max_profit = None if is_call else (k - prem) * mult * q
            return prem * mult * q, max_profit, (be,)
        # Short: the premium is the most it can make; a short call's loss has no bound.
        max_loss = None if is_call else (k - prem) * mult * q
        return max_loss, prem * mult * q, (be,)
    if len(legs) == 2:
        a, b = legs
        ca, cb = a.quote.contract, b.quote.contract
        if ca.right is cb.right and ca.expiry == cb.expiry and a.side is not b.side:
            width = abs(ca.strike - cb.strike)
            long_leg = a if a.side is Side.BUY else b
            if limit > 0:  # debit spread
                max_loss, max_profit = limit * mult * q, (width - limit) * mult * q
            else:
                credit = -limit
                max_loss, max_profit = (width - credit) * mult * q, credit * mult * q
            k = long_leg.quote.contract.strike
            if ca.right is OptionRight.CALL:
                be = float(min(ca.strike, cb.strike) + abs(limit))
            else:
                be = float(max(ca.strike, cb.strike) - abs(limit))
            del k
            return max_loss, max_profit, (be,)
    if limit > 0 and all(leg.side is Side.BUY for leg in legs):
        return limit * mult * q, None, ()
    return None, None, ()


def build_manual_proposal(
    legs: Sequence[TicketLeg], quantity: int, limit: Decimal, now: datetime
) -> TradeProposal:
    if not legs:
        raise ValueError("a ticket needs at least one leg (b or s on a contract)")
    if len(legs) > MAX_LEGS:
        raise ValueError(f"a ticket holds at most {MAX_LEGS} legs, got {len(legs)}")
    if quantity <= 0:
        raise ValueError(f"quantity {quantity} must be at least 1")
    max_loss, max_profit, breakevens = _risk_bounds(legs, quantity, limit)
    key = "|".join(f"{leg.side.value}:{leg.quote.contract.symbol}" for leg in legs)
    return TradeProposal(
        proposal_id=make_proposal_id(MANUAL_STRATEGY, now, f"{key}|{quantity}|{limit}"),
        strategy=MANUAL_STRATEGY,
        created_at=now,
        intent=ProposalIntent.OPEN,
        legs=tuple(OrderLeg(leg.quote.contract, leg.side) for leg in legs),
        quantity=quantity,
        reason="manual ticket from the option chain screen",
        order_type=OrderType.LIMIT,
        limit_price=limit,
        max_loss=max_loss,
        max_profit=max_profit,
        breakevens=breakevens,
    )


@dataclass(frozen=True, slots=True)
class TicketValues:
    quantity: int
    limit: Decimal


class TicketDialog(ModalScreen[TicketValues | None]):
    """Quantity and limit for the ticket; Enter sends it as a proposal, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, legs: Sequence[TicketLeg]) -> None:
        super().__init__(classes="dialog")
        self.legs = tuple(legs)

    def compose(self) -> ComposeResult:
        mid = net_mid(self.legs)
        with Vertical(id="dialog-box"):
            yield Label("NEW PROPOSAL (manual)", id="dialog-title")
            yield Static("\n".join(leg.label() for leg in self.legs), id="dialog-message")
            yield Label(
                f"net mid {abs(mid):.2f} {'credit' if mid < 0 else 'debit'} — limit: negative = credit"
            )
            yield Input(value="1", id="ticket-qty", type="integer", placeholder="quantity")
            yield Input(value=f"{mid:.2f}", id="ticket-limit", placeholder="limit")
            yield Label("", id="dialog-error")
            yield Label("enter: send to risk & confirmation · esc: cancel", classes="hint")

    def on_mount(self) -> None:
        blink = bool(getattr(self.app, "cursor_blink", True))
        for inp in self.query(Input):
            inp.cursor_blink = blink
        self.query_one("#ticket-qty", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        qty_text = self.query_one("#ticket-qty", Input).value.strip()
        limit_text = self.query_one("#ticket-limit", Input).value.strip()
        error = self.query_one("#dialog-error", Label)
        try:
            qty = int(qty_text)
        except ValueError:
            error.update(f"quantity {qty_text!r} must be a whole number ≥ 1")
            return
        if qty <= 0:
            error.update(f"quantity {qty} must be at least 1")
            return
        try:
            limit = Decimal(limit_text).quantize(CENT)
        except InvalidOperation:
            error.update(f"limit {limit_text!r} must be a price like 1.25 (negative = credit)")
            return
        if limit == 0:
            error.update("limit 0 is not a price: use the net debit (+) or credit (-)")
            return
        self.dismiss(TicketValues(qty, limit))

    def action_cancel(self) -> None:
        self.dismiss(None)
