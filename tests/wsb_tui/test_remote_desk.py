"""The desk (WsbApp) on a `RemoteEngineClient` against a real engine over a real socket:
the same screens, keys going to the engine through the protocol, a lost connection shown
and recovered, and quitting detaches without stopping the engine."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from desk_helpers import make_app, wait_until

from engine.domain import ProposalState
from engine.runtime.control.harness import Served, serve_embedded
from engine.runtime.control.protocol import Role
from engine.runtime.control.server import ControlServer
from engine.runtime.engine import RunBudget
from engine.strategies.index_baseline import IndexBaseline
from wsb_tui.remote import Endpoint, RemoteEngineClient
from wsb_tui.screens.confirm import ConfirmScreen

pytestmark = pytest.mark.slow


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="wsbd-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
async def served(short_dir: Path) -> AsyncIterator[Served]:
    async with serve_embedded(
        short_dir,
        strategies=[IndexBaseline.from_profile("research_2024")],
        gate="confirm",
        sections={"engine": {"confirm_timeout_s": 86_400}},
    ) as s:
        for _ in range(240):
            if len(s.engine.snapshot().pending) >= 2:
                break
            await s.engine.advance(RunBudget(market_minutes=1))
        assert len(s.engine.snapshot().pending) >= 2
        yield s


def _pending(served: Served) -> list[str]:
    return [p.proposal.proposal_id for p in served.engine.snapshot().pending]


async def test_desk_when_attached_remotely_then_keys_reach_engine_and_quit_detaches(
    served: Served, isolated_config: Path
) -> None:
    client = RemoteEngineClient(
        Endpoint(socket_path=served.socket_path), client_name="desk", heartbeat_s=0
    )
    await client.connect()
    app = make_app(isolated_config, client)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_ready()
        first, second = _pending(served)[:2]
        await wait_until(lambda: {first, second} <= set(app.desk.pending))

        app.open_confirm(first)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_until(lambda: first not in _pending(served))
        await wait_until(lambda: app.desk.proposals[first].state is ProposalState.REJECTED)

        # The engine goes quiet (server gone): the desk shows it, then recovers by itself.
        await served.server.close()
        await wait_until(lambda: not app.desk.connected, within=15)
        # The log line and the disconnected flag arrive through different paths: wait for both.
        await wait_until(
            lambda: any("lost the engine" in n.message for n in app.desk.log_history), within=15
        )
        again = ControlServer(served.engine, socket_path=served.socket_path)
        await again.start()
        try:
            await client.wait_connected(10)
            await served.engine.advance(RunBudget(market_minutes=1))
            await wait_until(
                lambda: app.desk.connected and app.desk.now == served.engine.clock.now(), 15
            )
            assert second in app.desk.pending
        finally:
            await app.shutdown()
            await again.close()
    rows = await served.emb.store.recent_commands()
    assert [(r.command, r.result, r.role) for r in rows] == [("reject", "ok", "trader")]
    assert rows[0].client_id.endswith(":desk")
    assert served.engine._started, "quitting the desk detaches; the engine keeps running"


async def test_desk_when_monitor_presses_confirm_then_engine_refuses_and_desk_says_so(
    served: Served, isolated_config: Path
) -> None:
    client = RemoteEngineClient(
        Endpoint(socket_path=served.socket_path),
        client_name="watch",
        role=Role.MONITOR,
        heartbeat_s=0,
    )
    await client.connect()
    app = make_app(isolated_config, client)
    async with app.run_test(size=(160, 48)) as pilot:
        await app.wait_ready()
        pid = _pending(served)[0]
        await wait_until(lambda: pid in app.desk.pending)
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(
            lambda: any(
                "refused" in n.message and "monitor" in n.message for n in app.desk.log_history
            )
        )
        assert pid in _pending(served)
        await app.shutdown()
    rows = await served.emb.store.recent_commands()
    assert [(r.command, r.result, r.role) for r in rows] == [("confirm", "refused", "monitor")]
