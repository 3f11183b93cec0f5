"""API credentials: read from the environment or a `.env` file, never from the TOML config.

A `Secret` never shows its value in `repr`, `str`, f-strings, logs or pickles; code that must
send it (an HTTP header) calls `reveal()` at the last moment. `install_log_redaction` rewrites
every log record that contains a known secret value, and `redact` does the same for exception
messages, so a key echoed back by a server or printed by a library never reaches a terminal or
a log file.

Names accepted, first match wins: ``ALPACA_API_KEY`` / ``ALPACA_SECRET_KEY`` (ours), then
Alpaca's own ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``. The process environment wins over
the `.env` file. The `.env` file is read without changing `os.environ`, so child processes do
not inherit the keys.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

import platformdirs

MASK: Final = "****"
KEY_NAMES: Final = ("ALPACA_API_KEY", "APCA_API_KEY_ID")
SECRET_NAMES: Final = ("ALPACA_SECRET_KEY", "APCA_API_SECRET_KEY")
ENV_FILE_VAR: Final = "WSB_ENV_FILE"
# Values shorter than this are not redacted by substring: masking "1" everywhere would
# destroy every log line while protecting nothing real.
_MIN_REDACT_LEN: Final = 6


class Secret:
    """A string that refuses to be displayed. Compare with `==` (constant time)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        self._value = value

    def reveal(self) -> str:
        """The real value: call only where it leaves the process (an auth header)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value to disk or a socket: refuse instead.
        raise TypeError("a Secret cannot be pickled or stored")


class MissingCredentials(LookupError):
    """The keys an adapter needs are absent or incomplete. Names variables, never values."""


@dataclass(frozen=True, slots=True)
class AlpacaCredentials:
    key_id: Secret
    secret_key: Secret
    source: str  # "environment" | "<path to .env>"

    def secrets(self) -> tuple[Secret, Secret]:
        return (self.key_id, self.secret_key)


@dataclass(frozen=True, slots=True)
class CredentialStatus:
    """Whether one variable is set, and where; never its value."""

    name: str
    present: bool
    source: str | None  # "environment" | path of the .env file | None


def default_env_file() -> Path | None:
    """`$WSB_ENV_FILE`, else `./.env`, else `.env` in the user config directory; None if none."""
    override = os.environ.get(ENV_FILE_VAR)
    if override:
        return Path(override)
    for cand in (Path.cwd() / ".env", _config_dir() / ".env"):
        if cand.is_file():
            return cand
    return None


def _config_dir() -> Path:
    override = os.environ.get("WSB_CONFIG_DIR")
    return Path(override) if override else platformdirs.user_config_path("wsb-tui")


def _read_env_file(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None and v != ""}


def _lookup(
    names: Iterable[str], environ: Mapping[str, str], file_vars: Mapping[str, str], file: str
) -> tuple[str, str, str] | None:
    """(name, value, source) of the first name set, environment before file."""
    for name in names:
        value = environ.get(name)
        if value:
            return name, value, "environment"
        value = file_vars.get(name)
        if value:
            return name, value, file
    return None


def load_alpaca_credentials(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> AlpacaCredentials:
    """Alpaca keys from the environment or the `.env` file. Raises `MissingCredentials`."""
    env = os.environ if environ is None else environ
    path = env_file if env_file is not None else default_env_file()
    file_vars = _read_env_file(path)
    where = str(path) if path is not None else ".env"
    key = _lookup(KEY_NAMES, env, file_vars, where)
    secret = _lookup(SECRET_NAMES, env, file_vars, where)
    if key is None and secret is None:
        raise MissingCredentials(
            "no Alpaca API keys: set ALPACA_API_KEY and ALPACA_SECRET_KEY (or APCA_API_KEY_ID "
            f"and APCA_API_SECRET_KEY) in the environment or in {where}"
        )
    if key is None:
        raise MissingCredentials(
            f"{secret[0] if secret else 'secret'} is set but no key id: set ALPACA_API_KEY "
            "(or APCA_API_KEY_ID)"
        )
    if secret is None:
        raise MissingCredentials(
            f"{key[0]} is set but no secret: set ALPACA_SECRET_KEY (or APCA_API_SECRET_KEY)"
        )
    sources = {key[2], secret[2]}
    return AlpacaCredentials(Secret(key[1]), Secret(secret[1]), " + ".join(sorted(sources)))


def describe_credentials(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> list[CredentialStatus]:
    """Which credential variables are present and where, for `wsb config check`."""
    env = os.environ if environ is None else environ
    path = env_file if env_file is not None else default_env_file()
    file_vars = _read_env_file(path)
    out: list[CredentialStatus] = []
    for name in (*KEY_NAMES, *SECRET_NAMES):
        if env.get(name):
            out.append(CredentialStatus(name, True, "environment"))
        elif file_vars.get(name):
            out.append(CredentialStatus(name, True, str(path)))
        else:
            out.append(CredentialStatus(name, False, None))
    return out


def credential_report(statuses: Iterable[CredentialStatus]) -> list[str]:
    """Human lines: ``ALPACA_API_KEY: set (environment)`` / ``...: not set``."""
    lines = []
    for s in statuses:
        lines.append(f"{s.name}: set ({s.source})" if s.present else f"{s.name}: not set")
    return lines


# -- redaction ------------------------------------------------------------------------------


class _Registry:
    """Every secret value this process knows, for substring redaction."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()

    def add(self, *secrets: Secret | str) -> None:
        with self._lock:
            for s in secrets:
                value = s.reveal() if isinstance(s, Secret) else s
                if len(value) >= _MIN_REDACT_LEN:
                    self._values.add(value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def values(self) -> tuple[str, ...]:
        with self._lock:
            # Longest first so a secret that contains another is masked whole.
            return tuple(sorted(self._values, key=len, reverse=True))


_REGISTRY = _Registry()


def register_secrets(*secrets: Secret | str) -> None:
    """Make these values known to `redact` and the log redaction."""
    _REGISTRY.add(*secrets)


def forget_secrets() -> None:
    """Drop every registered value (tests)."""
    _REGISTRY.clear()


def redact(text: str, extra: Iterable[Secret | str] = ()) -> str:
    """`text` with every registered (and `extra`) secret value replaced by ****."""
    values = list(_REGISTRY.values())
    for s in extra:
        v = s.reveal() if isinstance(s, Secret) else s
        if len(v) >= _MIN_REDACT_LEN:
            values.append(v)
    for v in sorted(set(values), key=len, reverse=True):
        if v in text:
            text = text.replace(v, MASK)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    if not _REGISTRY.values():
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not hide the log line itself
        message = str(record.msg)
    clean = redact(message)
    if clean != message:
        record.msg = clean
        record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(text)
        if cleaned != text:
            # The formatter prints exc_text when set; the traceback object stays for
            # debuggers but its text is the redacted one.
            record.exc_text = cleaned
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A handler filter: rewrites records containing a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


_install_lock = threading.Lock()
_installed_factory: Callable[..., logging.LogRecord] | None = None


def install_log_redaction(*secrets: Secret | str) -> Callable[[], None]:
    """Register `secrets` and redact them in every log record created from now on.

    Works through the log record factory, so records from any logger and any handler
    (including ones added later) are covered. Returns a function that uninstalls it.
    """
    global _installed_factory
    register_secrets(*secrets)
    with _install_lock:
        if _installed_factory is None:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                _redact_record(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed_factory = previous

    def uninstall() -> None:
        global _installed_factory
        with _install_lock:
            if _installed_factory is not None:
                logging.setLogRecordFactory(_installed_factory)
                _installed_factory = None

    return uninstall
