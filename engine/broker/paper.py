"""`PaperBroker`: the embedded default broker, a cash account filled against market quotes.

What it does, in one place:

* market orders fill at once at the ask (buy) / bid (sell) plus slippage (`fill_model`); a
  market order while the market is closed is rejected;
* limit orders fill at once when marketable (buy limit >= ask, sell limit <= bid) at the
  quote, otherwise they rest (also while the market is closed) and `on_market` re-checks them
  every update. A limit takes at most the displayed size (times `max_fill_fraction`) per
  update and rests the remainder. A limit that rested unfilled at an update of the session
  and is crossed at a later one fills at its limit: the market went through its price in
  between. Only an order meeting the market at an open (or arriving) fills at the quote;
* combos fill atomically (every leg or none) in whole combo units; their limit is the net per
  combo unit per share (positive = debit, negative = credit) against the legs' quotes. For a
  single-leg order the limit is the price itself (its sign is ignored);
* with `session_range_fills` (daily-step backtests), a limit order that rested through a
  session is also checked against the range the session traded (`range_fill`): it fills at
  the opening quote if the market opened through its limit, at its limit if the session's
  low or high got there, as a live order resting all day would have;
* `on_market` also expires DAY orders at the session close and settles expiring options after
  the close of their expiry session (`expiry`);
* rejections are orders in REJECTED with a reason (no exception): no or bad quote, market
  closed, short stock, naked call, not enough buying power (needed vs available);
* a resubmitted client order id returns the existing order, never a second one;
* `replace` swaps an open limit order for a new one atomically (`engine.broker.replacement`):
  the old order ends CANCELED "replaced by <id>" with its fills kept;
* every fill goes out once, in order, on `fills()`, with a deterministic id
  ``<client order id>:<leg>:<order units filled so far>`` so a replay produces the same ids.

Buying power is reported as cash - reserved collateral, where the reserve also holds what open
orders could still cost (so two resting orders cannot both spend the same cash).
Nothing reads the wall clock or a random source: time comes from the clock, prices from the
market.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, TypeVar

from engine.broker.expiry import ExpiryAction, ExpiryOutcome, plan_expiry
from engine.broker.fill_model import (
    ZERO,
    LegQuote,
    PaperBrokerConfig,
    commission_rate_cost,
    displayed_size,
    fillable_units,
    leg_quote,
    market_price,
    minimum_top_up,
    net_per_unit,
    prices_at_limit,
    quote_price,
    signed_limit,
    to_decimal,
    unit_multiplier,
)
from engine.broker.margin import (
    CollateralRequirement,
    ShortStock,
    UncoveredShortCall,
    check_no_short_stock,
    collateral_requirement,
    settlement_symbol,
)
from engine.broker.protocol import Account
from engine.broker.range_fill import range_fill_quotes
from engine.broker.replacement import (
    REPLACED_BY,
    OrderNotReplaceable,
    next_replacement_client_order_id,
    replace_problem,
    replacement_request,
)
from engine.broker.streams import FanOut
from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import (
    BadMarketData,
    Equity,
    Fill,
    Instrument,
    OptionContract,
    OptionRight,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    empty_position,
)
from engine.domain.instruments import CASH_SETTLED_INDEXES

if TYPE_CHECKING:
    from engine.runtime.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")
_AVG_QUANTUM = Decimal("0.0001")
_CENTS = Decimal("0.01")
# A closing quote may be stamped at the last minute of the session or at the close itself.
_CLOSE_QUOTE_WINDOW = timedelta(minutes=1)


class UnknownOrder(LookupError):
    """No order with this client order id is known to the broker."""


class OrderNotCancelable(ValueError):
    """The order is already filled, canceled, rejected or expired."""


@dataclass(slots=True)
class _OrderBook:
    """Running totals the immutable `Order` does not carry; kept for open orders only."""

    commission: Decimal = ZERO
    notional: Decimal = ZERO  # sum of (price per unit x units) for the average fill price
    hold_total: Decimal = ZERO  # buying power held for the whole order at admission


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def _cash_flow(request: OrderRequest, prices: Sequence[Decimal], units: int) -> Decimal:
    """Cash in (+) or out (-) for `units` at per-leg `prices`, before commission."""
    return sum(
        (
            -leg.side.sign * price * leg.ratio * units * leg.instrument.multiplier
            for leg, price in zip(request.legs, prices, strict=True)
        ),
        ZERO,
    )


def _leg_deltas(request: OrderRequest, units: int) -> list[tuple[Instrument, int]]:
    return [(leg.instrument, leg.side.sign * leg.ratio * units) for leg in request.legs]


def _plus(
    holdings: Mapping[Instrument, int], deltas: Iterable[tuple[Instrument, int]]
) -> dict[Instrument, int]:
    """A copy of `holdings` with each delta added in turn."""
    out = dict(holdings)
    for inst, delta in deltas:
        out[inst] = out.get(inst, 0) + delta
    return out


def _allocate(
    holdings: Mapping[str | None, int], quantity: int
) -> tuple[dict[str | None, int], int]:
    """Split `quantity` over positive `holdings`, largest first (ties by name), each at most
    its holding: (the shares, what no holding covered)."""
    shares: dict[str | None, int] = {}
    left = quantity
    for holder, held in sorted(holdings.items(), key=lambda hq: (-hq[1], hq[0] or "")):
        take = min(held, left)
        if take <= 0:
            break
        shares[holder] = take
        left -= take
    return shares, left


class PaperBroker:
    """A simulated cash account implementing the `Broker` protocol."""

    def __init__(
        self,
        market: MarketData,
        clock: Clock,
        *,
        config: PaperBrokerConfig | None = None,
        account_id: str = "PAPER-SIM",
        initial_cash: Decimal = Decimal("100000"),
        calendar: MarketCalendar | None = None,
        session_range_fills: bool = False,
    ) -> None:
        """`session_range_fills`: for replays that step once per session (a daily backtest),
        a limit order resting since before the session opened is checked against the range
        the session traded (`range_fill`), not only the quote of the moment."""
        if not isinstance(initial_cash, Decimal) or not initial_cash.is_finite():
            raise TypeError(f"initial_cash={initial_cash!r} must be a finite Decimal")
        if initial_cash < 0:
            raise ValueError(f"initial_cash={initial_cash} must be >= 0")
        if not account_id:
            raise ValueError("account_id must not be empty")
        self._market = market
        self._range_quotes = (
            getattr(market, "session_range_quotes", None) if session_range_fills else None
        )
        self._range_swept: dict[str, date] = {}
        self._clock = clock
        self._config = config if config is not None else PaperBrokerConfig()
        self._account_id = account_id
        self._calendar = calendar if calendar is not None else default_calendar()
        self._lock = asyncio.Lock()
        self._cash = initial_cash
        self._positions: dict[str, Position] = {}
        # The positions' holdings and reserve, computed once per change of the book (fills,
        # restore; a mark changes neither): an order needed them three or four times.
        self._held: dict[Instrument, int] | None = None
        self._held_reserve: CollateralRequirement | None = None
        self._orders: dict[str, Order] = {}
        self._books: dict[str, _OrderBook] = {}
        self._open: list[str] = []  # client order ids of open orders, oldest first
        self._seen_without_order: set[str] = set()
        self._strategy_by_symbol: dict[str, str] = {}
        # Signed quantity of each symbol per strategy: two strategies can hold one contract,
        # and its expiry must settle each one's share with it, not all with the last trader.
        self._holders: dict[str, dict[str | None, int]] = {}
        self._holder_instruments: dict[str, Instrument] = {}
        self._option_held: bool | None = None  # `_holds_options`, None = work it out again
        # (date, its latest session, that session's close) for `_latest_closed_session`.
        self._closed_at: tuple[date, date, datetime] | None = None
        self._last_closed_session: date | None = None
        # When resting orders were last checked against quotes in an open market: an order
        # checked then (or placed after it) that is crossed now rested through trading.
        self._last_recheck: datetime | None = None
        self._deferred_warned: set[tuple[str, date]] = set()
        self._fills: FanOut[Fill] = FanOut(keep_backlog=True)
        self._held_fills: list[Fill] | None = None  # see hold_fills
        self._order_updates: FanOut[Order] = FanOut(keep_backlog=False)
        # Whether the market is open at an instant, asked three or four times per order.
        self._open_at: tuple[datetime, bool] | None = None
        # The fill prices `_admit` worked out for a market order, for `_execute` to reuse.
        self._admitted_prices: tuple[list[LegQuote], list[Decimal]] | None = None

    # -- Broker protocol ------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "paper"

    @property
    def config(self) -> PaperBrokerConfig:
        return self._config

    @property
    def account_id(self) -> str:
        return self._account_id

    async def account(self) -> Account:
        async with self._lock:
            now = self._clock.now()
            collateral = self._position_collateral().total
            held = self._total_holds()
            reserved = collateral + held
            equity = self._cash
            for symbol in sorted(self._positions):
                pos = self._positions[symbol]
                if pos.quantity == 0:
                    continue
                mark = await self._mark(pos)
                self._positions[symbol] = pos.with_mark(float(mark))
                equity += mark * pos.quantity * pos.multiplier
            return Account(
                account_id=self._account_id,
                cash=self._cash,
                buying_power=self._cash - reserved,
                reserved_collateral=reserved,
                equity=equity.quantize(_CENTS, rounding=ROUND_HALF_UP),
                ts=now,
                is_paper=True,
            )

    async def positions(self) -> Sequence[Position]:
        return [self._positions[s] for s in sorted(self._positions) if self._positions[s].quantity]

    async def submit(self, request: OrderRequest) -> Order:
        async with self._lock:
            coid = request.client_order_id
            existing = self._orders.get(coid)
            if existing is not None:
                if existing.request != request:
                    log.warning(
                        "paper broker: client order id %s resubmitted with a different request; "
                        "the existing order stands",
                        coid,
                    )
                return existing
            now = self._clock.now()
            order = Order(request, f"paper-{coid}", OrderStatus.NEW, now, now)
            if coid in self._seen_without_order:
                # Known from the store but not handed back on restore: never trade it twice.
                return order.transition(
                    OrderStatus.REJECTED,
                    now,
                    reject_reason=(
                        f"duplicate client order id {coid}: it was submitted before the restart; "
                        "the stored order is the record"
                    ),
                )
            reason, quotes, hold = await self._admit(request, now)
            if reason is not None:
                self._orders[coid] = order.transition(
                    OrderStatus.REJECTED, now, reject_reason=reason
                )
                log.info("paper order %s rejected: %s", coid, reason)
                self._order_updates.publish(self._orders[coid])
                return self._orders[coid]
            self._orders[coid] = order
            self._books[coid] = _OrderBook(hold_total=hold)
            self._open.append(coid)
            self._order_updates.publish(order)
            if self._is_open(now) and quotes is not None:
                self._execute(coid, quotes, now, arriving=True)
            if request.time_in_force is TimeInForce.IOC and self._orders[coid].status.is_open:
                self._finish(
                    coid, OrderStatus.CANCELED, now, "IOC: the unfilled remainder was canceled"
                )
            return self._orders[coid]

    async def cancel(self, client_order_id: str) -> Order:
        async with self._lock:
            order = self._orders.get(client_order_id)
            if order is None:
                raise UnknownOrder(f"no order with client order id {client_order_id!r}")
            if order.status.is_terminal:
                raise OrderNotCancelable(
                    f"order {client_order_id} is {order.status.value} and cannot be canceled "
                    "(only new or partially filled orders can)"
                )
            self._finish(client_order_id, OrderStatus.CANCELED, self._clock.now(), None)
            return self._orders[client_order_id]

    async def replace(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
        new_client_order_id: str | None = None,
    ) -> Order:
        """Replace an open limit order (see `engine.broker.replacement` for the rules).

        Atomic: the replacement is admitted as if the old order were already gone (its hold
        and committed shares freed); if it is refused, the old order stands untouched and the
        refusal comes back as a REJECTED order under the new id. Otherwise the old order ends
        CANCELED ("replaced by <new id>", fills kept) and the new one rests or fills at once,
        both in one step under the broker lock. An id already known returns that order."""
        async with self._lock:
            old = self._orders.get(client_order_id)
            if old is None:
                raise UnknownOrder(f"no order with client order id {client_order_id!r}")
            new_coid = new_client_order_id or next_replacement_client_order_id(
                client_order_id, self._knows
            )
            existing = self._orders.get(new_coid)
            if existing is not None:
                return existing  # a retried replace: the first attempt's answer stands
            problem = replace_problem(old, quantity, limit_price)
            if problem is not None:
                raise OrderNotReplaceable(problem)
            request = replacement_request(old, new_coid, quantity, limit_price)
            now = self._clock.now()
            order = Order(request, f"paper-{new_coid}", OrderStatus.NEW, now, now)
            if new_coid in self._seen_without_order:
                return order.transition(
                    OrderStatus.REJECTED,
                    now,
                    reject_reason=f"duplicate client order id {new_coid}: used before the restart",
                )
            book_open = self._open
            self._open = [c for c in book_open if c != client_order_id]
            try:
                reason, quotes, hold = await self._admit(request, now)
            finally:
                self._open = book_open
            if reason is not None:
                self._orders[new_coid] = order.transition(
                    OrderStatus.REJECTED, now, reject_reason=f"replace refused: {reason}"
                )
                log.info("paper replace of %s refused: %s", client_order_id, reason)
                self._order_updates.publish(self._orders[new_coid])
                return self._orders[new_coid]
            self._finish(client_order_id, OrderStatus.CANCELED, now, f"{REPLACED_BY}{new_coid}")
            self._orders[new_coid] = order
            self._books[new_coid] = _OrderBook(hold_total=hold)
            self._open.append(new_coid)
            self._order_updates.publish(order)
            if self._is_open(now) and quotes is not None:
                self._execute(new_coid, quotes, now, arriving=True)
            return self._orders[new_coid]

    async def order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def _knows(self, client_order_id: str) -> bool:
        return client_order_id in self._orders or client_order_id in self._seen_without_order

    async def open_orders(self) -> Sequence[Order]:
        return [self._orders[c] for c in self._open]

    def fills(self) -> AsyncIterator[Fill]:
        """Every fill from now on, once, in order; fills made before the first subscriber
        attached are delivered to it first."""
        return self._fills.subscribe()

    # -- beyond the protocol --------------------------------------------------------------

    def order_updates(self) -> AsyncIterator[Order]:
        """Every order state change from now on (accepted, rejected, filled, canceled, expired)."""
        return self._order_updates.subscribe()

    def pending_fills(self) -> int:
        """Fills published but not yet taken off the stream by a subscriber; the engine waits
        for zero before it reads the book, so it never acts on a fill it has not stored."""
        held = len(self._held_fills) if self._held_fills is not None else 0
        return self._fills.pending() + held

    def hold_fills(self) -> None:
        """From now on keep fills for `take_fills` instead of sending them on `fills()`.

        For a replay whose engine stores each fill on its own task right after the call that
        made it: a fill then needs no hop through a queue and a second task. Call it before
        any fill exists (nothing already published is moved)."""
        if self._held_fills is None:
            self._held_fills = []

    def take_fills(self) -> list[Fill]:
        """The held fills, oldest first, and forget them (see `hold_fills`)."""
        held = self._held_fills
        if not held:
            return []
        self._held_fills = []
        return held

    def _publish_fill(self, fill: Fill) -> None:
        if self._held_fills is not None:
            self._held_fills.append(fill)
        else:
            self._fills.publish(fill)

    def close(self) -> None:
        """End the fill and order-update streams (engine shutdown)."""
        self._fills.close()
        self._order_updates.close()

    @property
    def cash(self) -> Decimal:
        return self._cash

    def collateral(self) -> CollateralRequirement:
        """What the positions reserve, line by line (open-order holds not included)."""
        return self._position_collateral()

    def open_order_holds(self) -> Decimal:
        """Buying power held for what open orders could still cost."""
        return self._total_holds()

    async def on_market(self, now: datetime | None = None) -> None:
        """Advance the broker to `now` (the engine calls this every market update): expire DAY
        orders after a close, settle options after their expiry close, re-check resting orders."""
        async with self._lock:
            now = self._clock.now() if now is None else now
            closed = self._latest_closed_session(now)
            if closed is not None and closed != self._last_closed_session:
                self._expire_day_orders(closed, now)
                self._last_closed_session = closed
            if not self._open and not self._holds_options():
                # Each step below works on open orders or option positions only: with
                # neither (a stock book between orders, every tick of a daily backtest)
                # there is nothing to expire, settle or re-check.
                return
            if closed is not None:
                self._expire_orders_on_expired_contracts(closed, now)
                await self._settle_expiries(closed, now)
            if self._is_open(now):
                await self._recheck_resting(now)

    def restore(
        self,
        cash: Decimal,
        positions: Iterable[Position],
        open_orders: Iterable[Order] = (),
        seen_client_order_ids: Iterable[str] = (),
        *,
        known_orders: Iterable[Order] = (),
        position_strategies: Mapping[str, str] | None = None,
    ) -> None:
        """Rebuild the account from the store (the source of truth) after a restart.

        `open_orders` rest again (market orders among them execute at the next open update);
        `known_orders` (terminal ones) are returned as they are when resubmitted; any other id
        in `seen_client_order_ids` is refused on resubmit. `position_strategies` (symbol ->
        strategy) attributes expiry fills. Replaces any state the broker had.
        """
        if not isinstance(cash, Decimal) or not cash.is_finite():
            raise TypeError(f"restore: cash={cash!r} must be a finite Decimal")
        new_positions: dict[str, Position] = {}
        for pos in positions:
            if pos.symbol in new_positions:
                raise ValueError(f"restore: position {pos.symbol} appears twice")
            new_positions[pos.symbol] = pos
        orders: dict[str, Order] = {}
        open_ids: list[str] = []
        for order in open_orders:
            if not order.status.is_open:
                raise ValueError(
                    f"restore: open_orders holds {order.client_order_id} in status "
                    f"{order.status.value}; only new or partially filled orders rest"
                )
            if order.client_order_id in orders:
                raise ValueError(f"restore: order {order.client_order_id} appears twice")
            orders[order.client_order_id] = order
            open_ids.append(order.client_order_id)
        for order in known_orders:
            if order.client_order_id in orders:
                continue
            if order.status.is_open:
                raise ValueError(
                    f"restore: known order {order.client_order_id} is {order.status.value}; "
                    "pass open orders in open_orders"
                )
            orders[order.client_order_id] = order
        self._cash = cash
        self._positions = new_positions
        self._held = self._held_reserve = None
        self._orders = orders
        self._open = open_ids
        self._seen_without_order = set(seen_client_order_ids) - set(orders)
        self._strategy_by_symbol = dict(position_strategies or {})
        self._holders = {
            sym: {self._strategy_by_symbol.get(sym): pos.quantity}
            for sym, pos in new_positions.items()
            if pos.quantity
        }
        self._holder_instruments = {sym: new_positions[sym].instrument for sym in self._holders}
        self._option_held = None
        self._last_closed_session = None
        self._books = {}
        for coid in open_ids:
            order = orders[coid]
            book = _OrderBook()
            if order.filled_quantity and order.avg_fill_price is not None:
                book.notional = order.avg_fill_price * order.filled_quantity
                # The minimum was met by the fills made before the restart.
                book.commission = self._config.min_commission
            self._books[coid] = book
        preceding: list[str] = []
        for coid in open_ids:
            self._books[coid].hold_total = self._restored_hold(orders[coid], preceding)
            preceding.append(coid)

    def _is_open(self, now: datetime) -> bool:
        """`self._calendar.is_open(now)`, remembered for the last instant asked about."""
        memo = self._open_at
        if memo is not None and memo[0] == now:
            return memo[1]
        is_open = self._calendar.is_open(now)
        self._open_at = (now, is_open)
        return is_open

    # -- admission ------------------------------------------------------------------------

    async def _admit(
        self, request: OrderRequest, now: datetime
    ) -> tuple[str | None, list[LegQuote] | None, Decimal]:
        """(reject reason or None, leg quotes, buying power to hold)."""
        reason = self._static_problem(request, now)
        if reason is not None:
            return reason, None, ZERO
        quotes, reason = await self._fetch_quotes(request.legs, now)
        if reason is not None or quotes is None:
            return reason, None, ZERO
        is_market = request.order_type is OrderType.MARKET
        if is_market:
            for leg, q in zip(request.legs, quotes, strict=True):
                if leg.side is Side.SELL and q.bid <= 0:
                    return f"no bid for {leg.symbol}: a market sell cannot fill", None, ZERO
        reason = self._short_stock_problem(request)
        if reason is not None:
            return reason, None, ZERO
        if is_market:
            prices = [
                market_price(leg.instrument, leg.side, q, self._config)
                for leg, q in zip(request.legs, quotes, strict=True)
            ]
            self._admitted_prices = (quotes, prices)
            cash_flow = _cash_flow(request, prices, request.quantity)
        else:
            cash_flow = -signed_limit(request) * request.quantity * unit_multiplier(request)
        held = self._held_now()
        pending = self._open_order_deltas()
        base = held if not pending else _plus(held, pending)
        after = _plus(base, _leg_deltas(request, request.quantity))
        try:
            reserve_after = collateral_requirement(after).total
        except UncoveredShortCall as exc:
            return str(exc), None, ZERO
        position_reserve = self._position_collateral()
        # With no open order adding risk the base is the positions alone: the same reserve
        # (`_position_collateral` is this call on those holdings).
        reserve_base = (
            position_reserve.total
            if not pending or base == held
            else collateral_requirement(base, allow_naked=True).total
        )
        commission = self._estimate_commission(request)
        collateral = reserve_after - reserve_base
        cost = collateral - cash_flow + commission
        available = self._cash - position_reserve.total - self._total_holds()
        # An order that costs nothing or frees cash (closing a long) can only help, however
        # short the account is: a book under water must still be able to close.
        if cost > available and cost > 0:
            parts = [f"collateral {_money(collateral)}"] if collateral else []
            if cash_flow < 0:
                parts.append(f"debit {_money(-cash_flow)}")
            elif cash_flow > 0:
                parts.append(f"less credit {_money(cash_flow)}")
            parts.append(f"commission {_money(commission)}")
            return (
                f"insufficient buying power: needs {_money(cost)} ({', '.join(parts)}), "
                f"available {_money(available)}",
                None,
                ZERO,
            )
        return None, quotes, max(ZERO, cost)

    def _static_problem(self, request: OrderRequest, now: datetime) -> str | None:
        seen: set[Instrument] = set()
        single = len(request.legs) == 1  # nothing to repeat: skip hashing the instrument
        for leg in request.legs:
            inst = leg.instrument
            if not single:
                if inst in seen:
                    return f"legs must be distinct instruments: {inst.symbol} appears twice"
                seen.add(inst)
            if isinstance(inst, Equity) and (inst.is_index or inst.symbol in CASH_SETTLED_INDEXES):
                return f"{inst.symbol} is an index and cannot be traded; trade its options"
            if isinstance(inst, OptionContract):
                session = self._expiry_session(inst)
                if session is not None and now >= self._calendar.session_close(session):
                    return f"{inst.describe()} has expired (last trading session {session})"
        needs_session = (
            request.order_type is OrderType.MARKET or request.time_in_force is TimeInForce.IOC
        )
        if needs_session and not self._is_open(now):
            try:
                nxt = f" (next open {self._calendar.next_open(now):%Y-%m-%d %H:%M} UTC)"
            except ValueError:
                nxt = ""
            kind = "market" if request.order_type is OrderType.MARKET else "IOC"
            return (
                f"market closed at {now:%Y-%m-%d %H:%M} UTC{nxt}: {kind} orders need an "
                "open session; a DAY or GTC limit order may rest"
            )
        return None

    def _short_stock_problem(self, request: OrderRequest) -> str | None:
        for leg in request.legs:
            inst = leg.instrument
            if not isinstance(inst, Equity) or leg.side is not Side.SELL:
                continue
            selling = leg.ratio * request.quantity
            pos = self._positions.get(inst.symbol)
            held = pos.quantity if pos is not None else 0
            committed = self._committed_sells(inst)
            if held - committed - selling < 0:
                detail = f", {committed} already committed to open orders" if committed else ""
                return (
                    f"cannot sell {selling} {inst.symbol}: holding {held}{detail}; a cash "
                    "account cannot sell shares it does not hold"
                )
        return None

    def _committed_sells(self, inst: Instrument) -> int:
        total = 0
        for coid in self._open:
            order = self._orders[coid]
            for leg in order.request.legs:
                if leg.instrument == inst and leg.side is Side.SELL:
                    total += leg.ratio * order.remaining_quantity
        return total

    def _estimate_commission(self, request: OrderRequest) -> Decimal:
        rate = sum(
            (
                commission_rate_cost(leg.instrument, leg.ratio * request.quantity, self._config)
                for leg in request.legs
            ),
            ZERO,
        )
        return rate + minimum_top_up(ZERO, rate, self._config)

    def _holdings(self, *, include_open: bool, exclude: str | None = None) -> dict[Instrument, int]:
        """Positions, plus the remaining quantity of open orders when `include_open`.

        Only what could add risk is counted for open orders: single-leg sells (they may fill
        while the matching buys do not) and whole combos (their legs fill together).
        """
        if not include_open:
            return dict(self._held_now())
        return _plus(self._held_now(), self._open_order_deltas(exclude))

    def _open_order_deltas(self, exclude: str | None = None) -> list[tuple[Instrument, int]]:
        """What open orders (but `exclude`) could still add to the holdings, in order (see
        `_holdings`): usually nothing, market orders having filled on arrival."""
        deltas: list[tuple[Instrument, int]] = []
        for coid in self._open:
            if coid == exclude:
                continue
            order = self._orders[coid]
            req = order.request
            if not req.is_combo and req.legs[0].side is Side.BUY:
                continue
            deltas.extend(_leg_deltas(req, order.remaining_quantity))
        return deltas

    def _position_collateral(self) -> CollateralRequirement:
        reserve = self._held_reserve
        if reserve is None:
            reserve = collateral_requirement(self._held_now(), allow_naked=True)
            self._held_reserve = reserve
        return reserve

    def _held_now(self) -> dict[Instrument, int]:
        """The positions' holdings (instrument -> quantity), cached until `_apply` or
        `restore` changes the book (a mark does not). Callers must not change the dict."""
        held = self._held
        if held is None:
            held = {p.instrument: p.quantity for p in self._positions.values() if p.quantity}
            self._held = held
        return held

    def _total_holds(self) -> Decimal:
        total = ZERO
        for coid in self._open:
            order = self._orders[coid]
            book = self._books[coid]
            total += book.hold_total * order.remaining_quantity / order.request.quantity
        return total

    def _restored_hold(self, order: Order, preceding: list[str]) -> Decimal:
        request = order.request
        if request.order_type is not OrderType.LIMIT:
            return ZERO  # executes at the next open update, checked at fill time
        saved_open = self._open
        self._open = preceding
        try:
            base = self._holdings(include_open=True)
            after = dict(base)
            for inst, delta in _leg_deltas(request, request.quantity):
                after[inst] = after.get(inst, 0) + delta
            collateral = (
                collateral_requirement(after, allow_naked=True).total
                - collateral_requirement(base, allow_naked=True).total
            )
        finally:
            self._open = saved_open
        cash_flow = -signed_limit(request) * request.quantity * unit_multiplier(request)
        return max(ZERO, collateral - cash_flow + self._estimate_commission(request))

    # -- quotes ---------------------------------------------------------------------------

    async def _fetch_quotes(
        self, legs: Sequence[OrderLeg], now: datetime
    ) -> tuple[list[LegQuote] | None, str | None]:
        quotes: list[LegQuote] = []
        for leg in legs:
            inst = leg.instrument
            try:
                raw = (
                    await self._market.option_quote(inst)
                    if isinstance(inst, OptionContract)
                    else await self._market.latest_quote(inst.symbol)
                )
                q = leg_quote(raw)
            except DataUnavailable as exc:
                return None, f"no quote for {inst.symbol}: {exc}"
            except (BadMarketData, ValueError) as exc:
                log.warning("paper broker: bad quote for %s rejected: %s", inst.symbol, exc)
                return None, f"bad quote for {inst.symbol}: {exc}"
            max_age = self._config.max_quote_age
            if max_age is not None and self._is_open(now) and now - q.ts > max_age:
                return None, (
                    f"stale quote for {inst.symbol}: last at {q.ts:%Y-%m-%d %H:%M:%S} UTC, "
                    f"{now - q.ts} old (max {max_age})"
                )
            quotes.append(q)
        return quotes, None

    async def _mark(self, pos: Position) -> Decimal:
        inst = pos.instrument
        try:
            raw = (
                await self._market.option_quote(inst)
                if isinstance(inst, OptionContract)
                else await self._market.latest_quote(inst.symbol)
            )
            return leg_quote(raw).mid
        except (DataUnavailable, BadMarketData, ValueError) as exc:
            log.debug("paper broker: no mark for %s (%s); using the last one", inst.symbol, exc)
        if pos.mark is not None:
            return to_decimal(pos.mark)
        return pos.avg_price

    # -- execution ------------------------------------------------------------------------

    def _execute(
        self,
        coid: str,
        quotes: Sequence[LegQuote],
        now: datetime,
        *,
        arriving: bool,
        at_limit: bool = False,
    ) -> None:
        """Fill what the quotes allow now (a limit order at its limit when `at_limit`: it
        rested while the market moved through it). Called with the lock held."""
        order = self._orders[coid]
        request = order.request
        legs = request.legs
        is_market = request.order_type is OrderType.MARKET
        if is_market:
            admitted, self._admitted_prices = self._admitted_prices, None
            if admitted is not None and admitted[0] is quotes:
                prices = admitted[1]  # the same legs, quotes and rules: the same prices
            else:
                prices = [
                    market_price(leg.instrument, leg.side, q, self._config)
                    for leg, q in zip(legs, quotes, strict=True)
                ]
            units = order.remaining_quantity
        else:
            prices = [
                quote_price(leg.instrument, leg.side, q)
                for leg, q in zip(legs, quotes, strict=True)
            ]
            if net_per_unit(request, prices) > signed_limit(request):
                return
            if at_limit:
                prices = prices_at_limit(request, prices)
            sizes = [
                (displayed_size(leg.side, q), leg.ratio)
                for leg, q in zip(legs, quotes, strict=True)
            ]
            units = fillable_units(sizes, order.remaining_quantity, self._config)
        if units <= 0:
            return
        if any(p <= 0 for leg, p in zip(legs, prices, strict=True) if leg.side is Side.SELL):
            return  # nothing bid: a sell cannot fill now
        book = self._books[coid]
        commissions = [
            commission_rate_cost(leg.instrument, leg.ratio * units, self._config) for leg in legs
        ]
        commissions[0] += minimum_top_up(book.commission, sum(commissions, ZERO), self._config)
        total_commission = sum(commissions, ZERO)
        problem = self._fill_problem(request, prices, units, total_commission)
        if problem is not None:
            status = (
                OrderStatus.REJECTED if order.status is OrderStatus.NEW else OrderStatus.CANCELED
            )
            self._finish(coid, status, now, problem)
            log.info("paper order %s stopped at fill time: %s", coid, problem)
            return
        filled_after = order.filled_quantity + units
        liquidity = "taker" if arriving or is_market else "maker"
        fills = [
            Fill(
                fill_id=f"{coid}:{i}:{filled_after}",
                client_order_id=coid,
                broker_order_id=order.broker_order_id,
                instrument=leg.instrument,
                side=leg.side,
                quantity=leg.ratio * units,
                price=price,
                commission=commission,
                ts=now,
                leg_index=i,
                strategy=request.strategy,
                liquidity=liquidity,
            )
            for i, (leg, price, commission) in enumerate(
                zip(legs, prices, commissions, strict=True)
            )
        ]
        per_unit = prices[0] if not request.is_combo else net_per_unit(request, prices)
        book.commission += total_commission
        book.notional += per_unit * units
        avg = (book.notional / filled_after).quantize(_AVG_QUANTUM, rounding=ROUND_HALF_UP)
        status = (
            OrderStatus.FILLED if filled_after == request.quantity else OrderStatus.PARTIALLY_FILLED
        )
        self._orders[coid] = order.transition(
            status, now, filled_quantity=filled_after, avg_fill_price=avg
        )
        if status is OrderStatus.FILLED:
            self._open.remove(coid)
            del self._books[coid]
            self._range_swept.pop(coid, None)
        for fill in fills:
            self._apply(fill)
        for fill in fills:
            self._publish_fill(fill)
        self._order_updates.publish(self._orders[coid])

    def _fill_problem(
        self, request: OrderRequest, prices: Sequence[Decimal], units: int, commission: Decimal
    ) -> str | None:
        """Would this fill leave short stock, a naked call or negative buying power?"""
        after = _plus(self._held_now(), _leg_deltas(request, units))
        try:
            check_no_short_stock(after)
            reserve_after = collateral_requirement(after).total
        except (ShortStock, UncoveredShortCall) as exc:
            return str(exc)
        reserve_before = self._position_collateral().total
        free_before = self._cash - reserve_before
        free_after = self._cash + _cash_flow(request, prices, units) - commission - reserve_after
        if free_after < 0 and free_after < free_before:
            return (
                f"insufficient buying power at fill time: needs {_money(free_before - free_after)}, "
                f"available {_money(free_before)}"
            )
        return None

    def _apply(self, fill: Fill) -> None:
        symbol = fill.symbol
        old = self._positions.get(symbol)
        new = (old or empty_position(fill.instrument)).apply(fill)
        if new.quantity == 0:
            self._positions.pop(symbol, None)
        else:
            self._positions[symbol] = new
        self._update_held(old, new)
        self._held_reserve = None
        self._cash += fill.cash_delta
        if fill.strategy is not None:
            self._strategy_by_symbol[symbol] = fill.strategy
        holders = self._holders.setdefault(symbol, {})
        self._holder_instruments[symbol] = fill.instrument
        if isinstance(fill.instrument, OptionContract):
            self._option_held = True
        left = holders.get(fill.strategy, 0) + fill.signed_quantity
        if left:
            holders[fill.strategy] = left
        else:
            holders.pop(fill.strategy, None)
            if not holders:
                del self._holders[symbol]
                del self._holder_instruments[symbol]
                if isinstance(fill.instrument, OptionContract):
                    self._option_held = None  # was it the last one?

    def _update_held(self, old: Position | None, new: Position) -> None:
        """Bring the cached holdings (`_held_now`) up to date with one position's change, as
        rebuilding them from the positions would: rebuilding hashed every instrument per fill."""
        held = self._held
        if held is None:
            return
        if old is not None and old.quantity:
            if new.quantity:
                held[old.instrument] = new.quantity  # in its place, as in the positions
            else:
                del held[old.instrument]
        elif old is None and new.quantity:
            held[new.instrument] = new.quantity  # a new position comes last in both
        else:
            self._held = None  # a flat line restored into the book: rebuild in its place

    def _finish(self, coid: str, status: OrderStatus, now: datetime, reason: str | None) -> None:
        order = self._orders[coid]
        self._orders[coid] = order.transition(status, now, reject_reason=reason)
        if coid in self._open:
            self._open.remove(coid)
        self._books.pop(coid, None)
        self._range_swept.pop(coid, None)
        self._order_updates.publish(self._orders[coid])

    async def _recheck_resting(self, now: datetime) -> None:
        last, self._last_recheck = self._last_recheck, now
        session_open = self._calendar.session_open(self._calendar.session_on_or_before(now.date()))
        for coid in list(self._open):
            order = self._orders[coid]
            if not order.status.is_open:
                continue
            if self._range_quotes is not None:
                self._fill_from_range(coid, order, now)
                order = self._orders[coid]
                if not order.status.is_open:
                    continue
            quotes, problem = await self._fetch_quotes(order.request.legs, now)
            if quotes is None:
                log.debug("paper order %s not re-checked: %s", coid, problem)
                continue
            # Checked (at an earlier update or on arrival) in this session's trading and not
            # marketable then: the market has moved through its limit since, at its limit.
            seen = max(order.created_at, last) if last is not None else order.created_at
            rested = session_open <= seen < now and self._calendar.is_open(seen)
            self._execute(coid, quotes, now, arriving=False, at_limit=rested)

    def _fill_from_range(self, coid: str, order: Order, now: datetime) -> None:
        """Fill what the session's range allows an order that rested through it."""
        request = order.request
        if request.order_type is not OrderType.LIMIT:
            return
        session = self._calendar.session_on_or_before(now.date())
        if order.created_at >= self._calendar.session_open(session):
            return  # placed during this session: the range before it is not its to trade
        if self._range_swept.get(coid) == session:
            return  # a session's range fills an order once, however often it is re-checked
        self._range_swept[coid] = session
        assert self._range_quotes is not None
        try:
            points = self._range_quotes([leg.instrument for leg in request.legs], session)
            quotes = range_fill_quotes(request, points)
        except (DataUnavailable, BadMarketData, ValueError) as exc:
            log.debug("paper order %s: no session range (%s)", coid, exc)
            return
        if quotes is not None:
            self._execute(coid, quotes, now, arriving=False)

    # -- sessions and expiry --------------------------------------------------------------

    def _latest_closed_session(self, now: datetime) -> date | None:
        # Asked on every market update: the day's session and close are looked up once a day.
        day = now.date()
        memo = self._closed_at
        try:
            if memo is None or memo[0] != day:
                session = self._calendar.session_on_or_before(day)
                memo = self._closed_at = (day, session, self._calendar.session_close(session))
            _, session, close = memo
            if close > now:
                session = self._calendar.previous_session(session)
        except ValueError:
            return None
        return session

    def _holds_options(self) -> bool:
        """Any option in a strategy's book: the account may be flat in a contract that two
        strategies hold opposite sides of, and its expiry must still settle their books."""
        # Asked on every market update; kept up to date by `_apply` (an option added sets
        # it, the last of a symbol's holders gone clears it) and reset by `restore`.
        held = self._option_held
        if held is None:
            held = self._option_held = any(
                isinstance(i, OptionContract) for i in self._holder_instruments.values()
            )
        return held

    def _expiry_session(self, contract: OptionContract) -> date | None:
        try:
            return self._calendar.session_on_or_before(contract.expiry)
        except ValueError:
            return None

    def _expire_day_orders(self, session: date, now: datetime) -> None:
        close = self._calendar.session_close(session)
        for coid in list(self._open):
            order = self._orders[coid]
            if order.request.time_in_force is TimeInForce.DAY and order.created_at < close:
                self._finish(
                    coid, OrderStatus.EXPIRED, now, f"DAY order expired at the close of {session}"
                )

    def _expire_orders_on_expired_contracts(self, session: date, now: datetime) -> None:
        for coid in list(self._open):
            for leg in self._orders[coid].request.legs:
                inst = leg.instrument
                if isinstance(inst, OptionContract):
                    exp = self._expiry_session(inst)
                    if exp is not None and exp <= session:
                        self._finish(
                            coid,
                            OrderStatus.EXPIRED,
                            now,
                            f"{inst.describe()} expired at the close of {exp}",
                        )
                        break

    async def _settle_expiries(self, closed: date, now: datetime) -> None:
        await self._settle_crossed(closed, now)
        by_session: dict[date, list[tuple[OptionContract, int]]] = {}
        for pos in self._positions.values():
            inst = pos.instrument
            if pos.quantity == 0 or not isinstance(inst, OptionContract):
                continue
            exp = self._expiry_session(inst)
            if exp is not None and exp <= closed:
                by_session.setdefault(exp, []).append((inst, pos.quantity))
        for session in sorted(by_session):
            expiring = by_session[session]
            closes: dict[str, Decimal] = {}
            for root in sorted({settlement_symbol(c) for c, _ in expiring}):
                close = await self._underlying_close(root, session)
                if close is not None:
                    closes[root] = close
            later = [
                (p.instrument, p.quantity)
                for p in self._positions.values()
                if isinstance(p.instrument, OptionContract)
                and p.quantity > 0
                and (self._expiry_session(p.instrument) or session) > session
            ]
            shares = {
                p.symbol: p.quantity
                for p in self._positions.values()
                if isinstance(p.instrument, Equity)
            }
            plan = plan_expiry(expiring, closes, cash=self._cash, shares=shares, later_longs=later)
            for root in plan.deferred:
                if (root, session) not in self._deferred_warned:
                    self._deferred_warned.add((root, session))
                    log.warning(
                        "paper broker: no %s close for %s yet; expiry settlement deferred",
                        root,
                        session,
                    )
            for warning in plan.warnings:
                log.error("paper broker: %s", warning)
            for action in plan.actions:
                self._settle(action, session, now)

    async def _settle_crossed(self, closed: date, now: datetime) -> None:
        """Strategies on opposite sides of one expiring contract: the account holds only the
        net, which the expiry plan settles, so the offsetting part is settled here, between
        the books, at intrinsic value (the longs' exercise meets the shorts' assignment: no
        shares and no cash change hands at the account; each book is closed at its value)."""
        for symbol in sorted(self._holders):
            inst = self._holder_instruments.get(symbol)
            if not isinstance(inst, OptionContract):
                continue
            held = self._holders[symbol]
            longs = {s: q for s, q in held.items() if q > 0}
            shorts = {s: -q for s, q in held.items() if q < 0}
            exp = self._expiry_session(inst) if longs and shorts else None
            if exp is None or exp > closed:
                continue
            close = await self._underlying_close(settlement_symbol(inst), exp)
            if close is None:
                continue  # deferred, as the plan defers the net
            diff = close - inst.strike if inst.right is OptionRight.CALL else inst.strike - close
            value = max(ZERO, diff)
            crossed = min(sum(longs.values()), sum(shorts.values()))
            for side, group in ((Side.SELL, longs), (Side.BUY, shorts)):
                shares, _ = _allocate(group, crossed)
                for strategy, take in shares.items():
                    coid = (
                        f"expiry-{exp:%Y%m%d}-{symbol}-crossed-{side.value}-{strategy or 'manual'}"
                    )
                    self._book_settlement(
                        coid, [OrderLeg(inst, side)], [value], take, strategy, "expiry", now
                    )
            log.info(
                "paper broker: %s: %d held long and short by different strategies settled "
                "between them at intrinsic %s",
                symbol,
                crossed,
                value,
            )

    async def _underlying_close(self, symbol: str, session: date) -> Decimal | None:
        try:
            bars = await self._market.daily_bars(symbol, session, 1)
            if bars and bars[-1].session_date == session:
                return to_decimal(bars[-1].close)
        except (DataUnavailable, BadMarketData) as exc:
            log.debug("paper broker: no daily bar for %s on %s: %s", symbol, session, exc)
        try:
            quote = await self._market.latest_quote(symbol)
        except (DataUnavailable, BadMarketData):
            return None
        close = self._calendar.session_close(session)
        if close - _CLOSE_QUOTE_WINDOW <= quote.ts <= close + _CLOSE_QUOTE_WINDOW:
            return to_decimal(quote.last)
        return None

    def _settle(self, action: ExpiryAction, session: date, now: datetime) -> None:
        """Book `action`: one settlement per strategy holding the contract (its share)."""
        coid = f"expiry-{session:%Y%m%d}-{action.contract.symbol}-{action.outcome.value}"
        shares = self._settlement_shares(action)
        if len(shares) == 1:
            self._settle_share(action, *shares[0], coid, now)
            return
        for strategy, quantity in shares:
            self._settle_share(action, strategy, quantity, f"{coid}-{strategy or 'manual'}", now)

    def _settlement_shares(self, action: ExpiryAction) -> list[tuple[str | None, int]]:
        """How `action.quantity` splits over the strategies holding that side of the contract:
        largest holding first (an exercise of part of a line takes the biggest holders')."""
        symbol = action.contract.symbol
        # Settling a long line sells it; settling a short one buys it back.
        sign = 1 if action.option_side is Side.SELL else -1
        held = {s: q * sign for s, q in self._holders.get(symbol, {}).items() if q * sign > 0}
        shares, left = _allocate(held, action.quantity)
        if left > 0:  # not traced to a holder (restored before strategies were recorded)
            fallback = self._strategy_by_symbol.get(symbol)
            shares[fallback] = shares.get(fallback, 0) + left
        return list(shares.items())

    def _settle_share(
        self,
        action: ExpiryAction,
        strategy: str | None,
        quantity: int,
        coid: str,
        now: datetime,
    ) -> None:
        contract = action.contract
        legs: list[OrderLeg] = [OrderLeg(contract, action.option_side)]
        prices = [action.option_price]
        if action.share_side is not None:
            stock = Equity(settlement_symbol(contract))
            legs.append(OrderLeg(stock, action.share_side, ratio=contract.multiplier))
        if action.share_price is not None:
            prices.append(action.share_price)
        liquidity = "assignment" if action.outcome is ExpiryOutcome.ASSIGNED else "expiry"
        if self._book_settlement(coid, legs, prices, quantity, strategy, liquidity, now):
            log.info("paper broker: %s", action.describe())

    def _book_settlement(
        self,
        coid: str,
        legs: list[OrderLeg],
        prices: list[Decimal],
        quantity: int,
        strategy: str | None,
        liquidity: str,
        now: datetime,
    ) -> bool:
        """Record a settlement as a filled order and publish its fills (False: already done)."""
        if coid in self._orders:
            log.error("paper broker: settlement %s already recorded; skipped", coid)
            return False
        request = OrderRequest(
            client_order_id=coid,
            legs=tuple(legs),
            quantity=quantity,
            strategy=strategy,
        )
        per_unit = prices[0] if not request.is_combo else net_per_unit(request, prices)
        order = Order(request, f"paper-{coid}", OrderStatus.NEW, now, now)
        self._orders[coid] = order.transition(
            OrderStatus.FILLED,
            now,
            filled_quantity=quantity,
            avg_fill_price=per_unit.quantize(_AVG_QUANTUM, rounding=ROUND_HALF_UP),
            reject_reason=None,
        )
        fills = [
            Fill(
                fill_id=f"{coid}:{i}:{quantity}",
                client_order_id=coid,
                broker_order_id=order.broker_order_id,
                instrument=leg.instrument,
                side=leg.side,
                quantity=leg.ratio * quantity,
                price=price,
                commission=ZERO,
                ts=now,
                leg_index=i,
                strategy=strategy,
                liquidity=liquidity,
            )
            for i, (leg, price) in enumerate(zip(legs, prices, strict=True))
        ]
        for fill in fills:
            self._apply(fill)
        for fill in fills:
            self._publish_fill(fill)
        self._order_updates.publish(self._orders[coid])
        return True
