"""`engine.store`: the aiosqlite persistence layer (WAL, versioned migrations, one file per
account profile) and the JSON codec the remote protocol reuses.

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.store.codec import (
        CodecError,
        JSONObject,
        JSONValue,
        dumps,
        event_from_json,
        event_to_json,
        from_jsonable,
        loads,
        to_jsonable,
    )
    from engine.store.errors import (
        MigrationError,
        NotAStoreDatabaseError,
        SchemaTooNewError,
        SecretSettingRefusedError,
        StoreClosedError,
        StoreError,
    )
    from engine.store.paths import ENV_DATA_DIR, data_dir, default_db_path
    from engine.store.records import (
        UNATTRIBUTED,
        AccountState,
        CommandRecord,
        Discrepancy,
        EquitySnapshot,
        EventRecord,
        FillRecord,
        ProposalRecord,
        RiskSnapshotRecord,
        StrategyStateRecord,
    )
    from engine.store.schema import LATEST_VERSION
    from engine.store.store import Store

_EXPORTS: dict[str, tuple[str, str]] = {
    "CodecError": ("engine.store.codec", "CodecError"),
    "JSONObject": ("engine.store.codec", "JSONObject"),
    "JSONValue": ("engine.store.codec", "JSONValue"),
    "dumps": ("engine.store.codec", "dumps"),
    "event_from_json": ("engine.store.codec", "event_from_json"),
    "event_to_json": ("engine.store.codec", "event_to_json"),
    "from_jsonable": ("engine.store.codec", "from_jsonable"),
    "loads": ("engine.store.codec", "loads"),
    "to_jsonable": ("engine.store.codec", "to_jsonable"),
    "MigrationError": ("engine.store.errors", "MigrationError"),
    "NotAStoreDatabaseError": ("engine.store.errors", "NotAStoreDatabaseError"),
    "SchemaTooNewError": ("engine.store.errors", "SchemaTooNewError"),
    "SecretSettingRefusedError": ("engine.store.errors", "SecretSettingRefusedError"),
    "StoreClosedError": ("engine.store.errors", "StoreClosedError"),
    "StoreError": ("engine.store.errors", "StoreError"),
    "ENV_DATA_DIR": ("engine.store.paths", "ENV_DATA_DIR"),
    "data_dir": ("engine.store.paths", "data_dir"),
    "default_db_path": ("engine.store.paths", "default_db_path"),
    "UNATTRIBUTED": ("engine.store.records", "UNATTRIBUTED"),
    "AccountState": ("engine.store.records", "AccountState"),
    "CommandRecord": ("engine.store.records", "CommandRecord"),
    "Discrepancy": ("engine.store.records", "Discrepancy"),
    "EquitySnapshot": ("engine.store.records", "EquitySnapshot"),
    "EventRecord": ("engine.store.records", "EventRecord"),
    "FillRecord": ("engine.store.records", "FillRecord"),
    "ProposalRecord": ("engine.store.records", "ProposalRecord"),
    "RiskSnapshotRecord": ("engine.store.records", "RiskSnapshotRecord"),
    "StrategyStateRecord": ("engine.store.records", "StrategyStateRecord"),
    "LATEST_VERSION": ("engine.store.schema", "LATEST_VERSION"),
    "Store": ("engine.store.store", "Store"),
}

__all__ = [
    "ENV_DATA_DIR",
    "LATEST_VERSION",
    "UNATTRIBUTED",
    "AccountState",
    "CodecError",
    "CommandRecord",
    "Discrepancy",
    "EquitySnapshot",
    "EventRecord",
    "FillRecord",
    "JSONObject",
    "JSONValue",
    "MigrationError",
    "NotAStoreDatabaseError",
    "ProposalRecord",
    "RiskSnapshotRecord",
    "SchemaTooNewError",
    "SecretSettingRefusedError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StrategyStateRecord",
    "data_dir",
    "default_db_path",
    "dumps",
    "event_from_json",
    "event_to_json",
    "from_jsonable",
    "loads",
    "to_jsonable",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
