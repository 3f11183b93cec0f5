"""Option chains: listed expiries, strike ladders, a volatility surface, quotes with spreads.

Shared by the simulator and the CSV replay. Everything for one expiry is computed as arrays
(one Black-Scholes call over all strikes and both rights) and turned into `OptionQuote`s once.

* Expiries: daily (SPY, QQQ, SPX: every session, so 0DTE always exists; IWM Mon/Wed/Fri) for
  the next 15 sessions, weekly Fridays for 8 weeks, monthly third Fridays for 12 months, then
  quarterly third Fridays and January LEAPS out to ~2.2 years. A holiday Friday moves to the
  session before.
* Strikes: multiples of an increment chosen by underlying and price level (SPY/QQQ/IWM $1,
  SPX 5 points; otherwise 0.5/1/2.5/5/10 by price), dense within about 2 standard deviations of
  spot and at a coarser multiple out to about 4 standard deviations (at least +-20%), capped at
  roughly 40 strikes per side per band, so far expiries get wider increments.
* Volatility surface: ATM vol from the name's current implied vol (regime and realised vol)
  with a term structure that reverts to the long-run level, skew (puts richer), smile, and each
  scheduled earnings event adding its move's variance to every expiry that spans it (IV runs up
  as the event nears and is crushed once it has passed).
* Prices: index options (SPX, cash-settled) are European, Black-Scholes-Merton; options on
  stocks and ETFs are American: the Black-Scholes value plus the early-exercise premium
  (puts, and calls on dividend payers) from `engine.pricing.american_book` (integral
  equation, within 0.5 % of a 2,000-step tree), not computed where it provably is under half
  a cent (`premium_bound`: far out of the money, short-dated). The quoted IV is the surface vol (in calendar terms: see Time), i.e. the
  vol at which the American model gives the theoretical value (what risk re-prices with);
  the quoted greeks are Black-Scholes greeks at that vol (for deep in-the-money puts the
  American delta is closer to -1 than the quoted one).
* Time: the surface lives on the price path's own variance clock (`variance_clock`: 252
  sessions a year, the overnight share at the open, the session's by its volume profile), so
  a 0DTE option is priced for the variance the path still has to realise. Carry, spreads and
  open interest run on calendar time, and IV and greeks are quoted ACT/365 as a broker feed
  does: the quoted IV is the surface vol scaled by sqrt(variance years / calendar years), the
  same total variance.
* Quotes: spreads widen out of the money, for short-dated and long-dated expiries, for less
  liquid names and in stressed markets; ticks 0.01 under $3 and 0.05 above (0.01 everywhere for
  SPY/QQQ/IWM, 0.05/0.10 for SPX); volume and open interest decay away from ATM and with DTE.
  Greeks: delta and gamma per unit of underlying, theta per calendar day, vega per vol point
  (1% = 0.01 of sigma), the convention of broker feeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.protocol import DataUnavailable
from engine.data.simulator.seeding import derived_seed
from engine.data.simulator.universe import DailyExpiries, Kind, SymbolSpec, TickRule
from engine.data.simulator.variance_clock import VarianceClock, variance_clock
from engine.domain import OptionChain, OptionContract, OptionQuote, OptionRight
from engine.pricing import black_scholes
from engine.pricing.american_book import american_screened

if TYPE_CHECKING:
    from engine.data.chain_reads import ChainRead

RISK_FREE_RATE = 0.04
_YEAR_SECONDS = 365.0 * 86400.0
_MIN_T = 60.0 / _YEAR_SECONDS  # a minute: keeps the last minute before expiry finite
_NICE = (1, 2, 5, 10, 20, 50, 100, 200)
_MAX_PER_SIDE = 40
# Early-exercise premia provably below this (per unit) are not computed: half the smallest
# tick, so they cannot move a quote by more than rounding to the cent already does.
_MIN_PREMIUM = 0.005


@dataclass(frozen=True, slots=True)
class OptionStyle:
    """How an underlying's options are listed and quoted."""

    symbol: str
    european: bool
    div_yield: float
    tick_rule: TickRule
    strike_increment: float | None
    daily_expiries: DailyExpiries
    liquidity: float
    skew: float
    smile: float
    iv_spot_beta: float  # how much ATM IV rises per unit fall in log spot, intraday

    @classmethod
    def for_spec(cls, spec: SymbolSpec) -> OptionStyle:
        if spec.kind in (Kind.INDEX, Kind.INDEX_ETF):
            skew, smile, beta = 0.08, 0.010, 4.0
        elif spec.kind in (Kind.SECTOR_ETF, Kind.LEVERAGED_ETF):
            skew, smile, beta = 0.06, 0.010, 2.5
        elif spec.sector in ("meme", "crypto"):
            skew, smile, beta = 0.0, 0.025, 0.5
        else:
            skew, smile, beta = 0.035, 0.015, 1.5
        return cls(
            symbol=spec.symbol,
            european=spec.european,
            div_yield=spec.div_yield,
            tick_rule=spec.tick_rule,
            strike_increment=spec.strike_increment,
            daily_expiries=spec.daily_expiries,
            liquidity=spec.liquidity,
            skew=skew,
            smile=smile,
            iv_spot_beta=beta,
        )


@dataclass(frozen=True, slots=True)
class ChainInputs:
    """What the surface needs at one instant. `atm_iv` is the short-end ATM implied vol
    (already adjusted for today's move); `events` are (reaction time, log-move sd) of earnings
    not yet reflected in the price; `stress` >= 1 widens spreads in volatile markets."""

    style: OptionStyle
    now: datetime
    today: date
    spot: float
    atm_iv: float
    long_iv: float
    stress: float
    events: tuple[tuple[datetime, float], ...]
    seed: int
    rate: float = RISK_FREE_RATE


# Interned contracts: (underlying, expiry) -> (strike, right) -> contract.
Contracts = dict[tuple[str, date], dict[tuple[float, OptionRight], OptionContract]]


@dataclass(frozen=True, slots=True, eq=False)
class ExpiryBlock:
    """Quotes of one expiry at one instant, calls then puts, each ascending by strike."""

    expiry: date
    quotes: tuple[OptionQuote, ...]
    by_key: dict[tuple[float, OptionRight], OptionQuote] = field(repr=False)


# -- expiries ----------------------------------------------------------------------------------


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


@lru_cache(maxsize=512)
def listed_expiries(
    style: DailyExpiries, today: date, calendar: MarketCalendar
) -> tuple[date, ...]:
    """Expiries listed on session `today` (including today's own expiry, if any)."""
    out: set[date] = set()
    if style is not DailyExpiries.NONE:
        for d in [today, *_following_sessions(calendar, today, 14)]:
            if style is DailyExpiries.EVERY_SESSION or d.weekday() in (0, 2, 4):
                out.add(d)
    friday = today + timedelta(days=(4 - today.weekday()) % 7)
    for w in range(9):
        _add_adjusted(out, calendar, friday + timedelta(weeks=w), today)
    for m in range(13):
        y, mo = today.year + (today.month - 1 + m) // 12, (today.month - 1 + m) % 12 + 1
        _add_adjusted(out, calendar, third_friday(y, mo), today)
    horizon = today + timedelta(days=800)
    y, mo = today.year, today.month
    while date(y, mo, 1) <= horizon:
        if mo in (1, 3, 6, 9, 12):
            _add_adjusted(out, calendar, third_friday(y, mo), today)
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return tuple(sorted(d for d in out if today <= d <= horizon))


def _following_sessions(calendar: MarketCalendar, d: date, count: int) -> list[date]:
    out: list[date] = []
    cur = d
    for _ in range(count):
        try:
            cur = calendar.next_session(cur)
        except ValueError:
            break
        out.append(cur)
    return out


def _add_adjusted(out: set[date], calendar: MarketCalendar, d: date, today: date) -> None:
    """Add `d`, moved to the session before when it is a holiday."""
    if d < today:
        return
    try:
        adj = calendar.session_on_or_before(d)
    except ValueError:
        return
    if adj >= today and d - adj < timedelta(days=4):
        out.add(adj)


# -- strikes -----------------------------------------------------------------------------------


def base_increment(style: OptionStyle, spot: float) -> float:
    if style.strike_increment is not None:
        return style.strike_increment
    if spot < 25:
        return 0.5
    if spot < 75:
        return 1.0
    if spot < 200:
        return 2.5
    if spot < 600:
        return 5.0
    return 10.0


def _nice_multiple(inc: float, span: float) -> float:
    for m in _NICE:
        if span / (inc * m) <= _MAX_PER_SIDE:
            return inc * m
    return inc * _NICE[-1]


def strike_ladder(style: OptionStyle, spot: float, t_years: float, atm_iv: float) -> np.ndarray:
    """Listed strikes (ascending floats, exact multiples of the increment)."""
    inc = base_increment(style, spot)
    sd = atm_iv * math.sqrt(max(t_years, 1.0 / 365.0))
    inner = min(max(2.0 * sd, 0.03), 0.6)
    outer = min(max(4.0 * sd, 0.20), 1.0)
    inner_lo, inner_hi = spot * math.exp(-inner), spot * math.exp(inner)
    outer_lo, outer_hi = spot * math.exp(-outer), spot * math.exp(outer)
    fine = _nice_multiple(inc, inner_hi - spot)
    coarse = _nice_multiple(max(fine * 2.0, inc * 5.0), outer_hi - spot)
    k_fine = np.arange(math.ceil(inner_lo / fine), math.floor(inner_hi / fine) + 1) * fine
    k_coarse = np.arange(math.ceil(outer_lo / coarse), math.floor(outer_hi / coarse) + 1) * coarse
    strikes = np.union1d(k_fine, k_coarse)
    strikes = strikes[strikes > 0]
    if strikes.size == 0:
        strikes = np.array([max(inc, round(spot / inc) * inc)])
    return strikes


# -- surface and quotes ------------------------------------------------------------------------


def years_between(start: datetime, end: datetime) -> float:
    """Calendar years (ACT/365): what quoted IVs and greeks are expressed in, and what
    carry, spreads and open interest run on."""
    return max((end - start).total_seconds() / _YEAR_SECONDS, _MIN_T)


_CLOCK: list[VarianceClock] = []


def variance_years(start: datetime, end: datetime) -> float:
    """Years of the price path's own variance between two instants (`variance_clock`): what
    the option's diffusion sees. Chains are listed on XNYS sessions in the simulator and the
    CSV replay alike, and the clock depends only on the exchange's opens and closes."""
    if not _CLOCK:
        _CLOCK.append(variance_clock(default_calendar()))
    return max(_CLOCK[0].years(start, end), _MIN_T)


def atm_vol(inputs: ChainInputs, t_years: float, expiry_close: datetime) -> float:
    """ATM implied vol of one expiry: term structure plus earnings variance it spans."""
    base = inputs.long_iv + (inputs.atm_iv - inputs.long_iv) * math.exp(-t_years / 0.25)
    var = base * base * t_years
    for reaction, move_sd in inputs.events:
        if inputs.now < reaction < expiry_close:
            var += move_sd * move_sd
    return math.sqrt(var / t_years)


def _tick_floor(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.round(np.floor(x / tick + 1e-9) * tick, 2)
    return out


def _tick_ceil(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.round(np.ceil(x / tick - 1e-9) * tick, 2)
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _hash_uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Deterministic uniforms in [0, 1) from integer keys (keys folded, then splitmix64)."""
    with np.errstate(over="ignore"):
        x = np.asarray(keys[0], dtype=np.uint64)
        for k in keys[1:]:
            x = x * _MIX + np.asarray(k, dtype=np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    out: np.ndarray = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return out


@lru_cache(maxsize=4096)
def _symbol_key(seed: int, symbol: str) -> int:
    return derived_seed(seed, symbol) & 0xFFFFFFFF


def build_expiry(
    inputs: ChainInputs,
    expiry: date,
    expiry_close: datetime,
    strikes: np.ndarray | None = None,
    contracts: Contracts | None = None,
) -> ExpiryBlock:
    """Quotes for every strike of one expiry (or for the given `strikes`)."""
    return build_expiries([ExpiryRequest(inputs, expiry, expiry_close, strikes)], contracts)[0]


@dataclass(frozen=True, slots=True, eq=False)
class ExpiryRequest:
    """One expiry to price: all its listed strikes (`strikes` None) or just the given ones."""

    inputs: ChainInputs
    expiry: date
    expiry_close: datetime
    strikes: np.ndarray | None = None
    # Only this side (its rows are the strikes once); None prices calls then puts.
    right: OptionRight | None = None


def listed_strikes(inputs: ChainInputs, expiry_close: datetime) -> np.ndarray:
    """The strikes an expiry lists at this instant: what a full pass over it prices (the same
    calls as `build_expiries` makes, so the same floats)."""
    t = variance_years(inputs.now, expiry_close)
    return strike_ladder(inputs.style, inputs.spot, t, atm_vol(inputs, t, expiry_close))


def build_expiries(
    requests: Sequence[ExpiryRequest],
    contracts: Contracts | None = None,
) -> list[ExpiryBlock]:
    """Quotes of several expiries (of any underlyings) in one vectorised pass.

    Pricing one expiry at a time paid NumPy's per-call overhead (~60 array operations) for
    every expiry even when it was a single strike. Here the per-expiry scalars are computed in
    Python exactly as for one expiry and spread over that expiry's rows, and every array
    operation is element-wise, so each quote is bit-for-bit what pricing its expiry alone
    gives. Each expiry's rows are its strikes as calls, then the same strikes as puts (or,
    for a request with a `right`, the strikes once, as that right).
    """
    if not requests:
        return []
    k_parts: list[np.ndarray] = []
    call_parts: list[np.ndarray] = []
    rows: list[int] = []
    # One row of per-expiry scalars per request, spread over that expiry's rows below.
    scalars: list[tuple[float, ...]] = []
    for req in requests:
        inputs, style = req.inputs, req.inputs.style
        # Diffusion on the path's variance clock, carry and quoting on the calendar: the
        # Black-Scholes call below gets (calendar t, IV scaled to keep the total variance).
        t = variance_years(inputs.now, req.expiry_close)
        t_cal = years_between(inputs.now, req.expiry_close)
        atm = atm_vol(inputs, t, req.expiry_close)
        strikes = req.strikes
        if strikes is None:
            strikes = strike_ladder(style, inputs.spot, t, atm)
        if req.right is None:
            k_parts += [strikes, strikes]
            rows.append(2 * int(strikes.size))
            call_parts.append(np.arange(2 * int(strikes.size)) < int(strikes.size))
        else:
            k_parts.append(strikes)
            rows.append(int(strikes.size))
            call_parts.append(np.full(int(strikes.size), req.right is OptionRight.CALL))
        s, r = inputs.spot, inputs.rate
        c = _style_constants(style, inputs.seed)
        q = c.div
        # Spreads: fraction of premium, wider OTM / short-dated / long-dated / illiquid /
        # stressed. Open interest and volume: deterministic per (underlying, expiry, strike,
        # day).
        dte = t_cal * 365.0
        scalars.append(
            (
                s,  # 0 spot
                t_cal,  # 1
                q,  # 2 dividend yield
                r,  # 3 rate
                s * math.exp((r - q) * t_cal),  # 4 forward
                atm * math.sqrt(t),  # 5 z denominator
                atm,  # 6
                (1.0 + 0.6 / math.sqrt(dte + 0.5))
                * (1.0 + 0.5 * dte / 730.0)
                * inputs.stress**0.5,  # 7 spread term/stress factor
                req.expiry.toordinal(),  # 8
                inputs.today.toordinal(),  # 9
                math.exp(-dte / 180.0) + 0.15,  # 10 open-interest decay
                0.15 + 1.5 / (dte + 1.0),  # 11 turnover
                *c.values,  # 12..21 per-style constants (see _StyleConstants.values)
                math.sqrt(t / t_cal),  # 22 variance-time vol -> calendar (quoted) vol
            )
        )
    counts = np.array(rows)
    per = np.array(scalars, dtype=np.float64)

    # Every expiry's scalars repeated over its rows at once (one call, not one per column);
    # a column is handed out contiguous, as a repeat of it alone would be.
    per_row = np.repeat(per, counts, axis=0)

    def spread(col: int) -> np.ndarray:
        out: np.ndarray = np.ascontiguousarray(per_row[:, col])
        return out

    k2 = np.concatenate(k_parts)
    is_call = np.concatenate(call_parts)
    (skew_c, smile_c, frac1_c, lo_c, hi_c, half_c, oi_c, size_c, amer_c, key_c) = range(12, 22)
    s_ = spread(0)
    z2 = np.minimum(np.maximum(np.log(k2 / spread(4)) / spread(5), -4.0), 4.0)
    shape = np.minimum(np.maximum(1.0 - spread(skew_c) * z2 + spread(smile_c) * z2 * z2, 0.5), 2.5)
    iv = np.minimum(np.maximum(spread(6) * shape, 0.03), 5.0) * spread(22)
    rates = per[:, 3]
    r_arg: float | np.ndarray = float(rates[0]) if bool((rates == rates[0]).all()) else spread(3)
    g = black_scholes(s_, k2, spread(1), r_arg, spread(2), iv, is_call)
    theo = np.asarray(g.price, dtype=np.float64)
    american = per[:, amer_c] > 0.0
    if american.any():
        # American-style names: early-exercise premium from the fast integral-equation book
        # (puts with a positive rate, calls with a dividend; the rest stay Black-Scholes),
        # never below the exercise value. Row by row, so a quote does not depend on what
        # shares its pass. Rows whose premium is provably below _MIN_PREMIUM (far out of the
        # money, short-dated) are not computed: each computed pass costs ~100 array
        # operations, so the screen and the pricer share one put-frame transform.
        r_rows = np.broadcast_to(np.asarray(r_arg, dtype=np.float64), k2.shape)
        if american.all():
            theo = american_screened(
                s_, k2, spread(1), r_rows, spread(2), iv, is_call, theo, _MIN_PREMIUM
            )
        else:
            am = np.flatnonzero(np.repeat(american, counts))
            theo[am] = american_screened(
                s_[am],
                k2[am],
                spread(1)[am],
                r_rows[am],
                spread(2)[am],
                iv[am],
                is_call[am],
                theo[am],
                _MIN_PREMIUM,
            )
    theo = np.maximum(theo, 0.0)

    frac = spread(frac1_c) * (1.0 + 0.35 * np.abs(z2))
    frac *= spread(7)
    tick = np.where(theo < 3.0, spread(lo_c), spread(hi_c))
    half = np.maximum(theo * frac, spread(half_c) * tick)
    bid = np.maximum(_tick_floor(theo - half, tick), 0.0)
    ask = np.maximum(_tick_ceil(theo + half, tick), tick)
    ask = np.where(ask <= bid, np.round(bid + tick, 2), ask)
    last = np.minimum(np.maximum(np.round(theo, 2), bid), ask)

    sym_keys = per_row[:, key_c].astype(np.int64)
    exp_keys = per_row[:, 8].astype(np.int64)
    strike_key = np.rint(k2 * 1000.0).astype(np.int64) * 2 + (~is_call)
    u1 = _hash_uniform(sym_keys, exp_keys, strike_key)
    u2 = _hash_uniform(sym_keys, exp_keys, strike_key, per_row[:, 9].astype(np.int64))
    round_bonus = np.where(np.mod(k2, 5.0) == 0.0, 1.5, 1.0)
    oi = spread(oi_c) * np.exp(-0.25 * z2 * z2) * spread(10) * round_bonus
    oi *= np.exp(0.5 * (u1 - 0.5))
    turnover = spread(11) * np.exp(1.2 * (u2 - 0.5))
    volume = np.floor(oi * turnover)
    oi = np.floor(oi)
    size = np.maximum(1.0, np.floor(5.0 + spread(size_c) * np.exp(-0.3 * z2 * z2)))

    # What `OptionQuote.__post_init__` accepts, checked once for the whole pass so valid rows
    # can skip it (NaN fails every comparison here as it does there).
    valid = bool(
        (
            (bid >= 0.0)
            & (bid <= ask)
            & (ask < math.inf)
            & (ask > 0.0)
            & (last >= 0.0)
            & (last < math.inf)
            & (volume >= 0.0)
            & (oi >= 0.0)
        ).all()
    )
    # Plain Python values, converted once for the whole pass. Counts are whole non-negative
    # floats: converting the arrays gives the same ints as int() per value.
    cols = _Columns(
        valid,
        k2.tolist(),
        is_call.tolist(),
        bid.tolist(),
        ask.tolist(),
        last.tolist(),
        volume.astype(np.int64).tolist(),
        oi.astype(np.int64).tolist(),
        iv.tolist(),
        np.asarray(g.delta).tolist(),
        np.asarray(g.gamma).tolist(),
        (np.asarray(g.theta) / 365.0).tolist(),
        (np.asarray(g.vega) / 100.0).tolist(),
        size.astype(np.int64).tolist(),
    )
    out: list[ExpiryBlock] = []
    lo_row = 0
    for req, m in zip(requests, rows, strict=True):
        out.append(_to_quotes(req.inputs, req.expiry, cols, lo_row, lo_row + m, contracts))
        lo_row += m
    return out


@dataclass(frozen=True, slots=True)
class _StyleConstants:
    """What the pricing pass needs of an underlying's option style, computed once."""

    div: float
    # skew, smile, spread base, tick below/above $3, minimum half-spread in ticks, ATM open
    # interest, size scale, American (1.0) or European (0.0), hash key of the symbol
    values: tuple[float, ...]


@lru_cache(maxsize=1024)
def _style_constants(style: OptionStyle, seed: int) -> _StyleConstants:
    liq = style.liquidity
    lo, hi = _TICKS[style.tick_rule]
    return _StyleConstants(
        style.div_yield,
        (
            style.skew,
            style.smile,
            0.004 + 0.08 * (1.0 - liq) ** 1.5,
            lo,
            hi,
            0.5 * (1.0 if liq >= 0.8 else 2.0),
            40000.0 * liq**2.5,
            500.0 * liq**2,
            0.0 if style.european else 1.0,
            float(_symbol_key(seed, style.symbol)),
        ),
    )


@dataclass(frozen=True, slots=True)
class _Columns:
    """Every row of a pricing pass as Python lists (one `tolist` per column per pass)."""

    valid: bool  # every row passes OptionQuote's own checks
    strike: list[float]
    is_call: list[bool]
    bid: list[float]
    ask: list[float]
    last: list[float]
    volume: list[int]
    oi: list[int]
    iv: list[float]
    delta: list[float]
    gamma: list[float]
    theta: list[float]
    vega: list[float]
    size: list[int]


# (tick below $3, tick at/above $3) by rule.
_TICKS: dict[TickRule, tuple[float, float]] = {
    TickRule.PENNY_ALL: (0.01, 0.01),
    TickRule.PENNY: (0.01, 0.05),
    TickRule.INDEX: (0.05, 0.10),
}


def _to_quotes(
    inputs: ChainInputs,
    expiry: date,
    cols: _Columns,
    lo: int,
    hi: int,
    contracts: Contracts | None,
) -> ExpiryBlock:
    """The quotes of rows lo..hi of a pricing pass (one expiry)."""
    sym = inputs.style.symbol
    cache = contracts.setdefault((sym, expiry), {}) if contracts is not None else {}
    call, put = OptionRight.CALL, OptionRight.PUT
    keys = [
        (k, call if c else put)
        for k, c in zip(cols.strike[lo:hi], cols.is_call[lo:hi], strict=True)
    ]
    chosen: list[OptionContract] = []
    for key in keys:
        contract = cache.get(key)
        if contract is None:
            contract = cache[key] = OptionContract(sym, expiry, _strike_decimal(key[0]), key[1])
        chosen.append(contract)
    sizes = cols.size[lo:hi]
    columns = (
        cols.bid[lo:hi],
        cols.ask[lo:hi],
        cols.last[lo:hi],
        cols.volume[lo:hi],
        cols.oi[lo:hi],
        cols.iv[lo:hi],
        cols.delta[lo:hi],
        cols.gamma[lo:hi],
        cols.theta[lo:hi],
        cols.vega[lo:hi],
        sizes,
    )
    if cols.valid:
        quotes = _checked_quotes(chosen, inputs.now, columns)
    else:
        # Some row is invalid: the dataclass constructor raises its own error on it.
        quotes = tuple(map(OptionQuote, chosen, repeat(inputs.now), *columns, sizes))
    by_key = dict(zip(keys, quotes, strict=True))
    return ExpiryBlock(expiry, quotes, by_key)


_QUOTE_FIELDS = (
    "contract", "ts", "bid", "ask", "last", "volume", "open_interest",
    "iv", "delta", "gamma", "theta", "vega", "bid_size", "ask_size",
)  # fmt: skip
if tuple(f.name for f in fields(OptionQuote)) != _QUOTE_FIELDS:  # pragma: no cover
    raise ImportError("OptionQuote's fields changed: update _checked_quotes")
# The slot descriptors of OptionQuote's fields, in that order.
_QUOTE_SLOTS = tuple(getattr(OptionQuote, name).__set__ for name in _QUOTE_FIELDS)


def _checked_quotes(
    chosen: list[OptionContract], now: datetime, columns: tuple[list[Any], ...]
) -> tuple[OptionQuote, ...]:
    """`OptionQuote(contract, now, bid, ask, last, volume, oi, iv, delta, gamma, theta, vega,
    size, size)` for each row, for rows already known to pass its `__post_init__` checks.

    The frozen dataclass constructor sets each of 14 fields through `object.__setattr__` and
    then validates: a large share of a chain's build time. Setting the slots directly gives equal
    objects (same fields, same values) at about a third of the cost.
    """
    new = object.__new__
    cls = OptionQuote
    s_c, s_ts, s_b, s_a, s_l, s_v, s_oi, s_iv, s_d, s_g, s_t, s_ve, s_bs, s_as = _QUOTE_SLOTS
    out: list[OptionQuote] = []
    append = out.append
    for c, b, a, la, v, oi, iv, d, g, t, ve, size in zip(chosen, *columns, strict=True):
        q = new(cls)
        s_c(q, c)
        s_ts(q, now)
        s_b(q, b)
        s_a(q, a)
        s_l(q, la)
        s_v(q, v)
        s_oi(q, oi)
        s_iv(q, iv)
        s_d(q, d)
        s_g(q, g)
        s_t(q, t)
        s_ve(q, ve)
        s_bs(q, size)
        s_as(q, size)
        append(q)
    return tuple(out)


def _strike_decimal(k: float) -> Decimal:
    if k == int(k):
        return Decimal(int(k))
    return Decimal(repr(round(k, 3)))


def expiry_close_time(calendar: MarketCalendar, expiry: date) -> datetime:
    return calendar.session_close(expiry)


def listing_day(calendar: MarketCalendar, now: datetime) -> date:
    """The session whose listings are live at `now`: today until its close, then the next."""
    d = now.astimezone(UTC).date()
    if calendar.is_session(d) and now < calendar.session_close(d):
        return d
    return calendar.next_session(d)


def stress_factor(market_iv: float) -> float:
    return min(3.0, max(1.0, market_iv / 0.13))


def expiries_between(expiries: Sequence[date], lo: date, hi: date) -> list[date]:
    return [e for e in expiries if lo <= e <= hi]


# A feed's chain inputs of an underlying at the clock's now, with its listing day.
InputsOf = Callable[[str], tuple[ChainInputs, date]]


class ChainCache:
    """Expiry blocks and single quotes priced at one instant, shared by chain and quote reads.

    Everything is dropped when the pricing instant (`ChainInputs.now`) changes. A single
    contract asked for before its expiry's block exists is priced without the block (marking
    a handful of positions every minute must not price whole chains); if the block is built
    later in the same instant, it reuses that quote object, so `option_quote` and
    `option_chain` always agree exactly.

    The same contracts (positions, resting orders) are asked for one at a time every minute by
    the engine, the broker and the strategies, across many underlyings and expiries. So the
    first single that has to be priced at an instant is priced together with every contract
    asked for in the last `RECENT` (for every underlying `inputs_for` can give inputs for;
    else for its own expiry), in one vectorised pass (`build_expiries`); the rest of that
    instant's single reads are then cache hits. Likewise a chain's missing expiries are priced
    in one pass. Each quote's numbers do not depend on what shares its pass.
    """

    RECENT = timedelta(minutes=1)

    def __init__(
        self,
        calendar: MarketCalendar,
        inputs_for: Callable[[str], ChainInputs] | None = None,
    ) -> None:
        self._calendar = calendar
        self._inputs_for = inputs_for
        self._stamp: datetime | None = None
        self._blocks: dict[tuple[str, date], ExpiryBlock] = {}
        # (underlying, expiry, right) -> one side of an expiry, for one-sided chain reads
        self._sides: dict[tuple[str, date, OptionRight], ExpiryBlock] = {}
        # (underlying, expiry, right or None, lo, hi) -> the strikes of a band read
        self._bands: dict[tuple[str, date, OptionRight | None, float, float], ExpiryBlock] = {}
        # (underlying, expiry) -> every quote priced by a band read at this instant
        self._banded: dict[tuple[str, date], dict[tuple[float, OptionRight], OptionQuote]] = {}
        # (underlying, expiry) -> (strike, right) -> quote priced outside a block
        self._singles: dict[tuple[str, date], dict[tuple[float, OptionRight], OptionQuote]] = {}
        # (underlying, expiry) -> (strike, right) -> the last instant it was asked for alone
        self._recent: dict[tuple[str, date], dict[tuple[float, OptionRight], datetime]] = {}
        self.contracts: Contracts = {}
        self._day: date | None = None  # UTC date of the last expired-contract sweep

    def _at(self, now: datetime) -> None:
        if self._stamp != now:
            self._stamp = now
            self._blocks.clear()
            self._sides.clear()
            self._bands.clear()
            self._banded.clear()
            self._singles.clear()
            cutoff = now - self.RECENT
            for group in list(self._recent):
                asked = {k: t for k, t in self._recent[group].items() if t >= cutoff}
                if asked:
                    self._recent[group] = asked
                else:
                    del self._recent[group]
            if now.date() != self._day:
                # Expired contracts are never quoted again (their expiry is no longer listed);
                # keeping them grew memory by every expiry ever priced.
                self._day = now.date()
                for group in [g for g in self.contracts if g[1] < self._day]:
                    del self.contracts[group]
            if len(self.contracts) > _MAX_CONTRACTS:
                self.contracts.clear()  # equal objects are rebuilt on demand

    def sizes(self) -> dict[str, int]:
        """Entries held (for tests and diagnostics): interned contract groups and contracts,
        and the current instant's priced blocks and single-quote groups."""
        return {
            "contract_groups": len(self.contracts),
            "contracts": sum(len(g) for g in self.contracts.values()),
            "chain_blocks": len(self._blocks),
            "chain_sides": len(self._sides),
            "chain_bands": len(self._bands),
            "chain_singles": len(self._singles),
            "chain_recent": len(self._recent),
        }

    def expiries(self) -> set[date]:
        """Expiries that have interned contracts."""
        return {e for _, e in self.contracts}

    def block(self, inputs: ChainInputs, expiry: date) -> ExpiryBlock:
        return self.blocks(inputs, [expiry])[0]

    def listed_between(self, inputs: ChainInputs, today: date, lo: date, hi: date) -> list[date]:
        """The expiries listed on `today` with lo <= expiry <= hi."""
        listed = listed_expiries(inputs.style.daily_expiries, today, self._calendar)
        return [e for e in listed if lo <= e <= hi]

    def chain(
        self,
        underlying: str,
        inputs: ChainInputs,
        today: date,
        min_expiry: date,
        max_expiry: date,
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> OptionChain:
        """`MarketData.option_chain` at this instant, from this cache's blocks."""
        wanted = self.listed_between(inputs, today, min_expiry, max_expiry)
        quotes: list[OptionQuote] = []
        for block in self.blocks(inputs, wanted, right, strikes):
            quotes.extend(block.quotes)
        return OptionChain(underlying, inputs.now, inputs.spot, tuple(quotes))

    def blocks(
        self,
        inputs: ChainInputs,
        expiries: Sequence[date],
        right: OptionRight | None = None,
        strikes: tuple[float, float] | None = None,
    ) -> list[ExpiryBlock]:
        """Every strike of each of `expiries` (one underlying), both rights or only `right`,
        all listed strikes or only those in `strikes`; missing ones in one pass.

        A one-sided read prices only that side: most strategies read only calls or only puts,
        and the American early-exercise premium of the puts is the costliest part of a pass.
        A band prices only its strikes. Quotes are element-wise, so they equal the full
        block's.
        """
        self._at(inputs.now)
        self._run(self._plan(inputs, expiries, right, strikes, set()))
        return [self._lookup(inputs.style.symbol, e, right, strikes) for e in expiries]

    def prefetch(
        self,
        reads: Sequence[
            tuple[ChainInputs, Sequence[date], OptionRight | None, tuple[float, float] | None]
        ],
    ) -> None:
        """Price what several chain reads at this instant (of any underlyings) are missing,
        all in one pass: a pass has a fixed cost of about a hundred array operations, which
        dominated strategies that read a small chain for each of many names in turn."""
        planned: set[tuple[object, ...]] = set()
        todo: list[tuple[ExpiryRequest, Callable[[ExpiryBlock], None]]] = []
        for inputs, expiries, right, strikes in reads:
            self._at(inputs.now)
            todo += self._plan(inputs, expiries, right, strikes, planned)
        self._run(todo)

    def prefetch_reads(self, reads: Sequence[ChainRead], inputs_of: InputsOf) -> None:
        """A feed's `prefetch_chains` (see `engine.data.chain_reads`): what `reads` will need,
        priced in one pass. A read that cannot be served is skipped here: the read itself
        reports why.

        Only reads at the latest of their instants are priced: the cache holds one instant,
        and a name can lag the others (a CSV file that has ended is quoted at its last close).
        A lagging read is priced by the read itself, as without the prefetch."""
        items: list[
            tuple[ChainInputs, Sequence[date], OptionRight | None, tuple[float, float] | None]
        ] = []
        for r in reads:
            try:
                inputs, today = inputs_of(r.underlying)
            except (LookupError, ValueError, ArithmeticError):
                continue
            wanted = self.listed_between(inputs, today, r.min_expiry, r.max_expiry)
            items.append((inputs, wanted, r.right, r.strikes))
        latest = max((item[0].now for item in items), default=None)
        self.prefetch([item for item in items if item[0].now == latest])

    def quotes_for(
        self, contracts: Sequence[OptionContract], inputs_of: InputsOf
    ) -> dict[OptionContract, OptionQuote]:
        """A feed's `option_quotes` (marking a book): each (underlying, expiry) group priced in
        one vectorised pass. Contracts that cannot be quoted (expired, unknown underlying) are
        left out of the result."""
        groups: dict[str, dict[date, list[OptionContract]]] = {}
        for c in contracts:
            groups.setdefault(c.underlying, {}).setdefault(c.expiry, []).append(c)
        todo: list[tuple[ChainInputs, date, list[OptionContract]]] = []
        for underlying, by_expiry in groups.items():
            try:
                inputs, today = inputs_of(underlying)
            except DataUnavailable:
                continue
            listed = set(listed_expiries(inputs.style.daily_expiries, today, self._calendar))
            for expiry, group in by_expiry.items():
                if expiry in listed:
                    todo.append((inputs, expiry, group))
                    # announced first, so the first miss prices every group in one pass
                    self.expect(inputs, expiry, [(float(c.strike), c.right) for c in group])
        out: dict[OptionContract, OptionQuote] = {}
        for inputs, expiry, group in todo:
            wanted = [(float(c.strike), c.right) for c in group]
            for c, q in zip(group, self.quotes(inputs, expiry, wanted), strict=True):
                out[c] = q
        return out

    def _lookup(
        self, sym: str, e: date, right: OptionRight | None, band: tuple[float, float] | None
    ) -> ExpiryBlock:
        if band is not None:
            return self._bands[(sym, e, right, band[0], band[1])]
        if right is not None:
            return self._sides[(sym, e, right)]
        return self._blocks[(sym, e)]

    def _run(self, todo: list[tuple[ExpiryRequest, Callable[[ExpiryBlock], None]]]) -> None:
        if todo:
            built = build_expiries([req for req, _ in todo], self.contracts)
            for (_, store), block in zip(todo, built, strict=True):
                store(block)

    def _plan(
        self,
        inputs: ChainInputs,
        expiries: Sequence[date],
        right: OptionRight | None,
        band: tuple[float, float] | None,
        planned: set[tuple[object, ...]],
    ) -> list[tuple[ExpiryRequest, Callable[[ExpiryBlock], None]]]:
        """What a read is missing: what can be cut from blocks priced already is stored at
        once; the rest is returned as requests, each with where its block goes."""
        sym = inputs.style.symbol
        todo: list[tuple[ExpiryRequest, Callable[[ExpiryBlock], None]]] = []
        for e in dict.fromkeys(expiries):
            key: tuple[object, ...] = (sym, e, right, band)
            if key in planned:
                continue
            planned.add(key)
            close = self._calendar.session_close(e)
            if band is not None:
                req = self._plan_band(inputs, e, right, band, close)
            elif right is not None:
                req = self._plan_side(sym, e, right, inputs, close)
            else:
                req = self._plan_full(sym, e, inputs, close)
            if req is not None:
                todo.append(req)
        return todo

    def _plan_full(
        self, sym: str, e: date, inputs: ChainInputs, close: datetime
    ) -> tuple[ExpiryRequest, Callable[[ExpiryBlock], None]] | None:
        if (sym, e) in self._blocks:
            return None
        calls = self._sides.get((sym, e, OptionRight.CALL))
        puts = self._sides.get((sym, e, OptionRight.PUT))
        if calls is not None and puts is not None:
            # Calls then puts, each ascending by strike: what a full pass gives.
            self._blocks[(sym, e)] = ExpiryBlock(
                e, calls.quotes + puts.quotes, {**calls.by_key, **puts.by_key}
            )
            return None

        def store(block: ExpiryBlock) -> None:
            self._blocks[(sym, e)] = _reuse_singles(block, self._handed_out(sym, e))

        return ExpiryRequest(inputs, e, close), store

    def _plan_side(
        self, sym: str, e: date, right: OptionRight, inputs: ChainInputs, close: datetime
    ) -> tuple[ExpiryRequest, Callable[[ExpiryBlock], None]] | None:
        if (sym, e, right) in self._sides:
            return None
        full = self._blocks.get((sym, e))
        if full is not None:
            quotes = tuple(q for q in full.quotes if q.contract.right is right)
            self._sides[(sym, e, right)] = ExpiryBlock(
                e, quotes, {k: q for k, q in full.by_key.items() if k[1] is right}
            )
            return None

        def store(block: ExpiryBlock) -> None:
            self._sides[(sym, e, right)] = _reuse_singles(block, self._handed_out(sym, e))

        return ExpiryRequest(inputs, e, close, right=right), store

    def _plan_band(
        self,
        inputs: ChainInputs,
        e: date,
        right: OptionRight | None,
        band: tuple[float, float],
        close: datetime,
    ) -> tuple[ExpiryRequest, Callable[[ExpiryBlock], None]] | None:
        """Only the listed strikes in [lo, hi] (of `right`, or both), cut from a block or
        side already priced at this instant when there is one."""
        sym = inputs.style.symbol
        lo, hi = band
        key = (sym, e, right, lo, hi)
        if key in self._bands:
            return None
        src = self._blocks.get((sym, e))
        if src is None and right is not None:
            src = self._sides.get((sym, e, right))
        if src is not None:
            # by_key holds each quote under its ladder float, in quote order.
            kept = [
                (k, q)
                for k, q in src.by_key.items()
                if (right is None or k[1] is right) and lo <= k[0] <= hi
            ]
            self._bands[key] = ExpiryBlock(e, tuple(q for _, q in kept), dict(kept))
            return None  # its quotes are in the source block already
        ladder = listed_strikes(inputs, close)
        ks = ladder[(ladder >= lo) & (ladder <= hi)]
        if not ks.size:
            self._bands[key] = ExpiryBlock(e, (), {})
            return None

        def store(block: ExpiryBlock) -> None:
            block = _reuse_singles(block, self._handed_out(sym, e))
            self._bands[key] = block
            # Single reads of these contracts (pricing a proposal's legs) find them here.
            self._banded.setdefault((sym, e), {}).update(block.by_key)

        return ExpiryRequest(inputs, e, close, ks, right=right), store

    def _handed_out(
        self, sym: str, expiry: date
    ) -> dict[tuple[float, OptionRight], OptionQuote] | None:
        """Quote objects of (sym, expiry) already given out at this instant outside a block."""
        found: dict[tuple[float, OptionRight], OptionQuote] = {}
        for right in (OptionRight.CALL, OptionRight.PUT):
            side = self._sides.get((sym, expiry, right))
            if side is not None:
                found.update(side.by_key)
        for extra in (self._banded.get((sym, expiry)), self._singles.get((sym, expiry))):
            if extra:
                found.update({k: q for k, q in extra.items() if k not in found})
        return found or None

    def expect(
        self, inputs: ChainInputs, expiry: date, keys: Sequence[tuple[float, OptionRight]]
    ) -> None:
        """Note that these (strike, right) contracts are about to be asked for at this instant
        (a batch read), so the first one missing prices them all together."""
        self._at(inputs.now)
        asked = self._recent.setdefault((inputs.style.symbol, expiry), {})
        for key in keys:
            asked[key] = inputs.now

    def quote(
        self, inputs: ChainInputs, expiry: date, strike: float, right: OptionRight
    ) -> OptionQuote:
        return self.quotes(inputs, expiry, [(strike, right)])[0]

    def quotes(
        self, inputs: ChainInputs, expiry: date, wanted: Sequence[tuple[float, OptionRight]]
    ) -> list[OptionQuote]:
        """Quotes of several strikes of one expiry; what is missing is priced in one pass
        with the recently asked contracts not priced yet at this instant."""
        now = inputs.now
        self._at(now)
        sym = inputs.style.symbol
        group = (sym, expiry)
        singles = self._singles.setdefault(group, {})
        asked = self._recent.setdefault(group, {})
        found: dict[tuple[float, OptionRight], OptionQuote] = {}
        missing: list[tuple[float, OptionRight]] = []
        for key in wanted:
            asked[key] = now
            q = self._priced(group, key, singles)
            if q is None:
                missing.append(key)
            else:
                found[key] = q
        if missing:
            self._price_singles(inputs, expiry, missing)
            for key in wanted:
                if key not in found:
                    found[key] = singles[key]
        return [found[w] for w in wanted]

    def _priced(
        self,
        group: tuple[str, date],
        key: tuple[float, OptionRight],
        singles: dict[tuple[float, OptionRight], OptionQuote],
    ) -> OptionQuote | None:
        """The quote of `key` already priced at this instant, in a block, a side or alone."""
        block = self._blocks.get(group)
        q = block.by_key.get(key) if block is not None else None
        if q is None and self._sides:
            side = self._sides.get((group[0], group[1], key[1]))
            q = side.by_key.get(key) if side is not None else None
        if q is None and self._banded:
            banded = self._banded.get(group)
            q = banded.get(key) if banded is not None else None
        return q if q is not None else singles.get(key)

    def _unpriced(self, group: tuple[str, date]) -> list[tuple[float, OptionRight]]:
        """Recently asked contracts of `group` with no quote at this instant yet."""
        singles = self._singles.get(group, {})
        return [k for k in self._recent.get(group, ()) if self._priced(group, k, singles) is None]

    def _price_singles(
        self, inputs: ChainInputs, expiry: date, missing: list[tuple[float, OptionRight]]
    ) -> None:
        """Prices `missing` with every recently asked contract not priced yet at this instant
        (of any underlying `inputs_for` knows), one side of one expiry per request: a held
        call is marked without pricing the put of its strike."""
        sym = inputs.style.symbol
        wanted: dict[tuple[str, date], tuple[ChainInputs, list[tuple[float, OptionRight]]]] = {
            (sym, expiry): (inputs, missing + self._unpriced((sym, expiry)))
        }
        if self._inputs_for is not None:
            by_symbol: dict[str, ChainInputs | None] = {sym: inputs}
            for group in self._recent:
                if group in wanted:
                    continue
                keys = self._unpriced(group)
                if not keys:
                    continue
                other = group[0]
                if other not in by_symbol:
                    by_symbol[other] = self._other_inputs(other, inputs.now)
                ins = by_symbol[other]
                if ins is None:
                    continue
                listed = listed_expiries(ins.style.daily_expiries, ins.today, self._calendar)
                if group[1] in listed:
                    wanted[group] = (ins, keys)
        groups: list[tuple[str, date]] = []
        requests: list[ExpiryRequest] = []
        for group, (ins, keys) in wanted.items():
            for right in (OptionRight.CALL, OptionRight.PUT):
                strikes = sorted({k for k, r in keys if r is right})
                if strikes:
                    groups.append(group)
                    requests.append(
                        ExpiryRequest(
                            ins,
                            group[1],
                            self._calendar.session_close(group[1]),
                            np.array(strikes, dtype=np.float64),
                            right=right,
                        )
                    )
        for group, block in zip(groups, build_expiries(requests, self.contracts), strict=True):
            self._singles.setdefault(group, {}).update(block.by_key)

    def _other_inputs(self, underlying: str, now: datetime) -> ChainInputs | None:
        """Inputs of another underlying at the same instant (None when it has no quotes)."""
        assert self._inputs_for is not None
        try:
            ins = self._inputs_for(underlying)
        except (LookupError, ValueError, ArithmeticError):
            return None
        return ins if ins.now == now else None


def option_quotes_at(
    surfaces: Sequence[ChainInputs], contracts: Sequence[OptionContract], calendar: MarketCalendar
) -> list[dict[OptionContract, OptionQuote]]:
    """Quotes of `contracts` on each surface in `surfaces` (any spot, any moment), in one
    pricing pass and apart from the feed's chain cache: these are what-if quotes, not the
    market's own."""
    groups: dict[tuple[date, OptionRight], set[float]] = {}
    for c in contracts:
        groups.setdefault((c.expiry, c.right), set()).add(float(c.strike))
    requests: list[ExpiryRequest] = []
    for inputs in surfaces:
        for (expiry, right), ks in groups.items():
            if expiry < inputs.today:
                raise DataUnavailable(f"options of {expiry} expired before {inputs.today}")
            strikes = np.array(sorted(ks))
            requests.append(
                ExpiryRequest(inputs, expiry, calendar.session_close(expiry), strikes, right=right)
            )
    blocks = iter(build_expiries(requests))
    out: list[dict[OptionContract, OptionQuote]] = []
    for _ in surfaces:
        by_key: dict[tuple[date, float, OptionRight], OptionQuote] = {}
        for expiry, _ in groups:
            for (strike, r), q in next(blocks).by_key.items():
                by_key[(expiry, strike, r)] = q
        out.append({c: by_key[(c.expiry, float(c.strike), c.right)] for c in contracts})
    return out


_MAX_CONTRACTS = 20_000  # (underlying, expiry) groups of interned contracts kept


def _reuse_singles(
    block: ExpiryBlock, singles: dict[tuple[float, OptionRight], OptionQuote] | None
) -> ExpiryBlock:
    """`block` with the quote objects already handed out at this instant put back in place
    (equal values; the same objects, so chain and single reads agree by identity too)."""
    if not singles or not any(key in block.by_key for key in singles):
        return block
    # by_key was filled in quote order, one entry per quote.
    quotes = tuple(singles.get(key, q) for key, q in zip(block.by_key, block.quotes, strict=True))
    return ExpiryBlock(block.expiry, quotes, dict(zip(block.by_key, quotes, strict=True)))
