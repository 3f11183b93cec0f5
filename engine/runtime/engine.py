"""The `Engine`: one path for every trade.

    MarketData --bars--> Strategy.on_bar(ctx) --TradeProposal--> PreTradeRisk.check
       --approved--> ConfirmationGate (auto | confirm) --> Broker.submit
       --Fill--> Store (one transaction) --> Ledger --> EventBus --> clients

Everything is written to the store before it is published. The market loop, the fill loop
and each strategy run as asyncio tasks; the market loop waits for strategies and fills at
each tick (a barrier), so a simulated run is deterministic at any speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from engine.broker.protocol import Broker
from engine.broker.replacement import (
    OrderNotReplaceable,
    increases_risk,
    limit_notional,
    replace_problem,
    replacement_client_order_id,
    replacement_request,
    resting_cost,
)
from engine.data.batch_quotes import option_quotes
from engine.data.calendar import MarketCalendar
from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import (
    BadMarketData,
    Bar,
    DataRejected,
    EngineEvent,
    EngineStarted,
    EngineStopped,
    Equity,
    Fill,
    LogLine,
    OptionContract,
    Order,
    OrderFilled,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PortfolioSnapshot,
    PositionEffect,
    ProposalCreated,
    ProposalDecided,
    ProposalIntent,
    ProposalState,
    ProposalStateChanged,
    ReconciliationDifference,
    RiskDecision,
    Side,
    StrategyStatusChanged,
    TimeInForce,
    TradeProposal,
    make_client_order_id,
    make_proposal_id,
)
from engine.domain.proposals import ExitReason
from engine.risk.pretrade import LazyOpenRiskInputs, PreTradeRisk
from engine.risk.report import RiskReport
from engine.runtime.bus import EventBus, Subscription
from engine.runtime.clock import Clock, SimulatedClock, WallPacedClock
from engine.runtime.data_health import data_health
from engine.runtime.gate import ConfirmationGate, GateMode, Waiting
from engine.runtime.ledger import Ledger
from engine.runtime.manager import StrategyManager, StrategySlot
from engine.runtime.monitor import MonitorUpdate, MonitorView, RiskMonitor
from engine.runtime.position_greeks import position_greeks
from engine.runtime.tail_hedger import HedgeView, TailHedger
from engine.runtime.views import (
    DataHealth,
    EngineSnapshot,
    GaugeReading,
    PendingProposal,
    PositionGreeks,
    RiskSummary,
    StrategyRunState,
    TradingState,
)
from engine.store import Store
from engine.store.records import EquitySnapshot
from engine.strategies.base import (
    DEFAULT_PROFILE,
    PROFILE_LIMITS,
    PROFILES,
    Strategy,
    StrategyContext,
)
from engine.strategies.registry import allocation_cap

log = logging.getLogger(__name__)

# Engine.log's level column ("INFO   "...), made once instead of per line.
_LOG_LABELS = {lv: f"{lv.upper():7}" for lv in ("debug", "info", "warning", "error", "critical")}

SETTING_TRADING_STATE = "trading_state"
SETTING_CLOCK = "sim_clock"
SETTING_PEAK = "peak_equity"
SETTING_SOD = "start_of_day_equity"

# Risk checks whose failure can clear within minutes by itself (the market, the data, the
# order throttle, a breaker's cool-down). A denial on anything else (buying power, budgets,
# concentration...) stands until the book changes, so the same entry is not re-proposed.
TRANSIENT_CHECKS = frozenset(
    {
        "trading_state",
        "pricing",
        "stale_data",
        "market_hours",
        "rate_limit",
        "order_rate",
        "breakers",
        "luld",
    }
)


class MinuteFeed(Protocol):
    """A source that can hand the engine every symbol's bar for one minute at once."""

    def minute_bars_at(self, ts: datetime) -> Mapping[str, Bar]: ...


class DailyFeed(Protocol):
    """A source that hands every symbol's daily bar for one session (daily backtests)."""

    def daily_bars_at(self, session: date) -> Mapping[str, Bar]: ...


@dataclass(frozen=True, slots=True)
class RunBudget:
    """How long `run` goes on: a number of sessions (`30d`) or market minutes (`6h`)."""

    sessions: int | None = None
    market_minutes: int | None = None

    @classmethod
    def parse(cls, text: str) -> RunBudget:
        t = text.strip().lower()
        try:
            n = int(t[:-1])
        except ValueError:
            n = -1
        if n <= 0 or t[-1:] not in {"d", "h", "m"}:
            raise ValueError(
                f"--run-for {text!r}: use a positive whole number with d (trading days), "
                "h (market hours) or m (market minutes), e.g. 30d or 6h"
            )
        if t.endswith("d"):
            return cls(sessions=n)
        return cls(market_minutes=n * 60 if t.endswith("h") else n)


class Engine:
    def __init__(
        self,
        *,
        market: MarketData,
        feed: MinuteFeed | DailyFeed,
        broker: Broker,
        store: Store,
        clock: SimulatedClock,
        calendar: MarketCalendar,
        strategies: Sequence[Strategy],
        risk: PreTradeRisk,
        gate: ConfirmationGate,
        bus: EventBus | None = None,
        mode_label: str = "SIM",
        initial_cash: Decimal = Decimal("100000"),
        strategy_timeout: timedelta = timedelta(seconds=10),
        equity_snapshot_every: timedelta = timedelta(minutes=30),
        option_mark_every: timedelta = timedelta(minutes=5),
        monitor: RiskMonitor | None = None,
        tail_hedger: TailHedger | None = None,
        step: str = "minute",
        replay: bool = False,
    ) -> None:
        if step not in {"minute", "day"}:
            raise ValueError(
                f"step={step!r}: must be 'minute' (live/sim) or 'day' (daily backtest)"
            )
        self.step = step
        # Replays (backtests): strategies run on the market loop's task, and an order's intent
        # row is written with the broker's answer instead of being committed before the submit
        # (the backtest store commits once per session, so it would not be durable on its own
        # anyway; a live engine keeps intent-before-submit, see _submit).
        self.replay = replay
        self.monitor = monitor
        self.tail_hedger = tail_hedger
        self.var99_pct: float | None = None
        self._monitor_gauges: tuple[GaugeReading, ...] = ()
        self._errors: deque[datetime] = deque(maxlen=1000)
        self.market = market
        self.feed = feed
        self.broker = broker
        self.store = store
        self.clock = clock
        self.calendar = calendar
        self.risk = risk
        self.gate = gate
        self.bus = bus or EventBus()
        self.mode_label = mode_label
        self.manager = StrategyManager(strategies, timeout=strategy_timeout, inline=replay)
        self.manager.on_error = self._on_strategy_error
        self.ledger = Ledger(initial_cash)
        self.trading_state = TradingState.ACTIVE
        self.tripped_breakers: list[str] = []
        self.equity_snapshot_every = equity_snapshot_every
        self.option_mark_every = option_mark_every
        self.last_data_at: datetime | None = None
        self.open_orders: dict[str, Order] = {}
        self.recent_fills: deque[Fill] = deque(maxlen=200)
        self.log_lines: deque[str] = deque(maxlen=500)
        self._log_stamp_at: datetime | None = None
        self._log_stamp = ""
        self.ticks = 0
        self.fills_recorded = 0
        self.proposals_seen = 0
        # (strategy, underlying) whose new entry risk denied: its OPEN proposals are dropped
        # until the next session or the next fill (either can change the verdict). Without
        # it a strategy re-proposes the same denied entry every minute all day.
        self._cooling: dict[tuple[str, str], datetime] = {}
        self.proposals_cooled = 0
        self._last_equity_snapshot: datetime | None = None
        self._last_option_mark: datetime | None = None
        self._saved_state: dict[str, str] = {}  # what _save_strategy last wrote, per strategy
        self._saved_peak: Decimal | None = None
        self._session: date | None = None
        self._bars: Mapping[str, Bar] = {}
        self._followups: list[TradeProposal] = []
        self._fill_task: asyncio.Task[None] | None = None
        self._take_fills: Any = None  # replay: the broker's take_fills
        self._fill_busy = False
        self._stopping = asyncio.Event()
        self._started = False
        self._lock = asyncio.Lock()  # serialises commands against the market loop

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Rebuild state from the store, reconcile with the broker, start the tasks."""
        if self._started:
            return
        await self._restore()
        await self._reconcile()
        self.manager.start()
        hold = getattr(self.broker, "hold_fills", None)
        if self.replay and hold is not None:
            hold()  # fills come back from broker.take_fills in _settle, on this task
            self._take_fills = getattr(self.broker, "take_fills", None)
        self._fill_task = asyncio.create_task(self._fill_loop(), name="fills")
        if self.monitor is not None:
            # Build the risk model and re-apply restored breakers before the first proposal.
            await self._run_monitor(self.clock.now())
        self._started = True
        await self._emit(
            EngineStarted(
                ts=self.clock.now(),
                mode=self.mode_label,
                broker=self.broker.name,
                data=self.market.name,
            )
        )
        self.log("info", f"engine started: {self.mode_label}, {len(self.manager.slots)} strategies")

    async def stop(self, reason: str = "stopped") -> None:
        if not self._started:
            return
        self._stopping.set()
        await self._settle()
        await self.manager.stop()
        for slot in self.manager.slots.values():
            await self._save_strategy(slot.name)
        if self._fill_task is not None:
            self._fill_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fill_task
        await self._snapshot_equity(force=True)
        await self.store.set_setting(
            SETTING_CLOCK, self.clock.now().isoformat(), at=self.clock.now()
        )
        await self._emit(EngineStopped(ts=self.clock.now(), reason=reason))
        self._started = False
        self.bus.close()

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self, budget: RunBudget | None = None) -> None:
        """Drive the market minute by minute until the budget is spent or a stop is asked."""
        await self.start()
        try:
            await self._market_loop(budget)
        finally:
            await self.stop("run finished" if not self._stopping.is_set() else "stop requested")

    async def advance(self, budget: RunBudget) -> None:
        """Drive the market for `budget` on a started engine (tests, backtests, stepping)."""
        await self._market_loop(budget)

    # ------------------------------------------------------------------ restore / reconcile

    async def _restore(self) -> None:
        now = self.clock.now()
        acct = await self.store.load_account()
        if acct is not None:
            cash = acct.cash
        else:
            cash = self.ledger.cash
            await self.store.set_account(cash, Decimal(0), now, kind="deposit", note="initial cash")
        positions = await self.store.load_positions()
        by_strat = await self.store.load_strategy_positions()
        self.ledger.load(cash, positions.values(), {s: b.values() for s, b in by_strat.items()})
        flat = await self.store.load_strategy_positions(include_flat=True)
        self.ledger.set_realized(
            {
                s: sum(float(p.realized_pnl) for p in book.values() if p.quantity == 0)
                for s, book in flat.items()
            }
        )
        state = await self.store.get_setting(SETTING_TRADING_STATE)
        if isinstance(state, str) and state in TradingState.__members__:
            self.trading_state = TradingState(state)
        breakers = await self.store.get_setting("tripped_breakers")
        if isinstance(breakers, list):
            self.tripped_breakers = [str(b) for b in breakers]
        peak = await self.store.get_setting(SETTING_PEAK)
        if isinstance(peak, str):
            self.ledger.peak_equity = Decimal(peak)
        sod = await self.store.get_setting(SETTING_SOD)
        if isinstance(sod, str):
            self.ledger.start_of_day_equity = Decimal(sod)
        saved_clock = await self.store.get_setting(SETTING_CLOCK)
        if isinstance(saved_clock, str):
            when = datetime.fromisoformat(saved_clock)
            if when > self.clock.now():
                # A restart resumes market time where the last run stopped, so the same
                # simulated minutes are not traded twice.
                self.clock.jump_to(when)
        for slot in self.manager.slots.values():
            rec = await self.store.load_strategy_state(slot.name)
            if rec is not None:
                self.manager.restore_state(slot.name, rec.state)
        paper = self.broker.name == "paper"
        for order in await self.store.load_open_orders():
            if not paper:
                # A real broker kept the order through our crash: ask it, never guess.
                live = await self.broker.order(order.client_order_id)
                if live is not None and (
                    live.status != order.status or live.filled_quantity != order.filled_quantity
                ):
                    await self.store.upsert_order(live)
                if live is None or live.status.is_open:
                    self.open_orders[order.client_order_id] = live or order
                continue
            if order.request.order_type is OrderType.MARKET or not order.broker_order_id:
                # Open in the store but cut off by a crash between submit and fill: the
                # paper broker's book died with the process, so nothing was executed.
                dead = order.transition(
                    OrderStatus.CANCELED, self.clock.now(), reject_reason="lost in restart"
                )
                await self.store.upsert_order(dead)
                self.log("warning", f"order {order.client_order_id} was open at a crash; canceled")
            else:
                self.open_orders[order.client_order_id] = order
        restore = getattr(self.broker, "restore", None)
        if restore is not None:
            strat_of = {sym: strat for strat, book in by_strat.items() for sym in book}
            # Finished orders go back too, so a replayed submit of a known id returns the
            # stored order instead of being refused as an unknown duplicate.
            known = [o for o in await self.store.load_orders() if o.status.is_terminal]
            restore(
                self.ledger.cash,
                list(self.ledger.positions.values()),
                list(self.open_orders.values()),
                await self.store.client_order_ids(),
                known_orders=known,
                position_strategies=strat_of,
            )

    async def _reconcile(self) -> None:
        """Compare the store's book with the broker's; differences are logged and shown."""
        for problem in await self.store.verify_ledger():
            self.log("error", f"ledger check at start: {problem}")
        stored_open = set(self.open_orders)
        for o in await self.broker.open_orders():
            if o.client_order_id not in stored_open:
                self.log(
                    "warning",
                    f"reconcile: broker has open order {o.client_order_id} the store does not",
                )
        broker_pos = {p.symbol: p.quantity for p in await self.broker.positions()}
        stored = {s: p.quantity for s, p in self.ledger.positions.items()}
        for sym in sorted(set(broker_pos) | set(stored)):
            b, s = broker_pos.get(sym, 0), stored.get(sym, 0)
            if b != s:
                ev = ReconciliationDifference(
                    ts=self.clock.now(),
                    symbol=sym,
                    stored_quantity=s,
                    broker_quantity=b,
                    detail="broker and store disagree; store kept, please review",
                )
                await self._emit(ev)
                self.log("warning", f"reconcile {sym}: store {s}, broker {b}")

    # ------------------------------------------------------------------ market loop

    async def _market_loop(self, budget: RunBudget | None) -> None:
        if self.step == "day":
            await self._daily_loop(budget)
            return
        sessions_done = 0
        minutes_done = 0
        one = timedelta(minutes=1)
        while not self._stopping.is_set():
            now = self.clock.now()
            session = self.calendar.session_on_or_after(now.date())
            open_, close = self.calendar.session_open(session), self.calendar.session_close(session)
            if now >= close:
                session = self.calendar.next_session(session)
                open_ = self.calendar.session_open(session)
                close = self.calendar.session_close(session)
            if now < open_:
                self.clock.jump_to(open_)
                now = open_
            if self._session != session:
                await self._on_session_open(session)
            # Next whole minute boundary after now.
            tick = now.replace(second=0, microsecond=0) + one
            if not await self._advance_clock(tick):
                return
            async with self._lock:
                await self._on_tick(tick)
            minutes_done += 1
            if tick >= close:
                async with self._lock:
                    await self._on_session_close(session)
                sessions_done += 1
            if budget is not None and (
                (budget.sessions is not None and sessions_done >= budget.sessions)
                or (budget.market_minutes is not None and minutes_done >= budget.market_minutes)
            ):
                return

    async def _advance_clock(self, when: datetime) -> bool:
        """Advance the clock to `when`; False if a stop was asked while it waited.

        A paced clock can wait a minute, and a wall-paced one until the next open: racing the
        stop event lets a quitting desk stop the engine at once.  At max speed the wait is a
        bare yield, so the race (two tasks a tick) is skipped there.
        """
        paced = isinstance(self.clock, WallPacedClock) or (
            getattr(self.clock, "speed", None) is not None
        )
        if not paced:
            await self.clock.advance_to(when)
            return True
        advance = asyncio.ensure_future(self.clock.advance_to(when))
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({advance, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in (advance, stopping):
            if task not in done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if advance in done:
            advance.result()  # a failed data refresh surfaces here, not silently
        return advance in done and not self._stopping.is_set()

    async def _daily_loop(self, budget: RunBudget | None) -> None:
        """One tick per session, at its close, with that session's daily bars."""
        done = 0
        while not self._stopping.is_set():
            now = self.clock.now()
            session = self.calendar.session_on_or_after(now.date())
            close = self.calendar.session_close(session)
            if now >= close:
                session = self.calendar.next_session(session)
                close = self.calendar.session_close(session)
            await self._on_session_open(session)
            if not await self._advance_clock(close - timedelta(seconds=1)):
                return
            async with self._lock:
                await self._on_tick(close - timedelta(seconds=1))
            if self.replay:
                # One yield per session is enough for a replay (advance_to above gave it).
                self.clock.jump_to(close)
            else:
                await self.clock.advance_to(close)
            async with self._lock:
                await self._on_session_close(session)
            done += 1
            if budget is not None and budget.sessions is not None and done >= budget.sessions:
                return

    async def _expire_stale_daily_orders(self, session: date) -> None:
        """Daily steps: an order gets one full session to fill (the broker has checked it
        against that session's range and its closing quote), then it is canceled."""
        opened = self.calendar.session_open(session)
        for coid, order in list(self.open_orders.items()):
            if order.created_at < opened:
                try:
                    canceled = await self.broker.cancel(coid)
                except (LookupError, ValueError):
                    continue  # filled or gone meanwhile; _refresh_orders records it
                await self.store.upsert_order(canceled)
        await self._refresh_orders()

    def _bars_at(self, ts: datetime) -> Mapping[str, Bar]:
        if self.step == "day":
            feed_d: Any = self.feed
            return dict(feed_d.daily_bars_at(self.calendar.session_on_or_before(ts.date())))
        feed_m: Any = self.feed
        return dict(feed_m.minute_bars_at(ts))

    async def _on_session_open(self, session: date) -> None:
        self._session = session
        self._cooling.clear()
        self.manager.new_day()
        eq = self._portfolio().equity
        self.ledger.roll_day(eq)
        await self.store.set_setting(
            SETTING_SOD, str(self.ledger.start_of_day_equity), at=self.clock.now()
        )
        self.log("info", f"session {session} open")

    async def _on_session_close(self, session: date) -> None:
        now = self.clock.now()
        # The steps with nothing to do (no option held, no order open: most closes of a
        # daily run) are skipped here rather than entered as coroutines.
        held_options = self._options_to_mark(now, force=True)
        if held_options:
            await self._mark_options(held_options)
        on_market = getattr(self.broker, "on_market", None)
        if on_market is not None:
            await on_market(now)  # DAY orders expire, expiring options are processed
        await self._settle()
        self._mark_new_holdings(self._bars)  # shares delivered by an exercise just now
        if self.open_orders:
            await self._refresh_orders()
        port = self._portfolio()
        # One commit for the session's bookkeeping (every fill is already settled above).
        async with self.store.transaction():
            for slot in self.manager.slots.values():
                slot.pnl_history.append(
                    round(self.ledger.realized(slot.name) + self.ledger.unrealized(slot.name), 2)
                )
                key = repr((slot.state.value, slot.profile, slot.strategy.state()))
                if self._saved_state.get(slot.name) != key:
                    self._saved_state[slot.name] = key
                    await self._save_strategy(slot.name)
            await self._snapshot_equity(force=True)
            await self.store.set_setting(SETTING_CLOCK, now.isoformat(), at=self.clock.now())
        self.log("info", f"session {session} closed: equity ${port.equity:,.2f}")

    def _mark_new_holdings(self, bars: Mapping[str, Bar]) -> None:
        """Positions opened since the last marks carry none yet: value them at this bar, not
        at cost."""
        for sym in self.ledger.unmarked():
            bar = bars.get(sym)
            if bar is not None:
                self.ledger.mark(sym, bar.close)

    async def _on_tick(self, ts: datetime) -> None:
        self.ticks += 1
        try:
            bars = self._bars_at(ts)
        except (BadMarketData, DataUnavailable) as exc:
            await self._emit(DataRejected(ts=ts, source=self.market.name, detail=str(exc)))
            bars = {}
        if bars:
            self.last_data_at = ts
        self._bars = bars
        self.ledger.mark_closes(bars)
        # The steps with nothing to do (no option held, no order open, no follow-up: most
        # ticks) are skipped here rather than entered as coroutines.
        held_options = self._options_to_mark(ts)
        if held_options:
            await self._mark_options(held_options)
        on_market = getattr(self.broker, "on_market", None)
        if on_market is not None:
            await on_market(ts)
        await self._settle()
        if self.open_orders:
            await self._refresh_orders()
        if self.step == "day" and self._session is not None and self.open_orders:
            # Before the scan: an order that had its session (and its range) unfilled is
            # canceled now, so its strategy re-prices it at this close, not a session later.
            await self._expire_stale_daily_orders(self._session)
        await self._expire_waiting(ts)
        if self.calendar.is_open(ts - timedelta(seconds=1)):
            proposals = await self.manager.scan(ts, bars, self._context)
            for p in proposals:
                if not self._is_cooling(p):
                    await self._handle_proposal(p)
            if self.tail_hedger is not None:
                await self._run_tail_hedger(ts)
        if self._followups:
            await self._drain_followups()
        self._mark_new_holdings(bars)
        port = self._portfolio()
        self.ledger.note_equity(port.equity)
        if self.monitor is not None:
            await self._run_monitor(ts)
        if self.bus.heard:
            self.bus.publish(PortfolioSnapshot(ts=ts, portfolio=port))
        else:
            self.bus.tally()  # nobody listens: the event is counted, not built
        await self._snapshot_equity()

    async def _run_monitor(self, ts: datetime) -> None:
        assert self.monitor is not None
        while self._errors and ts - self._errors[0] > timedelta(minutes=1):
            self._errors.popleft()
        view = MonitorView(
            now=ts,
            portfolio=self._portfolio(),
            strategy_positions={s: dict(b) for s, b in self.ledger.by_strategy.items()},
            bars=self._bars,
            market=self.market,
            trading_state=self.trading_state,
            tripped_breakers=tuple(self.tripped_breakers),
            last_data_at=self.last_data_at,
            errors_last_minute=len(self._errors),
            market_open=self.calendar.is_open(ts - timedelta(seconds=1)),
        )
        try:
            update = await self.monitor.on_tick(view)
        except Exception as exc:  # fail closed: a broken risk model blocks new risk
            log.exception("risk monitor failed")
            update = MonitorUpdate(
                trip=(("risk_model", f"risk monitor raised {type(exc).__name__}: {exc}"),)
            )
        await self._apply_monitor(update)
        risk_event = getattr(self.monitor, "risk_event", None)
        if risk_event is not None:  # the gauges' picture, after this tick's state changes
            port = self._portfolio()
            event = risk_event(ts, port, self.trading_state, tuple(self.tripped_breakers))
            if event is not None:
                self.bus.publish(event)

    async def _apply_monitor(self, update: MonitorUpdate) -> None:
        now = self.clock.now()
        changed = False
        for name, reason in update.trip:
            if name not in self.tripped_breakers:
                self.tripped_breakers.append(name)
                changed = True
                self.log("error", f"breaker {name} tripped: {reason}")
        for name in update.clear:
            if name in self.tripped_breakers:
                self.tripped_breakers.remove(name)
                changed = True
                self.log("warning", f"breaker {name} cleared after its cool-down")
        if changed:
            await self.store.set_setting("tripped_breakers", list(self.tripped_breakers), at=now)
        if update.trading_state is not None and update.trading_state is not self.trading_state:
            await self.set_trading_state(
                update.trading_state, update.note or "risk monitor", "risk"
            )
        if update.gauges:
            self._monitor_gauges = update.gauges
        if update.var99_pct is not None:
            self.var99_pct = update.var99_pct
        if update.cancel_open_orders or update.flatten:
            await self._kill(flatten=update.flatten, actor="risk")

    def _options_to_mark(
        self, now: datetime, *, force: bool = False
    ) -> tuple[tuple[str, OptionContract], ...]:
        """The held options to re-price now: every `option_mark_every` (or `force`d), else
        none. A pass is due on schedule whether or not any option is held."""
        last = self._last_option_mark
        if not force and last is not None and now - last < self.option_mark_every:
            return ()
        self._last_option_mark = now
        return self.ledger.option_holdings()

    async def _mark_options(self, held: Sequence[tuple[str, OptionContract]]) -> None:
        # One batch: priced one by one, each held contract cost the simulator a pricing pass.
        quotes = await option_quotes(self.market, [c for _, c in held])
        for sym, contract in held:
            q = quotes.get(contract)
            if q is not None:
                self.ledger.mark(sym, q.mid)

    # ------------------------------------------------------------------ proposals

    def _context(self, slot: StrategySlot) -> StrategyContext:
        now = self.clock.now()
        name = slot.name
        profile = slot.profile
        # Built for every scan: with no order open and nothing cooling (most ticks) those
        # empty answers are given without walking anything.
        pending = tuple(w.proposal for w in self.gate.waiting() if w.proposal.strategy == name)
        if self.open_orders:
            pending += tuple(
                p
                for o in self.open_orders.values()
                if o.request.strategy == name
                for p in self._pending_from_order(o)
            )
        cooling = (
            frozenset(u for s, u in self._cooling if s == name) if self._cooling else frozenset()
        )
        return StrategyContext(
            now=now,
            market=self.market,
            calendar=self.calendar,
            portfolio=self._portfolio(),
            positions=self.ledger.strategy_positions(name),
            pending=pending,
            profile=profile,
            allocation_cap=allocation_cap(name, profile),
            open_risk=self.ledger.strategy_open_risk(name),
            limits=PROFILE_LIMITS[profile],
            vix=self._vix(),
            cooling=cooling,
        )

    def _pending_from_order(self, order: Order) -> tuple[TradeProposal, ...]:
        # An open order stands for its proposal: strategies must not re-enter meanwhile.
        req = order.request
        return (
            TradeProposal(
                proposal_id=req.proposal_id or req.client_order_id,
                strategy=req.strategy or "manual",
                created_at=order.created_at,
                intent=ProposalIntent.CLOSE
                if all(leg.effect is PositionEffect.CLOSE for leg in req.legs)
                else ProposalIntent.OPEN,
                legs=req.legs,
                quantity=req.quantity,
                reason="open order",
                order_type=req.order_type,
                limit_price=req.limit_price,
            ),
        )

    def _vix(self) -> float | None:
        bar = self._bars.get("VIX")
        return bar.close if bar is not None else None

    async def _run_tail_hedger(self, ts: datetime) -> None:
        # Engine-owned (never paused or reprofiled like a strategy slot), but its proposals
        # take a strategy's path: pre-trade risk, the gate, the broker, the store.
        hedger = self.tail_hedger
        if hedger is None or not hedger.due(ts):
            return
        name = hedger.strategy
        busy = any(w.proposal.strategy == name for w in self.gate.waiting()) or any(
            o.request.strategy == name for o in self.open_orders.values()
        )
        vix = self._vix()
        step = await hedger.check(
            HedgeView(
                now=ts,
                vix=vix if vix is not None else self.risk.live.vix,  # the monitor's last print
                portfolio=self._portfolio(),
                held=self.ledger.strategy_positions(name),
                busy=busy,
                market=self.market,
            )
        )
        for level, message in step.notes:
            self.log(level, message)
        for p in step.proposals:
            decision = await self._handle_proposal(p, actor=name)
            if not decision.approved:
                hedger.denied(ts)  # a denial rarely clears in five minutes: back off

    async def _handle_proposal(self, p: TradeProposal, *, actor: str = "strategy") -> RiskDecision:
        self.proposals_seen += 1
        await self.store.save_proposal(p, ProposalState.PENDING_RISK, at=self.clock.now())
        bus = self.bus  # events nobody listens to are counted, not built (a few per trade)
        if bus.heard:
            bus.publish(ProposalCreated(ts=self.clock.now(), proposal=p))
        else:
            bus.tally()
        decision = await self._check(p)
        await self.store.record_risk_decision(decision)
        if bus.heard:
            bus.publish(ProposalDecided(ts=self.clock.now(), proposal=p, decision=decision))
        else:
            bus.tally()
        if not decision.approved:
            if actor == "strategy":
                self._note_denial(p, decision)
            await self._set_state(p.proposal_id, ProposalState.DENIED, decision.reason)
            self.log("info", f"risk denied {p.strategy} {p.underlying}: {decision.reason}")
            return decision
        if self.gate.admit(p, decision, self.clock.now()):
            await self._submit(p, actor="auto")
        else:
            await self._set_state(
                p.proposal_id, ProposalState.AWAITING_CONFIRMATION, "waiting for a person"
            )
        return decision

    async def _check(self, p: TradeProposal, *, hold_credit: float = 0.0) -> RiskDecision:
        now = self.clock.now()
        # A stock with a bar this tick is priced at its close, as `_price` does, without the
        # coroutine (and, for the underlying, the leg `_price` takes) per proposal.
        bars = self._bars
        leg_prices: dict[str, float] = {}
        for leg in p.legs:
            inst = leg.instrument
            bar = None if isinstance(inst, OptionContract) else bars.get(inst.symbol)
            px = bar.close if bar is not None else await self._price(leg)
            if px is not None:
                leg_prices[leg.symbol] = px
        und = p.underlying
        und_bar = bars.get(und) if und else None
        und_px: float | None = None
        if und_bar is not None:
            und_px = und_bar.close
        elif und:
            und_px = await self._price(OrderLeg(Equity(und, is_index=True), p.legs[0].side))
        profile = (
            self.manager.slots[p.strategy].profile if p.strategy in self.manager.slots else None
        )
        # The book's open risk, account-wide and the strategy's, is worked out only if a
        # check reads it (a walk of the whole book each, for every proposal).
        ledger = self.ledger
        strategy = p.strategy
        inputs = LazyOpenRiskInputs(
            now=now,
            portfolio=self._portfolio(),
            trading_state=self.trading_state._value_,
            market_open=self.calendar.is_open(now - timedelta(seconds=1)),
            leg_prices=leg_prices,
            underlying_prices={und: und_px} if und_px else {},
            last_data_at=self.last_data_at,
            strategy_open_risk_fn=lambda: ledger.strategy_open_risk(strategy),
            strategy_allocation_cap=allocation_cap(p.strategy, profile) if profile else 1.0,
            total_open_risk_fn=ledger.total_open_risk,
            tripped_breakers=tuple(self.tripped_breakers),
            var99_pct=self.var99_pct,
            vix=self._vix(),
            strategy_positions=self.ledger.strategy_positions(p.strategy),
            # A modify is judged as if the order it replaces no longer held buying power.
            open_order_holds=float(getattr(self.broker, "open_order_holds", lambda: 0)())
            - hold_credit,
            profile_max_position_pct=PROFILE_LIMITS[profile or DEFAULT_PROFILE].max_position_size,
            profile_max_total_risk_pct=PROFILE_LIMITS[profile or DEFAULT_PROFILE].max_total_risk,
        )
        return self.risk.check(p, inputs)

    async def _price(self, leg: OrderLeg) -> float | None:
        inst = leg.instrument
        try:
            if isinstance(inst, OptionContract):
                return (await self.market.option_quote(inst)).mid
            bar = self._bars.get(inst.symbol)
            if bar is not None:
                return bar.close
            return (await self.market.latest_quote(inst.symbol)).mid
        except (DataUnavailable, BadMarketData) as exc:
            self.log("warning", f"no price for {inst.symbol}: {exc}")
            return None

    async def _submit(self, p: TradeProposal, *, actor: str) -> Order | None:
        self.risk.record_submit(p, self.clock.now())
        tif = p.time_in_force
        if self.step == "day" and tif is TimeInForce.DAY:
            # Daily steps decide at the close: a DAY order would expire a second later.
            # It rests through the next session instead (see _expire_stale_daily_orders).
            tif = TimeInForce.GTC
        req = OrderRequest(
            client_order_id=make_client_order_id(
                p.strategy, p.proposal_id, p.quantity, p.limit_price
            ),
            legs=p.legs,
            quantity=p.quantity,
            order_type=p.order_type,
            limit_price=p.limit_price,
            time_in_force=tif,
            strategy=p.strategy,
            proposal_id=p.proposal_id,
        )
        # Record intent before the broker hears of it: a crash after this line leaves a
        # NEW order the restart can find by its client order id, never a silent duplicate.
        now = self.clock.now()
        if not self.replay:
            await self.store.upsert_order(Order(req, "", OrderStatus.NEW, now, now))
            order = await self.broker.submit(req)
        else:
            try:
                order = await self.broker.submit(req)
            except BaseException:
                # The row a live run would have left (built only when it is needed).
                await self.store.upsert_order(Order(req, "", OrderStatus.NEW, now, now))
                raise
        await self.store.upsert_order(order)
        await self._set_state(
            p.proposal_id, ProposalState.SUBMITTED, f"order {req.client_order_id} by {actor}"
        )
        await self._emit(OrderUpdated(ts=now, order=order), store=False)
        if order.status is OrderStatus.REJECTED:
            self.log(
                "warning", f"broker rejected {p.strategy} {p.underlying}: {order.reject_reason}"
            )
            self._record_error(f"broker rejected {p.underlying}: {order.reject_reason}")
        elif order.status.is_open:
            self.open_orders[req.client_order_id] = order
        await self._settle()
        return order

    async def _set_state(
        self, proposal_id: str, state: ProposalState, note: str, actor: str = "engine"
    ) -> None:
        await self.store.set_proposal_state(proposal_id, state, self.clock.now(), note=note)
        if not self.bus.heard:
            self.bus.tally()  # nobody listens: counted, not built
            return
        self.bus.publish(
            ProposalStateChanged(
                ts=self.clock.now(), proposal_id=proposal_id, state=state, note=note, actor=actor
            )
        )

    async def _drain_followups(self) -> None:
        while self._followups:
            batch, self._followups = self._followups, []
            for p in batch:
                if not self._is_cooling(p):
                    await self._handle_proposal(p)

    def _is_cooling(self, p: TradeProposal) -> bool:
        if p.intent is not ProposalIntent.OPEN:
            return False
        denied_at = self._cooling.get((p.strategy, p.underlying))
        # Only later scans are dropped: a scan's other proposals are judged on their own.
        if denied_at is None or p.created_at <= denied_at:
            return False
        self.proposals_cooled += 1
        return True

    def _note_denial(self, p: TradeProposal, decision: RiskDecision) -> None:
        if p.intent is not ProposalIntent.OPEN or not p.strategy or not p.underlying:
            return
        if any(c.name not in TRANSIENT_CHECKS for c in decision.failed_checks):
            self._cooling[(p.strategy, p.underlying)] = p.created_at

    # ------------------------------------------------------------------ fills

    async def _fill_loop(self) -> None:
        async for fill in self.broker.fills():
            await self._take_fill(fill)

    async def _take_fill(self, fill: Fill) -> None:
        self._fill_busy = True
        try:
            await self._process_fill(fill)
        except Exception:
            log.exception("failed to process fill %s", fill.fill_id)
            self.log("error", f"fill {fill.fill_id} could not be processed; see log")
        finally:
            self._fill_busy = False

    async def _process_fill(self, fill: Fill) -> None:
        new_cash = self.ledger.cash + fill.cash_delta
        rec = await self.store.record_fill(fill, account_cash=new_cash)
        if rec is None:
            return  # already recorded (replayed stream)
        # The realised P&L a fill adds is for the risk monitor only.
        monitored = self.monitor is not None
        before = self.ledger.realized(fill.strategy or "manual") if monitored else 0.0
        pos = self.ledger.apply(fill)
        self._cooling.clear()  # the book changed: denied entries may pass now
        if self.monitor is not None:
            self.monitor.on_fill(fill, self.ledger.realized(fill.strategy or "manual") - before)
        self.fills_recorded += 1
        self.recent_fills.append(fill)
        if self.bus.heard:
            self.bus.publish(OrderFilled(ts=fill.ts, fill=fill, position=pos))
        else:
            self.bus.tally()  # nobody listens: counted, not built
        slot = self.manager.slots.get(fill.strategy or "")
        # The base class's on_fill returns nothing: skip building a context for it.
        if slot is not None and type(slot.strategy).on_fill is not Strategy.on_fill:
            ctx = self._context(slot)
            self._followups.extend(await self.manager.deliver_fill(fill, ctx))

    async def _settle(self) -> None:
        """Wait until every fill the broker has emitted is stored and applied."""
        take = self._take_fills
        pending = getattr(self.broker, "pending_fills", None)
        for _ in range(100_000):
            if take is not None and not self._fill_busy:
                # Replay: the held fills are stored here, in order, with no task switch.
                batch = take()
                while batch:
                    for fill in batch:
                        await self._take_fill(fill)
                    batch = take()
            queued = pending() if pending is not None else 0
            if not queued and not self._fill_busy:
                return
            await asyncio.sleep(0)

    async def _refresh_orders(self) -> None:
        for coid, old in list(self.open_orders.items()):
            new = await self.broker.order(coid)
            if new is None:
                continue
            if new.status != old.status or new.filled_quantity != old.filled_quantity:
                await self.store.upsert_order(new)
                await self._emit(OrderUpdated(ts=self.clock.now(), order=new), store=False)
            if new.status.is_terminal:
                del self.open_orders[coid]
            else:
                self.open_orders[coid] = new

    # ------------------------------------------------------------------ snapshots

    def _portfolio(self) -> Any:
        return self.ledger.portfolio(self.clock.now())  # reserves reserved_collateral()

    async def _snapshot_equity(self, *, force: bool = False) -> None:
        now = self.clock.now()
        last = self._last_equity_snapshot
        if not force and last is not None and now - last < self.equity_snapshot_every:
            return
        self._last_equity_snapshot = now
        await self.store.record_equity_snapshot(EquitySnapshot.from_portfolio(self._portfolio()))
        peak = self.ledger.peak_equity
        if peak is not None and peak != self._saved_peak:
            self._saved_peak = peak
            await self.store.set_setting(SETTING_PEAK, str(peak), at=self.clock.now())

    def risk_summary(self) -> RiskSummary:
        port = self._portfolio()
        eq = port.equity
        gauges: list[GaugeReading] = []
        limits = self.risk.limits
        if port.peak_equity:
            dd = max(0.0, float(port.peak_equity) - eq)
            gauges.append(GaugeReading("drawdown", dd, 0.15 * float(port.peak_equity)))
        if port.day_pnl is not None:
            gauges.append(GaugeReading("day loss", max(0.0, -port.day_pnl), 0.06 * eq))
        gauges.append(GaugeReading("gross exposure", port.gross_exposure, eq))
        gauges.append(
            GaugeReading(
                "open risk",
                self.ledger.total_open_risk(),
                (limits.max_total_risk_pct or PROFILE_LIMITS[DEFAULT_PROFILE].max_total_risk) * eq,
            )
        )
        report = self.risk_report()
        g = report.greeks_total if report is not None else None
        return RiskSummary(
            ts=self.clock.now(),
            trading_state=self.trading_state,
            gauges=self._monitor_gauges + tuple(gauges),
            net_delta=g.delta if g is not None else 0.0,
            net_gamma=g.gamma if g is not None else 0.0,
            net_vega=g.vega if g is not None else 0.0,
            net_theta=g.theta if g is not None else 0.0,
            breakers=tuple(self.tripped_breakers),
            note=str(getattr(self.monitor, "last_error", "") or ""),
        )

    def snapshot(self) -> EngineSnapshot:
        now = self.clock.now()
        statuses = tuple(
            self.manager.status(
                name,
                open_positions=len(self.ledger.by_strategy.get(name, {})),
                realized=self.ledger.realized(name),
                unrealized=self.ledger.unrealized(name),
                open_risk=self.ledger.strategy_open_risk(name),
            )
            for name in self.manager.slots
        )
        statuses = tuple(
            replace(s, positions=tuple(self.ledger.by_strategy.get(s.name, {}).values()))
            for s in statuses
        )
        pending = tuple(
            PendingProposal(
                w.proposal, w.decision, ProposalState.AWAITING_CONFIRMATION, w.expires_at
            )
            for w in self.gate.waiting()
        )
        data: DataHealth = data_health(
            self.market,
            now=now,
            last_data_at=self.last_data_at,
            session_open=self.calendar.is_open(now),
        )
        return EngineSnapshot(
            ts=now,
            mode=self.mode_label,
            session_state=self.calendar.state(now).value,
            portfolio=self._portfolio(),
            strategies=statuses,
            pending=pending,
            open_orders=tuple(self.open_orders.values()),
            recent_fills=tuple(self.recent_fills)[-50:],
            risk=self.risk_summary(),
            data=data,
            gate_mode=self.gate.mode.value,
            log=tuple(self.log_lines)[-100:],
            position_greeks=self.position_greeks(),
            profiles=PROFILES,
        )

    def position_greeks(self) -> Mapping[str, PositionGreeks]:
        """Greeks of the open positions at their current marks (see runtime.position_greeks)."""
        return position_greeks(
            self.ledger.positions.values(),
            self.spots(),
            today=self.clock.now().date(),
            rate=self.rate(),
        )

    def spots(self) -> dict[str, float]:
        """Latest price per symbol: this minute's bars over the ledger's marks."""
        spots = dict(self.ledger.marks)
        spots.update((s, b.close) for s, b in self._bars.items())
        return spots

    def rate(self) -> float:
        rate = getattr(self.market, "rate", 0.0)
        return float(rate) if isinstance(rate, int | float) else 0.0

    # ------------------------------------------------------------------ events & log

    async def _emit(self, event: EngineEvent, *, store: bool = True) -> None:
        if store:
            await self.store.append_event(event)
        self.bus.publish(event)

    def log(self, level: str, message: str) -> None:
        now = self.clock.now()
        if now != self._log_stamp_at:
            # The fields by hand: strftime cost twice the rest of a log call; the same text
            # as "%Y-%m-%d %H:%M" for years 1000-9999. Kept while the clock stands (a
            # backtest logs a session's close and the next open at the same instant).
            self._log_stamp_at = now
            self._log_stamp = (
                f"{now.year}-{now.month:02d}-{now.day:02d} {now.hour:02d}:{now.minute:02d}"
            )
        label = _LOG_LABELS.get(level) or f"{level.upper():7}"
        self.log_lines.append(f"{self._log_stamp} {label} {message}")
        getattr(log, level)(message)
        if self.bus.heard:
            self.bus.publish(LogLine(ts=now, level=level, message=message))
        else:
            self.bus.tally()  # nobody listens: counted, not built

    def _record_error(self, what: str) -> None:
        now = self.clock.now()
        self._errors.append(now)
        if self.monitor is not None:
            self.monitor.on_error(what, now)

    def risk_report(self) -> RiskReport | None:
        get = getattr(self.monitor, "report", None)
        report: RiskReport | None = get() if get is not None else None
        return report

    def _on_strategy_error(self, name: str, what: str) -> None:
        self._record_error(f"strategy {name}: {what}")
        self.log("error", f"strategy {name} errored and was isolated: {what}")
        self.bus.publish(
            StrategyStatusChanged(ts=self.clock.now(), strategy=name, state="errored", detail=what)
        )

    def subscribe(self) -> Subscription:
        return self.bus.subscribe()

    # ------------------------------------------------------------------ commands

    async def _expire_waiting(self, now: datetime) -> set[str]:
        gone = {w.proposal.proposal_id for w in self.gate.expire(now)}
        for pid in gone:
            await self._set_state(pid, ProposalState.EXPIRED, "confirmation timed out")
        return gone

    async def confirm(
        self,
        proposal_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        actor: str = "user",
    ) -> tuple[bool, str]:
        async with self._lock:
            # Sweep first: between ticks (overnight on a wall-paced clock) a deadline can pass
            # with nobody expiring the proposal, and a late confirm must not reach the broker.
            if proposal_id in await self._expire_waiting(self.clock.now()):
                return False, f"proposal {proposal_id} expired: confirmation timed out"
            try:
                p, edited = self.gate.take(proposal_id, quantity=quantity, limit_price=limit_price)
            except (LookupError, ValueError) as exc:
                return False, str(exc)
            if edited:
                decision = await self._check(p)
                await self.store.save_proposal(
                    p, ProposalState.PENDING_RISK, note=f"edited by {actor}"
                )
                await self.store.record_risk_decision(decision)
                await self._emit(
                    ProposalDecided(ts=self.clock.now(), proposal=p, decision=decision), store=False
                )
                if not decision.approved:
                    await self._set_state(
                        p.proposal_id, ProposalState.DENIED, decision.reason, actor
                    )
                    return False, f"edited proposal denied by risk: {decision.reason}"
            await self._set_state(
                p.proposal_id, ProposalState.CONFIRMED, f"confirmed by {actor}", actor
            )
            order = await self._submit(p, actor=actor)
            await self._drain_followups()
            if order is None or order.status is OrderStatus.REJECTED:
                reason = order.reject_reason if order is not None else "not submitted"
                return False, f"broker rejected: {reason}"
            return True, f"order {order.client_order_id} {order.status.value}"

    async def reject(
        self, proposal_id: str, note: str = "", actor: str = "user"
    ) -> tuple[bool, str]:
        async with self._lock:
            try:
                self.gate.drop(proposal_id)
            except LookupError as exc:
                return False, str(exc)
            await self._set_state(
                proposal_id, ProposalState.REJECTED, note or f"rejected by {actor}", actor
            )
            return True, "rejected"

    async def submit_manual(self, proposal: TradeProposal, actor: str = "user") -> tuple[bool, str]:
        async with self._lock:
            p = replace(proposal, strategy=proposal.strategy or "manual")
            decision = await self._handle_proposal(p, actor=actor)
            if not decision.approved:
                return False, decision.reason
            return (
                True,
                "sent for confirmation" if self.gate.mode is GateMode.CONFIRM else "submitted",
            )

    async def set_trading_state(
        self, state: TradingState, reason: str, actor: str = "user"
    ) -> None:
        self.trading_state = state
        await self.store.set_setting(SETTING_TRADING_STATE, state.value, at=self.clock.now())
        self.log("warning", f"trading state -> {state.value} by {actor}: {reason}")

    async def reset_breaker(self, name: str, actor: str = "user") -> tuple[bool, str]:
        if name not in self.tripped_breakers:
            return False, f"breaker {name!r} is not tripped"
        self.tripped_breakers.remove(name)
        await self.store.set_setting(
            "tripped_breakers", list(self.tripped_breakers), at=self.clock.now()
        )
        self.log("warning", f"breaker {name} reset by {actor}")
        return True, f"breaker {name} reset"

    async def kill_switch(self, *, flatten: bool, actor: str = "user") -> tuple[bool, str]:
        async with self._lock:
            return await self._kill(flatten=flatten, actor=actor)

    async def _kill(self, *, flatten: bool, actor: str) -> tuple[bool, str]:
        await self.set_trading_state(TradingState.HALTED, "kill switch", actor)
        canceled = 0
        for coid in list(self.open_orders):
            order = await self.broker.cancel(coid)
            await self.store.upsert_order(order)
            canceled += 1
        await self._refresh_orders()
        for w in self.gate.waiting():
            self.gate.drop(w.proposal.proposal_id)
            await self._set_state(
                w.proposal.proposal_id, ProposalState.REJECTED, "kill switch", actor
            )
        closed = 0
        if flatten:
            closed = await self._flatten(actor)
        msg = f"kill switch: halted, {canceled} orders canceled, {closed} positions closed"
        self.log("error", msg)
        return True, msg

    async def cancel_order(self, client_order_id: str, actor: str = "user") -> tuple[bool, str]:
        async with self._lock:
            if client_order_id not in self.open_orders:
                return False, f"order {client_order_id} is not open"
            throttled = self.risk.check_cancel()  # the kill switch's cancels never ask
            if not throttled.passed:
                return False, throttled.message
            self.risk.record_cancel()
            order = await self.broker.cancel(client_order_id)
            await self.store.upsert_order(order)
            await self._refresh_orders()
            self.log("info", f"order {client_order_id} cancel by {actor}: {order.status.value}")
            return order.status is OrderStatus.CANCELED, f"order {order.status.value}"

    async def replace_order(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        actor: str = "user",
    ) -> tuple[bool, str]:
        """Modify an open limit order: the broker replaces it with a new order
        (engine.broker.replacement). `quantity` is the new total. Throttled (modify rate); a
        change that adds risk (more quantity, a more aggressive limit) is re-checked first."""
        async with self._lock:
            old = self.open_orders.get(client_order_id)
            if old is None:
                return False, f"order {client_order_id} is not open"
            problem = replace_problem(old, quantity, limit_price)
            if problem is not None:
                return False, problem
            throttled = self.risk.check_modify()
            if not throttled.passed:
                return False, throttled.message
            if increases_risk(old, quantity, limit_price):
                denied = await self._modify_denial(old, quantity, limit_price)
                if denied is not None:
                    self.log("info", f"order {client_order_id} modify by {actor} denied: {denied}")
                    return False, f"modify denied by risk: {denied}"
            # The first id no earlier attempt (refused, or cut off by a crash) has used.
            seq = 1
            new_coid = replacement_client_order_id(client_order_id, seq)
            while await self.store.load_order(new_coid) is not None:
                seq += 1
                new_coid = replacement_client_order_id(client_order_id, seq)
            now = self.clock.now()
            # Intent first, as for a submit: a crash during the replace leaves a row the
            # restart can find by its client order id.
            intent = Order(
                replacement_request(old, new_coid, quantity, limit_price),
                "",
                OrderStatus.NEW,
                now,
                now,
            )
            await self.store.upsert_order(intent)
            self.risk.record_modify()
            try:
                new = await self.broker.replace(
                    client_order_id,
                    quantity=quantity,
                    limit_price=limit_price,
                    new_client_order_id=new_coid,
                )
            except (LookupError, OrderNotReplaceable) as exc:
                new = intent.transition(
                    OrderStatus.REJECTED, self.clock.now(), reject_reason=str(exc)
                )
            await self.store.upsert_order(new)
            await self._emit(OrderUpdated(ts=now, order=new), store=False)
            if new.status.is_open:
                self.open_orders[new_coid] = new
            await self._refresh_orders()  # stores and publishes the old order's end
            await self._settle()
            if new.status is OrderStatus.REJECTED:
                reason = new.reject_reason or "refused"
                self.log("warning", f"order {client_order_id} modify by {actor} refused: {reason}")
                return False, f"modify refused: {reason}"
            self.log(
                "info",
                f"order {client_order_id} modified by {actor}: now {new_coid} "
                f"{new.request.quantity} @ {new.request.limit_price} ({new.status.value})",
            )
            return True, f"order replaced by {new_coid} ({new.status.value})"

    async def _modify_denial(
        self, old: Order, quantity: int | None, limit_price: Decimal | None
    ) -> str | None:
        """Why risk refuses a modification that adds risk, or None. The order's proposal,
        modified, takes the full pre-trade path; an order without one (placed outside the
        engine) is held to the trading state and the per-order notional limit."""
        modified = replacement_request(old, old.client_order_id, quantity, limit_price)
        pid = old.request.proposal_id
        record = await self.store.load_proposal(pid) if pid else None
        if record is not None:
            p = replace(
                record.proposal, quantity=modified.quantity, limit_price=modified.limit_price
            )
            decision = await self._check(p, hold_credit=float(resting_cost(old)))
            return None if decision.approved else decision.reason
        closing = all(leg.effect is PositionEffect.CLOSE for leg in modified.legs)
        if self.trading_state is TradingState.HALTED:
            return "trading_state: trading is HALTED: no order may add risk"
        if self.trading_state is TradingState.REDUCING and not closing:
            return "trading_state: trading is REDUCING: only risk-reducing orders pass"
        notional = float(limit_notional(modified))
        cap = self.risk.limits.max_order_notional
        if notional > cap:
            return f"order_notional: ${notional:,.0f} per order (limit ${cap:,.0f})"
        return None

    async def _flatten(self, actor: str) -> int:
        # Execution owned by the engine and audited: risk's HALTED state blocks new orders,
        # and flattening is exactly what HALTED asks for, so it goes straight to the broker.
        now = self.clock.now()
        n = 0
        for sym, pos in sorted(self.ledger.positions.items()):
            leg = OrderLeg(pos.instrument, _closing_side(pos.quantity), 1, PositionEffect.CLOSE)
            strat = next(
                (s for s, book in self.ledger.by_strategy.items() if sym in book), "manual"
            )
            p = TradeProposal(
                proposal_id=make_proposal_id("kill_switch", now, sym),
                strategy=strat,
                created_at=now,
                intent=ProposalIntent.CLOSE,
                legs=(leg,),
                quantity=abs(pos.quantity),
                reason=f"kill switch flatten by {actor}",
                order_type=OrderType.MARKET,
                exit_reason=ExitReason.MANUAL,
            )
            await self.store.save_proposal(p, ProposalState.CONFIRMED, at=now, note="kill switch")
            await self._submit(p, actor=actor)
            n += 1
        return n

    async def pause(self, name: str) -> None:
        self.manager.pause(name)
        await self._strategy_changed(name)

    async def resume(self, name: str) -> None:
        self.manager.resume(name)
        await self._strategy_changed(name)

    async def stop_strategy(self, name: str) -> None:
        self.manager.stop_strategy(name)
        await self._strategy_changed(name)

    async def set_profile(self, name: str, profile: str) -> None:
        self.manager.set_profile(name, profile)
        await self._strategy_changed(name)

    async def _strategy_changed(self, name: str) -> None:
        slot = self.manager.get(name)
        await self._save_strategy(name)
        await self._emit(
            StrategyStatusChanged(
                ts=self.clock.now(), strategy=name, state=slot.state.value, detail=slot.profile
            )
        )

    async def _save_strategy(self, name: str) -> None:
        slot = self.manager.get(name)
        await self.store.save_strategy_state(
            name,
            self.manager.persisted_state(name),
            status=slot.state.value,
            profile=slot.profile,
            at=self.clock.now(),
        )

    async def restore_waiting(self, items: list[Waiting]) -> None:
        self.gate.restore(items)

    @property
    def running_strategies(self) -> list[str]:
        return [n for n, s in self.manager.slots.items() if s.state is StrategyRunState.RUNNING]


def _closing_side(quantity: int) -> Side:
    return Side.SELL if quantity > 0 else Side.BUY


__all__ = ["Clock", "Engine", "MinuteFeed", "RunBudget"]
