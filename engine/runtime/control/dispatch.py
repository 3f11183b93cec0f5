"""Running one request against the engine: role check, audit record, the call, its outcome.

Commands go through `LocalEngineClient`, the same code the embedded TUI uses, so a remote
confirm and a local one behave identically. Every command (a method needing `trader`) is
recorded in the store's commands table *before* it runs, with the client id, role and time;
a refused one is recorded as refused. If the audit row cannot be written the command does not
run: nothing happens to the account that the audit log does not show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from engine.runtime.client_api import CommandResult
from engine.runtime.control.protocol import (
    DailyBarsParams,
    ErrorCode,
    MethodSpec,
    OptionChainParams,
    Role,
)
from engine.runtime.engine import Engine
from engine.runtime.local_client import LocalEngineClient
from engine.store.codec import JSONValue, to_jsonable

log = logging.getLogger("engine.runtime.control")

# Audit results (the commands table's `result` column).
REFUSED = "refused"
ACCEPTED = "accepted"
DONE = "ok"
FAILED = "failed"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    message: str
    data: JSONValue = None
    error: ErrorCode | None = None


class Dispatcher:
    """Executes requests for one connection (one client id, one role)."""

    def __init__(self, engine: Engine, *, client_id: str, role: Role) -> None:
        self.engine = engine
        self.client_id = client_id
        self.role = role
        # actor = client id: the engine's own notes and events say who confirmed what.
        self._client = LocalEngineClient(engine, actor=client_id)

    async def command(self, spec: MethodSpec, params: Any) -> Outcome:
        """A command (audited). Reads are answered by `read`."""
        args = to_jsonable(params)
        assert isinstance(args, dict)  # params are dataclasses
        if not self.role.allows(spec.role):
            detail = f"role {self.role.value} may not {spec.name}; it needs {spec.role.value}"
            try:
                await self.engine.store.record_command(
                    client_id=self.client_id,
                    command=spec.name,
                    result=REFUSED,
                    args=args,
                    detail=detail,
                    role=self.role.value,
                )
            except Exception:
                log.exception("could not audit a refused %s from %s", spec.name, self.client_id)
            log.warning("refused %s from %s: %s", spec.name, self.client_id, detail)
            return Outcome(False, detail, error=ErrorCode.FORBIDDEN)
        try:
            command_id = await self.engine.store.record_command(
                client_id=self.client_id,
                command=spec.name,
                result=ACCEPTED,
                args=args,
                role=self.role.value,
            )
        except Exception:
            log.exception("could not audit %s from %s; not running it", spec.name, self.client_id)
            return Outcome(
                False,
                "the command could not be recorded in the audit log, so it was not run",
                error=ErrorCode.UNAVAILABLE,
            )
        try:
            result = await self._run(spec.name, params)
        except Exception as exc:
            log.exception("%s from %s raised", spec.name, self.client_id)
            message = f"the engine failed on {spec.name}: {type(exc).__name__}"
            await self._complete(command_id, ERROR, message)
            return Outcome(False, message, error=ErrorCode.INTERNAL)
        await self._complete(command_id, DONE if result.ok else FAILED, result.message)
        log.info(
            "%s from %s (%s): %s %s",
            spec.name,
            self.client_id,
            self.role.value,
            "ok" if result.ok else "failed",
            result.message,
        )
        return Outcome(result.ok, result.message, error=None if result.ok else ErrorCode.FAILED)

    async def _complete(self, command_id: int, result: str, detail: str) -> None:
        try:
            await self.engine.store.complete_command(command_id, result=result, detail=detail)
        except Exception:
            log.exception("could not record the outcome of command %d", command_id)

    async def _run(self, method: str, p: Any) -> CommandResult:
        c = self._client
        if method == "confirm":
            return await c.confirm(p.proposal_id, quantity=p.quantity, limit_price=p.limit_price)
        if method == "reject":
            return await c.reject(p.proposal_id, p.note)
        if method == "pause_strategy":
            return await c.pause_strategy(p.name)
        if method == "resume_strategy":
            return await c.resume_strategy(p.name)
        if method == "stop_strategy":
            return await c.stop_strategy(p.name)
        if method == "set_profile":
            return await c.set_profile(p.name, p.profile)
        if method == "set_trading_state":
            return await c.set_trading_state(p.state, p.reason)
        if method == "reset_breaker":
            return await c.reset_breaker(p.name)
        if method == "kill_switch":
            return await c.kill_switch(flatten=p.flatten)
        if method == "cancel_order":
            return await c.cancel_order(p.client_order_id)
        if method == "replace_order":
            return await c.replace_order(
                p.client_order_id, quantity=p.quantity, limit_price=p.limit_price
            )
        if method == "submit_proposal":
            return await c.submit_proposal(p.proposal)
        raise LookupError(f"no command {method!r}")

    async def read(self, method: str, params: Any) -> Outcome:
        """Read-only methods that any role may call."""
        eng = self.engine
        if method == "ping":
            return Outcome(True, "pong", {"ts": to_jsonable(eng.clock.now())})
        if method == "snapshot":
            return Outcome(True, "", to_jsonable(eng.snapshot()))
        if method == "option_chain":
            oc: OptionChainParams = params
            try:
                chain = await eng.market.option_chain(oc.symbol, oc.min_expiry, oc.max_expiry)
            except Exception as exc:  # data errors are the client's answer, not a crash
                return Outcome(False, f"option chain {oc.symbol}: {exc}", error=ErrorCode.FAILED)
            return Outcome(True, "", to_jsonable(chain))
        if method == "daily_bars":
            db: DailyBarsParams = params
            try:
                bars = await eng.market.daily_bars(db.symbol, eng.clock.now().date(), db.count)
            except Exception as exc:
                return Outcome(False, f"daily bars {db.symbol}: {exc}", error=ErrorCode.FAILED)
            return Outcome(True, "", to_jsonable(list(bars)))
        if method == "risk_report":
            # Built off the event loop by the local client; the risk monitor's numbers as
            # the embedded desk sees them.
            return Outcome(True, "", to_jsonable(await self._client.risk_report()))
        raise LookupError(f"no read method {method!r}")
