"""LEAPS Tracker (spec §7): long-dated calls on secular-growth themes, MA-cross timing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from engine.data.chain_reads import ChainRead, prefetch_chains
from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    ExitReason,
    Fill,
    OptionChain,
    OptionContract,
    OptionRight,
    OrderLeg,
    Position,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import (
    MEME_CORE_EX_ETF,
    Strategy,
    StrategyContext,
    StrategyParams,
    contracts_for_budget,
)
from engine.strategies.chain_select import (
    brackets,
    expiries_in_window,
    model_value,
    round_to_tick,
    strike_band,
    strike_nearest,
    years_to_expiry,
)
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import (
    CrossKind,
    InsufficientData,
    MACross,
    ma_cross,
    pct_return,
    sma_last,
)
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    first_chain_read,
    fresh_chain,
    fresh_chain_first,
    fresh_daily_bars,
    fresh_option_quote,
)

# Days past min_dte read first for the entry's expiry: 35 holds a monthly wherever
# monthlies are listed, 120 a quarterly (see _entry).
FIRST_SPANS = (35, 120)
THEMES: Mapping[str, tuple[str, ...]] = {
    "AI": ("NVDA", "AMD", "GOOGL", "MSFT", "META", "ORCL", "CRM", "SNOW"),
    "Cloud": ("MSFT", "AMZN", "GOOGL", "CRM", "SNOW", "DDOG", "NET", "OKTA"),
    "EV": ("TSLA", "RIVN", "LCID", "NIO", "XPEV", "GM", "F"),
    "Cyber": ("CRWD", "ZS", "PANW", "OKTA", "NET", "S", "FTNT"),
}
_THEME_UNIVERSE: tuple[str, ...] = tuple(dict.fromkeys(s for v in THEMES.values() for s in v))

MOMENTUM_PERIODS: tuple[tuple[int, float], ...] = ((21, 0.1), (63, 0.2), (126, 0.3), (252, 0.4))


class LeapsParams(StrategyParams):
    """Gates, profit ladder and exits. Scores are 0-100; percentages are gain percents."""

    watchlist: tuple[str, ...] = ()  # empty = the four themes
    max_positions: int = Field(5, ge=1, le=50)
    size_pct: float = Field(0.10, gt=0.0, le=1.0)  # per LEAPS, fraction of equity
    total_allocation: float = Field(0.30, gt=0.0, le=1.0)  # LEAPS cost basis ceiling
    min_dte: int = Field(365, ge=30, le=1100)
    max_dte: int = Field(730, ge=30, le=1100)
    otm_pct: float = Field(0.15, ge=0.0, le=1.0)  # strike = spot × (1 + otm)
    max_contracts: int = Field(3, ge=1, le=100)
    min_composite: float = Field(60.0, ge=0.0, le=100.0)
    min_entry_timing: float = Field(50.0, ge=0.0, le=100.0)
    max_exit_timing: float = Field(70.0, ge=0.0, le=100.0)
    profit_levels: tuple[float, ...] = Field((100.0, 200.0, 300.0, 400.0), min_length=1)
    scale_out_fraction: float = Field(0.25, gt=0.0, le=1.0)
    stop_loss: float = Field(0.50, gt=0.0, le=1.0)  # loss of premium; 1.0 = no stop
    time_exit_dte: int = Field(90, ge=0, le=730)
    death_cross_exit_days: int = Field(30, ge=0, le=365)
    cross_lookback_bars: int = Field(120, ge=10, le=500)
    history_bars: int = Field(504, ge=250, le=1000)
    min_history_bars: int = Field(250, ge=201, le=1000)
    fallback_sigma: float = Field(0.30, gt=0.0, le=3.0)
    rate: float = Field(0.04, ge=0.0, le=0.2)
    min_model_premium: float = Field(5.0, ge=0.0)  # BS fallback floor, $ per share

    @model_validator(mode="after")
    def _check(self) -> LeapsParams:
        if self.min_dte > self.max_dte:
            raise ValueError(f"min_dte {self.min_dte} > max_dte {self.max_dte}")
        if any(b <= a for a, b in zip(self.profit_levels, self.profit_levels[1:], strict=False)):
            raise ValueError(f"profit_levels {self.profit_levels} must be strictly increasing")
        if any(lv <= 0 for lv in self.profit_levels):
            raise ValueError(f"profit_levels {self.profit_levels} must be positive gain percents")
        if self.min_history_bars > self.history_bars:
            raise ValueError("min_history_bars must not exceed history_bars")
        return self


# -- scores (pure) -----------------------------------------------------------------------------


def _clamp(x: float, lo: float = 0.0, hi: float = 100.0) -> float:
    return max(lo, min(hi, x))


def momentum_score(closes: np.ndarray) -> float:
    """50 + weighted mean of % returns over 21/63/126/252 sessions (weights .1/.2/.3/.4),
    clamped to 0-100. Periods longer than the history are dropped and the weights renormalised
    (spec minimum is 250 bars, one short of a 252-session return)."""
    total = 0.0
    weight = 0.0
    for n, w in MOMENTUM_PERIODS:
        if closes.size > n:
            total += w * 100.0 * pct_return(closes, n)
            weight += w
    if weight == 0.0:
        raise InsufficientData("momentum needs more than 21 closes")
    return _clamp(50.0 + total / weight)


def trend_score(closes: np.ndarray) -> float:
    p = float(closes[-1])
    s20, s50, s200 = sma_last(closes, 20), sma_last(closes, 50), sma_last(closes, 200)
    if p > s20 > s50 > s200:
        return 100.0
    if p > s20 > s50:
        return 75.0
    if p > s20:
        return 50.0
    return 25.0


def financial_score(closes: np.ndarray) -> float:
    """Upstream's "financial" proxy: 50 + 25 × vol(last 30 d) / vol(prior 30 d), clamped."""
    if closes.size < 61:
        raise InsufficientData("financial proxy needs 61 closes")
    rets = closes[1:] / closes[:-1] - 1.0
    recent, prior = rets[-30:], rets[-60:-30]
    sd_prior = float(prior.std(ddof=1))
    ratio = float(recent.std(ddof=1)) / sd_prior if sd_prior > 0 else 1.0
    return _clamp(50.0 + 25.0 * ratio)


def valuation_score(closes: np.ndarray) -> float:
    ratio = float(closes[-1]) / sma_last(closes, 200)
    if ratio < 1.2:
        return 80.0
    if ratio < 1.5:
        return 60.0
    if ratio < 2.0:
        return 40.0
    return 20.0


def timing_scores(
    cross: MACross | None,
    age_days: int | None,
    *,
    price: float,
    sma50: float,
    sma200: float,
) -> tuple[float, float]:
    """(entry timing, exit timing) from the MA-cross table of spec §7, then the trend tilt."""
    above_both = price > sma50 and price > sma200
    below_both = price < sma50 and price < sma200
    if cross is not None and age_days is not None and cross.kind is CrossKind.GOLDEN:
        if age_days <= 30:
            entry, exit_ = 85.0 + 0.15 * cross.strength, 20.0
        elif age_days <= 60:
            entry, exit_ = 75.0 + 0.10 * cross.strength, 25.0
        else:
            entry, exit_ = 65.0, 35.0
    elif cross is not None and age_days is not None:
        if age_days <= 30:
            entry, exit_ = 15.0, 90.0
        elif age_days <= 90:
            entry, exit_ = 25.0, 75.0
        else:
            entry, exit_ = 40.0, 60.0
    elif above_both:
        entry, exit_ = (65.0, 35.0) if sma50 > sma200 else (55.0, 45.0)
    else:
        entry, exit_ = 35.0, 65.0
    if sma50 > sma200 and above_both:
        entry, exit_ = min(95.0, entry + 5.0), max(5.0, exit_ - 5.0)
    elif sma50 < sma200 and below_both:
        entry, exit_ = max(5.0, entry - 10.0), min(95.0, exit_ + 10.0)
    return entry, exit_


def composite_score(
    trend: float, momentum: float, financial: float, valuation: float, entry_timing: float
) -> float:
    return (
        0.25 * trend + 0.20 * momentum + 0.20 * financial + 0.15 * valuation + 0.20 * entry_timing
    )


@dataclass(frozen=True, slots=True)
class LeapsScores:
    trend: float
    momentum: float
    financial: float
    valuation: float
    entry_timing: float
    exit_timing: float
    cross: MACross | None
    cross_date: date | None
    cross_age_days: int | None

    @property
    def composite(self) -> float:
        return composite_score(
            self.trend, self.momentum, self.financial, self.valuation, self.entry_timing
        )

    def cross_text(self) -> str:
        if self.cross is None or self.cross_age_days is None:
            return "no MA cross in 120 sessions"
        return (
            f"{self.cross.kind} cross {self.cross_age_days} d ago "
            f"(strength {self.cross.strength:.0f})"
        )


def score_history(bars: Sequence[Bar], today: date, lookback_bars: int = 120) -> LeapsScores:
    """All §7 scores from daily bars (oldest first). Cross age is in calendar days."""
    closes = np.fromiter((b.close for b in bars), dtype=np.float64, count=len(bars))
    cross = ma_cross(closes, 50, 200, lookback_bars)
    cross_date = bars[cross.index].session_date if cross is not None else None
    age = (today - cross_date).days if cross_date is not None else None
    price, s50, s200 = float(closes[-1]), sma_last(closes, 50), sma_last(closes, 200)
    entry, exit_ = timing_scores(cross, age, price=price, sma50=s50, sma200=s200)
    return LeapsScores(
        trend=trend_score(closes),
        momentum=momentum_score(closes),
        financial=financial_score(closes),
        valuation=valuation_score(closes),
        entry_timing=entry,
        exit_timing=exit_,
        cross=cross,
        cross_date=cross_date,
        cross_age_days=age,
    )


# -- the strategy ------------------------------------------------------------------------------


class LeapsTracker(Strategy):
    """Buy ~1-2 year calls 15% OTM on theme names whose trend, momentum and MA-cross timing
    line up; scale out once per profit level; exit on stop, time or a fresh death cross.

    Entry: >= `min_history_bars` daily bars; composite >= min_composite, entry timing >=
    min_entry_timing and exit timing <= max_exit_timing; call strike nearest 1.15 × spot in the
    earliest expiry with min_dte <= DTE <= max_dte; premium = chain mid. Size: the 10% rule
    (`ctx.budget`), cap 3 contracts, and never beyond the LEAPS total allocation (skip when the
    LEAPS cost basis already reaches it). Max positions per profile.

    Exits (each a CLOSE proposal): stop when mark <= (1 - stop_loss) × entry (none when
    stop_loss = 1.0, R24); DTE <= time_exit_dte; a death cross <= 30 days old that happened
    after the position opened ("not present at entry"); scale-out of max(1, ⌊qty × fraction⌋)
    the first time each profit level is reached (levels hit persist through `state()`).

    [PROPOSED]/interpretation choices:
    - "Nearest expiry in the DTE window" = the earliest expiry inside the window.
    - Cross age is calendar days from the cross session to today; "last 120 days" = 120
      sessions. Bearish tilt = SMA50 < SMA200 with price below both.
    - The BS fallback (σ 30%, r 4%, floor $5) is used only to price an *exit* when the
      contract has no fresh quote; entries need a real chain quote (no trade on missing data).
    - W25 replaces the themes with MEME_CORE_EX_ETF.
    """

    name: ClassVar[str] = "leaps_tracker"
    title: ClassVar[str] = "LEAPS"
    params_model: ClassVar[type[StrategyParams]] = LeapsParams
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "max_positions": 5,
            "total_allocation": 0.15,
            "profit_levels": (100.0, 200.0, 300.0),
            "scale_out_fraction": 0.25,
            "stop_loss": 1.0,
            "time_exit_dte": 90,
        },
        "wsb_2025": {
            "watchlist": MEME_CORE_EX_ETF,
            "max_positions": 8,
            "total_allocation": 0.40,
            "min_dte": 180,
            "max_dte": 540,
            "min_composite": 40.0,
            "min_entry_timing": 30.0,
            "max_exit_timing": 85.0,
            "profit_levels": (50.0, 100.0, 300.0, 600.0),
            "scale_out_fraction": 0.20,
            "stop_loss": 0.70,
            "time_exit_dte": 45,
        },
    }
    # Daily signals; an hourly look is plenty and keeps exits timely.
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)

    params: LeapsParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self.last_scores: dict[str, LeapsScores] = {}
        self._levels_hit: dict[str, list[float]] = {}  # contract symbol -> profit levels sold
        self._levels_pending: dict[str, list[float]] = {}  # proposed, not yet filled

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist or _THEME_UNIVERSE)

    # -- scan ------------------------------------------------------------------------------

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        if not ctx.market_open:
            return []
        self.skips.reset()
        held = [
            p
            for _, p in sorted(ctx.positions.items())
            if p.quantity > 0 and isinstance(p.instrument, OptionContract)
        ]
        # Forget ladders of positions that are gone (closed or expired).
        live = {p.symbol for p in held}
        self._levels_hit = {s: v for s, v in self._levels_hit.items() if s in live}
        self._levels_pending = {s: v for s, v in self._levels_pending.items() if s in live}
        out: list[TradeProposal] = []
        pending = {pr.underlying for pr in ctx.pending}
        for pos in held:
            if pos.instrument.underlying in pending:
                continue
            prop = await self._manage(ctx, pos)
            if prop is not None:
                out.append(prop)
        out.extend(await self._entries(ctx, held))
        return out

    async def _history(self, ctx: StrategyContext, symbol: str) -> list[Bar]:
        p = self.params
        return await fresh_daily_bars(ctx, symbol, p.history_bars, min_count=p.min_history_bars)

    async def _entries(self, ctx: StrategyContext, held: list[Position]) -> list[TradeProposal]:
        p = self.params
        equity = ctx.equity
        busy = {pos.instrument.underlying for pos in ctx.positions.values() if pos.quantity}
        busy |= {pr.underlying for pr in ctx.pending}
        opening = sum(1 for pr in ctx.pending if pr.intent is ProposalIntent.OPEN)
        slots = p.max_positions - len(held) - opening
        if slots <= 0:
            return []
        basis = sum(float(pos.avg_price) * pos.quantity * pos.multiplier for pos in held)
        alloc_room = p.total_allocation * equity - basis
        if alloc_room <= 0:
            self.skips.record(
                "*", f"LEAPS cost basis ${basis:,.0f} >= total allocation "
                f"{p.total_allocation:.0%} of ${equity:,.0f}",
            )  # fmt: skip
            return []
        ranked: list[tuple[float, str, LeapsScores, float]] = []
        for sym in sorted(self.universe()):
            if sym in busy:
                continue
            try:
                hist = await self._history(ctx, sym)
                scores = score_history(hist, ctx.today, p.cross_lookback_bars)
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
                continue
            except InsufficientData as exc:
                self.skips.record(sym, str(exc))
                continue
            self.last_scores[sym] = scores
            why = self.entry_gate(scores)
            if why:
                self.skips.record(sym, why)
                continue
            ranked.append((-scores.composite, sym, scores, hist[-1].close))
        ranked.sort(key=lambda r: (r[0], r[1]))
        # One pricing pass for the first chain read (see _entry) of the names the loop below
        # is likely to reach: it stops after `slots` proposals, and a couple more cover names
        # it skips. Any other read is priced on its own, as without the prefetch.
        reads: list[ChainRead] = []
        for _, sym, _, _ in ranked[: max(slots, 0) + 2]:
            band = await self._band_read(ctx, sym)
            if band is None:
                band = first_chain_read(
                    ctx, sym, p.min_dte, p.max_dte, right=OptionRight.CALL,
                    first_span_days=FIRST_SPANS,
                )  # fmt: skip
            reads.append(band)
        await prefetch_chains(ctx.market, reads)
        out: list[TradeProposal] = []
        for _, sym, scores, _close in ranked:
            if len(out) >= slots or alloc_room <= 0:
                break
            try:
                prop = await self._entry(ctx, sym, scores, alloc_room)
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
                continue
            if prop is not None:
                out.append(prop)
                alloc_room -= float(prop.max_loss or 0)
        return out

    async def _band_read(self, ctx: StrategyContext, sym: str) -> ChainRead | None:
        """The entry's narrow read, when the feed lists expiries without pricing them
        (`listed_expiries`): the earliest listed call expiry in the DTE window, strikes within
        BAND_READ of the target (spot x (1 + otm)). None when the feed cannot say or the quote or
        the listing is unavailable (then the entry reads the window, as always)."""
        p = self.params
        listed_of = getattr(ctx.market, "listed_expiries", None)
        if listed_of is None:
            return None
        try:
            listed = sorted(listed_of(sym))
            spot = (await ctx.market.latest_quote(sym)).last
        except (DataUnavailable, BadMarketData, LookupError, ValueError):
            return None
        first = next((e for e in listed if p.min_dte <= (e - ctx.today).days <= p.max_dte), None)
        if first is None or not spot > 0:
            return None
        target = spot * (1.0 + p.otm_pct)
        return ChainRead(sym, first, first, OptionRight.CALL, strike_band(target))

    async def _band_chain(self, ctx: StrategyContext, sym: str) -> OptionChain | None:
        """The chain `_entry` reads, cut to `_band_read`: what it decides from the full
        window's chain is the earliest call expiry (the band's only one, by the listing) and
        the strike nearest the target, which is this chain's when a listed strike on each side
        of the target is inside the band (the nearest is one of those two; ties go to the
        lower, as there). The same instant's quotes, priced a dozen strikes instead of the
        whole ladder. None when that does not hold or the read fails: `_entry` then reads
        the window as always, with its own errors."""
        read = await self._band_read(ctx, sym)
        if read is None or read.strikes is None:
            return None
        try:
            chain = await fresh_chain(
                ctx, sym, read.min_expiry, read.max_expiry, right=OptionRight.CALL,
                strikes=read.strikes, allow_empty=True,
            )  # fmt: skip
        except SkipSymbol:
            return None
        target = chain.spot * (1.0 + self.params.otm_pct)
        return chain if brackets(chain, read.min_expiry, OptionRight.CALL, target) else None

    def entry_gate(self, s: LeapsScores) -> str:
        """Empty when the three gates pass, else the first failure (for skip reasons)."""
        p = self.params
        if s.composite < p.min_composite:
            return f"composite {s.composite:.1f} < {p.min_composite:.0f}"
        if s.entry_timing < p.min_entry_timing:
            return f"entry timing {s.entry_timing:.1f} < {p.min_entry_timing:.0f}"
        if s.exit_timing > p.max_exit_timing:
            return f"exit timing {s.exit_timing:.1f} > {p.max_exit_timing:.0f}"
        return ""

    async def _entry(
        self, ctx: StrategyContext, sym: str, s: LeapsScores, alloc_room: float
    ) -> TradeProposal | None:
        p = self.params
        today = ctx.today
        chain = await self._band_chain(ctx, sym)
        if chain is None:
            # Only the earliest call expiry in the window is used: read the window's start
            # first (35 days holds a monthly wherever monthlies are listed; 120 a quarterly).
            chain = await fresh_chain_first(
                ctx, sym, p.min_dte, p.max_dte, right=OptionRight.CALL,
                first_span_days=FIRST_SPANS,
            )  # fmt: skip
        exps = expiries_in_window(chain, today, p.min_dte, p.max_dte, OptionRight.CALL)
        if not exps:
            raise SkipSymbol(sym, f"no call expiry with {p.min_dte}-{p.max_dte} DTE")
        expiry = exps[0]
        target = chain.spot * (1.0 + p.otm_pct)
        q = strike_nearest(chain, expiry, OptionRight.CALL, target)
        if q is None:
            raise SkipSymbol(sym, f"no call strikes for {expiry}")
        if q.bid <= 0:
            raise SkipSymbol(sym, f"{q.contract.describe()} has no bid")
        premium = q.mid
        budget = min(ctx.budget(p.size_pct), alloc_room)
        n = contracts_for_budget(budget, premium, q.contract.multiplier, cap=p.max_contracts)
        if n <= 0:
            raise SkipSymbol(
                sym, f"budget ${budget:,.0f} buys no contract at ${premium * 100:,.0f}"
            )
        limit = round_to_tick(premium)
        strike = float(q.contract.strike)
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, Side.BUY)],
            quantity=n,
            reason=(
                f"{sym} LEAPS: composite {s.composite:.1f} (trend {s.trend:.0f}, momentum "
                f"{s.momentum:.1f}, financial {s.financial:.1f}, valuation {s.valuation:.0f}, "
                f"entry timing {s.entry_timing:.1f}, exit timing {s.exit_timing:.1f}); "
                f"{s.cross_text()}; buy {n} × {q.contract.describe()} "
                f"({q.contract.dte(today)} DTE, strike ≈ {1 + p.otm_pct:.2f} × spot "
                f"{chain.spot:,.2f}) @ {limit}"
            ),
            limit_price=limit,
            max_loss=limit * n * q.contract.multiplier,
            breakevens=(strike + float(limit),),
            confidence=min(1.0, s.composite / 100.0),
            meta={"composite": round(s.composite, 2), "entry_timing": round(s.entry_timing, 2)},
        )

    # -- exits -----------------------------------------------------------------------------

    async def _mark(self, ctx: StrategyContext, pos: Position) -> tuple[float | None, str]:
        """(mark, source). Quote mid when fresh; else the model value (American for single
        names) with σ 30% on the last close."""
        assert isinstance(pos.instrument, OptionContract)
        try:
            return (await fresh_option_quote(ctx, pos.instrument)).mid, "quote"
        except SkipSymbol as exc:
            self.skips.record(pos.symbol, exc.reason)
        try:
            bars = await fresh_daily_bars(ctx, pos.instrument.underlying, 1)
        except SkipSymbol:
            return None, "none"
        c = pos.instrument
        t = years_to_expiry(c.expiry, ctx.now)
        value = model_value(
            bars[-1].close, float(c.strike), t, self.params.fallback_sigma, c.is_call,
            self.params.rate, american=not c.is_european,
        )  # fmt: skip
        return max(value, self.params.min_model_premium), "model"

    async def _manage(self, ctx: StrategyContext, pos: Position) -> TradeProposal | None:
        p = self.params
        c = pos.instrument
        assert isinstance(c, OptionContract)
        entry = float(pos.avg_price)
        dte = c.dte(ctx.today)
        mark, source = await self._mark(ctx, pos)
        marks = {pos.symbol: mark if mark is not None else entry}

        def close(reason: str, why: ExitReason) -> TradeProposal:
            return close_proposal(self, ctx, [pos], marks, reason=reason, exit_reason=why)

        if dte <= p.time_exit_dte:
            return close(
                f"{c.describe()}: {dte} DTE <= {p.time_exit_dte}: time exit", ExitReason.TIME
            )
        death = await self._fresh_death_cross(ctx, pos)
        if death:
            return close(death, ExitReason.SIGNAL)
        if mark is None or source != "quote":
            # Price rules need a real price; a model value is only good enough for exits
            # that would happen anyway.
            return None
        gain = mark / entry - 1.0 if entry > 0 else 0.0
        if p.stop_loss < 1.0 and mark <= entry * (1.0 - p.stop_loss):
            return close(
                f"{c.describe()}: mark {mark:.2f} vs entry {entry:.2f} ({gain:+.0%}) hit the "
                f"{p.stop_loss:.0%} stop",
                ExitReason.STOP,
            )
        hit = self._levels_hit.get(pos.symbol, [])
        new_levels = [lv for lv in p.profit_levels if gain * 100.0 >= lv and lv not in hit]
        if not new_levels:
            return None
        qty = pos.quantity
        sell = 0
        for _ in new_levels:
            sell += max(1, int((qty - sell) * p.scale_out_fraction))
            if sell >= qty:
                sell = qty
                break
        # Counted as hit once the sale fills (`on_fill`): a denied or expired scale-out is
        # proposed again on the next scan instead of being silently skipped.
        self._levels_pending[pos.symbol] = new_levels
        levels = ", ".join(f"+{lv:.0f}%" for lv in new_levels)
        why = ExitReason.TAKE_PROFIT if sell >= qty else ExitReason.SCALE_OUT
        return close_proposal(
            self, ctx, [pos], marks,
            reason=(
                f"{c.describe()}: mark {mark:.2f} vs entry {entry:.2f} = {gain:+.0%} reached "
                f"profit level {levels}: sell {sell} of {qty} "
                f"({p.scale_out_fraction:.0%} per level)"
            ),
            exit_reason=why,
            quantity=sell,
        )  # fmt: skip

    async def _fresh_death_cross(self, ctx: StrategyContext, pos: Position) -> str:
        p = self.params
        assert isinstance(pos.instrument, OptionContract)
        sym = pos.instrument.underlying
        try:
            hist = await self._history(ctx, sym)
            closes = np.fromiter((b.close for b in hist), dtype=np.float64, count=len(hist))
            cross = ma_cross(closes, 50, 200, p.cross_lookback_bars)
        except (SkipSymbol, InsufficientData) as exc:
            self.skips.record(sym, getattr(exc, "reason", str(exc)))
            return ""
        if cross is None or cross.kind is not CrossKind.DEATH:
            return ""
        cross_day = hist[cross.index].session_date
        age = (ctx.today - cross_day).days
        if age > p.death_cross_exit_days:
            return ""
        opened = pos.opened_at.astimezone(ctx.now.tzinfo).date() if pos.opened_at else None
        if opened is not None and cross_day <= opened:
            return ""  # the cross was already there when we bought: not a new signal
        return (
            f"{pos.instrument.describe()}: {sym} death cross (SMA50 below SMA200) {age} d ago "
            f"on {cross_day}, after entry: full exit"
        )

    # -- fills and state -------------------------------------------------------------------

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        if fill.side is Side.SELL and fill.symbol in self._levels_pending:
            levels = self._levels_pending.pop(fill.symbol)
            hit = self._levels_hit.setdefault(fill.symbol, [])
            hit.extend(lv for lv in levels if lv not in hit)
        return ()

    def state(self) -> dict[str, Any]:
        return {
            "levels_hit": {s: list(v) for s, v in sorted(self._levels_hit.items()) if v},
            "levels_pending": {s: list(v) for s, v in sorted(self._levels_pending.items()) if v},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        def levels(key: str) -> dict[str, list[float]]:
            raw = dict(state.get(key, {}))
            return {str(s): [float(x) for x in v] for s, v in raw.items()}

        self._levels_hit = levels("levels_hit")
        self._levels_pending = levels("levels_pending")


__all__ = [
    "THEMES",
    "LeapsParams",
    "LeapsScores",
    "LeapsTracker",
    "composite_score",
    "financial_score",
    "momentum_score",
    "score_history",
    "timing_scores",
    "trend_score",
    "valuation_score",
]
