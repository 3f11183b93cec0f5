"""Trade proposals with their state, and risk decisions with every check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from engine.domain.proposals import (
    CheckOutcome,
    ProposalState,
    RiskCheckResult,
    RiskDecision,
    TradeProposal,
)
from engine.store.base import StoreBase
from engine.store.check_codec import decode_checks, encode_checks
from engine.store.codec import dumps, format_ts, from_jsonable, parse_ts
from engine.store.records import ProposalRecord
from engine.store.rows import Row, json_object

_SAVE_PROPOSAL = (
    "INSERT INTO proposals (proposal_id, strategy, created_at, state, updated_at, note, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (proposal_id) DO UPDATE SET "
    "strategy = excluded.strategy, state = excluded.state, "
    "updated_at = excluded.updated_at, note = excluded.note, data = excluded.data"
)


class ProposalStore(StoreBase):
    """Proposals and risk decisions."""

    # ------------------------------------------------------------------ proposals and decisions

    async def save_proposal(
        self,
        proposal: TradeProposal,
        state: ProposalState = ProposalState.PENDING_RISK,
        *,
        at: datetime | None = None,
        note: str = "",
    ) -> None:
        """Insert or replace a proposal (an edited one keeps its id) with its state."""
        updated = format_ts(at or proposal.created_at, field="at")
        await self._write(
            _SAVE_PROPOSAL,
            (
                proposal.proposal_id,
                proposal.strategy,
                format_ts(proposal.created_at, field="created_at"),
                state._value_,  # the Enum property is a Python call per row
                updated,
                note,
                dumps(proposal),
            ),
        )

    async def set_proposal_state(
        self, proposal_id: str, state: ProposalState, at: datetime, *, note: str = ""
    ) -> bool:
        """Returns False when no such proposal is stored."""
        cur = await self._write(
            "UPDATE proposals SET state = ?, updated_at = ?, note = ? WHERE proposal_id = ?",
            (state._value_, format_ts(at, field="at"), note, proposal_id),
        )
        return cur.rowcount > 0

    async def load_proposal(self, proposal_id: str) -> ProposalRecord | None:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT data, state, updated_at, note FROM proposals WHERE proposal_id = ?",
                (proposal_id,),
            )
        return self._proposal_record(rows[0]) if rows else None

    async def load_proposals(
        self, states: Iterable[ProposalState] | None = None, *, strategy: str | None = None
    ) -> list[ProposalRecord]:
        """Proposals, oldest first, optionally only in `states` / of one `strategy`."""
        clauses: list[str] = []
        params: list[object] = []
        if states is not None:
            wanted = [ProposalState(s).value for s in states]
            if not wanted:
                return []
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if strategy is not None:
            clauses.append("strategy = ?")
            params.append(strategy)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                f"SELECT data, state, updated_at, note FROM proposals {where} "  # noqa: S608
                "ORDER BY created_at, proposal_id",
                params,
            )
        return [self._proposal_record(r) for r in rows]

    @staticmethod
    def _proposal_record(row: Row) -> ProposalRecord:
        data, state, updated, note = row
        return ProposalRecord(
            from_jsonable(TradeProposal, json_object(data, field="proposals.data")),
            ProposalState(state),
            parse_ts(updated, field="proposals.updated_at"),
            note,
        )

    async def record_risk_decision(self, decision: RiskDecision) -> int:
        """Store a decision with every check (name, outcome, value, limit, message) in order.

        Check values read back as REAL columns would give them: a NaN value as None (see
        `check_codec`)."""
        decided = format_ts(decision.decided_at, field="decided_at")
        cur = await self._write(
            "INSERT INTO risk_decisions (proposal_id, approved, approved_quantity, decided_at, "
            "reason, checks) VALUES (?, ?, ?, ?, ?, ?)",
            (
                decision.proposal_id,
                int(decision.approved),
                decision.approved_quantity,
                decided,
                decision.reason,
                encode_checks(decision.checks),
            ),
        )
        decision_id = cur.lastrowid
        assert decision_id is not None
        return decision_id

    async def load_risk_decisions(self, proposal_id: str) -> list[RiskDecision]:
        """Every decision taken on a proposal, oldest first."""
        async with self._read(snapshot=True) as conn:
            heads = await self._rows(
                conn,
                "SELECT id, approved, approved_quantity, decided_at, reason, checks "
                "FROM risk_decisions WHERE proposal_id = ? ORDER BY id",
                (proposal_id,),
            )
            by_decision: dict[int, list[RiskCheckResult]] = {}
            if any(h[5] is None for h in heads):
                # Decisions stored before schema v2 keep their checks as rows.
                checks = await self._rows(
                    conn,
                    "SELECT c.decision_id, c.name, c.outcome, c.value, c.limit_value, c.message, "
                    "c.suggested_quantity FROM risk_checks AS c JOIN risk_decisions AS d "
                    "ON d.id = c.decision_id WHERE d.proposal_id = ? "
                    "ORDER BY c.decision_id, c.seq",
                    (proposal_id,),
                )
                for did, name, outcome, value, limit, message, suggested in checks:
                    by_decision.setdefault(did, []).append(
                        RiskCheckResult(
                            name, CheckOutcome(outcome), value, limit, message, suggested
                        )
                    )
        return [
            RiskDecision(
                proposal_id,
                bool(approved),
                int(qty),
                decode_checks(blob) if blob is not None else tuple(by_decision.get(did, ())),
                parse_ts(decided, field="risk_decisions.decided_at"),
                reason,
            )
            for did, approved, qty, decided, reason, blob in heads
        ]
