"""Errors the store raises. Each message names the file, the value and what is allowed."""

from __future__ import annotations


class StoreError(RuntimeError):
    """Base class for store failures."""


class StoreClosedError(StoreError):
    """The store was used after `close()` (or before `open()`)."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer wsb-tui; this version must not touch it."""


class NotAStoreDatabaseError(StoreError):
    """The file is SQLite but not a wsb-tui database (or not SQLite at all)."""


class MigrationError(StoreError):
    """A migration failed; the database is left at the last good version."""


class SecretSettingRefusedError(StoreError, ValueError):
    """Settings are not a place for credentials: keys that look like secrets are refused."""
