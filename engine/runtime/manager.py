"""Strategy manager: each strategy runs as its own asyncio task, isolated from the others.

The engine hands every due strategy the same tick and waits for all of them (a barrier), so
a run is deterministic at any speed. A strategy that raises or times out is marked errored
and logged; the others keep running. Run state, profile and the strategy's own state are
persisted so a restart resumes a wheel cycle or a scale-out where it was.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections import deque
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from engine.domain import Bar, Fill, TradeProposal
from engine.runtime.views import StrategyRunState, StrategyStatus
from engine.strategies.base import Strategy, StrategyContext
from engine.strategies.exit_pricing import hold_unsellable_exits, price_urgent_exits
from engine.strategies.registry import allocation_cap, strategy_class
from engine.strategies.stray_stock import stray_stock_closes

log = logging.getLogger(__name__)

_T = TypeVar("_T")


async def _under_deadline(coro: Coroutine[Any, Any, _T], seconds: float) -> _T:
    """`await coro` under `asyncio.timeout(seconds)`, the timer armed only if `coro`
    suspends. A timeout interrupts a coroutine only where it suspends, so one that returns
    without yielding to the loop (a daily scan nearly always does) needs no timer: arming and
    cancelling one per call cost more than the manager's own work. The deadline is counted
    from the call, as `asyncio.timeout` counts it."""
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        result: _T = done.value
        return result
    async with asyncio.timeout_at(deadline):
        return await _resume(coro, waiting_on)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, _T], waiting_on: Any) -> Generator[Any, Any, _T]:
    """Go on driving `coro`, already run up to its first suspension (`waiting_on`, what it
    yielded for the task): what `await coro` would have done from there, including a
    cancellation thrown in (the timeout's) reaching `coro` where it waits."""
    while True:
        try:
            sent = yield waiting_on
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as done:
                result: _T = done.value
                return result
        else:
            try:
                waiting_on = coro.send(sent)
            except StopIteration as done:
                result = done.value
                return result


@dataclass
class _Job:
    kind: str  # "bar" | "fill"
    ctx: StrategyContext
    bars: Mapping[str, Bar] | None
    fill: Fill | None
    done: asyncio.Future[Sequence[TradeProposal]]


@dataclass
class StrategySlot:
    strategy: Strategy
    state: StrategyRunState = StrategyRunState.RUNNING
    last_scan: datetime | None = None
    proposals_today: int = 0
    last_reason: str = ""
    error: str = ""
    pnl_history: deque[float] = field(default_factory=lambda: deque(maxlen=60))
    inbox: asyncio.Queue[_Job | None] = field(default_factory=asyncio.Queue)

    @property
    def name(self) -> str:
        return self.strategy.name

    @property
    def profile(self) -> str:
        return self.strategy.profile

    def due(self, now: datetime) -> bool:
        if self.state is not StrategyRunState.RUNNING:
            return False
        return self.last_scan is None or now - self.last_scan >= self.strategy.scan_interval


def _universe_view(bars: Mapping[str, Bar], universe: frozenset[str]) -> dict[str, Bar]:
    return {s: b for s, b in bars.items() if s in universe}


class StrategyManager:
    """`inline=True` (replays): each strategy is called on the caller's task, one after the
    other in registry order, instead of on its own task behind a queue. The results are the
    same (the barrier already serialises a tick's strategies and collects them in registry
    order); what goes is a task switch and a future per strategy per tick. Errors and
    timeouts are isolated the same way."""

    def __init__(
        self, strategies: Sequence[Strategy], *, timeout: timedelta, inline: bool = False
    ) -> None:
        self.slots: dict[str, StrategySlot] = {s.name: StrategySlot(s) for s in strategies}
        self.timeout = timeout
        self.inline = inline
        self._tasks: list[asyncio.Task[None]] = []
        self.on_error: Callable[[str, str], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.inline:
            return
        for slot in self.slots.values():
            self._tasks.append(asyncio.create_task(self._run(slot), name=f"strategy:{slot.name}"))

    async def stop(self) -> None:
        if self.inline:
            return
        for slot in self.slots.values():
            slot.inbox.put_nowait(None)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, slot: StrategySlot) -> None:
        while True:
            job = await slot.inbox.get()
            if job is None:
                return
            out = await self._call(slot, job.kind, job.ctx, job.bars, job.fill)
            if not job.done.done():
                job.done.set_result(out)

    async def _call(
        self,
        slot: StrategySlot,
        kind: str,
        ctx: StrategyContext,
        bars: Mapping[str, Bar] | None,
        fill: Fill | None,
    ) -> tuple[TradeProposal, ...]:
        try:
            return await _under_deadline(
                self._respond(slot, kind, ctx, bars, fill), self.timeout.total_seconds()
            )
        except Exception as exc:  # isolate: one broken strategy never stops the others
            what = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            log.exception("strategy %s failed on %s", slot.name, kind)
            slot.state = StrategyRunState.ERRORED
            slot.error = what
            if self.on_error is not None:
                self.on_error(slot.name, what)
            return ()

    async def _respond(
        self,
        slot: StrategySlot,
        kind: str,
        ctx: StrategyContext,
        bars: Mapping[str, Bar] | None,
        fill: Fill | None,
    ) -> tuple[TradeProposal, ...]:
        if kind == "bar":
            assert bars is not None
            got = await slot.strategy.on_bar(ctx, bars)
            # Shares from an exercise or assignment that the strategy has no rule for.
            got = (*got, *stray_stock_closes(slot.strategy, ctx, got))
        else:
            assert fill is not None
            got = await slot.strategy.on_fill(ctx, fill)
        priced = await price_urgent_exits(ctx, got)
        kept, held = await hold_unsellable_exits(ctx, priced)
        for p, contract in held:
            # Shown on the strategy's pane; not logged, as it repeats every scan.
            slot.last_reason = f"{p.reason}; held: no bid for {contract.symbol}"
        return kept

    # -- dispatch ----------------------------------------------------------------------------

    async def scan(
        self,
        now: datetime,
        bars: Mapping[str, Bar],
        make_ctx: Callable[[StrategySlot], StrategyContext],
    ) -> list[TradeProposal]:
        """Run every due strategy on this tick; proposals come back in registry order."""
        if self.inline:
            out: list[TradeProposal] = []
            for slot in self.slots.values():
                if not slot.due(now):
                    continue
                slot.last_scan = now
                view = _universe_view(bars, slot.strategy.universe())
                got = await self._call(slot, "bar", make_ctx(slot), view, None)
                self._accept(slot, got, out)
            return out
        loop = asyncio.get_running_loop()
        jobs: list[tuple[StrategySlot, asyncio.Future[Sequence[TradeProposal]]]] = []
        for slot in self.slots.values():
            if not slot.due(now):
                continue
            slot.last_scan = now
            fut: asyncio.Future[Sequence[TradeProposal]] = loop.create_future()
            view = _universe_view(bars, slot.strategy.universe())
            slot.inbox.put_nowait(_Job("bar", make_ctx(slot), view, None, fut))
            jobs.append((slot, fut))
        return await self._collect(jobs)

    async def deliver_fill(self, fill: Fill, ctx: StrategyContext) -> list[TradeProposal]:
        slot = self.slots.get(fill.strategy or "")
        if slot is None or slot.state in (StrategyRunState.STOPPED, StrategyRunState.ERRORED):
            return []
        if self.inline:
            out: list[TradeProposal] = []
            self._accept(slot, await self._call(slot, "fill", ctx, None, fill), out)
            return out
        fut: asyncio.Future[Sequence[TradeProposal]] = asyncio.get_running_loop().create_future()
        slot.inbox.put_nowait(_Job("fill", ctx, None, fill, fut))
        return await self._collect([(slot, fut)])

    async def _collect(
        self, jobs: list[tuple[StrategySlot, asyncio.Future[Sequence[TradeProposal]]]]
    ) -> list[TradeProposal]:
        out: list[TradeProposal] = []
        for slot, fut in jobs:
            self._accept(slot, await fut, out)
        return out

    def _accept(
        self, slot: StrategySlot, proposals: Sequence[TradeProposal], out: list[TradeProposal]
    ) -> None:
        for p in proposals:
            if p.strategy != slot.name:
                log.error("strategy %s returned a proposal as %s; dropped", slot.name, p.strategy)
                continue
            slot.proposals_today += 1
            slot.last_reason = p.reason
            out.append(p)

    # -- control -----------------------------------------------------------------------------

    def get(self, name: str) -> StrategySlot:
        try:
            return self.slots[name]
        except KeyError:
            raise KeyError(f"no strategy {name!r}; running: {', '.join(self.slots)}") from None

    def pause(self, name: str) -> None:
        slot = self.get(name)
        if slot.state is StrategyRunState.RUNNING:
            slot.state = StrategyRunState.PAUSED

    def resume(self, name: str) -> None:
        slot = self.get(name)
        if slot.state in (
            StrategyRunState.PAUSED,
            StrategyRunState.ERRORED,
            StrategyRunState.STOPPED,
        ):
            slot.state = StrategyRunState.RUNNING
            slot.error = ""

    def stop_strategy(self, name: str) -> None:
        self.get(name).state = StrategyRunState.STOPPED

    def set_profile(self, name: str, profile: str) -> None:
        slot = self.get(name)
        cls = strategy_class(name)
        state = slot.strategy.state()
        new = cls.from_profile(profile)
        new.restore(state)
        slot.strategy = new

    def new_day(self) -> None:
        for slot in self.slots.values():
            slot.proposals_today = 0

    def status(
        self,
        name: str,
        *,
        open_positions: int,
        realized: float,
        unrealized: float,
        open_risk: float,
    ) -> StrategyStatus:
        slot = self.get(name)
        s = slot.strategy
        return StrategyStatus(
            name=s.name,
            title=s.title,
            state=slot.state,
            profile=s.profile,
            open_positions=open_positions,
            proposals_today=slot.proposals_today,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            pnl_history=tuple(slot.pnl_history),
            last_reason=slot.last_reason,
            error=slot.error,
            allocation_cap=allocation_cap(s.name, s.profile),
            open_risk=open_risk,
            params=tuple((k, str(v)) for k, v in s.params.model_dump().items()),
        )

    def persisted_state(self, name: str) -> dict[str, Any]:
        slot = self.get(name)
        return {
            "run_state": slot.state.value,
            "profile": slot.profile,
            "strategy": slot.strategy.state(),
            "pnl_history": list(slot.pnl_history),
        }

    def restore_state(self, name: str, data: Mapping[str, Any]) -> None:
        slot = self.get(name)
        profile = data.get("profile")
        if isinstance(profile, str) and profile != slot.profile:
            slot.strategy = strategy_class(name).from_profile(profile)
        run_state = data.get("run_state")
        if run_state in {s.value for s in StrategyRunState}:
            # An errored strategy restarts running: the error was in the previous process.
            state = StrategyRunState(run_state)
            slot.state = StrategyRunState.RUNNING if state is StrategyRunState.ERRORED else state
        inner = data.get("strategy")
        if isinstance(inner, Mapping):
            slot.strategy.restore(inner)
        hist = data.get("pnl_history")
        if isinstance(hist, list):
            slot.pnl_history.extend(float(x) for x in hist)
