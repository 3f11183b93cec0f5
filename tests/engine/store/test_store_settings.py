"""Settings that survive restarts, strategy state, the command audit, and no secrets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from store_fixtures import T0, raw_query

from engine.store import SecretSettingRefusedError, Store


async def test_settings_when_reopened_then_trading_state_and_breakers_survive(
    db_path: Path,
) -> None:
    async with await Store.open(db_path) as store:
        await store.set_setting("trading_state", "HALTED")
        await store.set_setting(
            "breaker.daily_loss", {"tripped": True, "at": T0, "loss": Decimal("-5121.30")}
        )
        await store.set_setting("breaker.drawdown", {"tripped": False})
    async with await Store.open(db_path) as store:
        assert await store.get_setting("trading_state") == "HALTED"
        assert await store.settings("breaker.") == {
            "breaker.daily_loss": {
                "tripped": True,
                "at": "2024-03-01T14:30:00.000000+00:00",
                "loss": "-5121.30",
            },
            "breaker.drawdown": {"tripped": False},
        }
        assert await store.get_setting("absent", default="ACTIVE") == "ACTIVE"
        assert await store.delete_setting("breaker.drawdown")
        assert not await store.delete_setting("breaker.drawdown")
        assert list(await store.settings("breaker.")) == ["breaker.daily_loss"]


@pytest.mark.parametrize(
    "key", ["alpaca_secret", "API_KEY", "apikey", "auth.token", "db_password", "credentials"]
)
async def test_set_setting_when_key_looks_like_a_secret_then_refused_and_nothing_stored(
    store: Store, db_path: Path, key: str
) -> None:
    with pytest.raises(SecretSettingRefusedError, match=rf"key='{key}' looks like a credential"):
        await store.set_setting(key, "hunter2")
    assert raw_query(db_path, "SELECT count(*) FROM settings") == [(0,)]


async def test_commands_when_audited_then_who_when_what_and_result_are_kept_without_secrets(
    store: Store, db_path: Path
) -> None:
    cid = await store.record_command(
        client_id="ssh:alice",
        role="monitor",
        command="confirm_proposal",
        args={"proposal_id": "p-1", "token": "s3cr3t", "nested": {"api_key": "k"}},
        result="refused",
        detail="monitor role may not confirm",
        ts=T0,
    )
    later = await store.record_command(
        client_id="sock:1",
        role="trader",
        command="kill_switch",
        args={"flatten": True},
        result="accepted",
        ts=T0,
    )
    assert await store.complete_command(
        later, result="done", detail="3 orders canceled", at=T0 + timedelta(seconds=2)
    )
    first, second = await store.recent_commands()
    assert (first.id, first.client_id, first.role, first.command, first.result) == (
        cid,
        "ssh:alice",
        "monitor",
        "confirm_proposal",
        "refused",
    )
    assert first.args == {
        "proposal_id": "p-1",
        "token": "***redacted***",
        "nested": {"api_key": "***redacted***"},
    }
    assert (second.result, second.detail, second.completed_at) == (
        "done",
        "3 orders canceled",
        T0 + timedelta(seconds=2),
    )
    dump = "\n".join(str(r) for r in raw_query(db_path, "SELECT * FROM commands"))
    assert "s3cr3t" not in dump


async def test_strategy_state_when_saved_then_reloads_as_json_with_status_and_profile(
    store: Store,
) -> None:
    await store.save_strategy_state(
        "wheel",
        {"stage": "CSP", "cost_basis": Decimal("168.40"), "since": T0},
        status="paused",
        profile="conservative",
        at=T0,
    )
    await store.save_strategy_state("dip_bot", {"cooldown": 3}, at=T0)
    await store.save_strategy_state(
        "wheel", {"stage": "STOCK"}, status="running", profile="conservative", at=T0
    )
    rec = await store.load_strategy_state("wheel")
    assert rec is not None
    assert (rec.status, rec.profile, rec.state) == (
        "running",
        "conservative",
        {"stage": "STOCK"},
    )
    assert list(await store.load_strategy_states()) == ["dip_bot", "wheel"]
    assert await store.load_strategy_state("lotto") is None
    with pytest.raises(ValueError, match="strategy=''"):
        await store.save_strategy_state("", {})
