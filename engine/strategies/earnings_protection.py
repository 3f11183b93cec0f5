"""Earnings Protection (spec §2): positions around earnings that avoid or exploit the IV crush."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from engine.data.chain_reads import ChainRead, prefetch_chains
from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    Position,
    Side,
    TradeProposal,
)
from engine.strategies.base import (
    MEME_CORE_EX_ETF,
    NEW_YORK,
    Strategy,
    StrategyContext,
    StrategyParams,
    contracts_for_budget,
)
from engine.strategies.chain_select import (
    first_expiry_on_or_after,
    last_expiry_on_or_before,
    nearest_delta,
    quote_vol,
    round_to_tick,
    strike_nearest,
)
from engine.strategies.closing import close_proposal, unrealized
from engine.strategies.indicators import InsufficientData, realized_vol
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_daily_bars,
    fresh_option_quote,
    fresh_quote,
    require_fresh_bar,
)
from engine.strategies.vol_rank import iv_percentile, rolling_realized_vol

Structure = Literal[
    "deep_itm", "calendar", "protective_hedge", "long_straddle", "strangle", "reverse_iron_condor"
]
VOL_STRUCTURES: tuple[Structure, ...] = ("long_straddle", "strangle", "reverse_iron_condor")

# Liquid large caps that report every quarter; the calendar decides which are in play.
EARNINGS_WATCHLIST: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "CRM", "ADBE", "ORCL",
    "AMD", "QCOM", "UBER", "SNOW", "AVGO", "COST", "INTC", "PLTR", "COIN",
)  # fmt: skip

HISTORY_BARS = 252 + 21
IV_HIST_DAYS = 60
SIZE_FRACTION: Mapping[str, float] = {
    "deep_itm": 1.0,
    "calendar": 0.5,
    "protective_hedge": 1.0 / 3.0,
    "long_straddle": 1.0 / 3.0,
    "strangle": 1.0 / 3.0,
    "reverse_iron_condor": 1.0 / 3.0,
}
IV_SENSITIVITY: Mapping[str, float] = {"calendar": 0.2, "protective_hedge": 0.6}


class EarningsParams(StrategyParams):
    """Earnings Protection thresholds. Field defaults are the engine (Eng) values of spec §2."""

    watchlist: tuple[str, ...] = EARNINGS_WATCHLIST
    lookahead_days: int = Field(14, ge=1, le=90, description="earnings calendar horizon")
    min_days_to_earnings: int = Field(1, ge=0, le=90)
    max_days_to_earnings: int = Field(7, ge=0, le=90)
    min_implied_move: float = Field(0.04, ge=0.0, le=1.0)
    min_iv_percentile: float = Field(70.0, ge=0.0, le=100.0)
    size_pct: float = Field(0.15, gt=0.0, le=1.0)
    profit_target: float = Field(0.25, gt=0.0, le=10.0)
    structures: tuple[Structure, ...] = ("deep_itm", "calendar", "protective_hedge")
    deep_itm_strike_ratio: float = Field(0.85, gt=0.0, lt=1.0)
    hedge_otm: float = Field(0.05, gt=0.0, le=0.5)
    strangle_delta_min: float = Field(0.25, gt=0.0, lt=0.5)
    strangle_delta_max: float = Field(0.30, gt=0.0, lt=0.5)
    wing_delta: float = Field(0.10, gt=0.0, lt=0.5)
    max_iv_sensitivity: float = Field(0.5, ge=0.0, le=1.0)
    fallback_move: float = Field(0.06, gt=0.0, le=1.0)
    fallback_iv: float = Field(0.30, gt=0.0, le=5.0)
    fallback_iv_hist: float = Field(0.25, gt=0.0, le=5.0)
    rate: float = Field(0.04, ge=-0.05, le=0.25)
    max_data_age_minutes: float = Field(15.0, gt=0.0, le=1440.0)

    @model_validator(mode="after")
    def _ranges(self) -> EarningsParams:
        if self.min_days_to_earnings > self.max_days_to_earnings:
            raise ValueError(
                f"min_days_to_earnings={self.min_days_to_earnings} must be <= "
                f"max_days_to_earnings={self.max_days_to_earnings}"
            )
        if self.strangle_delta_min > self.strangle_delta_max:
            raise ValueError(
                f"strangle_delta_min={self.strangle_delta_min} must be <= strangle_delta_max"
            )
        if not self.structures:
            raise ValueError("structures must list at least one structure")
        return self


def choose_structure(iv_pct: float, move: float, allowed: Sequence[str]) -> str | None:
    """Spec §2 structure choice (first match) among the structures the profile lists; then the
    first listed long-volatility structure ([PROPOSED]: only when the profile lists it)."""
    if iv_pct > 80 and move > 0.08 and "deep_itm" in allowed:
        return "deep_itm"
    if iv_pct > 60 and move > 0.05 and "calendar" in allowed:
        return "calendar"
    if iv_pct > 70 and "protective_hedge" in allowed:
        return "protective_hedge"
    for s in allowed:
        if s in VOL_STRUCTURES:
            return s
    return None


def crush_risk(iv: float, iv_hist: float) -> str:
    ratio = iv / iv_hist
    return "extreme" if ratio > 2 else "high" if ratio > 1.5 else "medium" if ratio > 1.2 else "low"


@dataclass(frozen=True, slots=True)
class EarningsMeasures:
    spot: float
    event: date
    days_to: int
    expiry: date | None  # first expiry on/after the event
    implied_move: float
    iv: float
    iv_hist: float
    iv_pct: float

    @property
    def crush(self) -> str:
        return crush_risk(self.iv, self.iv_hist)


@dataclass(frozen=True, slots=True)
class Build:
    legs: tuple[tuple[OptionQuote, Side], ...]
    debit: float  # net per unit, positive
    max_profit: float | None  # per unit
    breakevens: tuple[float, ...]
    iv_sensitivity: float


def _event_starts(today: date, event: date) -> list[date]:
    """Where _event_chain's reads start, in order: a week before the event, then today."""
    starts = [today]
    if event - timedelta(days=7) > today:
        starts.insert(0, event - timedelta(days=7))
    return starts


class EarningsProtection(Strategy):
    """Trade the earnings event without being run over by the IV crush (spec §2).

    Gates: earnings in [min, max] days; implied move (ATM straddle mid / spot at the first
    expiry on/after earnings; 6% fallback) >= min; IV percentile >= min. Structure (first
    match among the profile's list): IV pct > 80 and move > 8% -> deep ITM call (strike ≈
    0.85 × spot); IV pct > 60 and move > 5% -> ATM call calendar (sell the last expiry <=
    earnings, buy the first after); IV pct > 70 -> protective hedge (5% OTM call + 5% OTM
    put). IV sensitivity (deep ITM: time value / premium; calendar 0.2; hedge 0.6) must be
    <= 0.5 for the deep ITM call. Budget = ctx.budget(size) × 1 / ½ / ⅓. Exits: days to
    earnings <= 0 (announcement day or after) -> close all legs; gain >= profit target -> close.

    [PROPOSED] choices taken: sizing divides by the net debit × 100; straddles, strangles and
    reverse iron condors are built only when the profile lists them (R24, W25), as the first
    listed long-volatility structure after the three protection rules, at ⅓ size; strangle
    legs at |Δ| 0.25-0.30, condor wings sold at |Δ| 0.10 (the spec names no wing rule).
    Interpretations: IV percentile = share of the last 252 daily 20-day realised vols below
    the ATM implied vol (no IV history is stored); the 0.5 sensitivity cap is applied to the
    deep ITM call only, because the spec's constant 0.6 for the hedge would otherwise forbid
    the hedge its own scenario 3 requires; W25's momentum and sentiment weights have no data
    source and are not applied. The scanned universe is a watchlist filtered by the earnings
    calendar (W25: meme_core-ETF).
    """

    name: ClassVar[str] = "earnings_protection"
    title: ClassVar[str] = "Earnings"
    params_model: ClassVar[type[StrategyParams]] = EarningsParams
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "min_days_to_earnings": 7,
            "max_days_to_earnings": 30,
            "lookahead_days": 30,
            "profit_target": 0.50,
            "structures": ("long_straddle", "reverse_iron_condor"),
        },
        "wsb_2025": {
            "watchlist": MEME_CORE_EX_ETF,
            "min_days_to_earnings": 0,
            "max_days_to_earnings": 10,
            "min_implied_move": 0.025,
            "min_iv_percentile": 40.0,
            "structures": ("long_straddle", "strangle", "calendar", "protective_hedge"),
        },
    }

    params: EarningsParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._events: dict[str, str] = {}  # underlying -> ISO earnings date of the trade

    @property
    def last_skip_reason(self) -> str | None:
        return self.skips.last

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    def state(self) -> dict[str, Any]:
        return {"events": dict(sorted(self._events.items()))}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._events = {str(k): str(v) for k, v in dict(state.get("events", {})).items()}

    @property
    def _max_age(self) -> timedelta:
        return timedelta(minutes=self.params.max_data_age_minutes)

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.skips.reset()
        out: list[TradeProposal] = []
        groups: dict[str, list[Position]] = {}
        for pos in ctx.positions.values():
            if isinstance(pos.instrument, OptionContract) and pos.quantity != 0:
                groups.setdefault(pos.instrument.underlying, []).append(pos)
        pending = {p.underlying for p in ctx.pending}
        self._events = {k: v for k, v in self._events.items() if k in set(groups) | pending}
        for und in sorted(groups):
            if und in pending:
                continue
            try:
                exit_p = await self._exit(ctx, und, groups[und])
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
                continue
            if exit_p is not None:
                out.append(exit_p)
        if not ctx.market_open:
            return out
        p = self.params
        try:
            events = await ctx.market.earnings_calendar(
                ctx.today, ctx.today + timedelta(days=p.lookahead_days)
            )
        except (DataUnavailable, BadMarketData) as exc:
            self.skips.record("*", f"no earnings calendar ({exc})")
            return out
        upcoming: dict[str, date] = {}
        for ev in sorted(events, key=lambda e: e.date):
            if ev.date >= ctx.today:
                upcoming.setdefault(ev.symbol, ev.date)
        todo = [
            (sym, upcoming[sym])
            for sym in sorted(self.universe())
            if sym not in groups and sym not in pending and sym in upcoming
        ]
        # One pricing pass for the first chain each entry in the window reads (_event_chain).
        reads = [
            ChainRead(sym, _event_starts(ctx.today, event)[0], event + timedelta(days=7))
            for sym, event in todo
            if p.min_days_to_earnings <= (event - ctx.today).days <= p.max_days_to_earnings
        ]
        await prefetch_chains(ctx.market, reads)
        for sym, event in todo:
            try:
                out.append(await self._entry(ctx, bars, sym, event))
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
        return out

    # -- measures --------------------------------------------------------------------------

    async def measure(
        self, ctx: StrategyContext, sym: str, event: date
    ) -> tuple[EarningsMeasures, OptionChain]:
        """Implied move, ATM IV, 60-day realised vol and IV percentile for `sym`'s event."""
        p = self.params
        daily = await fresh_daily_bars(ctx, sym, HISTORY_BARS, min_count=IV_HIST_DAYS + 1)
        closes = [b.close for b in daily]
        try:
            iv_hist = min(1.0, max(0.10, realized_vol(closes, IV_HIST_DAYS)))
        except InsufficientData:
            iv_hist = p.fallback_iv_hist
        try:
            history = rolling_realized_vol(closes, 20)[-252:]
        except InsufficientData as exc:
            raise SkipSymbol(sym, f"IV percentile: {exc}") from None
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        chain = await self._event_chain(ctx, sym, event)
        expiry = first_expiry_on_or_after(chain, event)
        move, iv = p.fallback_move, p.fallback_iv
        if expiry is not None:
            call = strike_nearest(chain, expiry, OptionRight.CALL, spot)
            put = strike_nearest(chain, expiry, OptionRight.PUT, spot)
            if call is not None and put is not None and call.bid > 0 and put.bid > 0:
                move = (call.mid + put.mid) / spot
                iv = 0.5 * (
                    quote_vol(call, spot, ctx.now, rate=p.rate, fallback_sigma=p.fallback_iv)
                    + quote_vol(put, spot, ctx.now, rate=p.rate, fallback_sigma=p.fallback_iv)
                )
        pct = iv_percentile(iv, history)
        m = EarningsMeasures(spot, event, (event - ctx.today).days, expiry, move, iv, iv_hist, pct)
        return m, chain

    async def _event_chain(self, ctx: StrategyContext, sym: str, event: date) -> OptionChain:
        """The chain the entry reads: expiries from today to `event` + 45 days.

        Only three expiries are ever used: the last call expiry on or before the event (a
        calendar's front month), the first on or after it, and the first after it (the back
        month). So a week either side of the event is read first and kept when it lists a
        call expiry on/before the event and an expiry after it (those three are then inside
        it); then today to a week after the event, kept when it lists an expiry after the
        event. Either yields the same expiries and quotes as the full chain at a fraction of
        the pricing. Otherwise (or if those reads fail) the full chain is read, with its own
        errors.
        """
        today = ctx.today
        after = event + timedelta(days=7)
        for start in _event_starts(today, event):
            try:
                near = await fresh_chain(ctx, sym, start, after, self._max_age, allow_empty=True)
            except SkipSymbol:
                continue
            exps = near.expiries
            if not any(e > event for e in exps):
                continue
            if start == today or last_expiry_on_or_before(near, event, OptionRight.CALL):
                return near
        return await fresh_chain(ctx, sym, today, event + timedelta(days=45), self._max_age)

    # -- entry -----------------------------------------------------------------------------

    async def _entry(
        self, ctx: StrategyContext, bars: Mapping[str, Bar], sym: str, event: date
    ) -> TradeProposal:
        p = self.params
        days = (event - ctx.today).days
        if not (p.min_days_to_earnings <= days <= p.max_days_to_earnings):
            raise SkipSymbol(
                sym,
                f"earnings in {days} d outside {p.min_days_to_earnings}-{p.max_days_to_earnings} d",
            )
        require_fresh_bar(ctx, bars, sym, self._max_age)
        m, chain = await self.measure(ctx, sym, event)
        if m.implied_move < p.min_implied_move:
            raise SkipSymbol(sym, f"implied move {m.implied_move:.1%} < {p.min_implied_move:.1%}")
        if m.iv_pct < p.min_iv_percentile:
            raise SkipSymbol(sym, f"IV percentile {m.iv_pct:.0f} < {p.min_iv_percentile:.0f}")
        structure = choose_structure(m.iv_pct, m.implied_move, p.structures)
        if structure is None:
            raise SkipSymbol(
                sym,
                f"no structure for IV pct {m.iv_pct:.0f}, move {m.implied_move:.1%} in {p.structures}",
            )
        build = self._build(ctx, sym, structure, m, chain)
        if structure == "deep_itm" and build.iv_sensitivity > p.max_iv_sensitivity:
            raise SkipSymbol(
                sym,
                f"deep ITM IV sensitivity {build.iv_sensitivity:.2f} > {p.max_iv_sensitivity:.2f}",
            )
        limit = round_to_tick(build.debit, None if len(build.legs) == 1 else Decimal("0.01"))
        if limit <= 0:
            raise SkipSymbol(sym, f"{structure} net debit {build.debit:.2f} is not a debit")
        frac = SIZE_FRACTION[structure]
        budget = ctx.budget(p.size_pct * frac)
        mult = build.legs[0][0].contract.multiplier
        qty = contracts_for_budget(budget, float(limit), mult)
        if qty == 0:
            raise SkipSymbol(sym, f"budget ${budget:,.0f} < one {structure} at {limit}")
        size_txt = {1.0: "full", 0.5: "half"}.get(frac, "one-third")
        legs_txt = " / ".join(f"{side.value} {q.contract.describe()}" for q, side in build.legs)
        reason = (
            f"{sym} earnings {event} in {days} d; implied move {m.implied_move:.1%}, IV {m.iv:.0%} "
            f"(pct {m.iv_pct:.0f}, 60d RV {m.iv_hist:.0%}, crush risk {m.crush}); "
            f"{structure.replace('_', ' ')} at {size_txt} size: {legs_txt}; {qty} @{limit}"
        )
        self._events[sym] = event.isoformat()
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, side) for q, side in build.legs],
            quantity=qty,
            reason=reason,
            limit_price=limit,
            max_loss=limit * mult * qty,
            max_profit=None
            if build.max_profit is None
            else Decimal(str(round(build.max_profit, 2))) * mult * qty,
            breakevens=build.breakevens,
            confidence=min(1.0, m.iv_pct / 100.0 * m.implied_move / 0.10),
            meta={
                "structure": structure,
                "implied_move": m.implied_move,
                "iv_percentile": m.iv_pct,
                "iv": m.iv,
                "iv_hist": m.iv_hist,
                "iv_sensitivity": build.iv_sensitivity,
                "earnings": event.isoformat(),
            },
        )

    def _build(
        self,
        ctx: StrategyContext,
        sym: str,
        structure: str,
        m: EarningsMeasures,
        chain: OptionChain,
    ) -> Build:
        p = self.params
        spot = m.spot
        exp = m.expiry
        if exp is None:
            raise SkipSymbol(sym, f"no expiry on/after earnings {m.event}")

        def liquid(q: OptionQuote | None, what: str) -> OptionQuote:
            if q is None or q.bid <= 0:
                raise SkipSymbol(sym, f"{structure}: no bid for the {what}")
            return q

        if structure == "deep_itm":
            q = liquid(
                strike_nearest(chain, exp, OptionRight.CALL, p.deep_itm_strike_ratio * spot),
                "deep ITM call",
            )
            k = float(q.contract.strike)
            time_value = max(0.0, q.mid - max(0.0, spot - k))
            return Build(((q, Side.BUY),), q.mid, None, (k + q.mid,), time_value / q.mid)
        if structure == "calendar":
            front = last_expiry_on_or_before(chain, m.event, OptionRight.CALL)
            back = next((e for e in chain.expiries if e > m.event), None)
            if front is None or back is None or front < ctx.today:
                raise SkipSymbol(sym, f"calendar needs expiries around {m.event}")
            fq = liquid(strike_nearest(chain, front, OptionRight.CALL, spot), f"front {front} call")
            bq = chain.find(OptionContract(sym, back, fq.contract.strike, OptionRight.CALL))
            bq = liquid(bq, f"back {back} call")
            return Build(
                ((bq, Side.BUY), (fq, Side.SELL)),
                bq.mid - fq.mid,
                None,
                (),
                IV_SENSITIVITY["calendar"],
            )
        if structure == "protective_hedge":
            c = liquid(
                strike_nearest(chain, exp, OptionRight.CALL, spot * (1 + p.hedge_otm)), "OTM call"
            )
            pt = liquid(
                strike_nearest(chain, exp, OptionRight.PUT, spot * (1 - p.hedge_otm)), "OTM put"
            )
            debit = c.mid + pt.mid
            bes = (float(pt.contract.strike) - debit, float(c.contract.strike) + debit)
            return Build(
                ((c, Side.BUY), (pt, Side.BUY)),
                debit,
                None,
                bes,
                IV_SENSITIVITY["protective_hedge"],
            )
        if structure == "long_straddle":
            c = liquid(strike_nearest(chain, exp, OptionRight.CALL, spot), "ATM call")
            pt = liquid(
                chain.find(OptionContract(sym, exp, c.contract.strike, OptionRight.PUT)), "ATM put"
            )
            debit = c.mid + pt.mid
            k = float(c.contract.strike)
            return Build(((c, Side.BUY), (pt, Side.BUY)), debit, None, (k - debit, k + debit), 1.0)
        # strangle and reverse iron condor share the long legs at |delta| 0.25-0.30
        target = 0.5 * (p.strangle_delta_min + p.strangle_delta_max)
        band = (p.strangle_delta_min, p.strangle_delta_max)
        c = liquid(
            nearest_delta(
                chain, exp, OptionRight.CALL, target, ctx.now, delta_range=band, rate=p.rate
            ),
            "strangle call",
        )
        pt = liquid(
            nearest_delta(
                chain, exp, OptionRight.PUT, target, ctx.now, delta_range=band, rate=p.rate
            ),
            "strangle put",
        )
        debit = c.mid + pt.mid
        kc, kp = float(c.contract.strike), float(pt.contract.strike)
        if structure == "strangle":
            return Build(
                ((c, Side.BUY), (pt, Side.BUY)), debit, None, (kp - debit, kc + debit), 1.0
            )
        wc = liquid(
            nearest_delta(chain, exp, OptionRight.CALL, p.wing_delta, ctx.now, rate=p.rate),
            "call wing",
        )
        wp = liquid(
            nearest_delta(chain, exp, OptionRight.PUT, p.wing_delta, ctx.now, rate=p.rate),
            "put wing",
        )
        if not (float(wc.contract.strike) > kc and float(wp.contract.strike) < kp):
            raise SkipSymbol(sym, "reverse iron condor wings are not outside the strangle")
        net = debit - wc.mid - wp.mid
        width = max(float(wc.contract.strike) - kc, kp - float(wp.contract.strike))
        legs = ((c, Side.BUY), (pt, Side.BUY), (wc, Side.SELL), (wp, Side.SELL))
        return Build(legs, net, width - net, (kp - net, kc + net), 1.0)

    # -- exits -----------------------------------------------------------------------------

    async def _event_of(self, ctx: StrategyContext, und: str, legs: Sequence[Position]) -> date:
        known = self._events.get(und)
        if known is not None:
            return date.fromisoformat(known)
        opened = min((p.opened_at for p in legs if p.opened_at is not None), default=None)
        start = (
            opened.astimezone(NEW_YORK).date()
            if opened is not None
            else ctx.today - timedelta(days=30)
        )
        try:
            events = await ctx.market.earnings_calendar(
                start, ctx.today + timedelta(days=self.params.lookahead_days)
            )
        except (DataUnavailable, BadMarketData) as exc:
            raise SkipSymbol(
                und, f"cannot find the earnings date of the open trade ({exc})"
            ) from None
        dates = sorted(e.date for e in events if e.symbol == und)
        if not dates:
            raise SkipSymbol(und, "no earnings date known for the open trade")
        self._events[und] = dates[0].isoformat()
        return dates[0]

    async def _exit(
        self, ctx: StrategyContext, und: str, legs: list[Position]
    ) -> TradeProposal | None:
        p = self.params
        event = await self._event_of(ctx, und, legs)
        marks: dict[str, float] = {}
        bids: dict[str, float] = {}
        for pos in legs:
            assert isinstance(pos.instrument, OptionContract)
            q = await fresh_option_quote(ctx, pos.instrument, self._max_age)
            marks[pos.symbol], bids[pos.symbol] = q.mid, q.bid
        close = partial(close_proposal, self, ctx, legs, marks, bids=bids)
        pnl, cost = unrealized(legs, marks)
        gain = pnl / cost if cost > 0 else 0.0
        days = (event - ctx.today).days
        if days <= 0:
            when = "today" if days == 0 else f"{-days} d ago"
            return close(exit_reason=ExitReason.EVENT,
                reason=f"{und} earnings {event} ({when}): close before/after the announcement, "
                f"P&L {pnl:+,.0f} ({gain:+.0%})")  # fmt: skip
        if gain >= p.profit_target - 1e-9:
            return close(exit_reason=ExitReason.TAKE_PROFIT,
                reason=f"{und} gain {gain:+.0%} >= {p.profit_target:.0%} (P&L {pnl:+,.0f}) "
                f"{days} d before earnings")  # fmt: skip
        return None
