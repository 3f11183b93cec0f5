"""`minute_closes`: the minute closes of `intraday.minute_path`, without the rest of the path.

A quote inside a session needs one minute close of its name (a fill, a mark, an option's
underlying). `minute_path` also builds the volumes (a sort), opens, highs and lows, which
nothing reads there. Both run `intraday.session_closes` for the draws and the
price path, so the closes are the same floats by construction
(tests/engine/data/test_minute_close.py compares them too).
"""

from __future__ import annotations

import numpy as np

from engine.data.simulator.intraday import SessionDraws, session_closes


def minute_closes(
    o: float, h: float, low: float, c: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """`minute_path(o, h, low, c, volume, n, rng).close` (the volume does not move prices)."""
    return session_draws(o, h, low, c, n, rng).closes


def session_draws(
    o: float, h: float, low: float, c: float, n: int, rng: np.random.Generator
) -> SessionDraws:
    """`session_closes`: the draws and closes `minute_path` starts from (pass them to it to
    build the rest of the path without drawing again)."""
    return session_closes(o, h, low, c, n, rng)
