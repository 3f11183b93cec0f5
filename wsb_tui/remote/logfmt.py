"""Headless logging: readable lines by default, one JSON object per line for log collectors.

Every record passes a redacting filter: registered secrets (the control tokens) and values of
secret-looking ``key=value`` pairs are replaced before any handler sees them. Defence in depth:
nothing in wsb logs a secret on purpose.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

REDACTED = "***"
_PAIR = re.compile(
    r"(?i)\b((?:api[_-]?)?(?:secret|token|passw(?:or)?d|passphrase|credential|key)[\w-]*)"
    r"(\s*[=:]\s*)(['\"]?)([^\s'\",;]+)"
)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = {s for s in secrets if s}

    def add(self, secret: str) -> None:
        if secret:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self.scrub(msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_filter = RedactingFilter()


def redactor() -> RedactingFilter:
    """The process-wide filter; `add()` a secret to keep it out of every log line."""
    return _filter


def configure_logging(
    fmt: str = "text", *, level: int = logging.INFO, stream: TextIO | None = None
) -> logging.Handler:
    """Route the root logger to `stream` (stderr) as text or JSON lines, redacted."""
    if fmt not in {"text", "json"}:
        raise ValueError(f"--log-format {fmt!r}: allowed values are 'text' and 'json'")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_filter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_wsb_headless", False):
            root.removeHandler(old)
    handler._wsb_headless = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # aiosqlite logs every statement with its parameters at DEBUG: never let that through.
    logging.getLogger("aiosqlite").setLevel(max(level, logging.INFO))
    return handler
