"""`wsb engine`: the engine without a terminal UI, with a readable live summary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.runtime.config import WsbConfig
from engine.runtime.embedded import Embedded, UnsupportedSetup, build_embedded
from engine.runtime.engine import RunBudget

if TYPE_CHECKING:
    from wsb_tui.remote.headless_control import ControlOptions


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
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, emb.engine.request_stop)
    started = time.perf_counter()

    async def report() -> None:
        while True:
            await asyncio.sleep(2.0)
            print(summary_line(emb), file=sys.stderr, flush=True)

    reporter = None if quiet else asyncio.create_task(report())
    try:
        await emb.engine.run(budget)
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
