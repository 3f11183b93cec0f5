"""`session_range_quotes`: what an order resting through a session could have traded at.

A daily-step backtest looks at the market once per session, in its last minute. An order that
rests from one close to the next would see only the closing quote, so a limit priced inside
the spread (an exit at mid) filled only when the close happened to cross it, although the
price ranged from the session's low to its high in between. Positions then rode to expiry in
backtests that would have closed them in any real session.

A feed with this optional capability describes the session so far as a few prices the
underlying certainly traded at, each a `RangePoint` with the quotes the order's instruments
would have shown there:

* the open (`opening`): an order the market opened through fills at those quotes;
* the low and the high, and for combos every strike of theirs in between (a straddle's or a
  spread's value turns near its strikes, not only at the extremes).

The daily bar does not say when the low or the high printed, and an option's value drifts
through the day (time decay; an event's premium), so each non-opening price carries quotes at
two moments, the open and now; the broker counts it as touched only if the order was
marketable at both. That under-fills rather than over-fills, and uses nothing but the bar the
strategies were already given.

Only the underlying's range is known, so every instrument must be on one underlying (all our
combos are) and the range must be complete: the capability answers in a session's last minute
(when a daily step runs) and raises `DataUnavailable` otherwise, since earlier in the session
the day's high and low are still in the future.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.data.protocol import DataUnavailable
from engine.domain import Bar, Instrument, OptionContract, OptionQuote, Quote

AnyQuote = Quote | OptionQuote
Asked = Sequence[tuple[float, datetime]]
"""(price, moment) pairs: the underlying trading at `price` at `moment`."""


@dataclass(frozen=True, slots=True)
class RangePoint:
    """A price the underlying traded at during the session, and the instruments' quotes there:
    one row (instrument order) per moment considered."""

    price: float
    opening: bool
    rows: tuple[tuple[AnyQuote, ...], ...]


def underlying_of(instruments: Sequence[Instrument]) -> str:
    """The one underlying of `instruments`; `DataUnavailable` if there are several (their
    ranges are not jointly known) or none."""
    names = {i.underlying if isinstance(i, OptionContract) else i.symbol for i in instruments}
    if len(names) != 1:
        raise DataUnavailable(
            f"session range: needs instruments on one underlying, got {sorted(names) or 'none'}"
        )
    return names.pop()


def range_prices(bar: Bar, instruments: Sequence[Instrument]) -> list[tuple[float, bool]]:
    """(price, opening) pairs: the open first, then low, high and, for more than one option,
    the options' strikes strictly inside the range; each price once."""
    out: list[tuple[float, bool]] = [(bar.open, True)]
    seen = {bar.open}
    inner: Iterable[float] = ()
    options = [i for i in instruments if isinstance(i, OptionContract)]
    if len(options) > 1:
        inner = sorted({float(o.strike) for o in options if bar.low < float(o.strike) < bar.high})
    for price in (bar.low, bar.high, *inner):
        if price not in seen:
            seen.add(price)
            out.append((price, False))
    return out


def range_points(
    bar: Bar,
    instruments: Sequence[Instrument],
    opened: datetime,
    now: datetime,
    *,
    stamp_at: Callable[[datetime], datetime],
    share_quote: Callable[[float, datetime], Quote],
    option_quotes: Callable[[Asked, list[OptionContract]], list[dict[OptionContract, OptionQuote]]],
) -> list[RangePoint]:
    """The session's `RangePoint`s (see the module doc), quoted through the feed's own models:
    `stamp_at(moment)` is its quote stamp then, `share_quote(price, stamp)` a share quote at
    that price, and `option_quotes(asked, options)` the options at every (price, moment) of
    `asked`, one dict each (asked all at once, so a feed can price them in one pass)."""
    prices = range_prices(bar, instruments)
    asked = [(p, m) for p, opening in prices for m in ((opened,) if opening else (opened, now))]
    stamps = {m: stamp_at(m) for m in (opened, now)}
    options = [c for c in instruments if isinstance(c, OptionContract)]
    priced = option_quotes(asked, options) if options else [{} for _ in asked]
    rows = iter(
        [
            tuple(
                quotes[c] if isinstance(c, OptionContract) else share_quote(price, stamps[moment])
                for c in instruments
            )
            for (price, moment), quotes in zip(asked, priced, strict=True)
        ]
    )
    return [
        RangePoint(p, opening, tuple(next(rows) for _ in range(1 if opening else 2)))
        for p, opening in prices
    ]
