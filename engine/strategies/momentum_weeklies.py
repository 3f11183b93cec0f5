"""Momentum Weeklies (spec §5): intraday volume-spike calls on weekly expiries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from operator import attrgetter
from typing import Any, ClassVar

from pydantic import Field, model_validator

from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    BarInterval,
    ExitReason,
    OptionChain,
    OptionContract,
    OptionRight,
    OrderLeg,
    Position,
    Side,
    TradeProposal,
)
from engine.strategies.base import (
    MEME_CORE,
    NEW_YORK,
    Strategy,
    StrategyContext,
    StrategyParams,
    contracts_for_budget,
)
from engine.strategies.chain_select import (
    brackets,
    expiries,
    round_strike,
    round_to_tick,
    strike_band,
    strike_nearest,
    this_friday,
)
from engine.strategies.closing import close_proposal
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_intraday_bars,
    fresh_option_quote,
    fresh_quote,
    require_fresh_bar,
)

ENG_UNIVERSE: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "CRM", "ADBE", "ORCL", "INTC",
    "AMD", "QCOM", "TXN", "AVGO", "PYPL", "DIS", "V", "MA", "JPM", "BAC", "WMT", "HD",
)  # fmt: skip

SPIKE_DAYS = 5
REVERSAL_BARS = 24
BREAKOUT_MIN_BARS = 50
ZERO_DTE_CUTOFF = time(15, 30)  # a same-day option is never held into the last half hour


class MomentumParams(StrategyParams):
    """Momentum Weeklies thresholds. Field defaults are the engine (Eng) values of spec §5."""

    watchlist: tuple[str, ...] = ENG_UNIVERSE
    max_positions: int = Field(3, ge=1, le=100)
    size_pct: float = Field(0.05, gt=0.0, le=1.0)
    max_contracts: int = Field(10, ge=1, le=1000)
    min_volume_spike: float = Field(3.0, ge=1.0, le=100.0)
    min_momentum: float = Field(0.015, ge=0.0, le=1.0)
    min_dte: int = Field(0, ge=0, le=60)
    max_dte: int = Field(4, ge=0, le=60)
    zero_dte_first: bool = False
    otm_min: float = Field(0.02, ge=0.0, le=0.5)
    otm_max: float = Field(0.05, ge=0.0, le=0.5)
    min_premium: float = Field(0.50, ge=0.0, le=100.0)
    profit_target: float = Field(0.25, gt=0.0, le=10.0, description="exit at gain >= this")
    stop_loss: float = Field(0.50, gt=0.0, le=1.0, description="exit at loss >= this")
    time_exit_hours: float = Field(4.0, gt=0.0, le=24.0 * 7)
    underlying_stop: float = Field(0.015, ge=0.0, le=0.5, description="below the entry spot")
    reversal_low_window: float = Field(0.6, gt=0.0, le=1.0, description="low in the first x")
    breakout_margin: float = Field(0.005, ge=0.0, le=0.2)
    breakout_volume_ratio: float = Field(1.5, ge=0.0, le=100.0)
    rate: float = Field(0.05, ge=-0.05, le=0.25)
    max_data_age_minutes: float = Field(15.0, gt=0.0, le=1440.0)

    @model_validator(mode="after")
    def _ranges(self) -> MomentumParams:
        if self.otm_min > self.otm_max:
            raise ValueError(f"otm_min={self.otm_min} must be <= otm_max={self.otm_max}")
        if self.min_dte > self.max_dte:
            raise ValueError(f"min_dte={self.min_dte} must be <= max_dte={self.max_dte}")
        return self


@dataclass(frozen=True, slots=True)
class MomentumSignal:
    kind: str  # "breakout" | "reversal"
    spike: float
    momentum: float
    level: float  # resistance (breakout) or window low (reversal)
    confidence: float


def _week_target(today: date) -> date:
    """The Friday whose weekly the strategy buys: this week's, or next week's when this
    Friday is at most a day away."""
    target = this_friday(today)
    if (target - today).days <= 1:
        target += timedelta(days=7)
    return target


_VOLUME = attrgetter("volume")


def volume_spike(bars: Sequence[Bar]) -> float:
    """Last 5-minute bar volume / mean volume of the earliest 70% of the bars."""
    n = int(len(bars) * 0.7)
    if n < 1:
        return 0.0
    base = sum(map(_VOLUME, bars[:n])) / n  # the same left-to-right sum, without a generator
    return bars[-1].volume / base if base > 0 else 0.0


def reversal(closes: Sequence[float], low_window: float = 0.6) -> tuple[float, float] | None:
    """(bounce, low) when the last 24 closes bounced off a low set in their first 60% and the
    last close is above the mean of the last 12; None otherwise."""
    if len(closes) < REVERSAL_BARS:
        return None
    w = list(closes[-REVERSAL_BARS:])
    low = min(w)
    if w.index(low) >= low_window * REVERSAL_BARS:
        return None
    last = w[-1]
    if last <= sum(w[-12:]) / 12.0:
        return None
    return (last - low) / low, low


def breakout(
    bars: Sequence[Bar], margin: float = 0.005, vol_ratio: float = 1.5
) -> tuple[float, float] | None:
    """(momentum, resistance) when the last 15-minute close clears the max close of bars
    -100..-6 by `margin` on volume > `vol_ratio` × the -50..-6 average; None otherwise."""
    if len(bars) < BREAKOUT_MIN_BARS:
        return None
    closes = [b.close for b in bars]
    vols = [b.volume for b in bars]
    resistance = max(closes[-100:-5])
    last = closes[-1]
    if last <= resistance * (1.0 + margin):
        return None
    base = vols[-50:-5]
    if sum(vols[-5:]) / 5.0 <= vol_ratio * (sum(base) / len(base)):
        return None
    return (last - resistance) / resistance, resistance


def otm_for(momentum: float) -> float:
    """Spec §5: 2% OTM above 4% momentum, 3% above 2.5%, else 5%."""
    return 0.02 if momentum > 0.04 else 0.03 if momentum > 0.025 else 0.05


class MomentumWeeklies(Strategy):
    """Buy a weekly call on an intraday volume spike with a bounce or breakout (spec §5).

    Signal: spike (last 5-min volume / mean of the earliest 70% of 5 days of 5-min bars) >=
    min, AND a reversal (24 bars: low in the first 60%, last above the 1-h mean; momentum =
    bounce) or a breakout (15-min, >= 50 bars: last > 1.005 × max close of bars -100..-6 on
    1.5× volume; momentum = distance over resistance); then momentum >= min. Contract: call,
    OTM 2/3/5% by momentum (clamped to the profile range), strike to $0.10 then the nearest
    listed; expiry this Friday, or next Friday when this one is <= 1 day away, inside the DTE
    range (W25: a 0-DTE expiry first). Sizing: 5% rule, cap 10. Exits: gain >= target; loss
    >= stop; underlying 1.5% below the entry spot; held >= time exit; expiry <= tomorrow.

    [PROPOSED]/interpretations: R24's stop "2.0" is read as -50% for long calls; breakout and
    reversal use closes; the expiry exit applies to positions opened on an earlier session
    (an entry is never closed by it the same day) and a 0-DTE option is closed at/after
    15:30 ET; the underlying stop uses the spot recorded at proposal time (persisted).
    """

    name: ClassVar[str] = "momentum_weeklies"
    title: ClassVar[str] = "Momentum"
    params_model: ClassVar[type[StrategyParams]] = MomentumParams
    scan_interval: ClassVar[timedelta] = timedelta(seconds=60)
    intraday: ClassVar[bool] = True
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "watchlist": ("SPY", "QQQ", "IWM"),
            "max_positions": 3,
            "min_volume_spike": 1.5,
            "min_momentum": 0.015,
            "max_dte": 2,
            "min_premium": 1.00,
            "profit_target": 0.50,
            "stop_loss": 0.50,
            "time_exit_hours": 2.0,
        },
        "wsb_2025": {
            "watchlist": MEME_CORE,
            "max_positions": 8,
            "min_volume_spike": 1.8,
            "min_momentum": 0.008,
            "max_dte": 5,
            "zero_dte_first": True,
            "otm_min": 0.01,
            "otm_max": 0.08,
            "min_premium": 0.20,
            "profit_target": 0.15,
            "stop_loss": 0.80,
            "time_exit_hours": 6.0,
        },
    }

    params: MomentumParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._entry_spot: dict[str, float] = {}

    @property
    def last_skip_reason(self) -> str | None:
        return self.skips.last

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    def state(self) -> dict[str, Any]:
        return {"entry_spot": dict(sorted(self._entry_spot.items()))}

    def restore(self, state: Mapping[str, Any]) -> None:
        raw = state.get("entry_spot", {})
        self._entry_spot = {str(k): float(v) for k, v in dict(raw).items()}

    @property
    def _max_age(self) -> timedelta:
        return timedelta(minutes=self.params.max_data_age_minutes)

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.skips.reset()
        out: list[TradeProposal] = []
        held = {p.instrument.underlying for p in ctx.positions.values() if p.quantity != 0}
        pending = {p.underlying for p in ctx.pending}
        # forget entry spots of trades that never filled or are closed
        self._entry_spot = {k: v for k, v in self._entry_spot.items() if k in held | pending}
        for pos in sorted(ctx.positions.values(), key=lambda p: p.symbol):
            try:
                exit_p = await self._exit(ctx, pos)
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
                continue
            if exit_p is not None:
                out.append(exit_p)
        if not ctx.market_open:
            return out
        busy = held | pending
        for sym in sorted(self.universe()):
            if sym in busy:
                continue
            if len(busy) >= self.params.max_positions:
                self.skips.record(sym, f"max positions {self.params.max_positions} reached")
                break
            try:
                prop = await self._entry(ctx, bars, sym)
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
                continue
            out.append(prop)
            busy.add(sym)
        return out

    # -- signal ----------------------------------------------------------------------------

    async def signal(self, ctx: StrategyContext, sym: str) -> MomentumSignal:
        """The spec §5 signal for `sym` at `ctx.now`; raises SkipSymbol when there is none."""
        p = self.params
        sessions = ctx.calendar.sessions_ending(ctx.today, SPIKE_DAYS)
        if not sessions:
            raise SkipSymbol(sym, "no sessions")
        start = ctx.calendar.session_open(sessions[0])
        five = await fresh_intraday_bars(
            ctx,
            sym,
            BarInterval.FIVE_MINUTES,
            start,
            min_count=REVERSAL_BARS,
            max_age=self._max_age,
        )
        spike = volume_spike(five)
        if spike < p.min_volume_spike:
            raise SkipSymbol(
                sym, f"no signal: volume spike {spike:.1f}x < {p.min_volume_spike:.1f}x"
            )
        found: list[MomentumSignal] = []
        try:
            fifteen = list(
                await ctx.market.intraday_bars(sym, BarInterval.FIFTEEN_MINUTES, start, ctx.now)
            )
        except (DataUnavailable, BadMarketData):
            fifteen = []
        bo = breakout(fifteen, p.breakout_margin, p.breakout_volume_ratio) if fifteen else None
        if bo is not None:
            found.append(MomentumSignal("breakout", spike, bo[0], bo[1], 0.8 if spike > 5 else 0.6))
        # reversal reads the last REVERSAL_BARS closes (and whether there are that many)
        rv = reversal([b.close for b in five[-REVERSAL_BARS:]], p.reversal_low_window)
        if rv is not None:
            found.append(MomentumSignal("reversal", spike, rv[0], rv[1], 0.7 if spike > 4 else 0.5))
        if not found:
            raise SkipSymbol(
                sym, f"no signal: volume spike {spike:.1f}x but no reversal or breakout"
            )
        best = max(found, key=lambda s: s.momentum)
        if best.momentum < p.min_momentum:
            raise SkipSymbol(
                sym,
                f"no signal: {best.kind} momentum {best.momentum:+.1%} < {p.min_momentum:.1%} "
                f"(spike {spike:.1f}x)",
            )
        return best

    def pick_expiry(self, chain: OptionChain, today: date) -> date | None:
        """Spec §5 expiry rule inside the profile's DTE range (W25: 0 DTE first)."""
        return self._pick_from(expiries(chain, OptionRight.CALL), today)

    def _pick_from(self, call_expiries: Sequence[date], today: date) -> date | None:
        """`pick_expiry` of a chain whose call expiries are `call_expiries`."""
        p = self.params
        listed = [e for e in call_expiries if e >= today]
        if p.zero_dte_first and today in listed and p.min_dte == 0:
            return today
        target = _week_target(today)
        # a holiday Friday lists its weekly on the Thursday before: take the last on/before
        week = [e for e in listed if target - timedelta(days=4) <= e <= target]
        if not week:
            return None
        exp = week[-1]
        return exp if p.min_dte <= (exp - today).days <= p.max_dte else None

    def _near_span(self, today: date) -> tuple[date, date]:
        """The expiries `_entry_chain` reads first (see there)."""
        p = self.params
        target = _week_target(today)
        first = (
            today if p.zero_dte_first and p.min_dte == 0 else max(today, target - timedelta(days=4))
        )
        return first, target

    async def _band_chain(
        self, ctx: StrategyContext, sym: str, target: float
    ) -> tuple[OptionChain, date] | None:
        """(chain, expiry) the entry decides from, when the feed lists expiries without
        pricing them (`listed_expiries`: the simulator): `pick_expiry` on the expiries
        `_entry_chain`'s chain would hold (its near span when that lists one, else the two
        weeks; every listed expiry there has calls) and only that expiry's call strikes within
        BAND_READ of `target`. Kept when a listed strike on each side of `target` is inside, so the
        nearest strike (ties: the lower) is the full chain's; else None, and the entry reads
        `_entry_chain` as always, with its own errors."""
        listed_of = getattr(ctx.market, "listed_expiries", None)
        if listed_of is None:
            return None
        try:
            listed: Sequence[date] = sorted(listed_of(sym))
        except (DataUnavailable, BadMarketData, LookupError, ValueError):
            return None
        today = ctx.today
        first, last = self._near_span(today)
        span = [e for e in listed if first <= e <= last] or [
            e for e in listed if today <= e <= today + timedelta(days=14)
        ]
        expiry = self._pick_from(span, today)
        if expiry is None:
            return None
        try:
            chain = await fresh_chain(
                ctx, sym, expiry, expiry, self._max_age, allow_empty=True,
                right=OptionRight.CALL, strikes=strike_band(target),
            )  # fmt: skip
        except SkipSymbol:
            return None
        return (chain, expiry) if brackets(chain, expiry, OptionRight.CALL, target) else None

    async def _entry_chain(self, ctx: StrategyContext, sym: str) -> OptionChain:
        """The chain `pick_expiry` and the strike choice read: today to 14 days out.

        They only ever look at expiries from 4 days before the target Friday to it (and at
        today's, when 0DTE goes first), so that span is read first and used when it lists a
        call; it then yields the same expiry and quotes as the full chain, at a fraction of the
        pricing (SPY/QQQ list an expiry every session). Otherwise (or if that read fails)
        the full chain is read, with its own errors.
        """
        today = ctx.today
        first, target = self._near_span(today)
        try:
            near = await fresh_chain(
                ctx, sym, first, target, self._max_age, allow_empty=True, right=OptionRight.CALL
            )
        except SkipSymbol:
            near = None
        if near is not None and near.quotes:
            return near
        return await fresh_chain(
            ctx, sym, today, today + timedelta(days=14), self._max_age, right=OptionRight.CALL
        )

    # -- entry -----------------------------------------------------------------------------

    async def _entry(
        self, ctx: StrategyContext, bars: Mapping[str, Bar], sym: str
    ) -> TradeProposal:
        p = self.params
        require_fresh_bar(ctx, bars, sym, self._max_age)
        sig = await self.signal(ctx, sym)
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        otm = min(p.otm_max, max(p.otm_min, otm_for(sig.momentum)))
        target = round_strike(spot * (1.0 + otm), 0.1)
        narrow = await self._band_chain(ctx, sym, target)
        if narrow is not None:
            chain, expiry = narrow
        else:
            chain = await self._entry_chain(ctx, sym)
            picked = self.pick_expiry(chain, ctx.today)
            if picked is None:
                raise SkipSymbol(sym, f"no weekly expiry within {p.min_dte}-{p.max_dte} DTE")
            expiry = picked
        q = strike_nearest(chain, expiry, OptionRight.CALL, target)
        if q is None or q.bid <= 0:
            raise SkipSymbol(sym, f"no bid for a call near {target:.1f} on {expiry}")
        premium = q.mid
        if premium < p.min_premium:
            raise SkipSymbol(sym, f"premium {premium:.2f} < min {p.min_premium:.2f}")
        limit = round_to_tick(premium)
        budget = ctx.budget(p.size_pct)
        qty = contracts_for_budget(budget, float(limit), q.contract.multiplier, p.max_contracts)
        if qty == 0:
            raise SkipSymbol(sym, f"budget ${budget:,.0f} < one contract at {limit}")
        what = (
            f"breakout {sig.momentum:+.1%} over {sig.level:.2f}"
            if sig.kind == "breakout"
            else f"reversal bounce {sig.momentum:+.1%} off {sig.level:.2f}"
        )
        reason = (
            f"{sym} volume spike {sig.spike:.1f}x, {what}; buying {qty} "
            f"{q.contract.describe()} ({otm:.0%} OTM, {q.contract.dte(ctx.today)} DTE) @{limit}"
        )
        self._entry_spot[sym] = spot
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, Side.BUY)],
            quantity=qty,
            reason=reason,
            limit_price=limit,
            max_loss=limit * qty * q.contract.multiplier,
            breakevens=[float(q.contract.strike) + float(limit)],
            confidence=sig.confidence,
            ttl=timedelta(minutes=5),
            meta={"kind": sig.kind, "spike": sig.spike, "momentum": sig.momentum, "spot": spot},
        )

    # -- exits -----------------------------------------------------------------------------

    async def _exit(self, ctx: StrategyContext, pos: Position) -> TradeProposal | None:
        c = pos.instrument
        if not isinstance(c, OptionContract) or pos.quantity <= 0 or ctx.has_pending(c.underlying):
            return None
        p = self.params
        q = await fresh_option_quote(ctx, c, self._max_age)
        mark = q.mid
        entry = float(pos.avg_price)
        if entry <= 0:
            raise SkipSymbol(c.underlying, f"{c.describe()} has no entry price")
        gain = mark / entry - 1.0
        desc = f"{c.describe()} mark {mark:.2f} vs entry {entry:.2f} ({gain:+.0%})"
        if gain >= p.profit_target - 1e-9:
            return self._close(
                ctx, pos, mark, ExitReason.TAKE_PROFIT, f"{desc}: gain >= {p.profit_target:.0%}"
            )
        if -gain >= p.stop_loss - 1e-9:
            return self._close(
                ctx, pos, mark, ExitReason.STOP, f"{desc}: loss >= {p.stop_loss:.0%}"
            )
        entry_spot = self._entry_spot.get(c.underlying)
        if entry_spot is not None and p.underlying_stop > 0:
            spot = (await fresh_quote(ctx, c.underlying, self._max_age)).last
            if spot <= entry_spot * (1.0 - p.underlying_stop):
                return self._close(ctx, pos, mark, ExitReason.STOP,
                    f"{c.underlying} {spot:.2f} is {spot / entry_spot - 1:+.1%} from entry spot "
                    f"{entry_spot:.2f} (stop -{p.underlying_stop:.1%}); {desc}")  # fmt: skip
        if pos.opened_at is not None:
            held = ctx.now - pos.opened_at
            if held >= timedelta(hours=p.time_exit_hours):
                hours = held.total_seconds() / 3600.0
                return self._close(ctx, pos, mark, ExitReason.TIME,
                    f"{desc}: held {hours:.1f} h >= {p.time_exit_hours:g} h")  # fmt: skip
        dte = c.dte(ctx.today)
        opened_today = (
            pos.opened_at is not None and pos.opened_at.astimezone(NEW_YORK).date() == ctx.today
        )
        if (dte <= 1 and not opened_today) or (dte <= 0 and ctx.et_time >= ZERO_DTE_CUTOFF):
            return self._close(
                ctx, pos, mark, ExitReason.EXPIRY, f"{desc}: expiry {c.expiry} is {dte} day(s) away"
            )
        return None

    def _close(
        self, ctx: StrategyContext, pos: Position, mark: float, why: ExitReason, reason: str
    ) -> TradeProposal:
        return close_proposal(self, ctx, [pos], {pos.symbol: mark}, reason=reason, exit_reason=why)
