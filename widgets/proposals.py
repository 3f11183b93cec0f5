"""The queue of proposals waiting for a person, oldest first.

Enter (or a click) on a row asks for review through `ProposalsQueue.ReviewRequested`; the
screen owning the queue decides what review means (the confirmation modal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual.message import Message

from engine.runtime.views import PendingProposal
from widgets.format import money, proposal_action
from widgets.keyed_table import Column, KeyedTable, cell, num

COLUMNS = (
    Column("strategy", "strategy"),
    Column("action", "action"),
    Column("risk", "max loss"),
    Column("expires", "expires"),
)


def seconds_left(p: PendingProposal, now: datetime | None) -> float | None:
    if p.expires_at is None or now is None:
        return None
    return (p.expires_at - now).total_seconds()


class ProposalsQueue(KeyedTable):
    class ReviewRequested(Message):
        def __init__(self, proposal_id: str) -> None:
            super().__init__()
            self.proposal_id = proposal_id

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)
        self.pending_ids: list[str] = []

    def show(self, pending: Sequence[PendingProposal], now: datetime | None) -> None:
        st = self.theme_styles
        self._replay = lambda: self.show(pending, now)
        ordered = sorted(pending, key=lambda p: (p.proposal.created_at, p.proposal.proposal_id))
        rows = []
        for pp in ordered:
            p = pp.proposal
            left = seconds_left(pp, now)
            exp = "—" if left is None else ("expired" if left <= 0 else f"{left:,.0f}s")
            exp_style = st.loss if left is not None and left < 30 else st.muted
            risk = money(p.max_loss, cents=False) if p.max_loss is not None else "unbounded"
            rows.append(
                (
                    p.proposal_id,
                    [
                        cell(p.strategy, "bold"),
                        cell(proposal_action(p)),
                        num(risk, float(p.max_loss) if p.max_loss is not None else None, st.warn),
                        num(exp, left, exp_style),
                    ],
                )
            )
        self.sync(rows)
        self.pending_ids = [p.proposal.proposal_id for p in ordered]

    @property
    def selected_id(self) -> str | None:
        return self.cursor_key()

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ReviewRequested(str(event.row_key.value)))
