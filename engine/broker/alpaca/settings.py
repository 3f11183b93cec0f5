"""Where the Alpaca adapters connect and how patiently: URLs, timeouts, retries, rate limit.

Resolved from the `[alpaca]` config section (any object with the same attribute names, so this
module does not depend on the config model) and then the environment, which wins:
``WSB_ALPACA_TRADING_URL``, ``WSB_ALPACA_DATA_URL``, ``WSB_ALPACA_STREAM_URL``. Tests point the
real alpaca-py clients at a server on 127.0.0.1 this way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import urlparse

PAPER_TRADING_URL: Final = "https://paper-api.alpaca.markets"
LIVE_TRADING_URL: Final = "https://api.alpaca.markets"
DATA_URL: Final = "https://data.alpaca.markets"
PAPER_STREAM_URL: Final = "wss://paper-api.alpaca.markets/stream"
LIVE_STREAM_URL: Final = "wss://api.alpaca.markets/stream"

ENV_TRADING_URL: Final = "WSB_ALPACA_TRADING_URL"
ENV_DATA_URL: Final = "WSB_ALPACA_DATA_URL"
ENV_STREAM_URL: Final = "WSB_ALPACA_STREAM_URL"

_FEEDS: Final = frozenset({"iex", "sip", "delayed_sip"})
_OPTION_FEEDS: Final = frozenset({"indicative", "opra"})


class AlpacaSettingsError(ValueError):
    """A bad `[alpaca]` setting; the message names the field, the value and what is allowed."""


@dataclass(frozen=True, slots=True)
class AlpacaSettings:
    """Connection settings. `paper` selects Alpaca's default URLs when none is given."""

    paper: bool = True
    trading_url: str | None = None
    data_url: str | None = None
    stream_url: str | None = None
    feed: str = "iex"
    options_feed: str = "indicative"
    timeout_s: float = 10.0  # per HTTP call (connect and read)
    max_retries: int = 4  # for calls that are safe to repeat
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    requests_per_minute: int = 180  # Alpaca allows 200; stay under it
    poll_seconds: float = 5.0  # order polling while the trade stream is down
    reconcile_seconds: float = 60.0  # order polling while the stream is up (belt and braces)
    use_stream: bool = True

    def __post_init__(self) -> None:
        for name in ("trading_url", "data_url"):
            url = getattr(self, name)
            if url is not None and urlparse(url).scheme not in {"http", "https"}:
                raise AlpacaSettingsError(f"alpaca.{name} = {url!r} -> must be an http(s) URL")
        if self.stream_url is not None and urlparse(self.stream_url).scheme not in {"ws", "wss"}:
            raise AlpacaSettingsError(
                f"alpaca.stream_url = {self.stream_url!r} -> must be a ws:// or wss:// URL"
            )
        if self.feed not in _FEEDS:
            raise AlpacaSettingsError(
                f"alpaca.feed = {self.feed!r} -> must be one of {', '.join(sorted(_FEEDS))}"
            )
        if self.options_feed not in _OPTION_FEEDS:
            raise AlpacaSettingsError(
                f"alpaca.options_feed = {self.options_feed!r} -> must be one of "
                f"{', '.join(sorted(_OPTION_FEEDS))}"
            )
        positive = ("timeout_s", "backoff_base_s", "backoff_max_s", "poll_seconds")
        for name in (*positive, "reconcile_seconds"):
            if not getattr(self, name) > 0:
                raise AlpacaSettingsError(
                    f"alpaca.{name} = {getattr(self, name)!r} -> must be positive"
                )
        if self.max_retries < 0:
            raise AlpacaSettingsError(f"alpaca.max_retries = {self.max_retries} -> must be >= 0")
        if self.requests_per_minute < 1:
            raise AlpacaSettingsError(
                f"alpaca.requests_per_minute = {self.requests_per_minute} -> must be >= 1"
            )

    @property
    def effective_trading_url(self) -> str:
        return (self.trading_url or (PAPER_TRADING_URL if self.paper else LIVE_TRADING_URL)).rstrip(
            "/"
        )

    @property
    def effective_data_url(self) -> str:
        return (self.data_url or DATA_URL).rstrip("/")

    @property
    def effective_stream_url(self) -> str:
        return self.stream_url or (PAPER_STREAM_URL if self.paper else LIVE_STREAM_URL)

    @property
    def targets_live_endpoint(self) -> bool:
        """True when the trading URL is Alpaca's live (real money) endpoint."""
        host = urlparse(self.effective_trading_url).hostname or ""
        return host == urlparse(LIVE_TRADING_URL).hostname

    @classmethod
    def resolve(
        cls,
        section: object | None = None,
        *,
        paper: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> AlpacaSettings:
        """Settings from a config section (attributes named like the fields), then env."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {"paper": paper}
        if section is not None:
            for name in cls.__dataclass_fields__:
                if name == "paper":
                    continue
                if hasattr(section, name):
                    v = getattr(section, name)
                    if v is not None:
                        values[name] = v
        out = cls(**values)  # type: ignore[arg-type]
        overrides: dict[str, str] = {}
        for var, field in (
            (ENV_TRADING_URL, "trading_url"),
            (ENV_DATA_URL, "data_url"),
            (ENV_STREAM_URL, "stream_url"),
        ):
            if env.get(var):
                overrides[field] = env[var]
        return replace(out, **overrides) if overrides else out  # type: ignore[arg-type]
