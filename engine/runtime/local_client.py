"""`LocalEngineClient`: the in-process `EngineClient` over an embedded `Engine`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal

from engine.domain import Bar, EngineEvent, OptionChain, TradeProposal
from engine.runtime.client_api import CommandResult
from engine.runtime.engine import Engine
from engine.runtime.risk_views import (
    BreakerState,
    RiskInputs,
    RiskReportView,
    build_risk_report_view,
)
from engine.runtime.views import EngineSnapshot, TradingState


class LocalEngineClient:
    def __init__(self, engine: Engine, *, actor: str = "tui") -> None:
        self.engine = engine
        self.actor = actor
        self._subs: list[object] = []

    async def snapshot(self) -> EngineSnapshot:
        return self.engine.snapshot()

    async def events(self) -> AsyncIterator[EngineEvent]:
        sub = self.engine.subscribe()
        try:
            async for ev in sub:
                yield ev
        finally:
            sub.close()

    async def confirm(
        self, proposal_id: str, *, quantity: int | None = None, limit_price: Decimal | None = None
    ) -> CommandResult:
        ok, msg = await self.engine.confirm(
            proposal_id, quantity=quantity, limit_price=limit_price, actor=self.actor
        )
        return CommandResult(ok, msg)

    async def reject(self, proposal_id: str, note: str = "") -> CommandResult:
        ok, msg = await self.engine.reject(proposal_id, note, actor=self.actor)
        return CommandResult(ok, msg)

    async def pause_strategy(self, name: str) -> CommandResult:
        return await self._strategy(self.engine.pause, name, "paused")

    async def resume_strategy(self, name: str) -> CommandResult:
        return await self._strategy(self.engine.resume, name, "resumed")

    async def stop_strategy(self, name: str) -> CommandResult:
        return await self._strategy(self.engine.stop_strategy, name, "stopped")

    async def _strategy(self, fn: object, name: str, done: str) -> CommandResult:
        try:
            await fn(name)  # type: ignore[operator]
        except KeyError as exc:
            return CommandResult(False, str(exc.args[0]) if exc.args else str(exc))
        return CommandResult(True, f"{name} {done}")

    async def set_profile(self, name: str, profile: str) -> CommandResult:
        try:
            await self.engine.set_profile(name, profile)
        except (KeyError, ValueError) as exc:
            return CommandResult(False, str(exc))
        return CommandResult(True, f"{name} now on {profile}")

    async def set_trading_state(self, state: str, reason: str = "") -> CommandResult:
        try:
            ts = TradingState(state.upper())
        except ValueError:
            allowed = ", ".join(s.value for s in TradingState)
            return CommandResult(False, f"state {state!r} is not one of {allowed}")
        await self.engine.set_trading_state(ts, reason or "set by user", actor=self.actor)
        return CommandResult(True, f"trading {ts.value}")

    async def reset_breaker(self, name: str) -> CommandResult:
        ok, msg = await self.engine.reset_breaker(name, actor=self.actor)
        return CommandResult(ok, msg)

    async def kill_switch(self, *, flatten: bool = False) -> CommandResult:
        ok, msg = await self.engine.kill_switch(flatten=flatten, actor=self.actor)
        return CommandResult(ok, msg)

    async def cancel_order(self, client_order_id: str) -> CommandResult:
        ok, msg = await self.engine.cancel_order(client_order_id, actor=self.actor)
        return CommandResult(ok, msg)

    async def replace_order(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
    ) -> CommandResult:
        ok, msg = await self.engine.replace_order(
            client_order_id, quantity=quantity, limit_price=limit_price, actor=self.actor
        )
        return CommandResult(ok, msg)

    async def submit_proposal(self, proposal: TradeProposal) -> CommandResult:
        ok, msg = await self.engine.submit_manual(proposal, actor=self.actor)
        return CommandResult(ok, msg)

    async def option_chain(self, symbol: str, min_expiry: date, max_expiry: date) -> OptionChain:
        return await self.engine.market.option_chain(symbol, min_expiry, max_expiry)

    async def daily_bars(self, symbol: str, count: int) -> Sequence[Bar]:
        today = self.engine.clock.now().date()
        return await self.engine.market.daily_bars(symbol, today, count)

    async def risk_report(self) -> RiskReportView:
        # Read the engine's state here, on its loop, where nothing changes under us; the
        # arithmetic then runs in a worker thread on values no one else holds.
        inputs = risk_report_inputs(self.engine)
        return await asyncio.to_thread(build_risk_report_view, inputs)

    async def close(self) -> None:
        self.engine.request_stop()


def risk_report_inputs(engine: Engine) -> RiskInputs:
    """Everything the risk report view needs, copied from the engine (event loop only)."""
    now = engine.clock.now()
    monitor = engine.monitor
    board = getattr(monitor, "board", None)
    trips = getattr(board, "tripped", {}) if board is not None else {}
    tripped: list[BreakerState] = []
    for name in engine.tripped_breakers:
        trip = trips.get(name)
        left = board.cooldown_left(name, now) if board is not None and trip is not None else None
        tripped.append(
            BreakerState(
                name,
                reason=str(getattr(trip, "reason", "")),
                since=getattr(trip, "at", None),
                cooldown_left=left,
            )
        )
    return RiskInputs(
        now=now,
        report=engine.risk_report(),
        report_error=str(getattr(monitor, "last_error", "") or ""),
        positions=tuple(engine.ledger.positions.values()),
        spots=engine.spots(),
        rate=engine.rate(),
        tripped=tuple(tripped),
    )
