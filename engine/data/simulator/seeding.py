"""Stable seeds derived from the market seed and names (hashlib, never Python's salted hash()).

Per-symbol streams make a symbol's path independent of which other symbols are simulated, and
per-(symbol, session) streams let intraday bars be generated lazily in any order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derived_seed(seed: int, *parts: object) -> int:
    text = ":".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def derived_rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(derived_seed(seed, *parts)))
