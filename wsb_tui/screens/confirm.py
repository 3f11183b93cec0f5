"""The trade confirmation modal: everything needed to decide, then y / n / e / Esc.

It never talks to the engine itself: it dismisses with a `ConfirmOutcome` and the app sends
the command, so the same flow serves the embedded and the remote engine. In LIVE mode a
confirmation also needs the underlying's symbol typed, and a freshly opened modal ignores
y/n for a moment so a stray key cannot confirm a trade nobody has read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from engine.domain import CheckOutcome, OrderType, PositionEffect, Side
from engine.runtime.views import PendingProposal
from widgets.format import instrument_label, money, proposal_action
from widgets.keyed_table import CellSpec, Column, KeyedTable, cell, num
from widgets.styles import SignalStyles, signal_styles
from wsb_tui.bindings import bindings


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    proposal_id: str
    action: str  # confirm | reject | defer | gone
    quantity: int | None = None
    limit_price: Decimal | None = None
    note: str = ""


class EditError(ValueError):
    pass


def parse_edit(
    qty_text: str, limit_text: str, pending: PendingProposal
) -> tuple[int, Decimal | None]:
    """Validate the edit form; errors name the field, the value and what is allowed."""
    p = pending.proposal
    try:
        qty = int(qty_text.strip())
    except ValueError:
        raise EditError(
            f"quantity {qty_text!r} must be a whole number of contracts/shares"
        ) from None
    if qty <= 0:
        raise EditError(f"quantity {qty} must be at least 1")
    if p.order_type is OrderType.MARKET or p.limit_price is None:
        if limit_text.strip():
            raise EditError("this is a market order: the limit cannot be set here")
        return qty, None
    try:
        limit = Decimal(limit_text.strip())
    except InvalidOperation:
        raise EditError(
            f"limit {limit_text!r} must be a price like 4.80 (negative = credit)"
        ) from None
    if not limit.is_finite() or limit == 0:
        raise EditError(f"limit {limit_text!r} must be a non-zero price")
    if (limit < 0) != (p.limit_price < 0):
        kind = "a credit (negative)" if p.limit_price < 0 else "a debit (positive)"
        raise EditError(f"limit {limit} must stay {kind} like the proposal's {p.limit_price}")
    return qty, limit.quantize(Decimal("0.01"))


CHECK_COLUMNS = (
    Column("check", "check"),
    Column("outcome", "result"),
    Column("value", "value"),
    Column("limit", "limit"),
    Column("message", "note"),
)


def _fmt_check(v: float | None) -> str:
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) < 1:
        return f"{v:.4f}".rstrip("0").rstrip(".") if v else "0"
    return f"{v:,.2f}"


class ConfirmScreen(ModalScreen[ConfirmOutcome]):
    BINDINGS = bindings("confirm")

    def __init__(
        self,
        pending: PendingProposal,
        *,
        mode: str = "SIM",
        now: datetime | None = None,
        key_guard_seconds: float = 0.0,
        start_editing: bool = False,
    ) -> None:
        live = mode.upper() == "LIVE"
        super().__init__(classes="dialog -live" if live else "dialog")
        self.pending = pending
        self.live = live
        self.now = now
        self._guard_until = time.monotonic() + max(0.0, key_guard_seconds)
        self._start_editing = start_editing
        self.editing = False
        self._awaiting_symbol = False
        self._edited: tuple[int, Decimal | None] | None = None

    @property
    def proposal_id(self) -> str:
        return self.pending.proposal.proposal_id

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        p = self.pending.proposal
        with Vertical(id="confirm-box"):
            title = f"CONFIRM {'LIVE ' if self.live else ''}TRADE · {p.strategy}"
            yield Label(title, id="confirm-title")
            with VerticalScroll(id="confirm-body"):
                yield Static(id="confirm-summary")
                yield Static(id="confirm-terms")
                yield Static(id="confirm-reason")
                yield KeyedTable(CHECK_COLUMNS, id="confirm-checks", cursor_type="none")
            with Vertical(id="confirm-edit"):
                yield Label("edit: quantity and limit (risk re-checks before sending)")
                yield Input(id="edit-qty", placeholder="quantity", type="integer")
                yield Input(id="edit-limit", placeholder="limit (negative = credit)")
                yield Label("enter: send · esc: cancel edit", classes="hint")
            with Vertical(id="confirm-live"):
                yield Label(
                    f"LIVE: type {p.underlying} and press enter to confirm", id="live-prompt"
                )
                yield Input(id="live-symbol", placeholder=p.underlying)
            yield Label("", id="confirm-error")
            yield Label("y confirm · n reject · e edit · esc defer", id="confirm-keys")

    def on_mount(self) -> None:
        st = signal_styles(self.app)
        self._render_details(st)
        blink = bool(getattr(self.app, "cursor_blink", True))
        for inp in self.query(Input):
            inp.cursor_blink = blink
        self.query_one("#confirm-edit").display = False
        self.query_one("#confirm-live").display = False
        signal = getattr(self.app, "desk_changed", None)
        if signal is not None:
            signal.subscribe(self, self._on_desk)
        self.app.theme_changed_signal.subscribe(
            self, lambda _theme: self._render_details(signal_styles(self.app))
        )
        if self._start_editing:
            self.call_after_refresh(self.action_edit)

    def _render_details(self, st: SignalStyles) -> None:
        p = self.pending.proposal
        summary = Text()
        summary.append(proposal_action(p), style="bold")
        summary.append(
            f"   ({p.intent.value}, {p.order_type.value}, {p.time_in_force.value})", style=st.muted
        )
        for leg in p.legs:
            summary.append("\n  ")
            side_style = st.gain if leg.side is Side.BUY else st.loss
            summary.append(f"{leg.side.value.upper():<4}", style=f"bold {side_style}")
            summary.append(f" {p.quantity * leg.ratio:>4} × {instrument_label(leg.instrument)}")
            if leg.effect is PositionEffect.CLOSE:
                summary.append("  (close)", style=st.muted)
        self.query_one("#confirm-summary", Static).update(summary)
        self._render_terms(st)
        self._render_checks(st)

    def _render_terms(self, st: SignalStyles) -> None:
        pp = self.pending
        p, d = pp.proposal, pp.decision
        mult = max(leg.instrument.multiplier for leg in p.legs)
        qty = d.approved_quantity or p.quantity
        rows: list[tuple[str, str, str]] = []
        if p.limit_price is not None:
            kind = "credit" if p.limit_price < 0 else "debit"
            rows.append(("limit", f"{abs(p.limit_price):.2f} {kind}/unit", "bold"))
            cost = abs(p.limit_price) * qty * mult
            rows.append(("cost" if kind == "debit" else "credit", money(cost), "bold"))
        else:
            rows.append(("limit", "market", "bold"))
            rows.append(("cost", "at market", ""))
        qty_text = f"{qty}"
        if qty != p.quantity:
            qty_text += f" (asked {p.quantity})"
        rows.append(("quantity", qty_text, f"bold {st.warn}" if qty != p.quantity else "bold"))
        rows.append(
            (
                "max loss",
                money(p.max_loss) if p.max_loss is not None else "UNBOUNDED",
                f"bold {st.loss}",
            )
        )
        rows.append(
            (
                "max profit",
                money(p.max_profit) if p.max_profit is not None else "unbounded",
                st.gain,
            )
        )
        rows.append(("breakevens", ", ".join(f"{b:,.2f}" for b in p.breakevens) or "—", ""))
        if pp.expires_at is not None and self.now is not None:
            left = (pp.expires_at - self.now).total_seconds()
            rows.append(("expires in", f"{max(0.0, left):,.0f}s", st.warn if left < 60 else ""))
        rows.append(("confidence", f"{p.confidence:.0%}", ""))
        terms = Text()
        # Two columns of terms: the whole decision fits an 80 x 24 terminal.
        for i, (label, value, style) in enumerate(rows):
            if i % 2:
                terms.append("   ")
            elif i:
                terms.append("\n")
            terms.append(f"{label:<11}", style=st.muted)
            terms.append(f"{value:<22}" if i % 2 == 0 else value, style=style)
        self.query_one("#confirm-terms", Static).update(terms)

    def _render_checks(self, st: SignalStyles) -> None:
        p, d = self.pending.proposal, self.pending.decision
        table = self.query_one("#confirm-checks", KeyedTable)
        check_rows: list[tuple[str, list[CellSpec]]] = []
        for i, c in enumerate(d.checks):
            style = {CheckOutcome.PASS: st.gain, CheckOutcome.WARN: st.warn}.get(
                c.outcome, f"bold {st.loss}"
            )
            check_rows.append(
                (
                    f"{i}:{c.name}",
                    [
                        cell(c.name),
                        cell(c.outcome.value.upper(), style),
                        num(_fmt_check(c.value), c.value),
                        num(_fmt_check(c.limit), c.limit, st.muted),
                        cell(c.message, st.muted),
                    ],
                )
            )
        table.sync(check_rows)
        table.border_title = f"risk checks ({len(d.checks)}){'' if d.approved else ' — DENIED'}"

        reason = Text()
        reason.append("why: ", style=st.muted)
        reason.append(p.reason)
        if d.reason:
            reason.append("\nrisk: ", style=st.muted)
            reason.append(d.reason)
        self.query_one("#confirm-reason", Static).update(reason)

    # ------------------------------------------------------------------ guards
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a field has focus, letters belong to the field, never to y/n/e.
        return not (action in ("confirm", "reject", "edit") and isinstance(self.focused, Input))

    def _armed(self) -> bool:
        if time.monotonic() < self._guard_until:
            self.app.bell()
            self._show_error("keys armed in a moment: read the proposal first")
            return False
        return True

    def _show_error(self, message: str) -> None:
        self.query_one("#confirm-error", Label).update(message)

    # ------------------------------------------------------------------ actions
    def action_confirm(self) -> None:
        if not self._armed():
            return
        if self.live:
            self._ask_symbol()
            return
        self._finish("confirm")

    def action_reject(self) -> None:
        if not self._armed():
            return
        self._finish("reject", note="rejected at the desk")

    def action_edit(self) -> None:
        p = self.pending.proposal
        self.editing = True
        box = self.query_one("#confirm-edit")
        box.display = True
        qty = self.query_one("#edit-qty", Input)
        limit = self.query_one("#edit-limit", Input)
        qty.value = str(self.pending.decision.approved_quantity or p.quantity)
        limit.value = "" if p.limit_price is None else f"{p.limit_price:.2f}"
        limit.disabled = p.limit_price is None
        qty.focus()

    def action_defer(self) -> None:
        if self._awaiting_symbol:
            self._awaiting_symbol = False
            self.query_one("#confirm-live").display = False
            self.set_focus(None)
            return
        if self.editing:
            self.editing = False
            self._edited = None
            self.query_one("#confirm-edit").display = False
            self._show_error("")
            self.set_focus(None)
            return
        self.dismiss(ConfirmOutcome(self.proposal_id, "defer"))

    def _ask_symbol(self) -> None:
        self._awaiting_symbol = True
        self.query_one("#confirm-live").display = True
        self.query_one("#live-symbol", Input).focus()

    @on(Input.Submitted, "#edit-qty, #edit-limit")
    def _edit_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            qty, limit = parse_edit(
                self.query_one("#edit-qty", Input).value,
                self.query_one("#edit-limit", Input).value,
                self.pending,
            )
        except EditError as exc:
            self._show_error(str(exc))
            return
        self._edited = (qty, limit)
        if self.live:
            self._ask_symbol()
            return
        self._finish("confirm")

    @on(Input.Submitted, "#live-symbol")
    def _symbol_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        want = self.pending.proposal.underlying
        if event.value.strip().upper() != want:
            self._show_error(
                f"typed {event.value.strip()!r}: type {want} exactly to confirm a LIVE trade"
            )
            return
        self._finish("confirm")

    def _finish(self, action: str, note: str = "") -> None:
        qty, limit = self._edited if self._edited is not None else (None, None)
        if self._edited is not None:
            p = self.pending.proposal
            # Send only what the person changed; unchanged values let the engine keep its own.
            if qty == (self.pending.decision.approved_quantity or p.quantity):
                qty = None
            if limit is not None and p.limit_price is not None and limit == p.limit_price:
                limit = None
        self.dismiss(ConfirmOutcome(self.proposal_id, action, qty, limit, note))

    # ------------------------------------------------------------------ engine
    def _on_desk(self, change: object) -> None:
        gone = getattr(change, "gone_pending", {})
        if self.proposal_id in gone and self.is_current:
            self.dismiss(ConfirmOutcome(self.proposal_id, "gone", note=gone[self.proposal_id]))
            return
        # The countdown follows the engine's clock (a simulated minute can pass in a second).
        desk = getattr(self.app, "desk", None)
        now = getattr(desk, "now", None)
        if now is not None and now != self.now and self.pending.expires_at is not None:
            self.now = now
            self._render_terms(signal_styles(self.app))
