"""A trading desk for paper-broker tests: a simulated clock, a hand-fed market, a broker.

Everything is real (the in-memory `MarketData`, the XNYS calendar, the clock); tests set the
exact quotes they need at the current time and advance the clock to move the market.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from engine.broker import PaperBroker, PaperBrokerConfig
from engine.data.calendar import default_calendar
from engine.data.memory import InMemoryMarketData
from engine.domain import (
    Bar,
    Equity,
    Fill,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    OrderRequest,
    OrderType,
    Quote,
    Side,
    TimeInForce,
    make_client_order_id,
)
from engine.runtime.clock import SimulatedClock

# Friday 15 March 2024: a monthly expiry; the session runs 13:30-20:00 UTC (EDT).
EXPIRY = date(2024, 3, 15)
OPEN_TS = datetime(2024, 3, 15, 14, 0, tzinfo=UTC)
CLOSE_TS = datetime(2024, 3, 15, 20, 0, tzinfo=UTC)
AFTER_CLOSE_TS = datetime(2024, 3, 15, 20, 1, tzinfo=UTC)

AAPL = Equity("AAPL")
SPX = Equity("SPX", is_index=True)


def call(strike: str, expiry: date = EXPIRY, underlying: str = "AAPL") -> OptionContract:
    return OptionContract(underlying, expiry, Decimal(strike), OptionRight.CALL)


def put(strike: str, expiry: date = EXPIRY, underlying: str = "AAPL") -> OptionContract:
    return OptionContract(underlying, expiry, Decimal(strike), OptionRight.PUT)


def order(
    *legs: OrderLeg | tuple[object, Side],
    qty: int = 1,
    limit: str | None = None,
    tif: TimeInForce = TimeInForce.DAY,
    key: str = "",
    strategy: str | None = "test",
) -> OrderRequest:
    built = tuple(leg if isinstance(leg, OrderLeg) else OrderLeg(leg[0], leg[1]) for leg in legs)  # type: ignore[arg-type]
    coid = make_client_order_id("test", key or repr(built), qty, limit, tif)
    return OrderRequest(
        client_order_id=coid,
        legs=built,
        quantity=qty,
        order_type=OrderType.LIMIT if limit is not None else OrderType.MARKET,
        limit_price=Decimal(limit) if limit is not None else None,
        time_in_force=tif,
        strategy=strategy,
    )


@dataclass
class Desk:
    clock: SimulatedClock
    market: InMemoryMarketData
    broker: PaperBroker
    chains: dict[str, dict[OptionContract, OptionQuote]] = field(default_factory=dict)
    spots: dict[str, float] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def quote(
        self,
        symbol: str,
        bid: float,
        ask: float,
        *,
        last: float | None = None,
        bid_size: float = 0.0,
        ask_size: float = 0.0,
        ts: datetime | None = None,
    ) -> None:
        last = last if last is not None else (bid + ask) / 2
        self.spots[symbol] = last
        self.market.set_quote(
            Quote(symbol, ts or self.now, bid, ask, last, bid_size=bid_size, ask_size=ask_size)
        )

    def option(
        self,
        contract: OptionContract,
        bid: float,
        ask: float,
        *,
        bid_size: int = 0,
        ask_size: int = 0,
    ) -> None:
        """Add or replace one contract's quote in its underlying's chain, stamped now."""
        rows = self.chains.setdefault(contract.underlying, {})
        rows[contract] = OptionQuote(
            contract,
            self.now,
            bid,
            ask,
            last=(bid + ask) / 2 if bid > 0 else ask,
            volume=100,
            open_interest=1000,
            bid_size=bid_size,
            ask_size=ask_size,
        )
        self._publish_chain(contract.underlying)

    def drop_option(self, contract: OptionContract) -> None:
        self.chains.get(contract.underlying, {}).pop(contract, None)
        self._publish_chain(contract.underlying)

    def _publish_chain(self, underlying: str) -> None:
        rows = self.chains.get(underlying, {})
        stamped = tuple(
            OptionQuote(
                q.contract,
                self.now,
                q.bid,
                q.ask,
                q.last,
                q.volume,
                q.open_interest,
                bid_size=q.bid_size,
                ask_size=q.ask_size,
            )
            for q in rows.values()
        )
        spot = self.spots.get(underlying, 100.0)
        self.market.set_chain(OptionChain(underlying, self.now, spot, stamped))

    def daily_close(self, symbol: str, day: date, close: float) -> None:
        cal = default_calendar()
        start = cal.session_open(day)
        self.market.add_daily_bars(
            [Bar(symbol, start, close, close * 1.01, close * 0.99, close, 1_000_000.0)]
        )

    async def advance(self, when: datetime) -> None:
        """Move the clock, restamp every quote (still current) and tell the broker."""
        self.clock.jump_to(when)
        for underlying in list(self.chains):
            self._publish_chain(underlying)
        await self.broker.on_market(when)


def make_desk(
    *,
    cash: str = "100000",
    config: PaperBrokerConfig | None = None,
    start: datetime = OPEN_TS,
) -> Desk:
    clock = SimulatedClock(start)
    market = InMemoryMarketData(clock)
    broker = PaperBroker(
        market,
        clock,
        config=config if config is not None else PaperBrokerConfig(),
        initial_cash=Decimal(cash),
    )
    return Desk(clock, market, broker)


async def take(stream: AsyncIterator[Fill], n: int) -> list[Fill]:
    out = []
    for _ in range(n):
        out.append(await stream.__anext__())
    return out
