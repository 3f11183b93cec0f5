"""`AlpacaBroker`: the `Broker` protocol over Alpaca's trading API (paper or live).

Submit is idempotent on the client order id and never blindly repeated:

1. an id this process already knows returns the known order;
2. Alpaca refusing the order (4xx with an error code, e.g. 403 "insufficient buying power")
   returns an Order in REJECTED with Alpaca's message; so does a request Alpaca cannot take
   at all (see `convert.unsupported_reason`), without a call;
3. a 429, a timeout, a dropped connection or a 5xx leave the outcome unknown: the broker looks
   the order up by its client order id (GET /v2/orders:by_client_order_id, retried with
   back-off). Found: that is the order. Confirmed absent: it submits again with the *same*
   client order id, which Alpaca refuses to accept twice (422 "client_order_id must be
   unique", answered by another lookup), so two orders can never exist. Still unknown after
   every lookup: the order is returned as NEW with no broker id and `order()` resolves it later.

Replace (PATCH) follows the same rule under the replacement's deterministic client order id.

Fills come from the trade-updates stream when it is up and from REST polling when it is
not (and once after every reconnect); `FillTracker` makes each execution appear once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.broker.alpaca.convert import (
    PayloadError,
    account_from_payload,
    alpaca_order_request,
    order_from_payload,
    position_from_payload,
    request_from_payload,
    ts,
    unsupported_reason,
)
from engine.broker.alpaca.fills import FillTracker
from engine.broker.alpaca.settings import AlpacaSettings
from engine.broker.alpaca.stream import TradeUpdateStream
from engine.broker.alpaca.transport import (
    AlpacaError,
    FailureKind,
    Transport,
    configure_client,
)
from engine.broker.paper import OrderNotCancelable, UnknownOrder
from engine.broker.protocol import Account
from engine.broker.replacement import (
    OrderNotReplaceable,
    next_replacement_client_order_id,
    replace_problem,
    replacement_request,
)
from engine.broker.streams import FanOut
from engine.domain import Fill, Order, OrderRequest, OrderStatus, Position
from engine.secrets import AlpacaCredentials, register_secrets

if TYPE_CHECKING:
    from engine.runtime.clock import Clock

log = logging.getLogger(__name__)


def make_trading_client(credentials: AlpacaCredentials, settings: AlpacaSettings) -> Any:
    """alpaca-py's TradingClient on raw payloads, with our timeout and no blind retry."""
    from alpaca.trading.client import TradingClient

    client = TradingClient(
        api_key=credentials.key_id.reveal(),
        secret_key=credentials.secret_key.reveal(),
        paper=settings.paper,
        raw_data=True,
        url_override=settings.effective_trading_url,
    )
    return configure_client(client, settings)


class AlpacaBroker:
    """A `Broker` over an Alpaca account. Call `start()` to run the stream and the poller."""

    def __init__(
        self,
        credentials: AlpacaCredentials,
        settings: AlpacaSettings | None = None,
        *,
        clock: Clock | None = None,
        transport: Transport | None = None,
        client: Any = None,
        max_submit_attempts: int = 3,
        lookup_attempts: int = 4,
        unconfirmed_grace: timedelta = timedelta(seconds=60),
        stream_reconnect_min_s: float = 1.0,
    ) -> None:
        from engine.runtime.clock import WallClock

        self.settings = settings if settings is not None else AlpacaSettings()
        register_secrets(*credentials.secrets())
        self._credentials = credentials
        self._clock: Clock = clock if clock is not None else WallClock()
        self.transport = transport if transport is not None else Transport(self.settings)
        self._client = (
            client if client is not None else make_trading_client(credentials, self.settings)
        )
        self._max_submit_attempts = max_submit_attempts
        self._lookup_attempts = lookup_attempts
        self._unconfirmed_grace = unconfirmed_grace
        self._reconnect_min_s = stream_reconnect_min_s
        self._orders: dict[str, Order] = {}
        self._requests: dict[str, OrderRequest] = {}
        self._known_ids: set[str] = set()
        self._unconfirmed: dict[str, datetime] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tracker = FillTracker()
        self._fills: FanOut[Fill] = FanOut(keep_backlog=True)
        self._started_at = self._clock.now()
        self._stream: TradeUpdateStream | None = None
        self._poll_task: asyncio.Task[None] | None = None
        self._poll_now = asyncio.Event()
        self._closed = False
        self.last_poll_at: datetime | None = None
        self.submit_posts = 0  # POST /v2/orders made (health, and proof in tests)
        self.replace_patches = 0  # PATCH /v2/orders/{id} made (likewise)
        self._fills_emitted = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "alpaca"

    @property
    def stream_connected(self) -> bool:
        return self._stream is not None and self._stream.connected

    async def start(self) -> None:
        """Start the trade-updates stream (if enabled) and the order poller."""
        if self.settings.use_stream and self._stream is None:
            self._stream = TradeUpdateStream(
                self._credentials,
                self.settings,
                self._on_trade_update,
                self._on_stream_state,
                reconnect_min_s=self._reconnect_min_s,
            )
            self._stream.start()
        if self._poll_task is None:
            self._poll_task = asyncio.create_task(self._poll_loop(), name="alpaca-poll")

    async def close(self) -> None:
        self._closed = True
        if self._stream is not None:
            await self._stream.stop()
        task, self._poll_task = self._poll_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fills.close()
        with contextlib.suppress(Exception):
            self._client._session.close()

    def seed_recorded_fills(
        self, fills: Iterable[Fill], known_client_order_ids: Iterable[str] = ()
    ) -> None:
        """Fills and order ids already in the store: never emitted again, never baselined."""
        self._tracker.seed(fills)
        self._known_ids.update(known_client_order_ids)

    def restore(
        self,
        cash: Decimal,
        positions: Sequence[Position],
        open_orders: Sequence[Order],
        seen_client_order_ids: Iterable[str] = (),
        known_orders: Sequence[Order] = (),
        *,
        position_strategies: Mapping[str, str] | None = None,
    ) -> None:
        """The engine's restore hook: remember our orders' requests (strategy attribution).

        Cash and positions are Alpaca's, not ours to set; they are compared at reconcile."""
        for order in (*open_orders, *known_orders):
            self._requests.setdefault(order.client_order_id, order.request)
        self._known_ids.update(seen_client_order_ids)
        self._known_ids.update(o.client_order_id for o in (*open_orders, *known_orders))

    # -- Broker protocol ------------------------------------------------------------------

    async def account(self) -> Account:
        payload = await self.transport.call(
            "get account", self._client.get_account, idempotent=True
        )
        return account_from_payload(_mapping(payload, "account"), self._clock.now())

    async def positions(self) -> Sequence[Position]:
        payload = await self.transport.call(
            "list positions", self._client.get_all_positions, idempotent=True
        )
        if not isinstance(payload, list):
            raise PayloadError(f"positions: expected a list, got {type(payload).__name__}")
        out = []
        for p in payload:
            try:
                out.append(position_from_payload(_mapping(p, "position")))
            except PayloadError as exc:
                log.error("alpaca position skipped: %s", exc)
        return sorted(out, key=lambda p: p.symbol)

    async def submit(self, request: OrderRequest) -> Order:
        coid = request.client_order_id
        async with self._lock(coid):
            known = self._orders.get(coid)
            if known is not None:
                if known.request != request:
                    log.warning(
                        "alpaca: client order id %s resubmitted with a different request; "
                        "the existing order stands",
                        coid,
                    )
                return known
            self._requests[coid] = request
            self._known_ids.add(coid)
            reason = unsupported_reason(request)
            if reason is not None:
                return self._local_reject(request, f"not supported by Alpaca: {reason}")
            try:
                body = alpaca_order_request(request)
            except ValueError as exc:
                return self._local_reject(request, f"not accepted by alpaca-py: {exc}")
            return await self._submit_until_known(request, body)

    async def cancel(self, client_order_id: str) -> Order:
        order = await self.order(client_order_id)
        if order is None:
            raise UnknownOrder(f"no Alpaca order with client order id {client_order_id}")
        if not order.status.is_open:
            raise OrderNotCancelable(
                f"order {client_order_id} is {order.status.value}; nothing to cancel"
            )
        if not order.broker_order_id:
            raise UnknownOrder(
                f"order {client_order_id} is not confirmed by Alpaca yet; cannot cancel it"
            )
        try:
            await self.transport.call(
                f"cancel order {client_order_id}",
                lambda: self._client.cancel_order_by_id(order.broker_order_id),
                idempotent=True,
            )
        except AlpacaError as err:
            # 422: no longer cancelable (it filled or was canceled meanwhile): report the
            # state it is in rather than fail the caller.
            if err.kind not in (FailureKind.REJECTED, FailureKind.NOT_FOUND):
                raise
            log.info("alpaca cancel %s: %s", client_order_id, err.failure.message)
        # A cancel is asynchronous at Alpaca (pending_cancel first): look briefly for the end.
        latest = order
        for _ in range(5):
            fresh = await self.order(client_order_id)
            if fresh is not None:
                latest = fresh
                if latest.status.is_terminal:
                    break
            await asyncio.sleep(0.2)
        return latest

    async def replace(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        new_client_order_id: str | None = None,
    ) -> Order:
        """Alpaca's replace (PATCH /v2/orders/{id}) under a deterministic new client order id
        (rules in `engine.broker.replacement`). Alpaca answers with the new order and marks the
        old one "replaced" (CANCELED here, "replaced by <broker id>").

        Never repeated blindly: an id this process already knows returns the known order; a
        lost or failed PATCH is answered by looking the new id up (found: that is the
        replacement; confirmed absent: the PATCH is sent again with the same id, which Alpaca
        cannot accept twice; still unknown: the replacement is returned as NEW with no broker
        id and `order()` resolves it later). A refusal (4xx) comes back as a REJECTED order
        under the new id and leaves the old order as it was."""
        from alpaca.trading.requests import ReplaceOrderRequest

        async with self._lock(client_order_id):
            new_coid = new_client_order_id or next_replacement_client_order_id(
                client_order_id, self._knows
            )
            known = self._orders.get(new_coid)
            if known is not None:
                return known  # a retried replace: the first attempt's answer stands
            old = await self.order(client_order_id)
            if old is None:
                raise UnknownOrder(f"no Alpaca order with client order id {client_order_id}")
            problem = replace_problem(old, quantity, limit_price)
            if problem is not None:
                raise OrderNotReplaceable(problem)
            if not old.broker_order_id:
                raise UnknownOrder(
                    f"order {client_order_id} is not confirmed by Alpaca yet; cannot replace it"
                )
            request = replacement_request(old, new_coid, quantity, limit_price)
            self._requests[new_coid] = request
            self._known_ids.add(new_coid)
            reason = unsupported_reason(request)
            if reason is not None:
                return self._local_reject(request, f"not supported by Alpaca: {reason}")
            try:
                # qty is always sent: the rest still to fill, so a partial fill is not re-bought.
                body = ReplaceOrderRequest(
                    qty=request.quantity,
                    limit_price=None if limit_price is None else float(limit_price),
                    client_order_id=new_coid,
                )
            except ValueError as exc:
                return self._local_reject(request, f"not accepted by alpaca-py: {exc}")
            new = await self._replace_until_known(old, request, body)
            if new.status is not OrderStatus.REJECTED:
                # The old order is "replaced" now: refresh it so order() and the poller agree.
                try:
                    await self.order(client_order_id)
                except (AlpacaError, PayloadError) as exc:
                    log.warning("alpaca replace %s: old order not refreshed: %s", new_coid, exc)
            return new

    def _knows(self, client_order_id: str) -> bool:
        return client_order_id in self._orders or client_order_id in self._known_ids

    async def order(self, client_order_id: str) -> Order | None:
        try:
            payload = await self.transport.call(
                f"get order {client_order_id}",
                lambda: self._client.get_order_by_client_id(client_order_id),
                idempotent=True,
            )
        except AlpacaError as err:
            if err.kind is not FailureKind.NOT_FOUND:
                raise
            return self._resolve_missing(client_order_id)
        self._unconfirmed.pop(client_order_id, None)
        return self._absorb(_mapping(payload, "order"))

    async def open_orders(self) -> Sequence[Order]:
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        flt = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        payload = await self.transport.call(
            "list open orders", lambda: self._client.get_orders(flt), idempotent=True
        )
        return [self._absorb(_mapping(p, "order")) for p in _list(payload, "orders")]

    def fills(self) -> AsyncIterator[Fill]:
        return self._fills.subscribe()

    def pending_fills(self) -> int:
        return self._fills.pending()

    # -- catch-up -------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Poll orders over REST and emit any fill not yet emitted. Returns how many."""
        from alpaca.common.enums import Sort
        from alpaca.trading.enums import QueryOrderStatus
        from alpaca.trading.requests import GetOrdersRequest

        before = self._fills_emitted
        open_created = [o.created_at for o in self._orders.values() if o.status.is_open]
        since = min([self._started_at, *open_created]) - timedelta(minutes=1)
        flt = GetOrdersRequest(
            status=QueryOrderStatus.ALL,
            after=since,
            nested=True,
            limit=500,
            direction=Sort.ASC,
        )
        payload = await self.transport.call(
            "list orders", lambda: self._client.get_orders(flt), idempotent=True
        )
        seen: set[str] = set()
        for p in _list(payload, "orders"):
            try:
                order = self._absorb(_mapping(p, "order"))
            except PayloadError as exc:
                log.error("alpaca order skipped while polling: %s", exc)
                continue
            seen.add(order.client_order_id)
        # Our open orders older than the window, or beyond one page: ask one by one.
        for coid, order in list(self._orders.items()):
            if order.status.is_open and coid not in seen:
                await self.order(coid)
        self.last_poll_at = self._clock.now()
        return self._fills_emitted - before

    async def _poll_loop(self) -> None:
        while not self._closed:
            interval = (
                self.settings.reconcile_seconds
                if self.stream_connected
                else self.settings.poll_seconds
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), timeout=interval)
            self._poll_now.clear()
            if self._closed:
                return
            try:
                n = await self.catch_up()
                if n:
                    log.info("alpaca poll caught up %d fill(s)", n)
            except (AlpacaError, PayloadError) as exc:
                log.warning("alpaca order poll failed: %s", exc)

    def _on_stream_state(self, connected: bool) -> None:
        # Both edges: on disconnect start polling at once; on reconnect poll once more for
        # whatever happened between the last poll and the new subscription.
        self._poll_now.set()

    async def _on_trade_update(self, data: Mapping[str, Any]) -> None:
        order_payload = data.get("order")
        if not isinstance(order_payload, Mapping):
            log.warning("alpaca trade update without an order: %s", data.get("event"))
            return
        execution: tuple[Decimal, int] | None = None
        if data.get("event") in ("fill", "partial_fill"):
            try:
                price = Decimal(str(data.get("price")))
                qty_dec = Decimal(str(data.get("qty")))
                if price.is_finite() and qty_dec == qty_dec.to_integral_value():
                    execution = (price, int(qty_dec))
            except ArithmeticError:
                execution = None
        at = ts(data, "timestamp", "trade update")
        try:
            self._absorb(order_payload, execution=execution, at=at)
        except PayloadError as exc:
            log.error("alpaca trade update skipped: %s", exc)

    # -- internals ------------------------------------------------------------------------

    def _lock(self, coid: str) -> asyncio.Lock:
        lock = self._locks.get(coid)
        if lock is None:
            lock = self._locks[coid] = asyncio.Lock()
        return lock

    def _absorb(
        self,
        payload: Mapping[str, Any],
        *,
        execution: tuple[Decimal, int] | None = None,
        at: datetime | None = None,
    ) -> Order:
        """Take in an order snapshot from any path: cache it and emit its new fills."""
        coid = str(payload.get("client_order_id") or "")
        request = self._requests.get(coid)
        if request is None:
            request = request_from_payload(payload)
            self._requests[coid] = request
        order = order_from_payload(payload, request)
        submitted = ts(payload, "submitted_at", f"order {coid}") or order.created_at
        if (
            coid not in self._known_ids
            and not self._tracker.knows(coid)
            and submitted < self._started_at
        ):
            # Filled before this process ran and not one of ours from the store: those
            # executions are already in Alpaca's positions, so only later ones are fills.
            if (
                execution is not None
                and not request.is_combo
                and order.filled_quantity >= execution[1]
            ):
                self._tracker.baseline(request, _minus_execution(payload, execution))
            else:
                self._tracker.baseline(request, payload)
            self._known_ids.add(coid)
        when = at or order.updated_at
        for fill in self._tracker.observe(
            request, order.broker_order_id, payload, when, execution=execution
        ):
            self._fills_emitted += 1
            self._fills.publish(fill)
        self._orders[coid] = order
        return order

    def _local_reject(self, request: OrderRequest, reason: str) -> Order:
        now = self._clock.now()
        order = Order(request, "", OrderStatus.NEW, now, now).transition(
            OrderStatus.REJECTED, now, reject_reason=reason
        )
        self._orders[request.client_order_id] = order
        log.warning("alpaca order %s rejected: %s", request.client_order_id, reason)
        return order

    async def _lookup(self, coid: str) -> tuple[str, Order | None]:
        """('found', order) | ('absent', None) | ('unknown', None) after a lost submit."""
        for attempt in range(self._lookup_attempts):
            try:
                payload = await self.transport.once(
                    f"find order {coid}", lambda: self._client.get_order_by_client_id(coid)
                )
                return "found", self._absorb(_mapping(payload, "order"))
            except AlpacaError as err:
                if err.kind is FailureKind.NOT_FOUND:
                    return "absent", None
                if err.kind is FailureKind.AUTH:
                    return "unknown", None
                await self.transport.sleep(
                    self.transport.backoff(attempt, err.failure.retry_after_s)
                )
        return "unknown", None

    async def _submit_until_known(self, request: OrderRequest, body: Any) -> Order:
        def post() -> Any:
            self.submit_posts += 1
            return self._client.submit_order(body)

        return await self._send_until_known(request, "submit", post)

    async def _replace_until_known(self, old: Order, request: OrderRequest, body: Any) -> Order:
        """Send the PATCH; on an unknown outcome look the replacement up by its client id."""

        def patch() -> Any:
            self.replace_patches += 1
            return self._client.replace_order_by_id(old.broker_order_id, body)

        return await self._send_until_known(request, "replace", patch)

    async def _send_until_known(
        self, request: OrderRequest, verb: str, send: Callable[[], Any]
    ) -> Order:
        """POST a new order or PATCH a replacement, never blindly twice: after a 429, a
        transient failure or a duplicate id, ask Alpaca for the order by its client order id
        first, and only send again when it is known not to be there."""
        coid = request.client_order_id
        last = "no attempt"
        for attempt in range(self._max_submit_attempts):
            try:
                payload = await self.transport.once(f"{verb} order {coid}", send)
                return self._absorb(_mapping(payload, "order"))
            except AlpacaError as err:
                f = err.failure
                last = f"{f.kind.value}: {f.message}"
                if f.kind is FailureKind.REJECTED:
                    refused = "rejected the order" if verb == "submit" else f"refused the {verb}"
                    return self._local_reject(request, f"Alpaca {refused}: {f.message}")
                if f.kind is FailureKind.AUTH:
                    return self._local_reject(
                        request, f"Alpaca refused the credentials (HTTP {f.status})"
                    )
                if f.kind is FailureKind.NOT_FOUND:
                    return self._local_reject(request, f"Alpaca: {f.message}")
                log.warning("alpaca %s %s: %s; looking it up by client order id", verb, coid, last)
                state, found = await self._lookup(coid)
                if state == "found" and found is not None:
                    return found
                if state == "unknown":
                    return self._unconfirmed_order(request, last)
                if f.kind is FailureKind.DUPLICATE_CLIENT_ID:
                    return self._local_reject(
                        request, "Alpaca reports this client order id as used but cannot find it"
                    )
                await self.transport.sleep(self.transport.backoff(attempt, f.retry_after_s))
        what = "" if verb == "submit" else f"{verb} "
        return self._local_reject(
            request, f"{what}not accepted after {self._max_submit_attempts} attempts ({last})"
        )

    def _unconfirmed_order(self, request: OrderRequest, last: str) -> Order:
        now = self._clock.now()
        order = Order(request, "", OrderStatus.NEW, now, now)
        self._orders[request.client_order_id] = order
        self._unconfirmed[request.client_order_id] = now
        log.error(
            "alpaca order %s: outcome unknown (%s) and Alpaca cannot be asked right now; "
            "kept as NEW until a lookup settles it",
            request.client_order_id,
            last,
        )
        return order

    def _resolve_missing(self, coid: str) -> Order | None:
        since = self._unconfirmed.get(coid)
        if since is None:
            return None
        order = self._orders.get(coid)
        if order is None or self._clock.now() - since < self._unconfirmed_grace:
            return order
        self._unconfirmed.pop(coid, None)
        rejected = order.transition(
            OrderStatus.REJECTED,
            self._clock.now(),
            reject_reason="the submit never reached Alpaca (no order with this client id)",
        )
        self._orders[coid] = rejected
        return rejected


def _mapping(payload: object, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{what}: expected a JSON object, got {type(payload).__name__}")
    return payload


def _list(payload: object, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise PayloadError(f"{what}: expected a JSON list, got {type(payload).__name__}")
    return payload


def _minus_execution(payload: Mapping[str, Any], execution: tuple[Decimal, int]) -> dict[str, Any]:
    """The snapshot as it was just before a stream execution (simple orders)."""
    out = dict(payload)
    cum = Decimal(str(payload.get("filled_qty") or 0))
    avg = Decimal(str(payload.get("filled_avg_price") or 0))
    before = cum - execution[1]
    out["filled_qty"] = str(before)
    out["filled_avg_price"] = (
        str((avg * cum - execution[0] * execution[1]) / before) if before > 0 else None
    )
    return out
