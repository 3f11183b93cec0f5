"""Compliance and market-structure pre-trade rules of spec §4 that need no risk model.

Each function judges one proposal and returns a `RiskCheckResult` with the value it measured
and the limit it compared against; `PreTradeRisk` runs them in its check list.  They are
pure: every input (prices, the prior close, today's traded notional) is passed in.

Approximations, stated so nobody mistakes them for the exchange's rules:

* LULD (Limit Up-Limit Down plan): the band is taken around the current price as the
  reference price (the plan uses the mean price of the last five minutes), with the plan's
  percentages by tier - Tier 1 names (S&P 500, Russell 1000, most ETPs; the default here)
  5 % above $3.00, Tier 2 names 10 %, 20 % between $0.75 and $3.00 and the lesser of $0.15 or
  75 % below $0.75.  The doubled bands of the open and the close are not modelled.  Only the
  aggressive side is limited (a buy above the upper band, a sell below the lower band):
  a passive limit beyond the far band simply rests, as it would at the exchange.
  Options are not under LULD; only single-leg stock limit orders are checked.
* SSR (Reg SHO Rule 201): a short sale of a stock trading >= 10 % below its prior close is
  blocked for the rest of the day.  The rule also runs through the next session; that second
  day is not modelled (it needs yesterday's intraday low).
* Leverage: long market value plus short stock, over equity, after the trade at current
  prices (a trade at mid exchanges cash for equal value, so equity is unchanged).  Short
  options are left out: their risk is the collateral the buying-power check reserves, and
  counting the premium would make a covered call on a fully invested book look levered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from engine.domain import (
    CheckOutcome,
    Equity,
    OptionContract,
    OrderType,
    Portfolio,
    PositionEffect,
    RiskCheckResult,
    Side,
    TradeProposal,
)
from engine.risk.recurring import recurring

# Results that never vary, built once (results are frozen values).
_LULD_NO_LIMIT = RiskCheckResult("luld", CheckOutcome.PASS, message="no limit price: not checked")
_LULD_NOT_STOCK = RiskCheckResult(
    "luld", CheckOutcome.PASS, message="not a stock order: no LULD band"
)
_NO_SHORT_SALE = RiskCheckResult("ssr", CheckOutcome.PASS, message="no short sale")
_NOT_LOTTO = RiskCheckResult("lotto_gate", CheckOutcome.PASS, message="not a lotto play")

__all__ = [
    "LOTTO_STRATEGIES",
    "DayNotionalLog",
    "check_day_notional",
    "check_leverage",
    "check_lotto_gate",
    "check_luld",
    "check_restricted",
    "check_ssr",
    "luld_bounds",
    "normalize_symbols",
]

LOTTO_STRATEGIES: frozenset[str] = frozenset({"lotto_scanner"})


def normalize_symbols(field: str, symbols: Iterable[str]) -> frozenset[str]:
    """Upper-cased symbols; a bare string (a common config slip) is refused by name."""
    if isinstance(symbols, str):
        raise ValueError(f"{field}={symbols!r} must be a list of symbols, not one string")
    out = set()
    for s in symbols:
        if not isinstance(s, str) or not s.strip():
            raise ValueError(f"{field} entry {s!r} must be a non-empty symbol string")
        out.add(s.strip().upper())
    return frozenset(out)


# --------------------------------------------------------------------------- restricted list


def check_restricted(p: TradeProposal, restricted: frozenset[str]) -> RiskCheckResult:
    """A name on the restricted list may not be traded into (closing it stays possible)."""
    hit = (
        sorted(
            {
                p.underlying,
                *(leg.symbol for leg in p.legs),
                *(leg.instrument.underlying for leg in p.legs),
            }
            & restricted
        )
        if restricted  # nothing listed (the usual account): nothing can be hit
        else []
    )
    if hit:
        return RiskCheckResult(
            "restricted_list",
            CheckOutcome.FAIL,
            1.0,
            0.0,
            f"{', '.join(hit)} on the restricted list",
        )
    return recurring(
        "restricted_list", CheckOutcome.PASS, f"not restricted ({len(restricted)} listed)", 0.0, 0.0
    )


# --------------------------------------------------------------------------- LULD


def luld_bounds(reference: float, *, tier2: bool = False) -> tuple[float, float]:
    """(lower, upper) price band around `reference` (see the module note on the tiers)."""
    if not (math.isfinite(reference) and reference > 0):
        raise ValueError(f"reference={reference!r} must be a positive price")
    if reference > 3.0:
        width = reference * (0.10 if tier2 else 0.05)
    elif reference >= 0.75:
        width = reference * 0.20
    else:
        width = min(0.15, reference * 0.75)
    return reference - width, reference + width


def check_luld(
    p: TradeProposal, prices: Mapping[str, float], tier2: frozenset[str]
) -> RiskCheckResult:
    name = "luld"
    if p.order_type is not OrderType.LIMIT or p.limit_price is None:
        return _LULD_NO_LIMIT
    if len(p.legs) != 1 or not isinstance(p.legs[0].instrument, Equity):
        return _LULD_NOT_STOCK
    leg = p.legs[0]
    ref = prices[leg.symbol]
    lo, hi = luld_bounds(ref, tier2=leg.symbol in tier2)
    px = float(p.limit_price)
    band = f"band ${lo:,.2f}-${hi:,.2f} around ${ref:,.2f}"
    if leg.side is Side.BUY and px > hi:
        return RiskCheckResult(
            name, CheckOutcome.FAIL, px, hi, f"buy limit ${px:,.2f} above the LULD {band}"
        )
    if leg.side is Side.SELL and px < lo:
        return RiskCheckResult(
            name, CheckOutcome.FAIL, px, lo, f"sell limit ${px:,.2f} below the LULD {band}"
        )
    limit = hi if leg.side is Side.BUY else lo
    return RiskCheckResult(name, CheckOutcome.PASS, px, limit, f"limit ${px:,.2f} inside {band}")


# --------------------------------------------------------------------------- SSR


def check_ssr(
    p: TradeProposal,
    portfolio: Portfolio,
    prices: Mapping[str, float],
    prior_close: Mapping[str, float],
    drop: float,
) -> RiskCheckResult:
    """Block a short sale (selling stock not held) of a name down `drop` from its prior close."""
    name = "ssr"
    shorts = []
    for leg in p.legs:
        if not isinstance(leg.instrument, Equity) or leg.side is not Side.SELL:
            continue
        held = max(portfolio.quantity(leg.symbol), 0)
        if leg.ratio * p.quantity > held:
            shorts.append(leg.symbol)
    if not shorts:
        return _NO_SHORT_SALE
    worst: tuple[float, str] | None = None
    for sym in shorts:
        prev = prior_close.get(sym)
        if prev is None or not (math.isfinite(prev) and prev > 0):
            return RiskCheckResult(
                name,
                CheckOutcome.WARN,
                None,
                drop,
                f"short sale of {sym}: prior close unknown, SSR not checked",
            )
        fall = (prev - prices[sym]) / prev
        if worst is None or fall > worst[0]:
            worst = (fall, sym)
    assert worst is not None
    fall, sym = worst
    if fall >= drop:
        return RiskCheckResult(
            name,
            CheckOutcome.FAIL,
            fall,
            drop,
            f"short sale of {sym} on an SSR day: down {fall:.1%} from the prior close "
            f"(>= {drop:.0%})",
        )
    return RiskCheckResult(
        name, CheckOutcome.PASS, fall, drop, f"short sale of {sym}: down {fall:.1%}, no SSR"
    )


# --------------------------------------------------------------------------- day notional


@dataclass
class DayNotionalLog:
    """Dollars of orders sent today (market date); resets when the date changes."""

    day: date | None = None
    total: float = 0.0

    def today(self, now: datetime) -> float:
        return self.total if self.day == now.date() else 0.0

    def record(self, notional: float, now: datetime) -> None:
        if self.day != now.date():
            self.day, self.total = now.date(), 0.0
        self.total += abs(notional)

    def to_json(self) -> dict[str, object]:
        return {"day": None if self.day is None else self.day.isoformat(), "total": self.total}

    def load_json(self, data: object) -> None:
        """Restore a saved day (a restart mid-session keeps counting); bad data is ignored."""
        if not isinstance(data, dict):
            return
        day, total = data.get("day"), data.get("total")
        if not isinstance(day, str) or not isinstance(total, int | float):
            return
        try:
            self.day = date.fromisoformat(day)
        except ValueError:
            return
        self.total = float(total) if math.isfinite(total) and total >= 0 else 0.0


def check_day_notional(order: float, today: float, cap: float) -> RiskCheckResult:
    after = today + abs(order)
    msg = f"${after:,.0f} traded today with this order (cap ${cap:,.0f})"
    if after > cap:
        return RiskCheckResult("day_notional", CheckOutcome.FAIL, after, cap, msg)
    return RiskCheckResult("day_notional", CheckOutcome.PASS, after, cap, msg)


# --------------------------------------------------------------------------- leverage


def _exposure(value: float, is_option: bool) -> float:
    if value >= 0:
        return value
    return 0.0 if is_option else -value


def check_leverage(
    p: TradeProposal, portfolio: Portfolio, prices: Mapping[str, float], limit: float
) -> RiskCheckResult:
    eq = portfolio.equity
    positions = portfolio.positions
    # Per symbol: market value now and after the trade, so a closing leg lowers exposure.
    # The traded symbols first; then every held symbol in book order, then the traded ones
    # not held, each summed in that order (one pass over the book: it is read per proposal).
    traded: dict[str, float] = {}
    kinds: dict[str, bool] = {}
    for leg in p.legs:
        s = leg.symbol
        before = traded.get(s)
        if before is None:
            pos = positions.get(s)
            before = pos.market_value if pos is not None and pos.quantity else 0.0
        delta = leg.side.sign * prices[s] * leg.ratio * leg.instrument.multiplier
        traded[s] = before + delta * p.quantity
        kinds[s] = isinstance(leg.instrument, OptionContract)
    gross: float = 0  # from int 0, as `sum` starts
    for s, pos in positions.items():
        if not pos.quantity:
            continue
        if s in traded:
            gross += _exposure(traded[s], kinds[s])
            continue
        # `pos.market_value` and `_exposure` inline: once per held symbol per proposal.
        mark = pos.mark
        v = (
            (mark if mark is not None else float(pos.avg_price))
            * pos.quantity
            * pos.instrument.multiplier
        )
        gross += v if v >= 0 else (0.0 if isinstance(pos.instrument, OptionContract) else -v)
    for s, v in traded.items():
        pos = positions.get(s)
        if pos is None or not pos.quantity:
            gross += _exposure(v, kinds[s])
    lev = gross / eq if eq > 0 else math.inf
    msg = f"leverage {lev:.2f}x after the trade (${gross:,.0f} on ${eq:,.0f} equity)"
    if lev > limit:
        return RiskCheckResult("leverage", CheckOutcome.FAIL, lev, limit, msg)
    return RiskCheckResult("leverage", CheckOutcome.PASS, lev, limit, msg)


# --------------------------------------------------------------------------- lotto gate


def check_lotto_gate(
    p: TradeProposal,
    portfolio: Portfolio,
    *,
    strategies: frozenset[str],
    max_day_loss: float,
    min_equity: float,
) -> RiskCheckResult:
    """Spec §5: no new lotto plays on a day down more than `max_day_loss` or below
    `min_equity`.  Closing a lotto position always passes (the caller runs this on openings)."""
    name = "lotto_gate"
    if p.strategy not in strategies or all(leg.effect is PositionEffect.CLOSE for leg in p.legs):
        return _NOT_LOTTO
    eq = portfolio.equity
    if eq < min_equity:
        return RiskCheckResult(
            name,
            CheckOutcome.FAIL,
            eq,
            min_equity,
            f"equity ${eq:,.0f} below ${min_equity:,.0f}: no lotto plays",
        )
    sod = portfolio.start_of_day_equity
    day = (eq - float(sod)) / float(sod) if sod is not None and sod > 0 else 0.0
    if day < -max_day_loss:
        return RiskCheckResult(
            name,
            CheckOutcome.FAIL,
            day,
            -max_day_loss,
            f"day P&L {day:.1%} below -{max_day_loss:.0%}: no lotto plays",
        )
    return RiskCheckResult(
        name, CheckOutcome.PASS, day, -max_day_loss, f"day P&L {day:+.1%}, equity ${eq:,.0f}"
    )
