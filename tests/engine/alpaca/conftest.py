"""Fixtures: a fake Alpaca on 127.0.0.1 and an `AlpacaBroker` pointed at it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator

import pytest
from alpaca_fake import KEY_ID, SECRET, FakeAlpaca, fast_settings

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
