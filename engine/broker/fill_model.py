"""How the paper broker prices executions: slippage, ticks, commissions and displayed size.

Pure functions over a normalised top-of-book (`LegQuote`), so the rules can be tested without a
broker and read in one place:

* market orders take the far side of the quote and pay slippage on top: equities a fixed number
  of basis points of the price (`equity_slippage_bps`), options a fraction of the half-spread
  (`option_slippage_spread_fraction`). Basis points are meaningless for a $0.05 contract, while
  the half-spread scales with exactly what makes an option hard to trade (moneyness, time,
  liquidity);
* marketable limit orders fill at the quote (the better of limit and quote: a buy limit is only
  marketable when it is at or above the ask), without slippage. That price improvement is for
  an order arriving at a quote (or meeting the market at an open, after a closed market): a
  limit that rested through trading is the best price on its side once the market reaches it,
  so it trades at its limit (`prices_at_limit`), not at a quote the market later moved to;
* limit orders fill at most `max_fill_fraction` of the displayed size per market update; the
  remainder rests. A size of 0 means the source publishes no size and is read as unlimited;
* commissions are per share and per contract, with an optional minimum per order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from engine.domain import Equity, Instrument, OptionContract, OptionQuote, OrderRequest, Quote, Side
from engine.domain.fast_init import fast_init

ZERO = Decimal(0)
CENT = Decimal("0.01")
SUB_PENNY = Decimal("0.0001")
_BPS = Decimal(10_000)
_ONE_DOLLAR = Decimal(1)


@dataclass(frozen=True, slots=True)
class PaperBrokerConfig:
    """Execution rules of the paper broker. Money is `Decimal`.

    * `equity_slippage_bps`: market orders in stock pay this many bps of the price beyond the quote.
    * `option_slippage_spread_fraction`: market orders in options pay this fraction of the
      half-spread beyond the quote (0.1 on a 2.00/2.20 market buys at 2.21).
    * `commission_per_share`, `commission_per_contract`: charged on every fill.
    * `min_commission`: the least an order pays in total (0 = no minimum).
    * `max_fill_fraction`: the share of the displayed size a limit order may take per update.
    * `max_quote_age`: during the session a quote older than this is stale and never traded
      on (None disables the check).
    """

    equity_slippage_bps: Decimal = Decimal(2)
    option_slippage_spread_fraction: Decimal = Decimal("0.1")
    commission_per_share: Decimal = ZERO
    commission_per_contract: Decimal = Decimal("0.65")
    min_commission: Decimal = ZERO
    max_fill_fraction: Decimal = Decimal(1)
    max_quote_age: timedelta | None = timedelta(minutes=15)

    def __post_init__(self) -> None:
        limits: dict[str, tuple[Decimal, Decimal, str]] = {
            "equity_slippage_bps": (ZERO, Decimal(500), "0 to 500 bps"),
            "option_slippage_spread_fraction": (ZERO, Decimal(2), "0 to 2 half-spreads"),
            "commission_per_share": (ZERO, Decimal(1), "0 to 1 dollar per share"),
            "commission_per_contract": (ZERO, Decimal(100), "0 to 100 dollars per contract"),
            "min_commission": (ZERO, Decimal(1000), "0 to 1000 dollars"),
            "max_fill_fraction": (ZERO, Decimal(1), "more than 0, at most 1"),
        }
        for name, (lo, hi, allowed) in limits.items():
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                raise TypeError(
                    f"PaperBrokerConfig.{name}={value!r} must be a Decimal ({allowed}); "
                    f"convert with Decimal(str(x))"
                )
            if not value.is_finite() or value < lo or value > hi:
                raise ValueError(f"PaperBrokerConfig.{name}={value} is out of range: {allowed}")
        if self.max_fill_fraction == 0:
            raise ValueError(
                "PaperBrokerConfig.max_fill_fraction=0 would never fill a limit order: "
                "allowed is more than 0, at most 1"
            )
        if self.max_quote_age is not None and self.max_quote_age <= timedelta(0):
            raise ValueError(
                f"PaperBrokerConfig.max_quote_age={self.max_quote_age} must be positive "
                "(or None to disable the staleness check)"
            )


@fast_init
@dataclass(frozen=True, slots=True)
class LegQuote:
    """Top of book of one instrument, in ledger units. Sizes are None when not published."""

    symbol: str
    ts: datetime
    bid: Decimal
    ask: Decimal
    mid: Decimal
    bid_size: int | None
    ask_size: int | None


def to_decimal(value: float) -> Decimal:
    """Float market price to an exact ledger amount (shortest repr, at most 4 decimals)."""
    if not math.isfinite(value):
        raise ValueError(f"price {value!r} is not finite")
    return Decimal(repr(value)).quantize(SUB_PENNY, rounding=ROUND_HALF_UP)


def _size(value: float) -> int | None:
    if not math.isfinite(value) or value <= 0:
        return None
    return int(value)


def leg_quote(quote: Quote | OptionQuote) -> LegQuote:
    return LegQuote(
        symbol=quote.symbol,
        ts=quote.ts,
        bid=to_decimal(quote.bid),
        ask=to_decimal(quote.ask),
        mid=to_decimal(quote.mid),
        bid_size=_size(float(quote.bid_size)),
        ask_size=_size(float(quote.ask_size)),
    )


def tick_size(instrument: Instrument, price: Decimal) -> Decimal:
    """Equities trade in cents, below $1 in hundredths of a cent; options in cents."""
    if isinstance(instrument, Equity) and price < _ONE_DOLLAR:
        return SUB_PENNY
    return CENT


def _to_tick(instrument: Instrument, price: Decimal, rounding: str) -> Decimal:
    tick = tick_size(instrument, price)
    return (price / tick).to_integral_value(rounding=rounding) * tick


def quote_price(instrument: Instrument, side: Side, quote: LegQuote) -> Decimal:
    """The far side of the quote on a valid tick: ask (rounded up) to buy, bid (down) to sell."""
    if side is Side.BUY:
        return _to_tick(instrument, quote.ask, ROUND_CEILING)
    return _to_tick(instrument, quote.bid, ROUND_FLOOR)


def slippage(instrument: Instrument, quote: LegQuote, config: PaperBrokerConfig) -> Decimal:
    """Per-unit price concession of a market order beyond the quote."""
    if isinstance(instrument, OptionContract):
        half_spread = (quote.ask - quote.bid) / 2
        return half_spread * config.option_slippage_spread_fraction
    reference = quote.ask if quote.ask > 0 else quote.mid
    return reference * config.equity_slippage_bps / _BPS


def market_price(
    instrument: Instrument, side: Side, quote: LegQuote, config: PaperBrokerConfig
) -> Decimal:
    """Fill price of a market order: the quote plus slippage, on a tick, never better than the
    quote and never below one tick."""
    at_quote = quote_price(instrument, side, quote)
    slip = slippage(instrument, quote, config)
    if side is Side.BUY:
        raw = quote.ask + slip
        price = _to_tick(instrument, raw, ROUND_HALF_UP)
        return max(price, at_quote)
    raw = quote.bid - slip
    price = _to_tick(instrument, raw, ROUND_HALF_UP)
    price = min(price, at_quote)
    return max(price, tick_size(instrument, price))


def displayed_size(side: Side, quote: LegQuote) -> int | None:
    """Size available to an order on `side` (the ask for a buy). None = not published."""
    return quote.ask_size if side is Side.BUY else quote.bid_size


def fillable_units(
    sizes: list[tuple[int | None, int]], remaining: int, config: PaperBrokerConfig
) -> int:
    """Whole order units a limit order can take now.

    `sizes` holds, per leg, the displayed size on the leg's side and the leg ratio; a combo
    fills in whole combo units, so the thinnest leg decides.
    """
    units = remaining
    for size, ratio in sizes:
        if size is None:
            continue
        takeable = (Decimal(size) * config.max_fill_fraction).to_integral_value(ROUND_FLOOR)
        units = min(units, int(takeable) // ratio)
    return max(units, 0)


def commission_rate_cost(
    instrument: Instrument, quantity: int, config: PaperBrokerConfig
) -> Decimal:
    """Commission of `quantity` units (shares or contracts) before any per-order minimum."""
    if isinstance(instrument, OptionContract):
        return config.commission_per_contract * quantity
    return config.commission_per_share * quantity


def minimum_top_up(
    charged_so_far: Decimal, this_fill_rate_cost: Decimal, config: PaperBrokerConfig
) -> Decimal:
    """Extra commission so that an order pays at least `min_commission` in total."""
    total = charged_so_far + this_fill_rate_cost
    return max(ZERO, config.min_commission - total)


def unit_multiplier(request: OrderRequest) -> int:
    """Contract size of one combo unit: 100 for option combos, 1 for stock-only orders."""
    return max(leg.instrument.multiplier for leg in request.legs)


def net_per_unit(request: OrderRequest, prices: Sequence[Decimal]) -> Decimal:
    """Net price of one order unit per share: positive = debit, negative = credit."""
    if not request.is_combo:
        return prices[0] * request.legs[0].side.sign
    unit = unit_multiplier(request)
    total = sum(
        (
            leg.side.sign * leg.ratio * price * leg.instrument.multiplier
            for leg, price in zip(request.legs, prices, strict=True)
        ),
        ZERO,
    )
    return total / unit


def signed_limit(request: OrderRequest) -> Decimal:
    """The limit in net terms (positive = pay at most, negative = receive at least)."""
    assert request.limit_price is not None
    if request.is_combo:
        return request.limit_price
    return abs(request.limit_price) * request.legs[0].side.sign


def prices_at_limit(request: OrderRequest, prices: Sequence[Decimal]) -> list[Decimal]:
    """Leg prices whose net per unit is the order's limit (never worse than it), from leg
    `prices` whose net is at least as good: what a resting limit order trades at once the
    market has moved through it between two updates.

    The improvement is taken back on one buy leg (paid more), else spread over the sell legs
    (received less, never below zero), largest first; each change is rounded in the order's
    favour, so the net is within a cent of the limit and never worse than it."""
    improvement = signed_limit(request) - net_per_unit(request, prices)
    out = list(prices)
    if improvement <= 0:
        return out
    unit = unit_multiplier(request) if request.is_combo else 1
    legs = request.legs
    buys = [i for i, leg in enumerate(legs) if leg.side is Side.BUY]
    if buys:
        i = min(buys, key=lambda j: (legs[j].ratio, j))
        per = legs[i].ratio * legs[i].instrument.multiplier if request.is_combo else 1
        out[i] = out[i] + _sub_penny_floor(improvement * unit / per)
        return out
    left = improvement * unit
    for i in sorted(range(len(legs)), key=lambda j: (-out[j] * legs[j].ratio, j)):
        if left <= 0:
            break
        per = legs[i].ratio * legs[i].instrument.multiplier if request.is_combo else 1
        step = min(out[i], _sub_penny_floor(left / per))
        out[i] -= step
        left -= step * per
    return out


def _sub_penny_floor(x: Decimal) -> Decimal:
    """`x` rounded down to $0.0001, keeping its own exponent when it is already that exact
    (a cent stays a cent: 99.40 + 0.1 prints as 99.50, as the limit does)."""
    floored = x.quantize(SUB_PENNY, rounding=ROUND_FLOOR)
    return x if floored == x else floored
