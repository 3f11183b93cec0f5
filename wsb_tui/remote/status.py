"""`wsb status`: the live state of a running engine, or the database when none is running."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from engine.runtime.control.protocol import Role
from engine.runtime.views import EngineSnapshot
from engine.store.codec import JSONObject, to_jsonable
from wsb_tui.remote.client import RemoteEngineClient
from wsb_tui.remote.connection import RemoteError
from wsb_tui.remote.endpoint import Endpoint

LIVE_TIMEOUT_S = 3.0


def summarize(snap: EngineSnapshot, server: JSONObject, endpoint: Endpoint) -> dict[str, Any]:
    p = snap.portfolio
    return {
        "source": "engine",
        "endpoint": endpoint.label,
        "ts": snap.ts.isoformat(),
        "mode": snap.mode,
        "session_state": snap.session_state,
        "gate_mode": snap.gate_mode,
        "trading_state": snap.risk.trading_state.value,
        "breakers": list(snap.risk.breakers),
        "equity": round(p.equity, 2),
        "cash": str(p.cash),
        "day_pnl": None if p.day_pnl is None else round(p.day_pnl, 2),
        "positions": [
            {"symbol": s, "quantity": pos.quantity, "avg_price": str(pos.avg_price)}
            for s, pos in sorted(p.positions.items())
            if pos.quantity
        ],
        "open_orders": len(snap.open_orders),
        "pending_proposals": [
            {
                "proposal_id": w.proposal.proposal_id,
                "strategy": w.proposal.strategy,
                "quantity": w.proposal.quantity,
                "symbols": [leg.symbol for leg in w.proposal.legs],
            }
            for w in snap.pending
        ],
        "strategies": {
            s.name: {
                "state": s.state.value,
                "profile": s.profile,
                "open_positions": s.open_positions,
                "realized_pnl": round(s.realized_pnl, 2),
                "unrealized_pnl": round(s.unrealized_pnl, 2),
                "error": s.error,
            }
            for s in snap.strategies
        },
        "data": to_jsonable(snap.data),
        "server": server,
    }


async def live_status(endpoint: Endpoint) -> dict[str, Any] | None:
    """The live summary, or None when no engine answers at `endpoint`."""
    client = RemoteEngineClient(
        endpoint,
        client_name="status",
        role=Role.MONITOR,
        reconnect=False,
        heartbeat_s=0,
        request_timeout=LIVE_TIMEOUT_S,
    )
    try:
        await asyncio.wait_for(client.connect(), LIVE_TIMEOUT_S)
    except (OSError, TimeoutError):
        return None
    try:
        snap = await client.snapshot()
        server = await client.status()
    finally:
        await client.close()
    return summarize(snap, server, endpoint)


def render_text(st: dict[str, Any]) -> str:
    lines = [
        f"engine {st['endpoint']} (live)  {st['mode']}  {st['ts']}  market {st['session_state']}",
        f"equity ${st['equity']:,.2f}  cash ${float(st['cash']):,.2f}  day "
        + ("n/a" if st["day_pnl"] is None else f"{st['day_pnl']:+,.2f}")
        + f"  {st['trading_state']}  gate {st['gate_mode']}",
    ]
    if st["breakers"]:
        lines.append(f"breakers tripped: {', '.join(st['breakers'])}")
    for pos in st["positions"]:
        lines.append(f"  {pos['symbol']:24} {pos['quantity']:>8}  avg {pos['avg_price']}")
    lines.append(
        f"{st['open_orders']} open orders, {len(st['pending_proposals'])} proposals waiting"
    )
    for name, s in st["strategies"].items():
        err = f"  {s['error']}" if s["error"] else ""
        lines.append(
            f"  {name:22} {s['state']:8} {s['profile']:14} pnl "
            f"{s['realized_pnl'] + s['unrealized_pnl']:+,.2f}{err}"
        )
    clients = st["server"].get("clients", [])
    lines.append(f"{len(clients)} clients attached")
    return "\n".join(lines)


async def print_status(endpoint: Endpoint, db: Path | None, *, as_json: bool) -> int:
    """Live when an engine answers; otherwise the database, saying so."""
    try:
        live = await live_status(endpoint)
    except RemoteError as exc:
        print(f"error: the engine at {endpoint.label} refused: {exc.message}", file=sys.stderr)
        return 1
    if live is not None:
        print(json.dumps(live, indent=2) if as_json else render_text(live))
        return 0
    note = f"no engine is running at {endpoint.label}; showing the database (last stored state)"
    from engine.store import default_db_path
    from wsb_tui.status import collect_status
    from wsb_tui.status import print_status as print_stored

    if not as_json:
        print(note)
        return await print_stored(db, as_json=False)
    path = db or default_db_path("sim")
    if not path.exists():
        print(f"error: {note}, but there is no database at {path}", file=sys.stderr)
        return 1
    stored = await collect_status(path)
    stored["live"] = False
    stored["note"] = note
    print(json.dumps(stored, indent=2))
    return 0
