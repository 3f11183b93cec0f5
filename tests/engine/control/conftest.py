"""Fixtures for control-server tests: a real embedded engine served on a real socket."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from engine.runtime.control.harness import Served, serve_embedded
from engine.strategies.index_baseline import IndexBaseline


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory: Unix socket paths must stay under ~100 bytes."""
    d = Path(tempfile.mkdtemp(prefix="wsbc-", dir="/tmp"))
    d.chmod(0o700)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
async def serve(short_dir: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await serve(**kw)` -> Served: an index-sleeve engine (gate confirm) on a socket."""
    async with AsyncExitStack() as stack:

        async def _serve(**kw: Any) -> Served:
            kw.setdefault("strategies", [IndexBaseline.from_profile("research_2024")])
            kw.setdefault("sections", {"engine": {"confirm_timeout_s": 86_400}})
            return await stack.enter_async_context(serve_embedded(short_dir, **kw))

        yield _serve
