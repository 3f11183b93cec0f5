"""How every Alpaca call is made: off the event loop, with a timeout, a rate limit, and retries
only where repeating the call is safe.

alpaca-py's REST clients are synchronous `requests` clients with no timeout and a built-in
fixed 3 s retry on 429/504 that also repeats order submits. `configure_client` replaces both:
the session gets a default timeout and the built-in retry is switched off, so this module alone
decides what is retried (idempotent reads: yes, with exponential back-off and jitter; an order
submit: never here, the broker re-queries by client order id instead).

Error classification reads the HTTP status and Alpaca's JSON error body
(``{"code": 40310000, "message": "insufficient buying power", ...}``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from engine.broker.alpaca.settings import AlpacaSettings
from engine.secrets import redact

log = logging.getLogger(__name__)

T = TypeVar("T")


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: refused, nothing was done
    REJECTED = "rejected"  # 4xx with an Alpaca error code: a business refusal
    NOT_FOUND = "not_found"  # 404
    DUPLICATE_CLIENT_ID = "duplicate_client_id"  # 422 "client_order_id must be unique"
    AUTH = "auth"  # 401, or 403 without an Alpaca error code
    TRANSIENT = "transient"  # timeout, connection drop, 5xx: the outcome is unknown


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    message: str  # already redacted
    status: int | None = None
    code: int | None = None
    retry_after_s: float | None = None


class AlpacaError(RuntimeError):
    """An Alpaca call failed for good. The message never contains a secret."""

    def __init__(self, what: str, failure: Failure) -> None:
        self.failure = failure
        status = f"HTTP {failure.status}" if failure.status is not None else failure.kind.value
        super().__init__(redact(f"alpaca {what} failed ({status}): {failure.message}"))

    @property
    def kind(self) -> FailureKind:
        return self.failure.kind


def _body(exc: BaseException) -> tuple[int | None, int | None, str, float | None]:
    """(status, alpaca code, message, retry-after seconds) of an alpaca-py APIError."""
    status: int | None = None
    retry_after: float | None = None
    response = getattr(exc, "response", None)
    if response is not None:
        status = getattr(response, "status_code", None)
        headers = getattr(response, "headers", None) or {}
        raw = headers.get("Retry-After") if hasattr(headers, "get") else None
        if raw is not None:
            try:
                retry_after = max(0.0, float(raw))
            except ValueError:
                retry_after = None
    text = str(exc)
    code: int | None = None
    message = text
    try:
        body = json.loads(text)
    except (ValueError, TypeError):
        body = None
    if isinstance(body, dict):
        raw_code = body.get("code")
        if isinstance(raw_code, int):
            code = raw_code
        elif isinstance(raw_code, str) and raw_code.isdigit():
            code = int(raw_code)
        msg = body.get("message")
        if isinstance(msg, str):
            message = msg
    return status, code, message, retry_after


def classify(exc: BaseException) -> Failure:
    """What kind of failure an exception from an alpaca-py call is."""
    from alpaca.common.exceptions import APIError

    if isinstance(exc, APIError):
        status, code, message, retry_after = _body(exc)
        message = redact(message)
        if status == 429:
            return Failure(FailureKind.RATE_LIMITED, message, status, code, retry_after)
        if status == 404:
            return Failure(FailureKind.NOT_FOUND, message, status, code)
        if status == 401 or (status == 403 and code is None):
            return Failure(FailureKind.AUTH, message, status, code)
        if status == 422 and "client_order_id" in message and "unique" in message:
            return Failure(FailureKind.DUPLICATE_CLIENT_ID, message, status, code)
        if status is not None and 400 <= status < 500:
            return Failure(FailureKind.REJECTED, message, status, code)
        return Failure(FailureKind.TRANSIENT, message, status, code)
    if isinstance(exc, TimeoutError):
        return Failure(FailureKind.TRANSIENT, "timed out")
    return Failure(FailureKind.TRANSIENT, redact(f"{type(exc).__name__}: {exc}"))


def configure_client(client: Any, settings: AlpacaSettings) -> Any:
    """Give an alpaca-py REST client a timeout and switch off its blind built-in retry.

    Touches two private attributes of alpaca-py's `RESTClient` (`_session`, `_retry`); the
    contract tests fail loudly if a future alpaca-py renames them.
    """
    import requests

    timeout = settings.timeout_s

    class _TimeoutSession(requests.Session):
        def request(  # type: ignore[override]
            self, method: str, url: str, **kwargs: Any
        ) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, **kwargs)

    if not hasattr(client, "_session") or not hasattr(client, "_retry"):
        raise RuntimeError(
            "alpaca-py's REST client no longer has _session/_retry: this adapter cannot set "
            "timeouts or disable blind retries; pin alpaca-py to a tested version"
        )
    client._session.close()
    client._session = _TimeoutSession()
    client._retry = 0
    return client


class RateLimiter:
    """At most `per_minute` calls in any sliding 60 s window (Alpaca's limit is per account)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._stamps: list[float] = []
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._stamps = [t for t in self._stamps if now - t < 60.0]
                if len(self._stamps) < self.per_minute:
                    self._stamps.append(now)
                    return
                await asyncio.sleep(60.0 - (now - self._stamps[0]) + 0.001)


class Transport:
    """Runs blocking alpaca-py calls in a worker thread with timeouts, limits and retries."""

    def __init__(
        self,
        settings: AlpacaSettings,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.requests_per_minute)
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self.retries = 0  # how many retries this transport made (health and tests)
        self.calls = 0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Equal-jitter exponential back-off: half fixed, half random, capped."""
        s = self.settings
        capped = min(s.backoff_max_s, s.backoff_base_s * (2**attempt))
        delay: float = capped / 2 + self._rng.uniform(0, capped / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, s.backoff_max_s * 4))
        return delay

    async def sleep(self, delay: float) -> None:
        await self._sleep(delay)

    async def once(self, what: str, fn: Callable[[], T], *, deadline_s: float | None = None) -> T:
        """One attempt: raises `AlpacaError` on any failure. No retry."""
        await self.limiter.acquire()
        self.calls += 1
        # The HTTP timeout bounds each request; this bounds the whole call (pagination).
        limit = deadline_s if deadline_s is not None else self.settings.timeout_s * 3 + 1.0
        try:
            return await asyncio.wait_for(asyncio.to_thread(fn), timeout=limit)
        except AlpacaError:
            raise
        except Exception as exc:  # everything from the HTTP layer is classified, not leaked
            raise AlpacaError(what, classify(exc)) from None

    async def call(
        self,
        what: str,
        fn: Callable[[], T],
        *,
        idempotent: bool,
        deadline_s: float | None = None,
    ) -> T:
        """Run `fn`; retry rate limits and (for idempotent calls) transient failures."""
        attempt = 0
        while True:
            try:
                return await self.once(what, fn, deadline_s=deadline_s)
            except AlpacaError as err:
                f = err.failure
                retryable = f.kind is FailureKind.RATE_LIMITED or (
                    idempotent and f.kind is FailureKind.TRANSIENT
                )
                if not retryable or attempt >= self.settings.max_retries:
                    raise
                delay = self.backoff(attempt, f.retry_after_s)
                log.warning(
                    "alpaca %s: %s (%s); retry %d/%d in %.2fs",
                    what,
                    f.kind.value,
                    f.message,
                    attempt + 1,
                    self.settings.max_retries,
                    delay,
                )
                attempt += 1
                self.retries += 1
                await self._sleep(delay)
