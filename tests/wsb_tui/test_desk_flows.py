"""Pilot tests of the desk's flows against the scripted fake client (fast, deterministic).
The same flows run against the real embedded engine in test_desk_engine.py."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import wait_until
from fake_client import T0, FakeEngineClient
from textual.widgets import Input

from engine.domain import LogLine, OrderStatus, ProposalState, ProposalStateChanged
from engine.runtime.views import StrategyRunState
from widgets.event_log import EventLog
from widgets.positions import PositionsTable
from widgets.proposals import ProposalsQueue
from wsb_tui.app import WsbApp
from wsb_tui.screens.confirm import ConfirmScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.dialogs import KillSwitchDialog, YesNoDialog


def _dashboard(app: Any) -> DashboardScreen:
    return next(s for s in app.screen_stack if isinstance(s, DashboardScreen))


async def _boot(app: Any, pilot: Any) -> None:
    await app.wait_ready()
    await pilot.pause()


async def test_confirm_when_y_pressed_in_modal_then_client_confirms_and_position_appears(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake, auto_open_confirm=True)
    first = next(iter(fake.pending))
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.proposal_id == first
        await pilot.press("y")
        await wait_until(lambda: fake.calls.confirm != [])
        assert fake.calls.confirm == [(first, None, None)]
        await wait_until(lambda: first not in app.desk.pending)
        table = _dashboard(app).query_one(PositionsTable)
        await wait_until(lambda: any("NVDA 2502" in k or "NVDA25" in k for k in table.row_keys))
        assert any(o.status is OrderStatus.FILLED for o in app.desk.orders.values())


async def test_reject_when_n_pressed_in_modal_then_client_rejects_and_queue_shrinks(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_until(lambda: fake.calls.reject != [])
        assert fake.calls.reject[0][0] == pid
        await wait_until(lambda: pid not in app.desk.pending)
        queue = app.screen.query_one(ProposalsQueue)
        await wait_until(lambda: pid not in queue.row_keys)


async def test_edit_when_qty_and_limit_changed_then_confirm_carries_them(app_factory: Any) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("e")
        screen = app.screen
        qty = screen.query_one("#edit-qty", Input)
        limit = screen.query_one("#edit-limit", Input)
        assert qty.has_focus
        assert qty.value == "3"
        assert limit.value == "4.80"
        qty.value, limit.value = "2", "4.65"
        await pilot.press("enter")
        await wait_until(lambda: fake.calls.confirm != [])
        assert fake.calls.confirm == [(pid, 2, Decimal("4.65"))]


async def test_edit_when_limit_flips_debit_to_credit_then_error_names_field_and_nothing_sent(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        app.open_confirm(next(iter(app.desk.pending)), edit=True)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen) and app.screen.editing)
        app.screen.query_one("#edit-limit", Input).value = "-4.80"
        await pilot.press("enter")
        await pilot.pause()
        error = str(app.screen.query_one("#confirm-error").render())
        assert "limit -4.80" in error
        assert "debit" in error
        assert fake.calls.confirm == []
        # y typed while a field has focus is text, never a confirmation.
        await pilot.press("y")
        await pilot.pause()
        assert fake.calls.confirm == []


async def test_defer_when_escape_pressed_then_proposal_stays_queued(app_factory: Any) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, DashboardScreen))
        assert pid in app.desk.pending
        assert fake.calls.confirm == []
        assert fake.calls.reject == []


async def test_expiry_when_proposal_expires_while_open_then_modal_closes_with_note(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        fake.pending.pop(pid)
        fake.push(ProposalStateChanged(T0, pid, ProposalState.EXPIRED, note="no decision in 5 min"))
        await wait_until(lambda: isinstance(app.screen, DashboardScreen))
        assert pid not in app.desk.pending
        log = app.screen.query_one(EventLog)
        assert any(
            "expired" in n.message and "no decision in 5 min" in n.message
            for n in app.desk.log_history
        )
        assert log.lines_written > 0
        # One toast for one expiry: the desk's notice and the closing modal share its key.
        assert sum("expired" in str(n.message) for n in app._notifications) == 1


async def test_confirm_countdown_when_engine_clock_advances_then_expiry_ticks_down(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.pause()
        screen = app.screen
        pending = app.desk.pending[pid]
        assert pending.expires_at is not None
        assert app.desk.now is not None

        def expiry_shown() -> str:
            return str(screen.query_one("#confirm-terms").render())

        first_left = (pending.expires_at - app.desk.now).total_seconds()
        assert f"{first_left:,.0f}s" in expiry_shown()
        fake.push(LogLine(app.desk.now + timedelta(seconds=90), "info", "a minute and a half"))
        await wait_until(lambda: f"{first_left - 90:,.0f}s" in expiry_shown())
        assert isinstance(app.screen, ConfirmScreen)  # still open, only the countdown moved


async def test_live_confirm_when_symbol_mistyped_then_nothing_sent_until_exact(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient(mode="LIVE")
    app = app_factory(fake, mode="LIVE")
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        pid = next(iter(app.desk.pending))
        underlying = app.desk.pending[pid].proposal.underlying
        app.open_confirm(pid)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.live
        await pilot.press("y")
        box = app.screen.query_one("#live-symbol", Input)
        assert box.has_focus
        await pilot.press("x", "y", "z", "enter")
        await pilot.pause()
        assert fake.calls.confirm == []
        assert underlying in str(app.screen.query_one("#confirm-error").render())
        box.value = ""
        await pilot.press(*underlying.lower(), "enter")
        await wait_until(lambda: fake.calls.confirm != [])
        assert fake.calls.confirm[0][0] == pid


async def test_key_guard_when_y_pressed_immediately_then_ignored(app_factory: Any) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake, confirm_key_guard_seconds=5)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        app.open_confirm(next(iter(app.desk.pending)))
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y", "n")
        await pilot.pause()
        assert fake.calls.confirm == []
        assert fake.calls.reject == []
        assert isinstance(app.screen, ConfirmScreen)


async def test_dashboard_n_when_proposal_selected_then_rejected_without_modal(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        first = app.screen.query_one(ProposalsQueue).pending_ids[0]
        await pilot.press("n")
        await wait_until(lambda: fake.calls.reject != [])
        assert fake.calls.reject[0][0] == first


async def test_pause_when_p_on_running_strategy_then_paused_and_p_again_resumes(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("p")
        await wait_until(lambda: fake.calls.pause == ["wsb_dip_bot"])
        await wait_until(
            lambda: app.desk.strategies["wsb_dip_bot"].state is StrategyRunState.PAUSED
        )
        await pilot.press("p")
        await wait_until(lambda: fake.calls.resume == ["wsb_dip_bot"])


async def test_quit_when_positions_open_then_asks_and_n_keeps_running(app_factory: Any) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("q")
        await wait_until(lambda: isinstance(app.screen, YesNoDialog))
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, DashboardScreen))
        assert fake.calls.closed == 0
        await pilot.press("q")
        await wait_until(lambda: isinstance(app.screen, YesNoDialog))
        await pilot.press("y")
        await wait_until(lambda: fake.calls.closed == 1)
    assert fake.closed
    assert fake.calls.closed == 1  # closed exactly once, not again on unmount


async def test_quit_when_no_positions_then_closes_client_without_asking(app_factory: Any) -> None:
    fake = FakeEngineClient(n_positions=0)
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("q")
        await wait_until(lambda: fake.calls.closed == 1)
    assert app.return_code == 0


async def test_kill_switch_when_flatten_chosen_then_client_told_to_flatten(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("k")
        await wait_until(lambda: isinstance(app.screen, KillSwitchDialog))
        await pilot.press("f")
        await wait_until(lambda: fake.calls.kill_switch == [True])


async def test_theme_when_cycled_then_remembered_in_settings_file(
    app_factory: Any, isolated_config: Path
) -> None:
    app = app_factory(FakeEngineClient())
    async with app.run_test(size=(100, 30)) as pilot:
        await _boot(app, pilot)
        assert app.theme == "wsb-dark"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "wsb-light"
    saved = json.loads((isolated_config / "settings.json").read_text())
    assert saved["theme"] == "wsb-light"
    again = WsbApp(FakeEngineClient(), settings_path=isolated_config / "settings.json")
    assert again.theme == "wsb-light"


async def test_engine_error_when_log_line_is_error_then_notification_not_traceback(
    app_factory: Any,
) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        fake.push(LogLine(T0, "error", "broker rejected order: insufficient buying power"))
        await wait_until(
            lambda: any("insufficient buying power" in str(n.message) for n in app._notifications)
        )
        assert app.return_code is None
        assert app._exception is None


class ExplodingClient(FakeEngineClient):
    async def snapshot(self) -> Any:
        raise ConnectionError("socket closed")


async def test_snapshot_failure_when_engine_unreachable_then_notified_and_header_disconnected(
    app_factory: Any,
) -> None:
    app = app_factory(ExplodingClient())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            lambda: any("engine unreachable" in str(n.message) for n in app._notifications)
        )
        await pilot.pause()
        assert not app.desk.connected
        assert app._exception is None


async def test_command_failure_when_client_raises_then_notification(app_factory: Any) -> None:
    class Failing(FakeEngineClient):
        async def pause_strategy(self, name: str) -> Any:
            raise TimeoutError("engine busy")

    app = app_factory(Failing())
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("p")
        await wait_until(lambda: any("engine busy" in str(n.message) for n in app._notifications))
        assert app._exception is None


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 48)])
async def test_layout_when_sized_then_no_widget_overlaps_another(
    app_factory: Any, width: int, height: int
) -> None:
    app = app_factory(FakeEngineClient())
    async with app.run_test(size=(width, height)) as pilot:
        await _boot(app, pilot)
        screen = app.screen
        boxes = [
            screen.query_one(s)
            for s in (
                "#header",
                "#positions-box",
                "#risk-box",
                "#strategies-box",
                "#queue-box",
                "#log-box",
            )
        ]
        regions = [b.region for b in boxes]
        for r in regions:
            assert r.width > 0, r
            assert r.height > 0, r
            assert r.right <= width
            assert r.bottom <= height
        for i, a in enumerate(regions):
            for b in regions[i + 1 :]:
                assert not a.overlaps(b), (a, b)


async def test_palette_when_opened_then_offers_every_action_as_namespace_entries(
    app_factory: Any,
) -> None:
    from wsb_tui.commands import DeskCommands

    fake = FakeEngineClient()
    app = app_factory(fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        provider = DeskCommands(app.screen)
        entries = {title: callback for title, callback, _ in provider._entries()}
        for title in (
            "risk: open risk screen",
            "proposal: confirm selected",
            "strategy: pause Dip Bot",
            "strategy: Dip Bot profile research_2024",
            "trading: set HALTED",
            "theme: wsb-high-contrast",
            "chain: open AAPL",
        ):
            assert title in entries, title
        assert all(": " in t for t in entries)
        entries["strategy: pause Dip Bot"]()
        await wait_until(lambda: fake.calls.pause == ["wsb_dip_bot"])
        entries["theme: wsb-high-contrast"]()
        await pilot.pause()
        assert app.theme == "wsb-high-contrast"


async def test_keymap_when_user_rebinds_reject_then_new_key_works(app_factory: Any) -> None:
    fake = FakeEngineClient()
    app = app_factory(fake, keymap={"dashboard.reject": "x"})
    async with app.run_test(size=(120, 40)) as pilot:
        await _boot(app, pilot)
        await pilot.press("n")
        await pilot.pause()
        assert fake.calls.reject == []
        await pilot.press("x")
        await wait_until(lambda: len(fake.calls.reject) == 1)


async def test_embedded_client_when_closed_then_engine_stops_before_store_closes() -> None:
    import asyncio

    from wsb_tui.app import EmbeddedClient

    order: list[str] = []
    stop = asyncio.Event()

    class Engine:
        async def run(self) -> None:
            await stop.wait()
            order.append("engine persisted and stopped")

    class Client(FakeEngineClient):
        async def close(self) -> None:
            order.append("stop requested")
            stop.set()

    class Built:
        engine = Engine()
        client = Client()

        async def close(self) -> None:
            order.append("store closed")

    owned = EmbeddedClient(Built())
    owned.start()
    assert owned.engine_task is not None
    await owned.close()
    assert order == ["stop requested", "engine persisted and stopped", "store closed"]
