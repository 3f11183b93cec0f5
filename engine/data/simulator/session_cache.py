"""`SessionLRU`: a least-recently-used cache whose entries each belong to one session.

The simulator builds minute paths and bar lists per (symbol, session) on demand. Keeping
them all turned a long run into a slow leak (about 2 MB per simulated session); a plain
count cap large enough for the strategies' lookbacks still let memory climb for weeks
before the cap bit. Here every entry carries the index of the session it belongs to, so
the owner drops whole sessions once they fall out of the window it needs
(`drop_before`), and a count cap (`max_entries`) bounds any other access pattern.

Every value must be a pure function of its key (regenerated from the seed on a miss), so
eviction never changes what a caller sees.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class SessionLRU(Generic[K, V]):
    """LRU map of key -> value tagged with a session index (see the module docstring)."""

    __slots__ = ("_by_session", "_entries", "max_entries")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries={max_entries} must be >= 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[int, V]] = OrderedDict()
        # session -> its keys, so dropping old sessions touches only what it drops (a scan of
        # every entry, once per session, was a measurable part of a long replay)
        self._by_session: dict[int, set[K]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is cached (without marking it used)."""
        return key in self._entries

    def get(self, key: K) -> V | None:
        """The cached value (marked most recently used), or None."""
        hit = self._entries.get(key)
        if hit is None:
            return None
        self._entries.move_to_end(key)
        return hit[1]

    def put(self, key: K, session: int, value: V) -> None:
        """Store `value` for `key` as belonging to `session`; evict the least recently used
        entries beyond `max_entries`."""
        old = self._entries.get(key)
        if old is not None and old[0] != session:
            self._forget(key, old[0])
        self._entries[key] = (session, value)
        self._entries.move_to_end(key)
        self._by_session.setdefault(session, set()).add(key)
        while len(self._entries) > self.max_entries:
            k, (s, _) = self._entries.popitem(last=False)
            self._forget(k, s)

    def _forget(self, key: K, session: int) -> None:
        keys = self._by_session.get(session)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_session[session]

    def drop_before(self, session: int) -> int:
        """Drop every entry of a session before `session`; return how many were dropped."""
        dropped = 0
        for s in [s for s in self._by_session if s < session]:
            for k in self._by_session.pop(s):
                del self._entries[k]
                dropped += 1
        return dropped

    def sessions(self) -> set[int]:
        """The sessions that have entries (for tests and diagnostics)."""
        return set(self._by_session)

    def clear(self) -> None:
        self._entries.clear()
        self._by_session.clear()
