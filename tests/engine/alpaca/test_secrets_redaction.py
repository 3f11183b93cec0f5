"""Credentials from env/.env, never shown: Secret, describe_credentials, log and error redaction."""

from __future__ import annotations

import logging
import pickle
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca_fake import SECRET, FakeAlpaca

from engine.broker.alpaca import AlpacaBroker
from engine.domain import Equity, OrderLeg, OrderRequest, OrderStatus, OrderType, Side
from engine.secrets import (
    MissingCredentials,
    Secret,
    credential_report,
    describe_credentials,
    forget_secrets,
    install_log_redaction,
    load_alpaca_credentials,
    redact,
)

KEY = "PKLIVEKEYABCDEF123456"
SEC = "very-secret-value-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean() -> None:
    forget_secrets()


def test_secret_when_printed_formatted_or_pickled_then_value_never_shown() -> None:
    s = Secret(SEC)
    assert SEC not in repr(s)
    assert SEC not in str(s)
    assert SEC not in f"{s} {s!r} {s:>40}"
    assert SEC not in repr({"k": s})
    assert s.reveal() == SEC
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(s)


def test_load_when_env_has_our_names_then_they_win_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"ALPACA_API_KEY=FILEKEY000000\nALPACA_SECRET_KEY={SEC}-file\n")
    creds = load_alpaca_credentials({"ALPACA_API_KEY": KEY, "ALPACA_SECRET_KEY": SEC}, env_file)
    assert creds.key_id.reveal() == KEY
    assert creds.secret_key.reveal() == SEC
    assert creds.source == "environment"


def test_load_when_only_alpaca_official_names_in_env_file_then_accepted(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"APCA_API_KEY_ID={KEY}\nAPCA_API_SECRET_KEY='{SEC}'\n")
    creds = load_alpaca_credentials({}, env_file)
    assert (creds.key_id.reveal(), creds.secret_key.reveal()) == (KEY, SEC)
    assert creds.source == str(env_file)


def test_load_when_secret_missing_then_error_names_variable_not_value(tmp_path: Path) -> None:
    with pytest.raises(MissingCredentials) as info:
        load_alpaca_credentials({"ALPACA_API_KEY": KEY}, tmp_path / "absent.env")
    assert "ALPACA_SECRET_KEY" in str(info.value)
    assert KEY not in str(info.value)
    with pytest.raises(MissingCredentials, match="no Alpaca API keys"):
        load_alpaca_credentials({}, tmp_path / "absent.env")


def test_describe_credentials_when_mixed_sources_then_presence_only(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"ALPACA_SECRET_KEY={SEC}\n")
    lines = credential_report(describe_credentials({"ALPACA_API_KEY": KEY}, env_file))
    assert lines == [
        "ALPACA_API_KEY: set (environment)",
        "APCA_API_KEY_ID: not set",
        f"ALPACA_SECRET_KEY: set ({env_file})",
        "APCA_API_SECRET_KEY: not set",
    ]
    assert all(KEY not in line and SEC not in line for line in lines)


def test_log_redaction_when_secret_in_message_args_and_traceback_then_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    uninstall = install_log_redaction(Secret(SEC))
    try:
        log = logging.getLogger("engine.test.redaction")
        with caplog.at_level(logging.INFO):
            log.info("auth header APCA-API-SECRET-KEY=%s", SEC)
            try:
                raise RuntimeError(f"server said: bad key {SEC}")
            except RuntimeError:
                log.exception("call failed")
        text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    finally:
        uninstall()
    assert SEC not in text
    assert text.count("****") >= 2


def test_redact_when_short_value_then_left_alone() -> None:
    assert redact("order 12 filled", extra=["12"]) == "order 12 filled"
    assert redact(f"x{SEC}y", extra=[SEC]) == "x****y"


async def test_adapter_when_server_echoes_secret_in_error_then_reject_reason_redacted(
    broker: AlpacaBroker, fake: FakeAlpaca, caplog: pytest.LogCaptureFixture
) -> None:
    fake.echo_secret_in_errors = True
    req = OrderRequest(
        "wsb-echo", (OrderLeg(Equity("SPY"), Side.BUY),), 1000, OrderType.LIMIT, Decimal("600")
    )
    with caplog.at_level(logging.DEBUG):
        order = await broker.submit(req)
    assert order.status is OrderStatus.REJECTED
    assert "insufficient buying power" in (order.reject_reason or "")
    assert SECRET not in (order.reject_reason or "")
    assert SECRET not in caplog.text
