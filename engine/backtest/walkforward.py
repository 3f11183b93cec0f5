"""Walk-forward splits: in-sample windows to choose parameters, the following out-of-sample
window to see whether the choice holds."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Split:
    """One fold: parameters are fitted on [is_start, is_end] and judged on [oos_start, oos_end]
    (the out-of-sample window starts the session after the in-sample one ends)."""

    index: int
    is_start: date
    is_end: date
    oos_start: date
    oos_end: date

    def describe(self) -> str:
        return f"IS {self.is_start}..{self.is_end} | OOS {self.oos_start}..{self.oos_end}"


def walk_forward_splits(
    sessions: Sequence[date],
    *,
    train: int,
    test: int,
    step: int | None = None,
    anchored: bool = False,
) -> list[Split]:
    """Folds over `sessions` (ascending): `train` sessions in sample, the next `test` out of
    sample, moving forward by `step` (default `test`). `anchored` keeps every in-sample window
    starting at the first session (expanding) instead of rolling."""
    if train < 2:
        raise ValueError(f"train={train} must be >= 2 sessions")
    if test < 1:
        raise ValueError(f"test={test} must be >= 1 session")
    step = test if step is None else step
    if step < 1:
        raise ValueError(f"step={step} must be >= 1 session")
    days = list(sessions)
    if any(b <= a for a, b in itertools.pairwise(days)):
        raise ValueError("sessions must be strictly ascending")
    if len(days) < train + test:
        raise ValueError(
            f"{len(days)} sessions cannot hold train={train} + test={test}; "
            "widen the date range or shorten the windows"
        )
    out: list[Split] = []
    first = 0
    while first + train + test <= len(days):
        lo = 0 if anchored else first
        is_end = first + train - 1
        out.append(
            Split(
                index=len(out),
                is_start=days[lo],
                is_end=days[is_end],
                oos_start=days[is_end + 1],
                oos_end=days[is_end + test],
            )
        )
        first += step
    return out
