"""Fixtures: a fake Alpaca on 127.0.0.1 and an `AlpacaBroker` pointed at it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alpaca_fake import KEY_ID, SECRET, FakeAlpaca, fast_settings
from real_account_env import WarpedWallClock, serve_market_data

from engine.broker.alpaca import AlpacaBroker, Transport
from engine.secrets import AlpacaCredentials, Secret, forget_secrets


@pytest.fixture
def fake() -> Iterator[FakeAlpaca]:
    server = FakeAlpaca().start()
    yield server
    server.stop()


@pytest.fixture
def creds() -> Iterator[AlpacaCredentials]:
    yield AlpacaCredentials(Secret(KEY_ID), Secret(SECRET), "test")
    forget_secrets()


@pytest.fixture
async def broker(fake: FakeAlpaca, creds: AlpacaCredentials) -> AsyncIterator[AlpacaBroker]:
    settings = fast_settings(fake)
    b = AlpacaBroker(creds, settings, transport=Transport(settings, rng=random.Random(7)))
    yield b
    await b.close()


@pytest.fixture
def real_env(
    fake: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeAlpaca]:
    """The real-account path's environment: keys, WSB_ALPACA_* URLs at the fake (which now
    also serves bars and snapshots), a private cache and no .env file; the wall clock warped
    to a trading Monday (see real_account_env)."""
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "WSB_ALPACA_STREAM_URL"):
        monkeypatch.delenv(name, raising=False)
    serve_market_data(fake)
    monkeypatch.setenv("ALPACA_API_KEY", KEY_ID)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    monkeypatch.setenv("WSB_ALPACA_TRADING_URL", fake.url)
    monkeypatch.setenv("WSB_ALPACA_DATA_URL", fake.url)
    monkeypatch.setenv("WSB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("WSB_ENV_FILE", str(tmp_path / "no.env"))
    monkeypatch.setattr("engine.runtime.clock.WallPacedClock", WarpedWallClock)
    yield fake
    forget_secrets()
