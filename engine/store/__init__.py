"""`engine.store`: the aiosqlite persistence layer (WAL, versioned migrations, one file per
account profile) and the JSON codec the remote protocol reuses."""

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
