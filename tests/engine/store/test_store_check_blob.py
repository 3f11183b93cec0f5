"""Risk checks stored as one array per decision (schema v2) load back exactly as v1 rows did."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from engine.domain.proposals import CheckOutcome, RiskCheckResult, RiskDecision
from engine.store import Store
from engine.store.schema import MIGRATIONS, migrate

AT = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)

# Every conversion a v1 column applied: REAL widens ints, drops NaN, keeps inf, folds -0.0;
# INTEGER narrows whole floats and bools.
TRICKY = (
    RiskCheckResult("a", CheckOutcome.PASS, 4, 60, "ints", None),
    RiskCheckResult("b", CheckOutcome.FAIL, 1858.02, 992742.14, "needs $1,858", 3),
    RiskCheckResult("c", CheckOutcome.WARN, float("nan"), None, "nan value", None),
    RiskCheckResult("d", CheckOutcome.PASS, float("inf"), -0.0, "inf and -0", None),
    RiskCheckResult("e", CheckOutcome.FAIL, 0.1 + 0.2, 1e-300, "é unicode ✓", 7.0),  # type: ignore[arg-type]
    RiskCheckResult("f", CheckOutcome.PASS, None, None, "", True),  # type: ignore[arg-type]
)


def _decision(pid: str, checks: tuple[RiskCheckResult, ...] = TRICKY) -> RiskDecision:
    return RiskDecision(pid, False, 0, checks, AT, "denied")


async def _store_v1_rows(path: Path, decision: RiskDecision) -> None:
    """Write a decision the way schema v1 did: one risk_checks row per check."""
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        cur = await conn.execute(
            "INSERT INTO risk_decisions (proposal_id, approved, approved_quantity, decided_at, "
            "reason) VALUES (?, ?, ?, ?, ?)",
            (decision.proposal_id, 0, 0, "2026-01-05T15:30:00.000000Z", decision.reason),
        )
        did = cur.lastrowid
        await conn.executemany(
            "INSERT INTO risk_checks (decision_id, seq, name, outcome, value, limit_value, "
            "message, suggested_quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (did, i, c.name, c.outcome.value, c.value, c.limit, c.message, c.suggested_quantity)
                for i, c in enumerate(decision.checks)
            ],
        )


def _same(a: tuple[RiskCheckResult, ...], b: tuple[RiskCheckResult, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert repr(x) == repr(y)  # repr: types too (4.0 vs 4, 7 vs 7.0)
        for v in (x.value, x.limit):
            assert v is None or not math.isnan(v)


async def test_checks_when_stored_as_array_then_load_identical_to_v1_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    async with await Store.open(path) as store:
        await store.record_risk_decision(_decision("blob"))
    await _store_v1_rows(path, _decision("rows"))
    async with await Store.open(path) as store:
        [blob] = await store.load_risk_decisions("blob")
        [rows] = await store.load_risk_decisions("rows")
    _same(blob.checks, rows.checks)
    assert blob.checks[0].value == 4.0
    assert isinstance(blob.checks[0].value, float)
    assert blob.checks[2].value is None  # NaN reads back as None, as a REAL column gives it
    assert blob.checks[3].value == math.inf
    assert blob.checks[4].suggested_quantity == 7
    assert blob.checks[5].suggested_quantity == 1
    assert [c.name for c in blob.checks] == ["a", "b", "c", "d", "e", "f"]


async def test_checks_when_v1_database_migrated_then_old_rows_and_new_arrays_both_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.sqlite"
    path.touch()
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        assert await migrate(conn, path, MIGRATIONS[:1]) == 1
    old = _decision("p", TRICKY[:2])
    await _store_v1_rows(path, old)
    async with await Store.open(path) as store:  # migrates to the latest version
        assert store.schema_version == MIGRATIONS[-1].version
        await store.record_risk_decision(_decision("p", TRICKY[2:]))
        first, second = await store.load_risk_decisions("p")
    assert [c.name for c in first.checks] == ["a", "b"]
    assert [c.name for c in second.checks] == ["c", "d", "e", "f"]
    assert first.checks[0].value == 4.0
    assert second.checks[0].value is None


async def test_checks_when_decision_has_none_then_empty_tuple(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "e.sqlite") as store:
        await store.record_risk_decision(_decision("p", ()))
        [d] = await store.load_risk_decisions("p")
    assert d.checks == ()
