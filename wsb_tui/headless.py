"""`wsb engine`: the engine without a terminal UI, with a readable live summary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.runtime.config import WsbConfig
from engine.runtime.embedded import Embedded, UnsupportedSetup, build_embedded
from engine.runtime.engine import RunBudget

if TYPE_CHECKING:
    from wsb_tui.remote.headless_control import ControlOptions

STOP_POLL_S = 0.2  # how often a pending stop looks for the loop waiting on the clock


def summary_line(emb: Embedded) -> str:
    snap = emb.engine.snapshot()
    p = snap.portfolio
    day = p.day_pnl
    day_s = f"{day:+,.2f}" if day is not None else "n/a"
    running = sum(1 for s in snap.strategies if s.state.value == "running")
    return (
        f"{snap.ts:%Y-%m-%d %H:%M}Z {snap.session_state:6} equity ${p.equity:,.2f} day {day_s} "
        f"cash ${p.cash:,.2f} positions {len([x for x in p.positions.values() if x.quantity])} "
        f"fills {emb.engine.fills_recorded} proposals {emb.engine.proposals_seen} "
        f"strategies {running}/{len(snap.strategies)} {snap.risk.trading_state.value}"
    )


def summary_json(emb: Embedded, elapsed: float) -> dict[str, Any]:
    eng = emb.engine
    snap = eng.snapshot()
    p = snap.portfolio
    return {
        "db": str(emb.db_path),
        "market_time": snap.ts.isoformat(),
        "ticks": eng.ticks,
        "elapsed_s": round(elapsed, 3),
        "equity": round(p.equity, 2),
        "cash": str(p.cash),
        "positions": {s: pos.quantity for s, pos in sorted(p.positions.items()) if pos.quantity},
        "fills": eng.fills_recorded,
        "proposals": eng.proposals_seen,
        "open_orders": len(snap.open_orders),
        "trading_state": snap.risk.trading_state.value,
        "strategies": {
            s.name: {
                "state": s.state.value,
                "proposals_today": s.proposals_today,
                "open_positions": s.open_positions,
                "realized_pnl": round(s.realized_pnl, 2),
                "unrealized_pnl": round(s.unrealized_pnl, 2),
                "error": s.error,
            }
            for s in snap.strategies
        },
    }


async def run_headless(
    cfg: WsbConfig,
    *,
    db_path: Path | None,
    speed: float | None,
    budget: RunBudget | None,
    as_json: bool,
    quiet: bool,
    live: bool = False,
    confirm_live: str | None = None,
    control: ControlOptions | None = None,
    reload_config: Callable[[], WsbConfig] | None = None,
) -> int:
    try:
        emb = await build_embedded(
            cfg,
            db_path=db_path,
            headless=True,
            speed=speed,
            live=live,
            confirm_live=confirm_live,
        )
    except UnsupportedSetup as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ctl = None
    if control is not None:
        from wsb_tui.remote.headless_control import start_headless_control

        try:
            ctl = await start_headless_control(
                emb.engine, control, config=cfg, reload_config=reload_config
            )
        except (OSError, ValueError, RuntimeError) as exc:
            print(f"error: control server: {exc}", file=sys.stderr)
            await emb.close()
            return 2
    loop = asyncio.get_running_loop()
    stopper = _Stopper(emb)
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopper.request)
    started = time.perf_counter()

    async def report() -> None:
        while True:
            await asyncio.sleep(2.0)
            print(summary_line(emb), file=sys.stderr, flush=True)

    reporter = None if quiet else asyncio.create_task(report())
    try:
        await stopper.run(budget)
    finally:
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        elapsed = time.perf_counter() - started
        if not quiet:
            print(summary_line(emb), file=sys.stderr, flush=True)
        if as_json:
            print(json.dumps(summary_json(emb, elapsed)), flush=True)
        if ctl is not None:
            await ctl.close()
        await emb.close()
    return 0


class _Stopper:
    """Runs the engine; a stop request (SIGINT/SIGTERM) also ends a wait for the market.

    The engine notices a stop request between market minutes. On a real account the clock
    follows the wall: the loop can be waiting a minute for the next bar, or from Friday's
    close to Monday's open. So while a stop is pending and the loop sits in the clock's
    `advance_to` (a sleep, then the data feed's read-only refresh), that wait is cancelled;
    the engine's own `finally` still stops it cleanly. A tick in progress is never cut.
    """

    def __init__(self, emb: Embedded) -> None:
        self._engine = emb.engine
        self._waiting = False
        self._task: asyncio.Task[None] | None = None
        self._check: asyncio.TimerHandle | None = None
        clock = emb.engine.clock
        advance = clock.advance_to

        async def tracked(when: datetime) -> None:
            self._waiting = True
            try:
                await advance(when)
            finally:
                self._waiting = False

        # An instance attribute, so only this engine's clock is tracked.
        setattr(clock, "advance_to", tracked)  # noqa: B010

    def request(self) -> None:
        self._engine.request_stop()
        if self._check is None:
            self._poll()

    def _poll(self) -> None:
        task = self._task
        if task is None or task.done():
            return
        if self._waiting:
            task.cancel()
            return
        self._check = asyncio.get_running_loop().call_later(STOP_POLL_S, self._poll)

    async def run(self, budget: RunBudget | None) -> None:
        self._task = asyncio.create_task(self._engine.run(budget), name="engine-run")
        try:
            await asyncio.wait({self._task})
        finally:
            if self._check is not None:
                self._check.cancel()
        if not self._task.cancelled():
            self._task.result()  # an engine failure surfaces as before
