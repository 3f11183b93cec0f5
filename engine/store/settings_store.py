"""Settings that survive restarts (trading state, breakers), strategy state, command audit."""

from __future__ import annotations

import json
import json.encoder
import re
from collections.abc import Mapping
from datetime import datetime

from engine.store.base import StoreBase, check_name, json_text, utc_now
from engine.store.codec import JSONValue, format_ts, parse_ts, to_jsonable
from engine.store.errors import SecretSettingRefusedError
from engine.store.records import CommandRecord, StrategyStateRecord
from engine.store.rows import Row, json_object, parse_ts_or_none

# Defence in depth: credentials live in the environment, never in the database.
_SECRETISH = re.compile(r"secret|key|token|passw|passphrase|credential", re.IGNORECASE)
_REDACTED = "***redacted***"

# The engine writes the same few keys every session: each is checked once (a key's text
# never changes its verdict). Bounded in case a caller invents keys without end.
_ACCEPTED_KEYS: set[str] = set()
_ACCEPTED_KEYS_MAX = 1024

# `json_text` of a str: what the store's encoder (ensure_ascii=False) calls for one.
_json_string = json.encoder.encode_basestring

_UPSERT_SETTING = (
    "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)


def _redact(value: JSONValue) -> JSONValue:
    if isinstance(value, dict):
        return {k: _REDACTED if _SECRETISH.search(k) else _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class SettingsStore(StoreBase):
    """Settings, strategy state, command audit."""

    # ------------------------------------------------------------------ command audit

    async def record_command(
        self,
        *,
        client_id: str,
        command: str,
        result: str,
        args: Mapping[str, object] | None = None,
        detail: str = "",
        role: str | None = None,
        ts: datetime | None = None,
    ) -> int:
        """Audit a remote-control command: who (client id, role), when, what, and the result
        (e.g. accepted, refused, failed). Argument values under secret-looking keys are
        redacted before they are stored."""
        check_name("client_id", client_id)
        check_name("command", command)
        check_name("result", result)
        encoded = _redact(to_jsonable(dict(args or {})))
        async with self._single() as conn:
            cur = await conn.execute(
                "INSERT INTO commands (ts, client_id, role, command, args, result, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    format_ts(ts or utc_now(), field="ts"),
                    client_id,
                    role,
                    command,
                    json_text(encoded),
                    result,
                    detail,
                ),
            )
            command_id = cur.lastrowid
        assert command_id is not None
        return command_id

    async def complete_command(
        self, command_id: int, *, result: str, detail: str = "", at: datetime | None = None
    ) -> bool:
        """Record the outcome of a command that finished after it was recorded."""
        check_name("result", result)
        async with self._single() as conn:
            cur = await conn.execute(
                "UPDATE commands SET result = ?, detail = ?, completed_at = ? WHERE id = ?",
                (result, detail, format_ts(at or utc_now(), field="at"), command_id),
            )
            return cur.rowcount > 0

    async def recent_commands(self, limit: int = 100) -> list[CommandRecord]:
        """The last `limit` commands, oldest first."""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT id, ts, client_id, role, command, args, result, detail, completed_at "
                "FROM commands ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        return [
            CommandRecord(
                int(cid),
                parse_ts(ts, field="commands.ts"),
                client,
                role,
                command,
                json_object(args, field="commands.args"),
                result,
                detail,
                parse_ts_or_none(completed, field="commands.completed_at"),
            )
            for cid, ts, client, role, command, args, result, detail, completed in reversed(rows)
        ]

    # ------------------------------------------------------------------ settings and strategy state

    @staticmethod
    def _setting_key(key: str) -> str:
        if key in _ACCEPTED_KEYS:
            return key
        check_name("key", key)
        if _SECRETISH.search(key):
            raise SecretSettingRefusedError(
                f"setting key={key!r} looks like a credential (contains secret/key/token/password/"
                "credential); API keys belong in environment variables and are never stored"
            )
        if type(key) is str and len(_ACCEPTED_KEYS) < _ACCEPTED_KEYS_MAX:
            _ACCEPTED_KEYS.add(key)
        return key

    async def set_setting(self, key: str, value: object, *, at: datetime | None = None) -> None:
        """Persist a JSON-able value (trading state, breaker states...) across restarts."""
        # Most settings are strings (the clock, start-of-day equity: two a session).
        encoded = _json_string(value) if type(value) is str else json_text(to_jsonable(value))
        key = self._setting_key(key)
        # Keyed: the row is replaced whole by the key's next write (a grouped backtest
        # connection writes only the last one of a group: two settings every session).
        await self._write_keyed(
            _UPSERT_SETTING, key, (key, encoded, format_ts(at or utc_now(), field="at"))
        )

    async def get_setting(self, key: str, default: JSONValue = None) -> JSONValue:
        async with self._read() as conn:
            rows = await self._rows(conn, "SELECT value FROM settings WHERE key = ?", (key,))
        if not rows:
            return default
        value: JSONValue = json.loads(rows[0][0])
        return value

    async def settings(self, prefix: str = "") -> dict[str, JSONValue]:
        """All settings whose key starts with `prefix` (e.g. ``"breaker."``)."""
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT key, value FROM settings WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            )
        return {k: json.loads(v) for k, v in rows}

    async def delete_setting(self, key: str) -> bool:
        async with self._single() as conn:
            cur = await conn.execute("DELETE FROM settings WHERE key = ?", (key,))
            return cur.rowcount > 0

    async def save_strategy_state(
        self,
        strategy: str,
        state: Mapping[str, object],
        *,
        status: str = "running",
        profile: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Persist a strategy's JSON-able state. Decimals and datetimes come back as strings:
        revive typed state with ``codec.from_jsonable(MyState, record.state)``."""
        check_name("strategy", strategy)
        check_name("status", status)
        encoded = json_text(to_jsonable(dict(state)))
        async with self._single() as conn:
            await conn.execute(
                "INSERT INTO strategy_state (strategy, status, profile, state, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (strategy) DO UPDATE SET "
                "status = excluded.status, profile = excluded.profile, state = excluded.state, "
                "updated_at = excluded.updated_at",
                (strategy, status, profile, encoded, format_ts(at or utc_now(), field="at")),
            )

    async def load_strategy_state(self, strategy: str) -> StrategyStateRecord | None:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT strategy, status, profile, state, updated_at FROM strategy_state WHERE strategy = ?",
                (strategy,),
            )
        return self._strategy_state(rows[0]) if rows else None

    async def load_strategy_states(self) -> dict[str, StrategyStateRecord]:
        async with self._read() as conn:
            rows = await self._rows(
                conn,
                "SELECT strategy, status, profile, state, updated_at FROM strategy_state ORDER BY strategy",
            )
        return {r[0]: self._strategy_state(r) for r in rows}

    @staticmethod
    def _strategy_state(row: Row) -> StrategyStateRecord:
        strategy, status, profile, state, updated = row
        return StrategyStateRecord(
            strategy,
            status,
            profile,
            json_object(state, field=f"strategy_state[{strategy}].state"),
            parse_ts(updated, field="strategy_state.updated_at"),
        )
