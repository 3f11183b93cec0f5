"""`Store`: the engine's SQLite database (aiosqlite, WAL), one file per account profile.

Durability. The file runs in WAL mode with ``synchronous=NORMAL`` by default. A commit
appends the transaction to the WAL with ``write()`` before COMMIT returns, and the WAL is
fsynced at checkpoints. So a committed fill survives the process dying in any way, SIGKILL
included: the bytes are in the operating system's page cache and SQLite replays the WAL on
the next open. Only an OS crash or power loss can drop the last few commits (never corrupt
the file). That is enough here because the broker is the ledger of record for real accounts
and the engine reconciles against it at start; pass ``synchronous="FULL"`` to fsync every
commit when power-loss durability of the local copy matters more than fill latency.

The class is assembled from one part per group of tables (all share `StoreBase`'s
connection, lock and transactions).
"""

from __future__ import annotations

from engine.store.journal_store import JournalStore
from engine.store.ledger_store import LedgerStore
from engine.store.order_store import OrderStore
from engine.store.proposal_store import ProposalStore
from engine.store.settings_store import SettingsStore


class Store(LedgerStore, OrderStore, ProposalStore, JournalStore, SettingsStore):
    """The engine's database. ``store = await Store.open(path)`` ... ``await store.close()``,
    or ``async with await Store.open(path) as store:``.

    Fills are committed one durable transaction each (`record_fill`); high-rate writes are
    batched: equity snapshots are buffered, and ``async with store.transaction():`` groups a
    tick's events (`append_events`) and other writes into one commit.
    """
