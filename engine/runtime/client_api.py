"""`EngineClient`: the one interface a UI uses to watch and steer an engine.

Two implementations: `LocalEngineClient` (in-process, the embedded engine) and the remote
client (a headless `wsb engine` over a socket). Widgets and screens only ever see this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable

from engine.domain import Bar, EngineEvent, OptionChain, TradeProposal
from engine.runtime.views import EngineSnapshot, RiskReportView


@dataclass(frozen=True, slots=True)
class CommandResult:
    ok: bool
    message: str


@runtime_checkable
class EngineClient(Protocol):
    async def snapshot(self) -> EngineSnapshot: ...

    def events(self) -> AsyncIterator[EngineEvent]:
        """Events after the snapshot was taken. Snapshot-like events are coalesced for slow
        readers, so a client never falls behind the market."""
        ...

    async def confirm(
        self, proposal_id: str, *, quantity: int | None = None, limit_price: Decimal | None = None
    ) -> CommandResult:
        """Approve a waiting proposal; an edited quantity/limit is re-checked by risk first."""
        ...

    async def reject(self, proposal_id: str, note: str = "") -> CommandResult: ...

    async def pause_strategy(self, name: str) -> CommandResult: ...

    async def resume_strategy(self, name: str) -> CommandResult: ...

    async def stop_strategy(self, name: str) -> CommandResult: ...

    async def set_profile(self, name: str, profile: str) -> CommandResult: ...

    async def set_trading_state(self, state: str, reason: str = "") -> CommandResult: ...

    async def reset_breaker(self, name: str) -> CommandResult: ...

    async def kill_switch(self, *, flatten: bool = False) -> CommandResult: ...

    async def cancel_order(self, client_order_id: str) -> CommandResult: ...

    async def replace_order(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
    ) -> CommandResult:
        """Modify an open limit order (new total quantity and/or limit): the broker replaces
        it with a new order under a new client order id. Throttled; a change that adds risk is
        re-checked by risk first."""
        ...

    async def submit_proposal(self, proposal: TradeProposal) -> CommandResult:
        """A manual proposal (e.g. built on the option-chain screen): risk and confirmation
        apply exactly as to a strategy's."""
        ...

    async def option_chain(
        self, symbol: str, min_expiry: date, max_expiry: date
    ) -> OptionChain: ...

    async def daily_bars(self, symbol: str, count: int) -> Sequence[Bar]: ...

    async def risk_report(self) -> RiskReportView:
        """The risk screen's figures: VaR/CVaR by method, stress results, greeks by underlying
        and expiry, the VaR backtest and every breaker. Always answers: before the risk
        monitor's first snapshot (or when it failed) `available` is False and `note` says why."""
        ...

    async def close(self) -> None: ...
