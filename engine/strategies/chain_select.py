"""Picking contracts out of an `OptionChain`: expiries, strikes, deltas, liquidity, prices.

Shared by every option strategy so that "nearest expiry to 30 DTE", "strike nearest
spot×1.05", "|Δ| nearest 0.30" and "liquid enough" mean the same thing everywhere.

Conventions (spec §0): DTE is calendar days; prices are the bid/ask mid (else last);
time to expiry for pricing runs to 16:00 New York on the expiry date. Deltas come from the
quote when it carries one, else from the model with the quote's IV, else the IV implied
by the mid, else the strategy's fallback σ (30% dip bot/LEAPS, 20% credit spreads) and r
(4%, 5% for momentum weeklies). The model is American (early exercise,
`engine.pricing.american_book`) for options on stocks and ETFs and Black-Scholes for
cash-settled index options (`OptionContract.is_european`); `bs_value`/`bs_delta` stay
Black-Scholes for callers that price without a contract.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from engine.domain import OptionChain, OptionContract, OptionQuote, OptionRight
from engine.pricing.american_book import AmericanBook, american_fast
from engine.pricing.bsm import black_scholes, bs_price

NEW_YORK = ZoneInfo("America/New_York")
EXPIRY_CUTOFF = time(16, 0)  # options stop trading at the close on expiry day
DEFAULT_RATE = 0.04
DEFAULT_SIGMA = 0.30
_YEAR_SECONDS = 365.0 * 24 * 3600
_MIN_T = 60.0 / _YEAR_SECONDS  # one minute: keeps BS finite on the expiry afternoon

# -- liquidity -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidityFilter:
    """Minimums a quote must meet to be traded.

    `volume_or_oi` makes the volume and open-interest minimums alternatives ("volume >= 10 or
    OI >= 50", debit/credit spreads) instead of both being required (wheel). A spread limit of
    None disables that check. `min_volume`/`min_bid` are inclusive; use `min_volume=11` for a
    strict "> 10".
    """

    min_volume: int = 0
    min_open_interest: int = 0
    volume_or_oi: bool = False
    max_spread_pct: float | None = None  # (ask - bid) / mid
    min_bid: float = 0.0
    min_ask: float = 0.0

    def passes(self, q: OptionQuote) -> bool:
        return not self.why_not(q)

    def why_not(self, q: OptionQuote) -> str:
        """Empty when the quote passes, else the first failed rule (for skip reasons)."""
        vol_ok = q.volume >= self.min_volume
        oi_ok = q.open_interest >= self.min_open_interest
        if self.volume_or_oi:
            if not (vol_ok or oi_ok):
                return (
                    f"volume {q.volume} < {self.min_volume} and OI {q.open_interest} "
                    f"< {self.min_open_interest}"
                )
        elif not vol_ok:
            return f"volume {q.volume} < {self.min_volume}"
        elif not oi_ok:
            return f"OI {q.open_interest} < {self.min_open_interest}"
        if q.bid < self.min_bid:
            return f"bid {q.bid:.2f} < {self.min_bid:.2f}"
        if q.ask < self.min_ask:
            return f"ask {q.ask:.2f} < {self.min_ask:.2f}"
        if self.max_spread_pct is not None and spread_pct(q) > self.max_spread_pct:
            return f"spread {spread_pct(q):.0%} of mid > {self.max_spread_pct:.0%}"
        return ""


NO_FILTER = LiquidityFilter()


def spread_pct(q: OptionQuote) -> float:
    """(ask - bid) / mid; infinite when there is no usable mid."""
    return q.spread_pct_of_mid


def mid_price(q: OptionQuote) -> float:
    """Spec §0: bid/ask mid, else last."""
    return q.mid


def liquid(quotes: Iterable[OptionQuote], filt: LiquidityFilter) -> list[OptionQuote]:
    return [q for q in quotes if filt.passes(q)]


# -- prices and strikes --------------------------------------------------------------------


def option_tick(price: float) -> Decimal:
    """Penny-program increments: $0.01 below $3.00, $0.05 from $3.00 up."""
    return Decimal("0.05") if abs(price) >= 3.0 else Decimal("0.01")


def round_to_tick(price: float, tick: Decimal | float | None = None) -> Decimal:
    """Nearest tick (half away from zero), sign kept (negative = net credit).

    `tick=None` uses `option_tick` for single options; pass 0.01 for combos (complex orders
    trade in pennies) and for shares.
    """
    if not math.isfinite(price):
        raise ValueError(f"price={price!r} must be finite to round to a tick")
    step = option_tick(price) if tick is None else Decimal(str(tick))
    if step <= 0:
        raise ValueError(f"tick={tick!r} must be positive")
    sign = -1 if price < 0 else 1
    # round(…, 9) first: a mid like 2.8049999999999997 is 2.805 and must round up
    units = (Decimal(str(round(abs(price), 9))) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return (sign * units * step).quantize(Decimal("0.01"))


def round_strike(value: float, step: float = 1.0) -> float:
    """Round a target strike to a grid (half up), e.g. 112.35 -> 112 with step 1."""
    d = (Decimal(str(value)) / Decimal(str(step))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(d * Decimal(str(step)))


def otm_strike(spot: float, otm: float, right: OptionRight) -> float:
    """Spec §0: call strike = spot×(1+otm), put strike = spot×(1-otm)."""
    return spot * (1.0 + otm) if right is OptionRight.CALL else spot * (1.0 - otm)


# -- expiries ------------------------------------------------------------------------------


def dte(contract: OptionContract, today: date) -> int:
    return contract.dte(today)


def expiries(chain: OptionChain, right: OptionRight | None = None) -> tuple[date, ...]:
    ix = _index(chain)
    got = ix.expiries.get(right)
    if got is None:
        if right is None:
            got = chain.expiries
        else:
            got = tuple(
                sorted({q.contract.expiry for q in chain.quotes if q.contract.right is right})
            )
        ix.expiries[right] = got
    return got


# -- chain index ---------------------------------------------------------------------------


@dataclass(slots=True)
class _ChainIndex:
    """Per-chain lookups: a strategy scans the same chain once per expiry, right and width,
    and each `OptionChain.for_expiry` walks every quote of every expiry."""

    # Weak: every call to `market.option_chain` builds a new chain, so an entry is only ever
    # hit while the strategy that fetched the chain still holds it. A strong reference kept
    # up to `_INDEX_SIZE` dead chains (thousands of quotes) alive for nothing.
    chain: weakref.ref[OptionChain]
    rows: dict[tuple[date, OptionRight | None], tuple[OptionQuote, ...]]
    strikes: dict[tuple[date, OptionRight], dict[Decimal, OptionQuote]]
    expiries: dict[OptionRight | None, tuple[date, ...]]


_INDEX: OrderedDict[int, _ChainIndex] = OrderedDict()
_INDEX_SIZE = 64  # a bound for chains a caller keeps alive (e.g. a chain screen)


def _forget(key: int, ref: weakref.ref[OptionChain]) -> None:
    ix = _INDEX.get(key)
    if ix is not None and ix.chain is ref:
        del _INDEX[key]


def _index(chain: OptionChain) -> _ChainIndex:
    """The index of `chain` (chains are frozen, so it never goes stale)."""
    key = id(chain)
    ix = _INDEX.get(key)
    if ix is not None and ix.chain() is chain:
        _INDEX.move_to_end(key)
        return ix
    ix = _ChainIndex(weakref.ref(chain, lambda r: _forget(key, r)), {}, {}, {})
    _INDEX[key] = ix
    if len(_INDEX) > _INDEX_SIZE:
        _INDEX.popitem(last=False)
    return ix


def for_expiry(
    chain: OptionChain, expiry: date, right: OptionRight | None = None
) -> tuple[OptionQuote, ...]:
    """`chain.for_expiry(expiry, right)`, computed once per chain."""
    ix = _index(chain)
    key = (expiry, right)
    got = ix.rows.get(key)
    if got is None:
        got = ix.rows[key] = chain.for_expiry(expiry, right)
    return got


def expiries_in_window(
    chain: OptionChain,
    today: date,
    min_dte: int,
    max_dte: int,
    right: OptionRight | None = None,
) -> tuple[date, ...]:
    """Expiries with min_dte <= DTE <= max_dte, earliest first."""
    return tuple(e for e in expiries(chain, right) if min_dte <= (e - today).days <= max_dte)


def nearest_expiry(
    chain: OptionChain,
    today: date,
    target_dte: int,
    *,
    min_dte: int | None = None,
    max_dte: int | None = None,
    right: OptionRight | None = None,
) -> date | None:
    """Expiry whose DTE is closest to `target_dte` (ties: the earlier), within the bounds."""
    lo = 0 if min_dte is None else min_dte
    hi = 10**6 if max_dte is None else max_dte
    cands = expiries_in_window(chain, today, lo, hi, right)
    if not cands:
        return None
    return min(cands, key=lambda e: (abs((e - today).days - target_dte), e))


def first_expiry_on_or_after(
    chain: OptionChain, day: date, right: OptionRight | None = None
) -> date | None:
    cands = [e for e in expiries(chain, right) if e >= day]
    return cands[0] if cands else None


def last_expiry_on_or_before(
    chain: OptionChain, day: date, right: OptionRight | None = None
) -> date | None:
    cands = [e for e in expiries(chain, right) if e <= day]
    return cands[-1] if cands else None


def this_friday(today: date) -> date:
    """The Friday of this week (today when it is Friday; next Friday from Saturday on)."""
    return today + timedelta(days=(4 - today.weekday()) % 7)


# -- rows ----------------------------------------------------------------------------------


def rows(
    chain: OptionChain,
    expiry: date,
    right: OptionRight,
    filt: LiquidityFilter = NO_FILTER,
) -> tuple[OptionQuote, ...]:
    """Quotes of one expiry and right passing `filt`, by strike."""
    quotes = for_expiry(chain, expiry, right)
    if filt is NO_FILTER:
        return quotes  # NO_FILTER passes everything
    return tuple(q for q in quotes if filt.passes(q))


def strike_nearest(
    chain: OptionChain,
    expiry: date,
    right: OptionRight,
    target_strike: float,
    *,
    filt: LiquidityFilter = NO_FILTER,
    max_distance_pct: float | None = None,
) -> OptionQuote | None:
    """Listed strike nearest the target (ties: the lower strike), optionally within a band."""
    cands = rows(chain, expiry, right, filt)
    if max_distance_pct is not None:
        band = abs(target_strike) * max_distance_pct
        cands = tuple(q for q in cands if abs(float(q.contract.strike) - target_strike) <= band)
    if not cands:
        return None
    return min(
        cands, key=lambda q: (abs(float(q.contract.strike) - target_strike), q.contract.strike)
    )


def find_strike(
    chain: OptionChain, expiry: date, right: OptionRight, strike: float
) -> OptionQuote | None:
    """The quote at exactly this strike, if listed (the first such row)."""
    ix = _index(chain)
    by_strike = ix.strikes.get((expiry, right))
    if by_strike is None:
        by_strike = {}
        for q in for_expiry(chain, expiry, right):
            by_strike.setdefault(q.contract.strike, q)
        ix.strikes[(expiry, right)] = by_strike
    return by_strike.get(_strike_key(strike))


@lru_cache(maxsize=4096)
def _strike_key(strike: float) -> Decimal:
    """`Decimal(str(strike))`: scans look up the same few hundred strikes (each long strike
    plus each width) on every chain, and building the Decimal was most of a lookup. Equal
    floats (0.0, -0.0) give equal Decimals, so a lookup finds the same row."""
    return Decimal(str(strike))


# A narrow chain read: strikes within this fraction of the target (`strike_band`).
BAND_READ = 0.15


def strike_band(target: float, width: float = BAND_READ) -> tuple[float, float]:
    """The strikes a narrow read around `target` asks for."""
    return target * (1.0 - width), target * (1.0 + width)


def brackets(chain: OptionChain, expiry: date, right: OptionRight, target: float) -> bool:
    """Whether a listed strike lies on each side of `target` (either may equal it). Then the
    strike nearest `target` here (ties: the lower) is the nearest of any chain holding these
    rows, so a read cut to a strike band picks what the full ladder would."""
    ks = [float(q.contract.strike) for q in rows(chain, expiry, right)]
    return any(k <= target for k in ks) and any(k >= target for k in ks)


def best_by(
    quotes: Sequence[OptionQuote], key: Callable[[OptionQuote], float]
) -> OptionQuote | None:
    """The quote with the smallest key (stable: the first of equals)."""
    return min(quotes, key=key) if quotes else None


# -- time, volatility and delta ------------------------------------------------------------


def expiry_instant(expiry: date) -> datetime:
    return datetime.combine(expiry, EXPIRY_CUTOFF, tzinfo=NEW_YORK)


def years_to_expiry(expiry: date, now: datetime) -> float:
    """Calendar time to 16:00 New York on the expiry date, in years (floored at one minute)."""
    seconds = (expiry_instant(expiry) - now).total_seconds()
    return max(seconds / _YEAR_SECONDS, _MIN_T)


def bs_value(
    spot: float,
    strike: float,
    t_years: float,
    sigma: float,
    is_call: bool,
    rate: float = DEFAULT_RATE,
) -> float:
    return float(bs_price(spot, strike, t_years, rate, 0.0, sigma, is_call))


def bs_delta(
    spot: float,
    strike: float,
    t_years: float,
    sigma: float,
    is_call: bool,
    rate: float = DEFAULT_RATE,
) -> float:
    return float(black_scholes(spot, strike, t_years, rate, 0.0, sigma, is_call).delta)


def model_value(
    spot: float,
    strike: float,
    t_years: float,
    sigma: float,
    is_call: bool,
    rate: float = DEFAULT_RATE,
    *,
    american: bool = False,
) -> float:
    """Black-Scholes value, or the American value (early exercise) when `american`."""
    if american:
        return float(american_fast(spot, strike, t_years, rate, 0.0, sigma, is_call))
    return bs_value(spot, strike, t_years, sigma, is_call, rate)


def model_delta(
    spot: float,
    strike: float,
    t_years: float,
    sigma: float,
    is_call: bool,
    rate: float = DEFAULT_RATE,
    *,
    american: bool = False,
) -> float:
    """Black-Scholes delta, or the American delta (early exercise) when `american`."""
    if american:
        book = AmericanBook.prepare(strike, t_years, rate, 0.0, sigma, is_call)
        return float(book.price_delta_gamma(np.array([spot]))[1][0])
    return bs_delta(spot, strike, t_years, sigma, is_call, rate)


def implied_vol(
    price: float,
    spot: float,
    strike: float,
    t_years: float,
    is_call: bool,
    rate: float = DEFAULT_RATE,
    *,
    american: bool = False,
) -> float | None:
    """σ that reprices `price` (bisection on [1%, 500%]) under Black-Scholes, or under the
    American model when `american`; None when the price is outside the no-arbitrage band
    (below intrinsic or above the bound)."""
    if not (price > 0 and spot > 0 and strike > 0 and t_years > 0):
        return None
    lo, hi = 0.01, 5.0
    p_lo = model_value(spot, strike, t_years, lo, is_call, rate, american=american)
    p_hi = model_value(spot, strike, t_years, hi, is_call, rate, american=american)
    if not (p_lo <= price <= p_hi):
        return None
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if model_value(spot, strike, t_years, mid, is_call, rate, american=american) < price:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-6:
            break
    return 0.5 * (lo + hi)


def quote_vol(
    q: OptionQuote,
    spot: float,
    now: datetime,
    *,
    rate: float = DEFAULT_RATE,
    fallback_sigma: float = DEFAULT_SIGMA,
) -> float:
    """The quote's IV, else the IV implied by its mid, else the fallback σ."""
    if q.iv is not None and math.isfinite(q.iv) and q.iv > 0:
        return q.iv
    t = years_to_expiry(q.contract.expiry, now)
    c = q.contract
    iv = implied_vol(q.mid, spot, float(c.strike), t, c.is_call, rate, american=not c.is_european)
    return iv if iv is not None else fallback_sigma


def option_delta(
    q: OptionQuote,
    spot: float,
    now: datetime,
    *,
    rate: float = DEFAULT_RATE,
    fallback_sigma: float = DEFAULT_SIGMA,
) -> float:
    """Signed delta per unit: the quote's own, else the model's (see `quote_vol`)."""
    if q.delta is not None and math.isfinite(q.delta):
        return q.delta
    sigma = quote_vol(q, spot, now, rate=rate, fallback_sigma=fallback_sigma)
    c = q.contract
    t = years_to_expiry(c.expiry, now)
    return model_delta(spot, float(c.strike), t, sigma, c.is_call, rate, american=not c.is_european)


def contract_delta(
    contract: OptionContract,
    spot: float,
    now: datetime,
    *,
    price: float | None = None,
    rate: float = DEFAULT_RATE,
    fallback_sigma: float = DEFAULT_SIGMA,
) -> float:
    """Delta of a held contract when no quote row is at hand: IV from `price`, else σ fallback."""
    t = years_to_expiry(contract.expiry, now)
    strike = float(contract.strike)
    american = not contract.is_european
    sigma = None
    if price is not None:
        sigma = implied_vol(price, spot, strike, t, contract.is_call, rate, american=american)
    return model_delta(
        spot, strike, t, sigma or fallback_sigma, contract.is_call, rate, american=american
    )


def nearest_delta(
    chain: OptionChain,
    expiry: date,
    right: OptionRight,
    target_abs_delta: float,
    now: datetime,
    *,
    filt: LiquidityFilter = NO_FILTER,
    delta_range: tuple[float, float] | None = None,
    rate: float = DEFAULT_RATE,
    fallback_sigma: float = DEFAULT_SIGMA,
) -> OptionQuote | None:
    """Quote whose |Δ| is nearest the target (ties: the further OTM), optionally restricted
    to an inclusive |Δ| range."""
    best: tuple[float, float, OptionQuote] | None = None
    for q in rows(chain, expiry, right, filt):
        d = abs(option_delta(q, chain.spot, now, rate=rate, fallback_sigma=fallback_sigma))
        if delta_range is not None and not (delta_range[0] <= d <= delta_range[1]):
            continue
        otm_rank = (
            -float(q.contract.strike) if right is OptionRight.CALL else float(q.contract.strike)
        )
        key = (abs(d - target_abs_delta), otm_rank)
        if best is None or key < (best[0], best[1]):
            best = (key[0], key[1], q)
    return best[2] if best is not None else None


def with_deltas(
    quotes: Iterable[OptionQuote],
    spot: float,
    now: datetime,
    *,
    rate: float = DEFAULT_RATE,
    fallback_sigma: float = DEFAULT_SIGMA,
) -> list[tuple[OptionQuote, float]]:
    """(quote, signed delta) pairs."""
    return [
        (q, option_delta(q, spot, now, rate=rate, fallback_sigma=fallback_sigma)) for q in quotes
    ]
