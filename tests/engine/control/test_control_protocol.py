"""The wire format on its own: framing, hello and request validation, roles, tokens."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.runtime.control.auth import TokenSet, grant_role, is_loopback
from engine.runtime.control.protocol import (
    MAX_CLIENT_LINE,
    METHODS,
    ConfirmParams,
    ErrorCode,
    Hello,
    ProtocolError,
    Role,
    clean_label,
    decode_line,
    encode,
    hello_message,
    method_spec,
    parse_hello,
    parse_params,
    parse_request,
)


def test_encode_when_message_then_one_compact_line_that_decodes_back():
    msg = {"type": "event", "seq": 3, "event": {"kind": "log", "message": "a\nb é"}}
    line = encode(msg)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1  # the newline inside the text is escaped
    assert decode_line(line) == msg


@given(st.binary(max_size=200))
def test_decode_when_arbitrary_bytes_then_object_or_protocol_error(data):
    out: object = None
    code: object = None
    try:
        out = decode_line(data + b"\n")
    except ProtocolError as exc:
        code = exc.code
    if code is None:
        assert isinstance(out, dict)
        assert isinstance(out["type"], str)
    else:
        assert code in {ErrorCode.MALFORMED, ErrorCode.TOO_LARGE}


def test_decode_when_line_too_long_then_too_large():
    with pytest.raises(ProtocolError) as info:
        decode_line(b'{"type":"x","p":"' + b"a" * MAX_CLIENT_LINE + b'"}\n')
    assert info.value.code is ErrorCode.TOO_LARGE


def test_hello_when_roles_and_versions_then_parsed_or_refused_without_echo():
    h = parse_hello(hello_message("desk 1\x1b[31m", role=Role.MONITOR, token="t0ken"))
    assert h.client == "desk?1??31m"  # control characters never reach a log line
    assert h.role is Role.MONITOR
    assert "t0ken" not in repr(h)
    with pytest.raises(ProtocolError) as info:
        parse_hello({"type": "hello", "protocol": 99, "token": "s3cret"})
    assert info.value.code is ErrorCode.VERSION_MISMATCH
    assert "s3cret" not in info.value.message
    with pytest.raises(ProtocolError, match="unknown field"):
        parse_hello({"type": "hello", "protocol": 1, "admin": True})


def test_grant_role_when_asking_more_than_credential_then_refused_less_is_fine():
    ask_trader = Hello(1, "x", Role.TRADER, None)
    ask_monitor = Hello(1, "x", Role.MONITOR, None)
    assert grant_role(ceiling=Role.TRADER, hello=ask_monitor) is Role.MONITOR
    assert grant_role(ceiling=Role.TRADER, hello=Hello(1, "x", None, None)) is Role.TRADER
    with pytest.raises(ProtocolError) as info:
        grant_role(ceiling=Role.MONITOR, hello=ask_trader)
    assert info.value.code is ErrorCode.AUTH_FAILED
    with pytest.raises(ProtocolError):
        grant_role(ceiling=None, hello=ask_monitor)


def test_tokens_when_compared_then_role_by_token_and_repr_hides_them():
    t = TokenSet.generate()
    assert t.role_for(t.trader) is Role.TRADER
    assert t.role_for(t.monitor) is Role.MONITOR
    assert t.role_for(t.trader[:-1]) is None
    assert t.role_for(None) is None
    assert t.trader not in repr(t)


def test_every_command_needs_trader_and_every_read_only_monitor():
    commands = {n for n, s in METHODS.items() if s.role is Role.TRADER}
    assert commands == {
        "confirm",
        "reject",
        "pause_strategy",
        "resume_strategy",
        "stop_strategy",
        "set_profile",
        "set_trading_state",
        "reset_breaker",
        "kill_switch",
        "cancel_order",
        "replace_order",
        "submit_proposal",
    }
    assert all(METHODS[n].audited for n in commands)
    assert not any(s.audited for s in METHODS.values() if s.role is Role.MONITOR)


def test_params_when_typed_then_decoded_strictly_with_field_named():
    spec = method_spec("confirm")
    p = parse_params(spec, {"proposal_id": "p-1", "limit_price": "1.10", "quantity": 3})
    assert p == ConfirmParams("p-1", 3, Decimal("1.10"))
    for bad in (
        {"proposal_id": ""},
        {"proposal_id": "p", "limit_price": 1.1},
        {"proposal_id": "p", "limit_price": "NaN"},
        {"proposal_id": "p", "x": 1},
    ):
        with pytest.raises(ProtocolError) as info:
            parse_params(spec, bad)
        assert info.value.code is ErrorCode.MALFORMED
    with pytest.raises(ProtocolError) as info:
        method_spec("x" * 500)
    assert "x" * 50 not in info.value.message


def test_request_when_shape_wrong_then_malformed():
    assert parse_request({"type": "request", "id": 1, "method": "ping"}).params == {}
    for bad in (
        {"type": "request", "id": True, "method": "ping"},
        {"type": "request", "id": -1, "method": "ping"},
        {"type": "request", "id": 1, "method": ""},
        {"type": "request", "id": 1, "method": "ping", "extra": 1},
        {"type": "hello", "id": 1},
    ):
        with pytest.raises(ProtocolError):
            parse_request(bad)


def test_labels_and_loopback():
    assert clean_label("") == "anonymous"
    assert len(clean_label("a" * 500)) == 64
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "host.example"))
    assert json.loads(encode({"type": "x"}))["type"] == "x"
