"""`WsbApp`: the Textual desk on top of any `EngineClient` (embedded or remote).

Data flow: one worker reads `client.events()` into a coalescing buffer and tells the UI
when something is waiting; another refreshes the full snapshot on a timer, never
overlapping itself. The app applies both to the `Desk` model and publishes a `DeskChange`
signal that screens render from. Commands (confirm, pause, kill switch, ...) run as workers
and report back as notifications and log lines; engine errors never reach the screen as a
traceback.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.signal import Signal
from textual.worker import Worker, WorkerState

try:
    import themes
except ModuleNotFoundError:  # an editable install that does not list `themes` yet
    sys.path.append(str(Path(__file__).resolve().parents[1]))
    import themes
from engine.runtime.views import StrategyRunState
from wsb_tui.bindings import bindings
from wsb_tui.commands import DeskCommands
from wsb_tui.screens.confirm import ConfirmOutcome, ConfirmScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.desk import Desk, DeskChange, Notice
from wsb_tui.screens.dialogs import KillSwitchDialog, YesNoDialog
from wsb_tui.screens.feed import EventBuffer
from wsb_tui.settings import (
    LoadResult,
    Settings,
    default_settings_path,
    load_settings,
    save_settings,
)

if TYPE_CHECKING:
    # Types only: the client API module pulls in the risk views (SciPy, pandas), which
    # must not load before the dashboard's first paint.
    from engine.runtime.client_api import CommandResult, EngineClient

ClientFactory = Callable[[], Awaitable["EngineClient"]]

CLOSE_TIMEOUT_SECONDS = 15.0
NOTIFY_EVERY_SECONDS = 10.0
# After "not now" (Esc) the desk stops popping proposals at the person for a while.
DEFER_QUIET_SECONDS = 30.0
RECONNECT_SECONDS = 2.0
# The UI applies engine events at most this often; in between they coalesce in the buffer.
# Ten times a second is more than a person can read and keeps a fast engine (replay, max
# speed) from spending its loop on repaints.
MIN_DRAIN_SECONDS = 0.1
# Full garbage collections this many times rarer than Python's default once the desk is
# up (see `_tame_collector`).
FULL_GC_RARER = 10


class StartAborted(Exception):
    """Raised by a connect factory to leave the app before any engine runs (a bad config,
    or a setup that needs the full start path). The app exits with `return_code`; whoever
    ran it reads `app.start_aborted`."""

    def __init__(self, reason: str, *, return_code: int = 1, detail: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.return_code = return_code
        self.detail = detail


class WsbApp(App[None]):
    CSS_PATH = str(themes.STYLESHEET)
    TITLE = "wsb"
    BINDINGS: ClassVar[list[Binding]] = bindings("app")  # type: ignore[assignment]
    COMMANDS = App.COMMANDS | {DeskCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 - Textual's API
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    class EventsReady(Message):
        """Engine events are waiting in the buffer. Only one is ever in flight."""

    def __init__(
        self,
        client: EngineClient | None,
        *,
        title_mode: str = "SIM",
        theme: str | None = None,
        settings_path: Path | None = None,
        connect: ClientFactory | None = None,
    ) -> None:
        """`client` is a ready client; or pass `client=None` and `connect`, an async factory
        the app awaits after its first paint (engine warm-up happens behind the dashboard)."""
        super().__init__()
        if client is None and connect is None:
            raise ValueError("WsbApp needs a client or a connect factory")
        for t in themes.THEMES:
            self.register_theme(t)
        self._client = client
        self._connect = connect
        self.title_mode = title_mode.upper()
        self.settings_path = settings_path or default_settings_path()
        loaded: LoadResult = load_settings(self.settings_path)
        self.settings: Settings = loaded.settings
        self._startup_warnings = list(loaded.warnings)
        wanted = theme or self.settings.theme or themes.DEFAULT_THEME
        if wanted not in self.available_themes:
            self._startup_warnings.append(
                f"theme {wanted!r} is not available (choose from {', '.join(themes.THEME_NAMES)}); "
                f"using {themes.DEFAULT_THEME}"
            )
            wanted = themes.DEFAULT_THEME
        self.theme = wanted
        self.cursor_blink = True
        self.desk = Desk(mode=self.title_mode)
        self.desk_changed: Signal[DeskChange] = Signal(self, "desk-changed")
        self._event_buffer = EventBuffer()
        self._first_snapshot = asyncio.Event()
        self._shutting_down = False
        self._client_closed = False
        self._last_notified: dict[str, float] = {}
        self._auto_opened: set[str] = set()
        self._quiet_until = 0.0
        self._last_drain = 0.0
        self._drain_scheduled = False
        self.start_aborted: StartAborted | None = None
        self._gc_threshold: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.push_screen(DashboardScreen(self.title_mode))
        for w in self._startup_warnings:
            self.notify(w, severity="warning", timeout=8)
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        if self._client is None:
            # After the first frame: the person sees the desk while the engine warms up.
            self.call_after_refresh(self._connect_engine)
        else:
            self._start_feeds()

    @property
    def client(self) -> EngineClient:
        if self._client is None:
            raise RuntimeError("the engine is still starting")
        return self._client

    def _start_feeds(self) -> None:
        self._poll_snapshots()
        self._consume_events()
        task = getattr(self._client, "engine_task", None)
        if isinstance(task, asyncio.Task):
            task.add_done_callback(self._engine_finished)

    def _engine_finished(self, task: asyncio.Task[None]) -> None:
        """An embedded engine that stops on its own (crash or end of its run) is news."""
        if self._shutting_down or task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._note("error", f"engine crashed: {type(error).__name__}: {error}", notify=True)
        else:
            self._note("warning", "the engine stopped", notify=True)

    @work(exclusive=True, group="engine-connect", name="engine start")
    async def _connect_engine(self) -> None:
        assert self._connect is not None
        self._note("info", "starting the engine…")
        try:
            self._client = await self._connect()
        except StartAborted as exc:
            self.start_aborted = exc
            self._shutting_down = True
            self.exit(return_code=exc.return_code)
            return
        except Exception as exc:
            self._note("error", f"engine failed to start: {type(exc).__name__}: {exc}", notify=True)
            return
        if self._shutting_down:
            await self._close_client()
            return
        self._start_feeds()

    async def wait_ready(self, within: float = 10.0) -> None:
        """For tests and benchmarks: until the first snapshot has been drawn."""
        await asyncio.wait_for(self._first_snapshot.wait(), within)

    def _remember_theme(self, theme: Any) -> None:
        name = getattr(theme, "name", str(theme))
        if name == self.settings.theme:
            return
        self.settings = self.settings.with_theme(name)
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self.notify(
                f"could not save settings to {self.settings_path}: {exc}", severity="warning"
            )

    # ------------------------------------------------------------------ engine feed
    @work(exclusive=True, group="engine-snapshot", name="snapshot refresh")
    async def _poll_snapshots(self) -> None:
        failures = 0
        while not self._shutting_down:
            try:
                snap = await self.client.snapshot()
            except Exception as exc:
                failures += 1
                if self.desk.connected or failures == 1:
                    self.desk.connected = False
                    self._note("error", f"engine unreachable: {exc}", notify=True, key="snapshot")
            else:
                failures = 0
                self._publish(self.desk.apply_snapshot(snap))
                if not self._first_snapshot.is_set():
                    self._first_snapshot.set()
                    self._tame_collector()
            # Scheduled after the refresh finished: refreshes never overlap or pile up.
            await asyncio.sleep(self.settings.refresh_seconds)

    def _tame_collector(self) -> None:
        """Everything alive now (modules, themes, the dashboard, the engine) lives for the
        whole session: freeze it out of the collector's way. Then make full collections,
        which walk every tracked object and stall the UI for tens of milliseconds each,
        ten times rarer: under table churn (a re-marked table promotes thousands of
        objects a second) the default ran one every couple of seconds. They stay driven
        by allocation, so a busy engine in the same process still gets its cyclic garbage
        collected in proportion to what it allocates."""
        gc.freeze()
        self._gc_threshold = gc.get_threshold()
        gen0, gen1, gen2 = self._gc_threshold
        gc.set_threshold(gen0, gen1, gen2 * FULL_GC_RARER)

    @work(exclusive=True, group="engine-events", name="engine events")
    async def _consume_events(self) -> None:
        async for event in self.client.events():
            if self._event_buffer.add(event):
                self.post_message(self.EventsReady())
            if self._shutting_down:
                break
        if not self._shutting_down:
            self.desk.connected = False
            self._note("warning", "engine event stream ended", notify=True, key="stream")
            self.set_timer(RECONNECT_SECONDS, self._reconnect_events)

    def _reconnect_events(self) -> None:
        if not self._shutting_down:
            self._consume_events()

    def on_wsb_app_events_ready(self, _message: WsbApp.EventsReady) -> None:
        wait = self._last_drain + MIN_DRAIN_SECONDS - time.monotonic()
        if wait > 0:
            if not self._drain_scheduled:
                self._drain_scheduled = True
                self.set_timer(wait, self._drain_events)
            return
        self._drain_events()

    def _drain_events(self) -> None:
        self._drain_scheduled = False
        self._last_drain = time.monotonic()
        drained = self._event_buffer.drain()
        total = DeskChange()
        for event in drained.events:
            total.merge(self.desk.apply_event(event))
        if drained.dropped:
            total.resync = True
            total.notices.append(
                Notice(self.desk.now, "warning", f"UI skipped {drained.dropped} events; resyncing")
            )
        self._publish(total)
        if total.resync:
            self._resync()

    @work(exclusive=True, group="engine-resync", name="resync")
    async def _resync(self) -> None:
        self._publish(self.desk.apply_snapshot(await self.client.snapshot()))

    def _publish(self, change: DeskChange) -> None:
        self.desk.log_history.extend(n for n in change.notices if n.log)
        self.desk_changed.publish(change)
        for n in change.notices:
            if n.notify:
                self._toast(
                    n.message, n.key or n.message, "error" if n.level == "error" else "warning"
                )
        for pid in change.new_pending:
            self._maybe_auto_open(pid)

    def _toast(self, message: str, key: str, severity: SeverityLevel = "warning") -> None:
        """A notification, at most one per `key` every few seconds: a burst of engine
        errors or proposals must not bury the screen in toasts."""
        now = time.monotonic()
        if now - self._last_notified.get(key, -1e9) < NOTIFY_EVERY_SECONDS:
            return
        self._last_notified[key] = now
        if len(self._last_notified) > 500:
            self._last_notified.clear()
        self.notify(message, severity=severity, timeout=6)

    def _note(self, level: str, message: str, *, notify: bool = False, key: str = "") -> None:
        self._publish(DeskChange(notices=[Notice(self.desk.now, level, message, notify, key)]))

    # ------------------------------------------------------------------ workers
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: a notification, never a traceback."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        self._note(
            "error",
            f"{worker.name or worker.group}: {type(error).__name__}: {error}",
            notify=True,
            key=f"worker:{worker.group}",
        )
        if worker.group == "engine-events" and not self._shutting_down:
            self.set_timer(RECONNECT_SECONDS, self._reconnect_events)

    def run_command(self, label: str, call: Callable[[], Awaitable[CommandResult]]) -> None:
        """Send a command to the engine off the UI's critical path; report the outcome."""
        self._command_worker(label, call)

    @work(group="commands", name="command")
    async def _command_worker(
        self, label: str, call: Callable[[], Awaitable[CommandResult]]
    ) -> CommandResult | None:
        try:
            result = await call()
        except Exception as exc:
            self._note("error", f"{label} failed: {type(exc).__name__}: {exc}", notify=True)
            return None
        if result.ok:
            self._note("info", f"{label}: {result.message or 'ok'}")
            self.notify(f"{label}: {result.message or 'ok'}", timeout=3)
        else:
            self._note("error", f"{label} refused: {result.message}", notify=True, key=label)
        return result

    # ------------------------------------------------------------------ proposals
    def _maybe_auto_open(self, pid: str) -> None:
        if not self.settings.auto_open_confirm or self.desk.gate_mode != "confirm":
            return
        if pid in self._auto_opened or pid not in self.desk.pending:
            return
        if not isinstance(self.screen, DashboardScreen) or time.monotonic() < self._quiet_until:
            n = len(self.desk.pending)
            self._toast(f"{n} proposal(s) waiting for you (dashboard: y)", "waiting", "information")
            return
        self._auto_opened.add(pid)
        if len(self._auto_opened) > 1000:
            self._auto_opened = {p for p in self._auto_opened if p in self.desk.pending}
        self.open_confirm(pid)

    def open_confirm(self, pid: str, *, edit: bool = False) -> None:
        pending = self.desk.pending.get(pid)
        if pending is None:
            self.notify("that proposal is no longer waiting", severity="warning", timeout=3)
            return
        if isinstance(self.screen, ConfirmScreen):
            return
        self._auto_opened.add(pid)
        screen = ConfirmScreen(
            pending,
            mode=self.desk.mode,
            now=self.desk.now,
            key_guard_seconds=self.settings.confirm_key_guard_seconds,
            start_editing=edit,
        )
        self.push_screen(screen, self._confirm_done)

    def _confirm_done(self, outcome: ConfirmOutcome | None) -> None:
        if outcome is None:
            return
        pid = outcome.proposal_id
        pending = self.desk.pending.get(pid)
        label = pending.proposal.strategy if pending is not None else pid
        if outcome.action == "confirm":
            qty, limit = outcome.quantity, outcome.limit_price
            edited = "" if qty is None and limit is None else " (edited)"
            self.run_command(
                f"confirm {label}{edited}",
                lambda: self.client.confirm(pid, quantity=qty, limit_price=limit),
            )
        elif outcome.action == "reject":
            self.send_reject(pid, outcome.note)
        elif outcome.action == "gone":
            known = self.desk.proposals.get(pid)
            label = known.proposal.strategy if known is not None else label
            # Same key as the desk's expiry notice: one toast, not two, for one expiry.
            self._toast(f"proposal from {label} left the queue: {outcome.note}", "expired")
        else:
            self._note("info", f"deferred proposal from {label}")
            self._quiet_until = time.monotonic() + DEFER_QUIET_SECONDS
            return
        self.call_after_refresh(self._open_next_waiting)

    def _open_next_waiting(self) -> None:
        """After one decision, the next proposal nobody has looked at yet (deferred ones
        stay in the queue until the person picks them)."""
        for pid in self.desk.pending:
            if pid not in self._auto_opened:
                self._maybe_auto_open(pid)
                return

    def send_reject(self, pid: str, note: str = "") -> None:
        pending = self.desk.pending.get(pid)
        label = pending.proposal.strategy if pending is not None else pid
        self.run_command(f"reject {label}", lambda: self.client.reject(pid, note))

    def send_confirm(
        self, pid: str, quantity: int | None = None, limit: Decimal | None = None
    ) -> None:
        self.run_command(
            f"confirm {pid}", lambda: self.client.confirm(pid, quantity=quantity, limit_price=limit)
        )

    # ------------------------------------------------------------------ strategies
    def toggle_strategy(self, name: str) -> None:
        status = self.desk.strategies.get(name)
        if status is not None and status.state is StrategyRunState.RUNNING:
            self.pause_strategy(name)
        else:
            self.resume_strategy(name)

    def pause_strategy(self, name: str) -> None:
        self.run_command(f"pause {name}", lambda: self.client.pause_strategy(name))

    def resume_strategy(self, name: str) -> None:
        self.run_command(f"resume {name}", lambda: self.client.resume_strategy(name))

    def stop_strategy(self, name: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.run_command(f"stop {name}", lambda: self.client.stop_strategy(name))

        self.push_screen(
            YesNoDialog(
                f"Stop {name}?",
                "It stops proposing until resumed; positions stay open.",
                yes="Stop",
                danger=True,
            ),
            answered,
        )

    def set_profile(self, name: str, profile: str) -> None:
        self.run_command(
            f"profile {name} → {profile}", lambda: self.client.set_profile(name, profile)
        )

    def open_strategy(self, name: str) -> None:
        from wsb_tui.screens.strategy import StrategyScreen

        if name not in self.desk.strategies:
            self.notify(f"unknown strategy {name!r}", severity="warning")
            return
        self.push_screen(StrategyScreen(name))

    # ------------------------------------------------------------------ risk
    def set_trading_state(self, state: str) -> None:
        def send() -> None:
            self.run_command(
                f"trading {state}", lambda: self.client.set_trading_state(state, "desk")
            )

        if state == "HALTED":
            send()
            return
        self.push_screen(
            YesNoDialog(f"Set trading {state}?", f"New orders will be allowed per {state} rules."),
            lambda yes: send() if yes else None,
        )

    def reset_breaker(self, name: str) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.run_command(f"reset breaker {name}", lambda: self.client.reset_breaker(name))

        self.push_screen(
            YesNoDialog(
                f"Reset breaker {name}?",
                "Trading it blocked resumes. Do this only once the cause is understood.",
                yes="Reset",
                danger=True,
            ),
            answered,
        )

    def action_kill_switch(self) -> None:
        def chosen(choice: str | None) -> None:
            if choice is None:
                return
            flatten = choice == "flatten"
            self.run_command(
                "kill switch" + (" + flatten" if flatten else ""),
                lambda: self.client.kill_switch(flatten=flatten),
            )

        self.push_screen(KillSwitchDialog(self.desk.open_positions()), chosen)

    # ------------------------------------------------------------------ navigation
    def _push_unique(self, screen_cls: type, *args: Any) -> None:
        if isinstance(self.screen, screen_cls):
            return
        self.push_screen(screen_cls(*args))

    def action_open_risk(self) -> None:
        from wsb_tui.screens.risk import RiskScreen

        self._push_unique(RiskScreen)

    def action_open_blotter(self) -> None:
        from wsb_tui.screens.blotter import BlotterScreen

        self._push_unique(BlotterScreen)

    def open_chain(self, symbol: str | None = None) -> None:
        from wsb_tui.screens.chain import ChainScreen

        self._push_unique(ChainScreen, symbol or self._default_symbol())

    def action_open_chain(self) -> None:
        self.open_chain()

    def open_chart(self, symbol: str | None = None) -> None:
        from wsb_tui.screens.chart import ChartScreen

        self._push_unique(ChartScreen, symbol or self._default_symbol())

    def action_open_chart(self) -> None:
        self.open_chart()

    def action_help(self) -> None:
        from wsb_tui.screens.help import HelpScreen

        self._push_unique(HelpScreen)

    def action_go_dashboard(self) -> None:
        while len(self.screen_stack) > 2 and not isinstance(self.screen, DashboardScreen):
            self.pop_screen()

    def _default_symbol(self) -> str:
        unders = self.desk.underlyings()
        return unders[0] if unders else "SPY"

    def action_cycle_theme(self) -> None:
        self.theme = themes.next_theme(self.theme)
        self.notify(f"theme: {self.theme}", timeout=2)

    # ------------------------------------------------------------------ quitting
    async def action_quit(self) -> None:
        await self.action_request_quit()

    async def action_request_quit(self) -> None:
        if self._shutting_down:
            return
        n = self.desk.open_positions()
        if n == 0:
            await self.shutdown()
            return

        async def answered(yes: bool | None) -> None:
            if yes:
                await self.shutdown()

        self.push_screen(
            YesNoDialog(
                "Quit with open positions?",
                f"{n} position(s) stay open at the broker. The engine stops and saves its "
                "orders and state; it will reconcile on the next start.",
                yes="Quit",
            ),
            answered,
        )

    async def shutdown(self) -> None:
        """Stop the engine cleanly (it persists orders and state), then leave."""
        if self._shutting_down:
            return
        self._shutting_down = True
        self.workers.cancel_group(self, "engine-events")
        self.workers.cancel_group(self, "engine-snapshot")
        await self._close_client()
        self.exit()

    async def _close_client(self) -> None:
        if self._client_closed or self._client is None:
            return
        self._client_closed = True
        try:
            await asyncio.wait_for(self.client.close(), CLOSE_TIMEOUT_SECONDS)
        except Exception as exc:  # report, but never trap the person in the app
            self.log.error(f"engine close failed: {exc!r}")

    async def on_unmount(self) -> None:
        # Belt and braces: however the app ends, the engine is asked to close.
        self._shutting_down = True
        if self._gc_threshold is not None:  # the process may go on (tests, `wsb attach`)
            gc.set_threshold(*self._gc_threshold)
            self._gc_threshold = None
        await self._close_client()

    # ------------------------------------------------------------------ palette
    def strategy_names(self) -> list[str]:
        return list(self.desk.strategies)

    def replace_settings(self, **changes: Any) -> None:
        self.settings = replace(self.settings, **changes)
        save_settings(self.settings, self.settings_path)


def client_of(built: object) -> EngineClient:
    """The client inside whatever an engine builder returned: a client, an
    `(engine, client)` pair, or an object with a `.client`."""
    from engine.runtime.client_api import EngineClient

    if isinstance(built, EngineClient):
        return built
    if isinstance(built, tuple | list):
        for item in built:
            if isinstance(item, EngineClient):
                return item
    inner = getattr(built, "client", None)
    if isinstance(inner, EngineClient):
        return inner
    raise TypeError(f"cannot find an EngineClient in {type(built).__name__}")


class EmbeddedClient:
    """An embedded engine's client that also owns the engine's run: the engine runs as a
    task in the app's loop, and `close()` asks it to stop, waits until it has persisted
    its state, then closes the store."""

    def __init__(self, built: object) -> None:
        self._built = built
        self._inner = client_of(built)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        engine = getattr(self._built, "engine", None)
        run = getattr(engine, "run", None)
        if run is not None:
            self._task = asyncio.create_task(run(), name="embedded engine")

    @property
    def engine_task(self) -> asyncio.Task[None] | None:
        return self._task

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def close(self) -> None:
        await self._inner.close()
        try:
            if self._task is not None:
                await self._task
        finally:
            closer = getattr(self._built, "close", None)
            if closer is not None:
                await closer()


def embedded_connect(
    builder: Callable[..., Awaitable[object]],
    config: object,
    *,
    db_path: Path | None,
    speed: float | None,
) -> ClientFactory:
    """A connect factory that builds an embedded engine inside the app's loop and runs it."""

    async def connect_built() -> EngineClient:
        built = await builder(config, db_path=db_path, headless=False, speed=speed)
        owned = EmbeddedClient(built)
        owned.start()
        return owned

    return connect_built


async def import_engine_off_loop() -> None:
    """The embedded engine's heavy modules (NumPy, SciPy, pandas, exchange_calendars,
    pydantic models), imported in a thread: the painted desk stays responsive meanwhile."""

    def load() -> None:
        import engine.runtime.embedded  # noqa: F401

    await asyncio.to_thread(load)


def run_tui(
    client: EngineClient | None = None,
    *,
    connect: ClientFactory | None = None,
    builder: Callable[..., Awaitable[object]] | None = None,
    config: object = None,
    db_path: Path | None = None,
    speed: float | None = None,
    **kw: Any,
) -> WsbApp:
    """Run the desk in this terminal until the person quits; returns the finished app
    (its `return_code`, and `start_aborted` when a connect factory gave up).

    Either a ready `client`, an async `connect()` returning one, or an embedded-engine
    `builder(config, db_path=, headless=False, speed=)` awaited inside the app's event loop
    (so the engine and the UI share one loop and the dashboard paints before warm-up ends).
    """
    if client is None and connect is None and builder is not None:
        connect = embedded_connect(builder, config, db_path=db_path, speed=speed)
    app = WsbApp(client, connect=connect, **kw)
    app.run()
    return app


def run_embedded(
    config: object, *, db_path: Path | None = None, speed: float | None = None, **kw: Any
) -> WsbApp:
    """The desk over the embedded engine for a loaded config: the dashboard paints first,
    the engine's modules are imported in a thread behind it, then the engine is built and
    run inside the app's event loop."""

    async def connect() -> EngineClient:
        await import_engine_off_loop()
        from engine.runtime.embedded import build_embedded

        return await embedded_connect(build_embedded, config, db_path=db_path, speed=speed)()

    return run_tui(None, connect=connect, **kw)
