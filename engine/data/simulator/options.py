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
* Prices: Black-Scholes-Merton (engine.pricing). Index options (SPX) are European; for
  American-style names the European value is floored at intrinsic value as an approximation of
  the early-exercise premium (engine.pricing has no American pricer yet).
* Quotes: spreads widen out of the money, for short-dated and long-dated expiries, for less
  liquid names and in stressed markets; ticks 0.01 under $3 and 0.05 above (0.01 everywhere for
  SPY/QQQ/IWM, 0.05/0.10 for SPX); volume and open interest decay away from ATM and with DTE.
  Greeks: delta and gamma per unit of underlying, theta per calendar day, vega per vol point
  (1% = 0.01 of sigma), the convention of broker feeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np

from engine.data.calendar import MarketCalendar
from engine.data.simulator.seeding import derived_seed
from engine.data.simulator.universe import DailyExpiries, Kind, SymbolSpec, TickRule
from engine.domain import OptionContract, OptionQuote, OptionRight
from engine.pricing import black_scholes

RISK_FREE_RATE = 0.04
_YEAR_SECONDS = 365.0 * 86400.0
_MIN_T = 60.0 / _YEAR_SECONDS  # a minute: keeps the last minute before expiry finite
_NICE = (1, 2, 5, 10, 20, 50, 100, 200)
_MAX_PER_SIDE = 40


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
    return max((end - start).total_seconds() / _YEAR_SECONDS, _MIN_T)


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


def _ticks(rule: TickRule, price: np.ndarray) -> np.ndarray:
    if rule is TickRule.PENNY_ALL:
        return np.full(price.shape, 0.01)
    if rule is TickRule.INDEX:
        return np.where(price < 3.0, 0.05, 0.10)
    return np.where(price < 3.0, 0.01, 0.05)


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
    contracts: dict[tuple[str, date, float, OptionRight], OptionContract] | None = None,
) -> ExpiryBlock:
    """Quotes for every strike of one expiry (or for the given `strikes`)."""
    style = inputs.style
    t = years_between(inputs.now, expiry_close)
    atm = atm_vol(inputs, t, expiry_close)
    if strikes is None:
        strikes = strike_ladder(style, inputs.spot, t, atm)
    n = strikes.size
    s, r, q = inputs.spot, inputs.rate, style.div_yield
    fwd = s * math.exp((r - q) * t)
    z = np.minimum(np.maximum(np.log(strikes / fwd) / (atm * math.sqrt(t)), -4.0), 4.0)
    shape = np.minimum(np.maximum(1.0 - style.skew * z + style.smile * z * z, 0.5), 2.5)
    iv1 = np.minimum(np.maximum(atm * shape, 0.03), 5.0)
    k2 = np.concatenate([strikes, strikes])
    iv = np.concatenate([iv1, iv1])
    is_call = np.concatenate([np.ones(n, dtype=bool), np.zeros(n, dtype=bool)])
    g = black_scholes(s, k2, t, r, q, iv, is_call)
    theo = np.asarray(g.price, dtype=np.float64)
    if not style.european:
        intrinsic = np.where(is_call, np.maximum(s - k2, 0.0), np.maximum(k2 - s, 0.0))
        theo = np.maximum(theo, intrinsic)
    theo = np.maximum(theo, 0.0)

    # Spreads: fraction of premium, wider OTM / short-dated / long-dated / illiquid / stressed.
    dte = t * 365.0
    z2 = np.concatenate([z, z])
    liq = style.liquidity
    frac = (0.004 + 0.08 * (1.0 - liq) ** 1.5) * (1.0 + 0.35 * np.abs(z2))
    frac *= (1.0 + 0.6 / math.sqrt(dte + 0.5)) * (1.0 + 0.5 * dte / 730.0) * inputs.stress**0.5
    tick = _ticks(style.tick_rule, theo)
    min_ticks = 1.0 if liq >= 0.8 else 2.0
    half = np.maximum(theo * frac, 0.5 * min_ticks * tick)
    bid = np.maximum(_tick_floor(theo - half, tick), 0.0)
    ask = np.maximum(_tick_ceil(theo + half, tick), tick)
    ask = np.where(ask <= bid, np.round(bid + tick, 2), ask)
    last = np.minimum(np.maximum(np.round(theo, 2), bid), ask)

    # Open interest and volume: deterministic per (underlying, expiry, strike, day).
    sym_key = _symbol_key(inputs.seed, style.symbol)
    strike_key = np.rint(k2 * 1000.0).astype(np.int64) * 2 + (~is_call)
    u1 = _hash_uniform(sym_key, expiry.toordinal(), strike_key)
    u2 = _hash_uniform(sym_key, expiry.toordinal(), strike_key, inputs.today.toordinal())
    oi_atm = 40000.0 * liq**2.5
    round_bonus = np.where(np.mod(k2, 5.0) == 0.0, 1.5, 1.0)
    oi = oi_atm * np.exp(-0.25 * z2 * z2) * (math.exp(-dte / 180.0) + 0.15) * round_bonus
    oi *= np.exp(0.5 * (u1 - 0.5))
    turnover = (0.15 + 1.5 / (dte + 1.0)) * np.exp(1.2 * (u2 - 0.5))
    volume = np.floor(oi * turnover)
    oi = np.floor(oi)
    size = np.maximum(1.0, np.floor(5.0 + 500.0 * liq**2 * np.exp(-0.3 * z2 * z2)))

    delta = np.asarray(g.delta)
    gamma = np.asarray(g.gamma)
    theta = np.asarray(g.theta) / 365.0
    vega = np.asarray(g.vega) / 100.0
    return _to_quotes(
        inputs, expiry, k2, is_call, bid, ask, last, volume, oi, iv, delta, gamma, theta, vega,
        size, contracts,
    )  # fmt: skip


def _to_quotes(
    inputs: ChainInputs,
    expiry: date,
    k2: np.ndarray,
    is_call: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    last: np.ndarray,
    volume: np.ndarray,
    oi: np.ndarray,
    iv: np.ndarray,
    delta: np.ndarray,
    gamma: np.ndarray,
    theta: np.ndarray,
    vega: np.ndarray,
    size: np.ndarray,
    contracts: dict[tuple[str, date, float, OptionRight], OptionContract] | None,
) -> ExpiryBlock:
    sym = inputs.style.symbol
    cache = contracts if contracts is not None else {}
    quotes: list[OptionQuote] = []
    by_key: dict[tuple[float, OptionRight], OptionQuote] = {}
    ts = inputs.now
    cols = (k2, is_call, bid, ask, last, volume, oi, iv, delta, gamma, theta, vega, size)
    for k, c, b, a, la, v, o, s, d, gm, th, ve, sz in zip(*(x.tolist() for x in cols), strict=True):
        right = OptionRight.CALL if c else OptionRight.PUT
        key = (sym, expiry, k, right)
        contract = cache.get(key)
        if contract is None:
            contract = OptionContract(sym, expiry, _strike_decimal(k), right)
            cache[key] = contract
        quote = OptionQuote(
            contract, ts, b, a, la, int(v), int(o), s, d, gm, th, ve, int(sz), int(sz)
        )
        quotes.append(quote)
        by_key[(k, right)] = quote
    return ExpiryBlock(expiry, tuple(quotes), by_key)


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


class ChainCache:
    """Expiry blocks and single quotes priced at one instant, shared by chain and quote reads.

    Everything is dropped when the pricing instant (`ChainInputs.now`) changes. A single
    contract asked for before its expiry's block exists is priced alone (marking a handful of
    positions every minute must not price whole chains); if the block is built later in the
    same instant, it reuses that quote object, so `option_quote` and `option_chain` always
    agree exactly.
    """

    def __init__(self, calendar: MarketCalendar) -> None:
        self._calendar = calendar
        self._stamp: datetime | None = None
        self._blocks: dict[tuple[str, date], ExpiryBlock] = {}
        self._singles: dict[tuple[str, date, float, OptionRight], OptionQuote] = {}
        self.contracts: dict[tuple[str, date, float, OptionRight], OptionContract] = {}

    def _at(self, now: datetime) -> None:
        if self._stamp != now:
            self._stamp = now
            self._blocks.clear()
            self._singles.clear()

    def block(self, inputs: ChainInputs, expiry: date) -> ExpiryBlock:
        self._at(inputs.now)
        sym = inputs.style.symbol
        block = self._blocks.get((sym, expiry))
        if block is None:
            block = build_expiry(
                inputs, expiry, self._calendar.session_close(expiry), contracts=self.contracts
            )
            if self._singles:
                block = self._reuse_singles(sym, block)
            self._blocks[(sym, expiry)] = block
        return block

    def _reuse_singles(self, sym: str, block: ExpiryBlock) -> ExpiryBlock:
        quotes = tuple(
            self._singles.get((sym, block.expiry, float(q.contract.strike), q.contract.right), q)
            for q in block.quotes
        )
        by_key = {(float(q.contract.strike), q.contract.right): q for q in quotes}
        return ExpiryBlock(block.expiry, quotes, by_key)

    def quote(
        self, inputs: ChainInputs, expiry: date, strike: float, right: OptionRight
    ) -> OptionQuote:
        return self.quotes(inputs, expiry, [(strike, right)])[0]

    def quotes(
        self, inputs: ChainInputs, expiry: date, wanted: Sequence[tuple[float, OptionRight]]
    ) -> list[OptionQuote]:
        """Quotes of several strikes of one expiry; the missing ones are priced in one pass."""
        self._at(inputs.now)
        sym = inputs.style.symbol
        block = self._blocks.get((sym, expiry))
        found: dict[tuple[float, OptionRight], OptionQuote] = {}
        missing: list[float] = []
        for strike, right in wanted:
            q = block.by_key.get((strike, right)) if block is not None else None
            if q is None:
                q = self._singles.get((sym, expiry, strike, right))
            if q is None:
                missing.append(strike)
            else:
                found[(strike, right)] = q
        if missing:
            alone = build_expiry(
                inputs,
                expiry,
                self._calendar.session_close(expiry),
                strikes=np.unique(np.array(missing, dtype=np.float64)),
                contracts=self.contracts,
            )
            for (k, r), q in alone.by_key.items():
                self._singles[(sym, expiry, k, r)] = q
                found[(k, r)] = q
        return [found[w] for w in wanted]
