"""`fewer_collections`: CPython's cyclic collector paced for a replay.

A replay allocates millions of short-lived objects (bars, quotes, proposals, check results,
rows) and few reference cycles. With the default gen-0 threshold (700 allocations) the
collector ran every few hundred allocations and, counting the older generations it drags in,
took 5-10% of a daily backtest's CPU (measured with `gc.callbacks`). During a run the gen-0
threshold is raised to `REPLAY_GEN0_THRESHOLD`; garbage is still collected, only in larger
batches, so nothing a run computes can depend on it.

The threshold is process-wide: runs that overlap (threads) share one saved setting, restored
when the last one ends. Objects are not frozen: a desk in the same process freezes its own
(wsb_tui.app), and unfreezing at the end would undo that.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REPLAY_GEN0_THRESHOLD = 20_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the gen-0 threshold (never lower it) for the block; restore it afterwards."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            gen0, gen1, gen2 = gc.get_threshold()
            _saved = (gen0, gen1, gen2)
            gc.set_threshold(max(gen0, REPLAY_GEN0_THRESHOLD), gen1, gen2)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
