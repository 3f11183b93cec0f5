"""`wsb status`: the stored state of an account, for scripts and monitoring."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from engine.store import Store, default_db_path


async def collect_status(db: Path) -> dict[str, Any]:
    store = await Store.open(db)
    try:
        acct = await store.load_account()
        positions = await store.load_positions()
        orders = await store.load_open_orders()
        snap = await store.last_equity_snapshot()
    finally:
        await store.close()
    return {
        "source": "database",
        "db": str(db),
        "account": None
        if acct is None
        else {"cash": str(acct.cash), "reserved_collateral": str(acct.reserved_collateral)},
        "positions": [
            {
                "symbol": p.symbol,
                "quantity": p.quantity,
                "avg_price": str(p.avg_price),
                "realized_pnl": str(p.realized_pnl),
            }
            for p in positions.values()
            if p.quantity
        ],
        "open_orders": [
            {
                "client_order_id": o.client_order_id,
                "status": o.status.value,
                "symbols": list(o.request.symbols),
                "quantity": o.request.quantity,
                "filled": o.filled_quantity,
            }
            for o in orders
        ],
        "last_equity_snapshot": None if snap is None else _snap_json(snap),
    }


def _snap_json(snap: Any) -> dict[str, Any]:
    from engine.store.codec import to_jsonable

    out = to_jsonable(snap)
    return out if isinstance(out, dict) else {"value": out}


async def print_status(db: Path | None, *, as_json: bool) -> int:
    path = db or default_db_path("sim")
    if not path.exists():
        print(f"error: no database at {path}", file=sys.stderr)
        return 1
    st = await collect_status(path)
    if as_json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"database {st['db']}")
    acct = st["account"]
    if acct:
        print(
            f"cash ${float(acct['cash']):,.2f}  reserved ${float(acct['reserved_collateral']):,.2f}"
        )
    for p in st["positions"]:
        print(f"  {p['symbol']:24} {p['quantity']:>8}  avg {p['avg_price']}")
    print(f"{len(st['open_orders'])} open orders")
    if st["last_equity_snapshot"]:
        print(f"last equity snapshot: {st['last_equity_snapshot']}")
    return 0
