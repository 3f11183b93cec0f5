"""Orders, their legs, the order state machine, and fills. Ledger amounts are `Decimal`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from engine.domain.fast_init import fast_init
from engine.domain.instruments import Instrument


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"


class OrderStatus(StrEnum):
    NEW = "new"  # accepted by the broker, resting or about to be filled
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        return not self.is_terminal


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

# Explicit state machine: (from, to) pairs that are legal. Anything else is a bug in a broker
# adapter and raises instead of silently overwriting history.
_TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.NEW, OrderStatus.FILLED),
        (OrderStatus.NEW, OrderStatus.CANCELED),
        (OrderStatus.NEW, OrderStatus.REJECTED),
        (OrderStatus.NEW, OrderStatus.EXPIRED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.PARTIALLY_FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELED),
        (OrderStatus.PARTIALLY_FILLED, OrderStatus.EXPIRED),
    }
)


class IllegalOrderTransition(RuntimeError):
    pass


def check_transition(current: OrderStatus, new: OrderStatus) -> None:
    if (current, new) not in _TRANSITIONS:
        raise IllegalOrderTransition(f"order status {current} -> {new} is not allowed")


class PositionEffect(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@fast_init
@dataclass(frozen=True, slots=True)
class OrderLeg:
    """One leg of an order. `ratio` multiplies the order quantity (1 for ordinary spreads)."""

    instrument: Instrument
    side: Side
    ratio: int = 1
    effect: PositionEffect = PositionEffect.OPEN

    def __post_init__(self) -> None:
        if self.ratio <= 0:
            raise ValueError(f"leg ratio {self.ratio} must be positive")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


def make_client_order_id(*parts: object) -> str:
    """Deterministic id from what makes an order unique (strategy, proposal, attempt).

    Deterministic so that a retried or replayed submit carries the same id and the broker
    returns the existing order instead of creating a second one.
    """
    raw = "|".join(map(str, parts))
    return "wsb-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


@fast_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the engine asks a broker to do.

    For a combo, `limit_price` is the net price per combo unit in underlying units (per share):
    positive is a net debit, negative a net credit. `quantity` is combo units (contracts).
    """

    client_order_id: str
    legs: tuple[OrderLeg, ...]
    quantity: int
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy: str | None = None
    proposal_id: str | None = None

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError("an order needs at least one leg")
        if self.quantity <= 0:
            raise ValueError(f"order quantity {self.quantity} must be positive")
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit order needs a limit_price")
        if self.order_type is OrderType.MARKET and self.limit_price is not None:
            raise ValueError("a market order must not carry a limit_price")
        if not self.client_order_id:
            raise ValueError("client_order_id must not be empty")

    @property
    def is_combo(self) -> bool:
        return len(self.legs) > 1

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(leg.symbol for leg in self.legs)


@fast_init
@dataclass(frozen=True, slots=True)
class Order:
    """A request plus its broker-side state."""

    request: OrderRequest
    broker_order_id: str
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    filled_quantity: int = 0
    avg_fill_price: Decimal | None = None
    reject_reason: str | None = None

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def remaining_quantity(self) -> int:
        return self.request.quantity - self.filled_quantity

    def transition(
        self,
        status: OrderStatus,
        at: datetime,
        *,
        filled_quantity: int | None = None,
        avg_fill_price: Decimal | None = None,
        reject_reason: str | None = None,
    ) -> Order:
        check_transition(self.status, status)
        # The constructor, not `dataclasses.replace`: an order moves two or three times per
        # trade and `replace` walks the fields to rebuild the same call.
        return Order(
            self.request,
            self.broker_order_id,
            status,
            self.created_at,
            at,
            self.filled_quantity if filled_quantity is None else filled_quantity,
            self.avg_fill_price if avg_fill_price is None else avg_fill_price,
            reject_reason if reject_reason is not None else self.reject_reason,
        )


@fast_init
@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one leg. `price` is per unit of underlying (per share); the cash moved
    is price x quantity x multiplier plus commission."""

    fill_id: str
    client_order_id: str
    broker_order_id: str
    instrument: Instrument
    side: Side
    quantity: int
    price: Decimal
    commission: Decimal
    ts: datetime
    leg_index: int = 0
    strategy: str | None = None
    liquidity: str = "taker"
    # `cash_delta`, worked out on first use: the broker, the ledger, the store and the
    # engine each read it (about six times per fill, several Decimal products each).
    _cash_delta: Decimal | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill quantity {self.quantity} must be positive")
        if not self.price.is_finite() or self.price < 0:
            raise ValueError(f"fill price {self.price} must be a finite amount >= 0")
        if not self.commission.is_finite():
            raise ValueError(f"fill commission {self.commission} must be finite")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def signed_quantity(self) -> int:
        # `side.sign * quantity` without the property call (read ~10 times per fill).
        return self.quantity if self.side is Side.BUY else -self.quantity

    @property
    def cash_delta(self) -> Decimal:
        """Change in cash from this fill, commission included."""
        delta = self._cash_delta
        if delta is None:
            gross = self.price * self.quantity * self.instrument.multiplier
            delta = -self.side.sign * gross - self.commission
            object.__setattr__(self, "_cash_delta", delta)
        return delta
