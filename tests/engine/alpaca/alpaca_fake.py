"""A fake Alpaca on 127.0.0.1: real HTTP and websocket servers, Alpaca-shaped payloads.

The payloads follow Alpaca's documented examples (Trading API v2 OpenAPI spec and the
alpaca-py test fixtures): money and quantities as strings, RFC 3339 timestamps with
nanoseconds, ``order_class: "mleg"`` parents with empty top-level ``symbol``/``side`` and one
child per leg (``ratio_qty``, per-leg ``filled_qty`` in contracts), error bodies such as
``{"buying_power": "...", "code": 40310000, "cost_basis": "...", "message":
"insufficient buying power"}`` (403) and ``{"code": 40010001, "message": "client_order_id must
be unique"}`` (422).

Scripted faults: `fault(route, kind)` makes the next request on a route answer 429, 500, or
drop the connection after processing (the response is lost but the order exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from engine.broker.alpaca import AlpacaSettings

KEY_ID = "PKTESTKEY1234567890AB"
SECRET = "s3cr3t-TEST-abcdefghijklmnopqrstuvwxyz0123"


def stamp(t: datetime) -> str:
    """Alpaca style: nanosecond fraction and Z."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def account_payload(cash: str = "100000", number: str = "PA3XYZ9876") -> dict[str, Any]:
    # Shape of the Trading API spec's GET /v2/account example.
    return {
        "id": "1d9eed04-be39-4e01-9b84-a48ac5bbafcf",
        "admin_configurations": {},
        "user_configurations": None,
        "account_number": number,
        "status": "ACTIVE",
        "crypto_status": "ACTIVE",
        "currency": "USD",
        "buying_power": str(Decimal(cash) * 2),
        "regt_buying_power": str(Decimal(cash) * 2),
        "daytrading_buying_power": "0",
        "options_buying_power": cash,
        "effective_buying_power": str(Decimal(cash) * 2),
        "non_marginable_buying_power": cash,
        "bod_dtbp": 0,
        "cash": cash,
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "portfolio_value": "123346.11",
        "pattern_day_trader": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "created_at": "2023-01-01T18:20:20.272275Z",
        "trade_suspended_by_user": False,
        "multiplier": "2",
        "shorting_enabled": True,
        "equity": "123346.11",
        "last_equity": "122011.09751111286868",
        "long_market_value": "1259.61",
        "short_market_value": "0",
        "position_market_value": "1259.61",
        "initial_margin": "629.81",
        "maintenance_margin": "377.88",
        "last_maintenance_margin": "376.88",
        "sma": "0",
        "daytrade_count": 0,
        "options_approved_level": 3,
        "options_trading_level": 3,
    }


def position_payload(
    symbol: str, qty: str, avg: str, price: str, asset_class: str
) -> dict[str, Any]:
    side = "short" if qty.startswith("-") else "long"
    q, a, p = Decimal(qty), Decimal(avg), Decimal(price)
    mult = 100 if asset_class == "us_option" else 1
    return {
        "asset_id": "904837e3-3b76-47ec-b432-046db621571b",
        "symbol": symbol,
        "exchange": "NASDAQ" if mult == 1 else "",
        "asset_class": asset_class,
        "asset_marginable": mult == 1,
        "avg_entry_price": avg,
        "qty": qty,
        "side": side,
        "market_value": str(q * p * mult),
        "cost_basis": str(q * a * mult),
        "unrealized_pl": str(q * (p - a) * mult),
        "unrealized_plpc": "0.2",
        "unrealized_intraday_pl": "10.0",
        "unrealized_intraday_plpc": "0.0084",
        "current_price": price,
        "lastday_price": price,
        "change_today": "0.0084",
        "qty_available": qty,
    }


def _order_base(now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "created_at": stamp(now),
        "updated_at": stamp(now),
        "submitted_at": stamp(now),
        "filled_at": None,
        "expired_at": None,
        "canceled_at": None,
        "failed_at": None,
        "replaced_at": None,
        "replaced_by": None,
        "replaces": None,
        "notional": None,
        "filled_qty": "0",
        "filled_avg_price": None,
        "stop_price": None,
        "extended_hours": False,
        "legs": None,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
        "subtag": None,
        "source": None,
        "expires_at": None,
    }


def _qty(raw: object) -> str:
    """Alpaca echoes quantities as strings without a fraction ("10", not "10.0")."""
    return f"{Decimal(str(raw)).normalize():f}"


def order_from_body(body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What Alpaca answers to POST /v2/orders for this body (status accepted)."""
    o = _order_base(now)
    o.update(
        {
            "client_order_id": body.get("client_order_id") or str(uuid.uuid4()),
            "qty": _qty(body["qty"]),
            "order_type": body["type"],
            "type": body["type"],
            "time_in_force": body["time_in_force"],
            "limit_price": None if body.get("limit_price") is None else str(body["limit_price"]),
            "status": "accepted",
        }
    )
    if body.get("order_class") == "mleg":
        o.update(
            {
                "asset_id": "",
                "symbol": "",
                "asset_class": "",
                "side": "",
                "order_class": "mleg",
                "legs": [],
            }
        )
        for leg in body["legs"]:
            child = _order_base(now)
            ratio = int(Decimal(str(leg["ratio_qty"])))
            child.update(
                {
                    "client_order_id": str(uuid.uuid4()),
                    "asset_id": str(uuid.uuid4()),
                    "symbol": leg["symbol"],
                    "asset_class": "us_option",
                    "qty": str(ratio * int(Decimal(_qty(body["qty"])))),
                    "order_class": "mleg",
                    "order_type": "",
                    "type": "",
                    "side": leg["side"],
                    "position_intent": leg.get("position_intent"),
                    "time_in_force": "day",
                    "limit_price": None,
                    "status": "accepted",
                    "ratio_qty": str(ratio),
                }
            )
            o["legs"].append(child)
    else:
        is_option = len(body["symbol"]) > 10
        o.update(
            {
                "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
                "symbol": body["symbol"],
                "asset_class": "us_option" if is_option else "us_equity",
                "order_class": body.get("order_class") or "simple",
                "side": body["side"],
            }
        )
        if body.get("position_intent"):
            o["position_intent"] = body["position_intent"]
    return o


@dataclass
class Fault:
    status: int | None  # None = drop the connection without answering
    body: dict[str, Any] = field(default_factory=dict)
    after_processing: bool = False  # do the work, then lose the response
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait this long before answering (client timeouts)


class FakeAlpaca:
    """State plus an HTTP server. Routes are keyed like ``"POST /v2/orders"``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.now = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
        self.account = account_payload()
        self.positions: list[dict[str, Any]] = []
        self.orders: dict[str, dict[str, Any]] = {}  # by Alpaca id, in submit order
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.bodies: list[dict[str, Any]] = []  # POST /v2/orders bodies
        self.replace_bodies: list[dict[str, Any]] = []  # PATCH /v2/orders/{id} bodies
        self.faults: dict[str, list[Fault]] = {}
        self.data: dict[str, Callable[[dict[str, list[str]]], Any]] = {}
        self.cash = Decimal(self.account["non_marginable_buying_power"])
        self.echo_secret_in_errors = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- test controls ----------------------------------------------------------------------

    def fault(self, route: str, fault: Fault) -> None:
        with self.lock:
            self.faults.setdefault(route, []).append(fault)

    def count(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.log if m == method and p.startswith(prefix))

    def by_coid(self, coid: str) -> dict[str, Any] | None:
        with self.lock:
            return next((o for o in self.orders.values() if o["client_order_id"] == coid), None)

    def fill(self, coid: str, qty: int, price: str) -> dict[str, Any]:
        """Execute `qty` more of a simple order at `price`; returns the trade update."""
        with self.lock:
            o = self.by_coid(coid)
            assert o is not None, coid
            cum_before = int(o["filled_qty"])
            avg_before = Decimal(o["filled_avg_price"] or "0")
            cum = cum_before + qty
            avg = (avg_before * cum_before + Decimal(price) * qty) / cum
            self.now += timedelta(seconds=1)
            o["filled_qty"] = str(cum)
            o["filled_avg_price"] = str(avg.quantize(Decimal("0.0001")))
            full = cum == int(o["qty"])
            o["status"] = "filled" if full else "partially_filled"
            o["updated_at"] = stamp(self.now)
            if full:
                o["filled_at"] = stamp(self.now)
            return {
                "event": "fill" if full else "partial_fill",
                "execution_id": str(uuid.uuid4()),
                "order": json.loads(json.dumps(o)),
                "timestamp": stamp(self.now),
                "position_qty": str(cum),
                "price": price,
                "qty": str(qty),
            }

    def fill_mleg(self, coid: str, units: int, leg_prices: list[str]) -> dict[str, Any]:
        with self.lock:
            o = self.by_coid(coid)
            assert o is not None
            assert o["order_class"] == "mleg"
            self.now += timedelta(seconds=1)
            cum_units = int(o["filled_qty"]) + units
            net = Decimal(0)
            for leg, price in zip(o["legs"], leg_prices, strict=True):
                ratio = int(leg["ratio_qty"])
                leg["filled_qty"] = str(ratio * cum_units)
                leg["filled_avg_price"] = price
                leg["status"] = "filled" if cum_units == int(o["qty"]) else "partially_filled"
                sign = 1 if leg["side"] == "buy" else -1
                net += sign * ratio * Decimal(price)
            o["filled_qty"] = str(cum_units)
            o["filled_avg_price"] = str(net)
            o["status"] = "filled" if cum_units == int(o["qty"]) else "partially_filled"
            o["updated_at"] = stamp(self.now)
            return {
                "event": "fill" if o["status"] == "filled" else "partial_fill",
                "order": json.loads(json.dumps(o)),
                "timestamp": stamp(self.now),
            }

    # -- server -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAlpaca:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _dispatch(self, method: str) -> None:
                fake._handle(self, method)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_PATCH(self) -> None:
                self._dispatch("PATCH")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- request handling -------------------------------------------------------------------

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if raw:
            h.wfile.write(raw)

    def _drop(self, h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(2)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(h.path)
        path = parsed.path
        query = parse_qs(parsed.query)
        length = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(length)) if length else {}
        with self.lock:
            self.log.append((method, path))
        if (
            h.headers.get("APCA-API-KEY-ID") != KEY_ID
            or h.headers.get("APCA-API-SECRET-KEY") != SECRET
        ):
            self._send(h, 401, {"code": 40110000, "message": "request is not authorized"})
            return
        route = f"{method} {path}"
        fault = None
        with self.lock:
            queue = self.faults.get(route)
            if queue:
                fault = queue.pop(0)
        if fault is not None and not fault.after_processing:
            if fault.status is None:
                self._drop(h)
            else:
                self._send(h, fault.status, fault.body, fault.headers)
            return
        try:
            status, out = self._route(method, path, query, body)
        except KeyError as exc:
            status, out = 404, {"code": 40410000, "message": f"not found: {exc}"}
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.status is None:
                self._drop(h)
            else:
                self._send(h, fault.status, fault.body, fault.headers)
            return
        self._send(h, status, out)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, Any]:
        with self.lock:
            if method == "GET" and path == "/v2/account":
                return 200, self.account
            if method == "GET" and path == "/v2/positions":
                return 200, self.positions
            if method == "POST" and path == "/v2/orders":
                return self._submit(body)
            if method == "GET" and path == "/v2/orders:by_client_order_id":
                coid = query["client_order_id"][0]
                o = self.by_coid(coid)
                if o is None:
                    return 404, {"code": 40410000, "message": f"order not found for {coid}"}
                return 200, o
            if method == "GET" and path == "/v2/orders":
                return 200, self._list(query)
            if path.startswith("/v2/orders/"):
                oid = path.rsplit("/", 1)[1]
                if oid not in self.orders:
                    return 404, {"code": 40410000, "message": "order not found"}
                if method == "GET":
                    return 200, self.orders[oid]
                if method == "DELETE":
                    return self._cancel(oid)
                if method == "PATCH":
                    return self._replace(oid, body)
            for prefix, fn in self.data.items():
                if path.startswith(prefix):
                    return 200, fn(query | {"__path__": [path]})
            raise KeyError(path)

    def _submit(self, body: dict[str, Any]) -> tuple[int, Any]:
        self.bodies.append(body)
        coid = body.get("client_order_id")
        if coid and self.by_coid(coid) is not None:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        if body.get("side") == "buy" and body.get("limit_price") is not None:
            mult = 100 if len(body["symbol"]) > 10 else 1
            cost = Decimal(str(body["limit_price"])) * int(body["qty"]) * mult
            if cost > self.cash:
                msg = "insufficient buying power"
                if self.echo_secret_in_errors:
                    msg += f" (key {SECRET})"
                return 403, {
                    "buying_power": str(self.cash),
                    "code": 40310000,
                    "cost_basis": str(cost),
                    "message": msg,
                }
        self.now += timedelta(seconds=1)
        o = order_from_body(body, self.now)
        self.orders[o["id"]] = o
        return 200, o

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        status = (query.get("status") or ["open"])[0]
        after = query.get("after")
        out = []
        for o in self.orders.values():
            is_open = o["status"] in {"new", "accepted", "partially_filled", "pending_new"}
            if status == "open" and not is_open:
                continue
            if status == "closed" and is_open:
                continue
            if after and datetime.fromisoformat(o["submitted_at"]) <= datetime.fromisoformat(
                after[0]
            ):
                continue
            out.append(o)
        return out

    def _cancel(self, oid: str) -> tuple[int, Any]:
        o = self.orders[oid]
        if o["status"] in {"filled", "canceled", "expired", "rejected", "replaced"}:
            return 422, {"code": 42210000, "message": "order is not cancelable"}
        self.now += timedelta(seconds=1)
        o["status"] = "canceled"
        o["canceled_at"] = stamp(self.now)
        o["updated_at"] = stamp(self.now)
        return 204, None

    def _replace(self, oid: str, body: dict[str, Any]) -> tuple[int, Any]:
        """PATCH /v2/orders/{id}: a new order with the patched fields (``replaces`` = the old
        id); the old one becomes ``replaced`` with ``replaced_by``/``replaced_at``. Refused
        (422) for an order that is not open or still pending, and for a used client id."""
        self.replace_bodies.append(body)
        old = self.orders[oid]
        if old["status"] not in {"new", "accepted", "partially_filled"}:
            return 422, {"code": 42210000, "message": f"order is {old['status']}, cannot replace"}
        coid = body.get("client_order_id")
        if coid and self.by_coid(coid) is not None:
            return 422, {"code": 40010001, "message": "client_order_id must be unique"}
        self.now += timedelta(seconds=1)
        new_body = {
            "symbol": old["symbol"],
            "qty": body.get("qty", old["qty"]),
            "side": old["side"],
            "type": old["type"],
            "time_in_force": body.get("time_in_force", old["time_in_force"]),
            "limit_price": body.get("limit_price", old["limit_price"]),
            "client_order_id": coid,
        }
        if old.get("position_intent"):
            new_body["position_intent"] = old["position_intent"]
        new = order_from_body(new_body, self.now)
        new["replaces"] = oid
        old["status"] = "replaced"
        old["replaced_by"] = new["id"]
        old["replaced_at"] = stamp(self.now)
        old["updated_at"] = stamp(self.now)
        self.orders[new["id"]] = new
        return 200, new


class FakeTradeStream:
    """Alpaca's trade-updates websocket: authenticate, listen, binary JSON frames."""

    def __init__(self) -> None:
        self.queues: list[asyncio.Queue[dict[str, Any] | None]] = []
        self.connections = 0
        self.refuse = False
        self._server: Any = None
        self.listening = asyncio.Event()

    @property
    def url(self) -> str:
        sock = next(iter(self._server.sockets))
        host, port = sock.getsockname()[:2]
        return f"ws://{host}:{port}/stream"

    async def start(self) -> FakeTradeStream:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handler, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.drop()
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _handler(self, ws: Any) -> None:
        if self.refuse:
            await ws.close()
            return
        auth = json.loads(await ws.recv())
        ok = auth.get("action") == "authenticate" and auth["data"].get("key_id") == KEY_ID
        await ws.send(
            json.dumps(
                {
                    "stream": "authorization",
                    "data": {
                        "status": "authorized" if ok else "unauthorized",
                        "action": "authenticate",
                    },
                }
            ).encode()
        )
        if not ok:
            await ws.close()
            return
        listen = json.loads(await ws.recv())
        assert listen["action"] == "listen"
        await ws.send(
            json.dumps({"stream": "listening", "data": {"streams": ["trade_updates"]}}).encode()
        )
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.queues.append(queue)
        self.connections += 1
        self.listening.set()
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    return  # the client went away
                item = getter.result()
                if item is None:
                    await ws.close()
                    return
                await ws.send(json.dumps({"stream": "trade_updates", "data": item}).encode())
        finally:
            closed.cancel()
            if queue in self.queues:
                self.queues.remove(queue)
            self.listening.clear()

    def push(self, update: dict[str, Any]) -> None:
        for q in self.queues:
            q.put_nowait(update)

    def drop(self) -> None:
        """Close every connection (the client will try to reconnect)."""
        for q in list(self.queues):
            q.put_nowait(None)


def fast_settings(fake: FakeAlpaca, **kw: Any) -> AlpacaSettings:
    base: dict[str, Any] = {
        "trading_url": fake.url,
        "data_url": fake.url,
        "timeout_s": 2.0,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "poll_seconds": 0.05,
        "reconcile_seconds": 0.05,
        "use_stream": False,
    }
    base.update(kw)
    return AlpacaSettings(**base)
