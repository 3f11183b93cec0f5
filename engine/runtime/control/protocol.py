"""The wsb remote-control protocol: versioned, newline-delimited JSON (see docs/remote-protocol.md).

One UTF-8 JSON object per line, ``\\n``-terminated, in both directions. The client speaks first
with ``hello``; the server answers ``welcome`` or an ``error`` and closes. After that the client
sends ``request`` messages (each with an integer ``id``) and the server sends ``response``
messages (same ``id``) and, once subscribed, ``event`` messages numbered by ``seq``.

Domain values travel in the store's reversible JSON codec (`engine.store.codec`), so a
snapshot decoded on the client equals the one the engine took.

Anything a connection cannot be trusted after (bad JSON, an oversized line, a wrong version,
a bad token, a message of the wrong shape) gets one ``error`` message and the connection is
closed. Error texts never repeat what the client sent: a mistyped token is a secret too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from engine.domain import TradeProposal
from engine.store.codec import CodecError, JSONObject, JSONValue, from_jsonable

PROTOCOL_VERSION: Final = 1
PROTOCOL_NAME: Final = "wsb-remote"

# Client -> server lines are small (a command); 256 KiB leaves room for a manual proposal
# with many legs while keeping a hostile client from making the engine buffer megabytes.
MAX_CLIENT_LINE: Final = 256 * 1024
# Server -> client lines carry full snapshots; bounded so a broken server cannot exhaust a
# client either.
MAX_SERVER_LINE: Final = 32 * 1024 * 1024
HELLO_TIMEOUT_S: Final = 10.0
MAX_NAME_LEN: Final = 200
MAX_NOTE_LEN: Final = 2000
MAX_CLIENT_LABEL: Final = 64
MAX_BAR_COUNT: Final = 5000

_LABEL_OK = re.compile(r"[^A-Za-z0-9_.@:+/=-]")


class ErrorCode(StrEnum):
    """Connection-level errors (sent as ``{"type": "error"}``, then the connection closes) and
    request-level errors (``{"type": "response", "ok": false, "error": ...}``)."""

    MALFORMED = "malformed"  # not JSON, not an object, wrong shape or field types
    TOO_LARGE = "too_large"  # a line longer than MAX_CLIENT_LINE
    VERSION_MISMATCH = "version_mismatch"
    AUTH_FAILED = "auth_failed"  # missing/wrong token, wrong peer, role not allowed
    HELLO_TIMEOUT = "hello_timeout"
    UNKNOWN_METHOD = "unknown_method"
    SERVER_STOPPING = "server_stopping"
    # request-level: the connection stays open
    FORBIDDEN = "forbidden"  # the connection's role may not run this command
    FAILED = "failed"  # the engine refused (not waiting, unknown strategy...)
    INTERNAL = "internal"  # the engine raised; details are in the server log
    UNAVAILABLE = "unavailable"  # the audit log could not be written: fail closed


CLOSING_ERRORS: Final = frozenset(
    {
        ErrorCode.MALFORMED,
        ErrorCode.TOO_LARGE,
        ErrorCode.VERSION_MISMATCH,
        ErrorCode.AUTH_FAILED,
        ErrorCode.HELLO_TIMEOUT,
        ErrorCode.UNKNOWN_METHOD,
        ErrorCode.SERVER_STOPPING,
    }
)


class ProtocolError(Exception):
    """A message broke the protocol. `message` is safe to send back: it never quotes input."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Role(StrEnum):
    """What a connection may do. Order matters: a later role can do everything an earlier can."""

    MONITOR = "monitor"  # sees everything, changes nothing
    TRADER = "trader"  # may also confirm, reject and steer

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


# --------------------------------------------------------------------------- framing


def encode(message: Mapping[str, JSONValue]) -> bytes:
    """One message as one line of compact, strict JSON."""
    text = json.dumps(message, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def decode_line(line: bytes, *, limit: int = MAX_CLIENT_LINE) -> JSONObject:
    """Parse one received line into a JSON object, or raise `ProtocolError`."""
    if len(line) > limit + 1 or (len(line) > limit and not line.endswith(b"\n")):
        raise ProtocolError(ErrorCode.TOO_LARGE, f"message longer than {limit} bytes")
    try:
        data = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError):
        raise ProtocolError(ErrorCode.MALFORMED, "message is not one line of UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "message must be a JSON object")
    mtype = data.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError(ErrorCode.MALFORMED, "message needs a string field 'type'")
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")


def error_message(code: ErrorCode, message: str) -> JSONObject:
    return {"type": "error", "error": code.value, "message": message}


def response(
    request_id: int,
    *,
    ok: bool,
    message: str = "",
    data: JSONValue = None,
    error: ErrorCode | None = None,
) -> JSONObject:
    out: JSONObject = {"type": "response", "id": request_id, "ok": ok, "message": message}
    if data is not None:
        out["data"] = data
    if error is not None:
        out["error"] = error.value
    return out


def event_message(seq: int, event: JSONObject) -> JSONObject:
    return {"type": "event", "seq": seq, "event": event}


# --------------------------------------------------------------------------- hello


@dataclass(frozen=True, slots=True)
class Hello:
    protocol: int
    client: str
    role: Role | None
    token: str | None

    def __repr__(self) -> str:  # the token must never reach a log line by accident
        shown = "***" if self.token else None
        return f"Hello(protocol={self.protocol}, client={self.client!r}, role={self.role}, token={shown})"


def hello_message(client: str, *, role: Role | None = None, token: str | None = None) -> JSONObject:
    msg: JSONObject = {"type": "hello", "protocol": PROTOCOL_VERSION, "client": client}
    if role is not None:
        msg["role"] = role.value
    if token is not None:
        msg["token"] = token
    return msg


def parse_hello(data: JSONObject) -> Hello:
    if data.get("type") != "hello":
        raise ProtocolError(ErrorCode.MALFORMED, "the first message must be a 'hello'")
    version = data.get("protocol")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(ErrorCode.MALFORMED, "hello.protocol must be an integer version")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.VERSION_MISMATCH,
            f"this engine speaks {PROTOCOL_NAME} protocol version {PROTOCOL_VERSION}, the "
            f"client speaks version {version}; install the same wsb-tui release on both ends",
        )
    allowed = {"type", "protocol", "client", "role", "token"}
    extra = sorted(k for k in data if k not in allowed)
    if extra:
        raise ProtocolError(
            ErrorCode.MALFORMED, f"hello has unknown field(s) {extra}; allowed: {sorted(allowed)}"
        )
    client = data.get("client", "")
    if not isinstance(client, str):
        raise ProtocolError(ErrorCode.MALFORMED, "hello.client must be a string")
    role_raw = data.get("role")
    role: Role | None = None
    if role_raw is not None:
        try:
            role = Role(role_raw) if isinstance(role_raw, str) else None
        except ValueError:
            role = None
        if role is None:
            raise ProtocolError(
                ErrorCode.MALFORMED,
                f"hello.role must be one of {[r.value for r in Role]}",
            )
    token = data.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolError(ErrorCode.MALFORMED, "hello.token must be a string")
    return Hello(version, clean_label(client), role, token)


def clean_label(text: str) -> str:
    """A client's self-chosen name, safe for logs and the audit table (no control chars)."""
    cleaned = _LABEL_OK.sub("?", text.strip())[:MAX_CLIENT_LABEL]
    return cleaned or "anonymous"


def welcome_message(*, client_id: str, role: Role, server: str, methods: list[str]) -> JSONObject:
    return {
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "server": server,
        "client_id": client_id,
        "role": role.value,
        "methods": list(methods),
        "max_message_bytes": MAX_CLIENT_LINE,
    }


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    method: str
    params: JSONObject


def parse_request(data: JSONObject) -> Request:
    if data.get("type") != "request":
        raise ProtocolError(ErrorCode.MALFORMED, "after hello, clients send only 'request'")
    rid = data.get("id")
    if not isinstance(rid, int) or isinstance(rid, bool) or not 0 <= rid < 2**53:
        raise ProtocolError(ErrorCode.MALFORMED, "request.id must be a non-negative integer")
    method = data.get("method")
    if not isinstance(method, str) or not method:
        raise ProtocolError(ErrorCode.MALFORMED, "request.method must be a non-empty string")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise ProtocolError(ErrorCode.MALFORMED, "request.params must be a JSON object")
    extra = sorted(k for k in data if k not in {"type", "id", "method", "params"})
    if extra:
        raise ProtocolError(ErrorCode.MALFORMED, f"request has unknown field(s) {extra}")
    return Request(rid, method, params)


def request_message(request_id: int, method: str, params: JSONObject | None = None) -> JSONObject:
    return {"type": "request", "id": request_id, "method": method, "params": params or {}}


# --------------------------------------------------------------------------- method params


def _check_text(field: str, value: str, limit: int, *, empty_ok: bool = False) -> None:
    if not empty_ok and not value.strip():
        raise ValueError(f"{field} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long; at most {limit} allowed")


@dataclass(frozen=True, slots=True)
class NoParams:
    pass


@dataclass(frozen=True, slots=True)
class ConfirmParams:
    proposal_id: str
    quantity: int | None = None
    limit_price: Decimal | None = None

    def __post_init__(self) -> None:
        _check_text("proposal_id", self.proposal_id, MAX_NAME_LEN)
        if self.limit_price is not None and not self.limit_price.is_finite():
            raise ValueError("limit_price must be a finite decimal")


@dataclass(frozen=True, slots=True)
class RejectParams:
    proposal_id: str
    note: str = ""

    def __post_init__(self) -> None:
        _check_text("proposal_id", self.proposal_id, MAX_NAME_LEN)
        _check_text("note", self.note, MAX_NOTE_LEN, empty_ok=True)


@dataclass(frozen=True, slots=True)
class StrategyParams:
    name: str

    def __post_init__(self) -> None:
        _check_text("name", self.name, MAX_NAME_LEN)


@dataclass(frozen=True, slots=True)
class ProfileParams:
    name: str
    profile: str

    def __post_init__(self) -> None:
        _check_text("name", self.name, MAX_NAME_LEN)
        _check_text("profile", self.profile, MAX_NAME_LEN)


@dataclass(frozen=True, slots=True)
class TradingStateParams:
    state: str
    reason: str = ""

    def __post_init__(self) -> None:
        _check_text("state", self.state, MAX_NAME_LEN)
        _check_text("reason", self.reason, MAX_NOTE_LEN, empty_ok=True)


@dataclass(frozen=True, slots=True)
class BreakerParams:
    name: str

    def __post_init__(self) -> None:
        _check_text("name", self.name, MAX_NAME_LEN)


@dataclass(frozen=True, slots=True)
class KillSwitchParams:
    flatten: bool = False


@dataclass(frozen=True, slots=True)
class CancelOrderParams:
    client_order_id: str

    def __post_init__(self) -> None:
        _check_text("client_order_id", self.client_order_id, MAX_NAME_LEN)


@dataclass(frozen=True, slots=True)
class ReplaceOrderParams:
    client_order_id: str
    quantity: int | None = None
    limit_price: Decimal | None = None

    def __post_init__(self) -> None:
        # What to change (and whether it may) is the engine's answer, not a protocol error.
        _check_text("client_order_id", self.client_order_id, MAX_NAME_LEN)
        if self.limit_price is not None and not self.limit_price.is_finite():
            raise ValueError("limit_price must be a finite decimal")


@dataclass(frozen=True, slots=True)
class SubmitProposalParams:
    proposal: TradeProposal


@dataclass(frozen=True, slots=True)
class OptionChainParams:
    symbol: str
    min_expiry: date
    max_expiry: date

    def __post_init__(self) -> None:
        _check_text("symbol", self.symbol, MAX_NAME_LEN)
        if self.max_expiry < self.min_expiry:
            raise ValueError("max_expiry must not be before min_expiry")


@dataclass(frozen=True, slots=True)
class DailyBarsParams:
    symbol: str
    count: int

    def __post_init__(self) -> None:
        _check_text("symbol", self.symbol, MAX_NAME_LEN)
        if not 1 <= self.count <= MAX_BAR_COUNT:
            raise ValueError(f"count must be between 1 and {MAX_BAR_COUNT}")


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    params: type
    role: Role
    audited: bool  # a command: checked and recorded in the store's commands table


def _spec(name: str, params: type, role: Role) -> MethodSpec:
    return MethodSpec(name, params, role, audited=role is Role.TRADER)


METHODS: Final[Mapping[str, MethodSpec]] = {
    s.name: s
    for s in (
        _spec("ping", NoParams, Role.MONITOR),
        _spec("snapshot", NoParams, Role.MONITOR),
        _spec("subscribe", NoParams, Role.MONITOR),
        _spec("unsubscribe", NoParams, Role.MONITOR),
        _spec("status", NoParams, Role.MONITOR),
        _spec("option_chain", OptionChainParams, Role.MONITOR),
        _spec("daily_bars", DailyBarsParams, Role.MONITOR),
        _spec("risk_report", NoParams, Role.MONITOR),
        _spec("confirm", ConfirmParams, Role.TRADER),
        _spec("reject", RejectParams, Role.TRADER),
        _spec("pause_strategy", StrategyParams, Role.TRADER),
        _spec("resume_strategy", StrategyParams, Role.TRADER),
        _spec("stop_strategy", StrategyParams, Role.TRADER),
        _spec("set_profile", ProfileParams, Role.TRADER),
        _spec("set_trading_state", TradingStateParams, Role.TRADER),
        _spec("reset_breaker", BreakerParams, Role.TRADER),
        _spec("kill_switch", KillSwitchParams, Role.TRADER),
        _spec("cancel_order", CancelOrderParams, Role.TRADER),
        _spec("replace_order", ReplaceOrderParams, Role.TRADER),
        _spec("submit_proposal", SubmitProposalParams, Role.TRADER),
    )
}


def method_spec(name: str) -> MethodSpec:
    spec = METHODS.get(name)
    if spec is None:
        # The name is echoed only when it is a plain identifier: never arbitrary input.
        shown = repr(name) if re.fullmatch(r"[a-z_]{1,40}", name) else "(not an identifier)"
        raise ProtocolError(
            ErrorCode.UNKNOWN_METHOD,
            f"unknown method {shown}; known methods: {', '.join(sorted(METHODS))}",
        )
    return spec


def parse_params(spec: MethodSpec, params: JSONObject) -> Any:
    """Decode a request's params into the method's dataclass, strictly."""
    try:
        return from_jsonable(spec.params, params)
    except CodecError as exc:
        raise ProtocolError(
            ErrorCode.MALFORMED, f"bad params for {spec.name}: {_safe(str(exc))}"
        ) from None


def _safe(text: str, limit: int = 300) -> str:
    """Codec errors quote the offending value; bounded so a huge value is not echoed whole."""
    return text if len(text) <= limit else text[:limit] + "…"
