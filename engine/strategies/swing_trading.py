"""Swing Trading (spec §8): intraday breakout / momentum / reversal calls, fast profit-taking."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any, ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field, model_validator

from engine.data.calendar import MarketCalendar
from engine.domain import (
    Bar,
    BarInterval,
    ExitReason,
    Fill,
    OptionContract,
    OptionRight,
    OrderLeg,
    Position,
    ProposalIntent,
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
    nearest_expiry,
    round_to_tick,
    strike_nearest,
    this_friday,
)
from engine.strategies.closing import close_proposal
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain_near,
    fresh_intraday_bars,
    fresh_option_quote,
    fresh_quote,
)

ENG_UNIVERSE: tuple[str, ...] = (
    "SPY", "QQQ", "IWM", "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "AMD", "NFLX",
    "CRM", "ADBE", "PYPL", "SQ", "ROKU", "ZM", "PLTR", "COIN", "XLF", "XLE", "XLK", "XBI", "ARKK",
    "TQQQ", "SOXL", "SPXL",
)  # fmt: skip
R24_UNIVERSE: tuple[str, ...] = (
    "TSLA", "NVDA", "AMD", "PLTR", "GME", "AMC", "MSTR", "COIN", "SPY", "QQQ", "AAPL", "MSFT",
    "GOOGL", "META", "NFLX", "ARKK", "TQQQ", "SOXL", "SPXL", "XLK",
)  # fmt: skip


class SignalKind(StrEnum):
    BREAKOUT = "breakout"
    MOMENTUM = "momentum"
    REVERSAL = "reversal"


class SwingParams(StrategyParams):
    """Entry gates, the profit ladder and exits. Percent values are gain/loss percents."""

    watchlist: tuple[str, ...] = Field(ENG_UNIVERSE, min_length=1)
    max_positions: int = Field(5, ge=1, le=50)
    size_pct: float = Field(0.02, gt=0.0, le=1.0)
    max_contracts: int = Field(3, ge=1, le=100)
    max_expiry_days: int = Field(21, ge=1, le=90)
    min_strength: float = Field(60.0, ge=0.0, le=100.0)
    min_volume_multiple: float = Field(2.0, gt=0.0, le=100.0)  # breakout volume confirmation
    min_breakout: float = Field(0.002, ge=0.0, le=0.5)  # last > R × (1 + this)
    min_breakout_momentum: float = Field(0.005, ge=0.0, le=0.5)  # 5-bar return must exceed
    momentum_min_pct: float = Field(1.0, gt=0.0, le=50.0)  # 100(SMA5/SMA20 - 1) must exceed
    momentum_min_volume_ratio: float = Field(1.3, gt=0.0, le=100.0)
    reversal_min_bounce: float = Field(0.015, gt=0.0, le=0.5)
    reversal_min_volume_spike: float = Field(2.0, gt=0.0, le=100.0)
    reversal_max_up_moves: int = Field(3, ge=0, le=9)  # of the last 9 moves
    min_premium: float = Field(0.25, ge=0.0)
    otm_breakout: float = Field(0.02, ge=0.0, le=0.5)
    otm_momentum: float = Field(0.015, ge=0.0, le=0.5)
    otm_reversal: float = Field(0.025, ge=0.0, le=0.5)
    hold_hours_breakout: float = Field(6.0, gt=0.0, le=200.0)
    hold_hours_momentum: float = Field(4.0, gt=0.0, le=200.0)
    hold_hours_reversal: float = Field(8.0, gt=0.0, le=200.0)
    profit_targets: tuple[float, float, float] = (25.0, 50.0, 100.0)
    scale_out_t1: float = Field(0.25, gt=0.0, le=1.0)
    scale_out_t2: float = Field(0.50, gt=0.0, le=1.0)
    stop_loss: float = Field(0.30, gt=0.0, le=1.0)  # close when premium <= (1 - stop) × entry
    max_hold_hours: float = Field(8.0, gt=0.0, le=200.0)  # ceiling on every signal's hold
    eod_exit_hour: int = Field(15, ge=9, le=16)  # momentum trades close at/after (ET)
    next_day_exit_above: float = Field(-15.0, ge=-100.0, le=100.0)  # P&L % on the next session
    no_entry_after: time = time(15, 0)
    # After an entry proposal on an underlying, wait before proposing on it again, so a denied
    # or expired proposal is not re-sent on every scan.
    reentry_cooldown_minutes: int = Field(15, ge=0, le=1440)

    @model_validator(mode="after")
    def _check(self) -> SwingParams:
        t1, t2, t3 = self.profit_targets
        if not 0 < t1 < t2 < t3:
            raise ValueError(f"profit_targets {self.profit_targets} must be 0 < T1 < T2 < T3")
        return self


# -- detectors (pure) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Detection:
    """A detector's verdict: `fired` with a 0-100 `strength`, or why not."""

    kind: SignalKind
    fired: bool
    strength: float
    detail: str


def _arr(bars: Sequence[Bar], field: str) -> np.ndarray:
    get = attrgetter(field)
    return np.array([get(b) for b in bars], dtype=np.float64)


def detect_breakout(bars: Sequence[Bar], p: SwingParams) -> Detection:
    """15-min bars, 5 sessions, >= 50 bars. Pivots are bars 20..n-6 whose close is the max of
    the ±3 bars around it and >= 0.98 × the highest earlier close; R = max of the last three
    pivots. Fires when last > R(1 + min breakout), volume multiple (mean of the last 5 / mean of
    all but the last 10) >= the minimum and the 5-bar return > 0.5%. Strength = min(100,
    100·breakout + 10·volume multiple + 50·5-bar return) (spec formula, already 0-100)."""
    kind = SignalKind.BREAKOUT
    closes, vols = _arr(bars, "close"), _arr(bars, "volume")
    n = closes.size
    if n < 50:
        return Detection(kind, False, 0.0, f"{n} 15-min bars < 50")
    # Bar i (20 <= i < n-5) is a pivot when its close is the max of closes[i-3 : i+4] and
    # >= 0.98 x max(closes[:i]); maxima are exact, so the vectorised test is the same test.
    idx = np.arange(20, n - 5)
    window_max = sliding_window_view(closes, 7).max(axis=1)[idx - 3]
    earlier_max = np.maximum.accumulate(closes)[idx - 1]
    at = idx[(closes[idx] == window_max) & (closes[idx] >= 0.98 * earlier_max)]
    pivots = closes[at].tolist()
    if not pivots:
        return Detection(kind, False, 0.0, "no resistance pivot")
    resistance = max(pivots[-3:])
    last = float(closes[-1])
    base = float(vols[:-10].mean())
    vol_mult = float(vols[-5:].mean()) / base if base > 0 else 0.0
    breakout = last / resistance - 1.0
    ret5 = last / float(closes[-5]) - 1.0
    strength = min(100.0, 100.0 * breakout + 10.0 * vol_mult + 50.0 * ret5)
    detail = (
        f"breakout {breakout:+.2%} over resistance {resistance:,.2f} on {vol_mult:.1f}x volume, "
        f"5-bar {ret5:+.2%}"
    )
    if breakout <= p.min_breakout:
        return Detection(kind, False, strength, f"{detail}: breakout <= {p.min_breakout:.2%}")
    if vol_mult < p.min_volume_multiple:
        return Detection(kind, False, strength, f"{detail}: volume < {p.min_volume_multiple:.1f}x")
    if ret5 <= p.min_breakout_momentum:
        return Detection(
            kind, False, strength, f"{detail}: 5-bar return <= {p.min_breakout_momentum:.1%}"
        )
    return Detection(kind, True, strength, detail)


def detect_momentum(bars: Sequence[Bar], p: SwingParams) -> Detection:
    """5-min bars, 2 sessions, >= 30 bars: SMA5 > SMA10 > SMA20 of closes, raw strength
    100(SMA5/SMA20 - 1) > 1 and volume of the last 10 / the 20 before > 1.3.
    [PROPOSED] strength normalised to 0-100 as min(100, 50 × raw / raw minimum): a signal just
    at the detector's own minimum scores 50, twice the minimum scores 100."""
    kind = SignalKind.MOMENTUM
    closes, vols = _arr(bars, "close"), _arr(bars, "volume")
    if closes.size < 30:
        return Detection(kind, False, 0.0, f"{closes.size} 5-min bars < 30")
    s5, s10, s20 = (float(closes[-k:].mean()) for k in (5, 10, 20))
    raw = 100.0 * (s5 / s20 - 1.0)
    earlier = float(vols[-30:-10].mean())
    vol_ratio = float(vols[-10:].mean()) / earlier if earlier > 0 else 1.0
    strength = min(100.0, 50.0 * max(raw, 0.0) / p.momentum_min_pct)
    detail = f"SMA5/SMA20 {raw:+.2f}% on {vol_ratio:.1f}x volume"
    if not s5 > s10 > s20:
        return Detection(kind, False, 0.0, "SMA5 > SMA10 > SMA20 does not hold")
    if raw <= p.momentum_min_pct:
        return Detection(kind, False, strength, f"{detail}: <= {p.momentum_min_pct:.1f}%")
    if vol_ratio <= p.momentum_min_volume_ratio:
        return Detection(
            kind, False, strength, f"{detail}: volume <= {p.momentum_min_volume_ratio:.1f}x"
        )
    return Detection(kind, True, strength, detail)


def detect_reversal(bars: Sequence[Bar], p: SwingParams) -> Detection:
    """15-min bars, 3 sessions, >= 40 bars: bounce from the 20-bar low > 1.5%, volume of the
    last 3 / all but the last 10 > 2, and <= 3 up moves among the last 9.
    [PROPOSED] strength normalised as min(100, 50 × bounce / minimum bounce)."""
    kind = SignalKind.REVERSAL
    closes, lows, vols = _arr(bars, "close"), _arr(bars, "low"), _arr(bars, "volume")
    if closes.size < 40:
        return Detection(kind, False, 0.0, f"{closes.size} 15-min bars < 40")
    low = float(lows[-20:].min())
    bounce = float(closes[-1]) / low - 1.0
    base = float(vols[:-10].mean())
    spike = float(vols[-3:].mean()) / base if base > 0 else 1.0
    ups = int(np.sum(np.diff(closes[-10:]) > 0))
    strength = min(100.0, 50.0 * max(bounce, 0.0) / p.reversal_min_bounce)
    detail = f"bounce {bounce:+.2%} from 20-bar low {low:,.2f} on {spike:.1f}x volume, {ups}/9 up"
    if bounce <= p.reversal_min_bounce:
        return Detection(kind, False, strength, f"{detail}: <= {p.reversal_min_bounce:.1%}")
    if spike <= p.reversal_min_volume_spike:
        return Detection(
            kind, False, strength, f"{detail}: volume <= {p.reversal_min_volume_spike:.1f}x"
        )
    if ups > p.reversal_max_up_moves:
        return Detection(kind, False, strength, f"{detail}: not oversold (> 3 up moves)")
    return Detection(kind, True, strength, detail)


def market_hours_between(cal: MarketCalendar, start: datetime, end: datetime) -> float:
    """Hours of regular trading between two instants (nights and weekends do not count)."""
    if end <= start:
        return 0.0
    total = 0.0
    for d in cal.sessions(start.date() - timedelta(days=1), end.date()):
        lo = max(start, cal.session_open(d))
        hi = min(end, cal.session_close(d))
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total / 3600.0


# -- the strategy ------------------------------------------------------------------------------


class SwingTrading(Strategy):
    """Buy short-dated calls on intraday breakouts, momentum runs and oversold bounces; take
    profits fast and never let a swing linger.

    Entry (every 60 s, no new entries at/after 15:00 ET): the strongest detector that fires with
    strength >= min_strength; call strike nearest spot × (1 + OTM) (breakout 2%, momentum 1.5%,
    reversal 2.5%) in the listed expiry nearest next Friday, at least 1 day out and <=
    max_expiry_days; premium = mid >= min_premium. Size: 2% rule via `ctx.budget`, cap 3.

    Exits (first hit): premium >= T3 -> close; >= T2 (not yet taken) -> sell 50%; >= T1 (not
    yet taken) -> sell 25% (each at least 1 contract); premium <= (1 - stop) × entry -> close;
    held >= the signal's max hold -> close; momentum trades at/after the EOD hour -> close; on a
    later session, momentum/breakout trades with P&L > -15% -> close.

    [PROPOSED]/interpretation choices:
    - Detector strengths are normalised to 0-100 (momentum: 50 × raw/1%; reversal: 50 ×
      bounce/1.5%); the breakout formula is kept as specified.
    - The profile's targets and stop are wired (upstream hard-codes 25/50/100 and 30%).
    - The upstream "external validator" does not exist here: its size multiplier is taken as
      1.0 (omitted). The 0.5/0.3 fallbacks would halve every trade without any information;
      the independent check in this product is the pre-trade risk manager.
    - Hold time counts regular-market hours only, so "opened yesterday" (scenario 3) reaches
      the next-day rule instead of tripping a 6-hour wall-clock limit overnight. Each signal's
      hold (6/4/8 h) is capped by the profile's max_hold_hours.
    - A held position whose signal is unknown (e.g. after a restart without state) is treated
      as a breakout.
    """

    name: ClassVar[str] = "swing_trading"
    title: ClassVar[str] = "Swing"
    params_model: ClassVar[type[StrategyParams]] = SwingParams
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "watchlist": R24_UNIVERSE,
            "max_positions": 8,
            "max_expiry_days": 35,
            "min_strength": 45.0,
            "min_volume_multiple": 1.5,
            "min_breakout": 0.001,
            "min_premium": 0.15,
            "profit_targets": (30.0, 60.0, 150.0),
            "stop_loss": 0.50,
            "max_hold_hours": 24.0,
            "eod_exit_hour": 16,
        },
        "wsb_2025": {
            "watchlist": MEME_CORE,
            "max_positions": 10,
            "max_expiry_days": 35,
            "min_strength": 42.0,
            "min_volume_multiple": 1.4,
            "min_breakout": 0.0008,
            "min_premium": 0.15,
            "profit_targets": (30.0, 60.0, 150.0),
            "stop_loss": 0.50,
            "max_hold_hours": 36.0,
            "eod_exit_hour": 16,
        },
    }
    scan_interval: ClassVar[timedelta] = timedelta(seconds=60)
    intraday: ClassVar[bool] = True
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)

    params: SwingParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._last_entry: dict[str, datetime] = {}  # underlying -> last entry proposal
        self._signals: dict[str, str] = {}  # contract symbol -> signal kind at entry
        self._targets_hit: dict[str, int] = {}  # contract symbol -> 0/1/2 scale-outs done
        self._target_pending: dict[str, int] = {}
        self._detections: dict[tuple[str, BarInterval, str], tuple[list[Bar], Detection]] = {}

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    def _cooling(self, ctx: StrategyContext, sym: str) -> bool:
        last = self._last_entry.get(sym)
        wait = timedelta(minutes=self.params.reentry_cooldown_minutes)
        if last is not None and ctx.now - last < wait:
            self.skips.record(sym, f"entry proposed at {last:%H:%M} UTC, cooling down {wait}")
            return True
        return False

    def _hold_hours(self, kind: SignalKind) -> float:
        p = self.params
        own = {
            SignalKind.BREAKOUT: p.hold_hours_breakout,
            SignalKind.MOMENTUM: p.hold_hours_momentum,
            SignalKind.REVERSAL: p.hold_hours_reversal,
        }[kind]
        return min(own, p.max_hold_hours)

    def _otm(self, kind: SignalKind) -> float:
        p = self.params
        return {
            SignalKind.BREAKOUT: p.otm_breakout,
            SignalKind.MOMENTUM: p.otm_momentum,
            SignalKind.REVERSAL: p.otm_reversal,
        }[kind]

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
        pending_syms = {leg.symbol for pr in ctx.pending for leg in pr.legs}
        live = {p.symbol for p in held} | pending_syms
        self._signals = {s: k for s, k in self._signals.items() if s in live}
        self._targets_hit = {s: k for s, k in self._targets_hit.items() if s in live}
        self._target_pending = {s: k for s, k in self._target_pending.items() if s in live}
        out: list[TradeProposal] = []
        pending_under = {pr.underlying for pr in ctx.pending}
        for pos in held:
            if pos.instrument.underlying in pending_under:
                continue
            prop = await self._manage(ctx, pos)
            if prop is not None:
                out.append(prop)
        out.extend(await self._entries(ctx, held))
        return out

    async def _entries(self, ctx: StrategyContext, held: list[Position]) -> list[TradeProposal]:
        p = self.params
        if ctx.et_time >= p.no_entry_after:
            self.skips.record("*", f"no new entries at/after {p.no_entry_after:%H:%M} ET")
            return []
        opening = sum(1 for pr in ctx.pending if pr.intent is ProposalIntent.OPEN)
        slots = p.max_positions - len(held) - opening
        if slots <= 0:
            self.skips.record("*", f"{p.max_positions} positions held or pending")
            return []
        busy = {pos.instrument.underlying for pos in held} | {pr.underlying for pr in ctx.pending}
        found: list[tuple[float, str, Detection]] = []
        for sym in sorted(self.universe()):
            if sym in busy or self._cooling(ctx, sym):
                continue
            best = await self._detect(ctx, sym)
            if best is not None:
                found.append((-best.strength, sym, best))
        found.sort(key=lambda f: (f[0], f[1]))
        out: list[TradeProposal] = []
        for _, sym, det in found:
            if len(out) >= slots:
                break
            try:
                out.append(await self._entry(ctx, sym, det))
                self._last_entry[sym] = ctx.now
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
        return out

    async def _detect(self, ctx: StrategyContext, sym: str) -> Detection | None:
        p = self.params
        cal = ctx.calendar
        sessions = cal.sessions_ending(ctx.today, 5)
        if not sessions:
            return None

        def since(n: int) -> datetime:
            return cal.session_open(sessions[-min(n, len(sessions))])

        reasons: list[str] = []
        fired: list[Detection] = []
        reads = (
            (BarInterval.FIFTEEN_MINUTES, 5, 50, detect_breakout),
            (BarInterval.FIVE_MINUTES, 2, 30, detect_momentum),
            (BarInterval.FIFTEEN_MINUTES, 3, 40, detect_reversal),
        )
        for interval, n_sessions, need, detector in reads:
            try:
                got = await fresh_intraday_bars(
                    ctx, sym, interval, since(n_sessions), min_count=need,
                    max_age=2 * interval.duration,
                )  # fmt: skip
            except SkipSymbol as exc:
                reasons.append(exc.reason)
                continue
            det = self._detected(sym, interval, detector, got)
            if not det.fired:
                reasons.append(f"{det.kind}: {det.detail}")
            elif det.strength < p.min_strength:
                reasons.append(
                    f"{det.kind}: strength {det.strength:.0f} < {p.min_strength:.0f} ({det.detail})"
                )
            else:
                fired.append(det)
        if not fired:
            self.skips.record(sym, "; ".join(reasons) or "no signal")
            return None
        return max(fired, key=lambda d: d.strength)

    def _detected(
        self,
        sym: str,
        interval: BarInterval,
        detector: Callable[[Sequence[Bar], SwingParams], Detection],
        bars: list[Bar],
    ) -> Detection:
        """`detector(bars)`, reused while the bars are unchanged.

        Scans run every minute but 5/15-minute bars change only when a bucket completes;
        detectors are pure functions of the bars and the (fixed) parameters.
        """
        key = (sym, interval, detector.__name__)
        hit = self._detections.get(key)
        if hit is not None and hit[0] == bars:
            return hit[1]
        det = detector(bars, self.params)
        self._detections[key] = (bars, det)
        return det

    async def _entry(self, ctx: StrategyContext, sym: str, det: Detection) -> TradeProposal:
        p = self.params
        today = ctx.today
        spot = (await fresh_quote(ctx, sym)).mid
        friday = this_friday(today)
        if (friday - today).days < 1:
            friday += timedelta(days=7)
        # Only the call expiry nearest the target is used: read around it first.
        chain = await fresh_chain_near(
            ctx, sym, 1, p.max_expiry_days, (friday - today).days, right=OptionRight.CALL
        )
        expiry = nearest_expiry(
            chain, today, (friday - today).days, min_dte=1, max_dte=p.max_expiry_days,
            right=OptionRight.CALL,
        )  # fmt: skip
        if expiry is None:
            raise SkipSymbol(sym, f"no call expiry 1-{p.max_expiry_days} DTE")
        otm = self._otm(det.kind)
        target = round(spot * (1.0 + otm), 1)
        q = strike_nearest(chain, expiry, OptionRight.CALL, target)
        if q is None:
            raise SkipSymbol(sym, f"no call strikes for {expiry}")
        if q.bid <= 0:
            raise SkipSymbol(sym, f"{q.contract.describe()} has no bid")
        premium = q.mid
        if premium < p.min_premium:
            raise SkipSymbol(
                sym, f"premium {premium:.2f} < minimum {p.min_premium:.2f} ({det.kind})"
            )
        budget = ctx.budget(p.size_pct)
        n = contracts_for_budget(budget, premium, q.contract.multiplier, cap=p.max_contracts)
        if n <= 0:
            raise SkipSymbol(sym, f"budget ${budget:,.0f} buys no contract at {premium:.2f}")
        limit = round_to_tick(premium)
        t1, t2, t3 = p.profit_targets
        entry = float(limit)
        self._signals[q.contract.symbol] = det.kind.value
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, Side.BUY)],
            quantity=n,
            reason=(
                f"{sym} {det.kind} swing: {det.detail}, strength {det.strength:.0f} >= "
                f"{p.min_strength:.0f}; buy {n} × {q.contract.describe()} ({otm:.1%} OTM of "
                f"{spot:,.2f}) @ {limit}; targets {entry * (1 + t1 / 100):.2f}/"
                f"{entry * (1 + t2 / 100):.2f}/{entry * (1 + t3 / 100):.2f}, stop "
                f"{entry * (1 - p.stop_loss):.2f}, max hold {self._hold_hours(det.kind):g} h"
            ),
            limit_price=limit,
            max_loss=limit * n * q.contract.multiplier,
            breakevens=(float(q.contract.strike) + entry,),
            confidence=min(1.0, det.strength / 100.0),
            meta={"signal": det.kind.value, "strength": round(det.strength, 2)},
        )

    # -- exits -----------------------------------------------------------------------------

    async def _manage(self, ctx: StrategyContext, pos: Position) -> TradeProposal | None:
        p = self.params
        c = pos.instrument
        assert isinstance(c, OptionContract)
        kind = SignalKind(self._signals.get(pos.symbol, SignalKind.BREAKOUT.value))
        try:
            mark = (await fresh_option_quote(ctx, c)).mid
        except SkipSymbol as exc:
            # Every exit rule here needs the premium (P&L) or a price to close at.
            self.skips.record(pos.symbol, exc.reason)
            return None
        entry = float(pos.avg_price)
        gain = (mark / entry - 1.0) * 100.0 if entry > 0 else 0.0
        qty = pos.quantity
        marks = {pos.symbol: mark}
        t1, t2, t3 = p.profit_targets
        hit = self._targets_hit.get(pos.symbol, 0)
        head = f"{c.describe()} {kind}: premium {mark:.2f} vs entry {entry:.2f} ({gain:+.0f}%)"

        def close(reason: str, why: ExitReason, quantity: int | None = None) -> TradeProposal:
            return close_proposal(
                self, ctx, [pos], marks, reason=f"{head}: {reason}", exit_reason=why,
                quantity=quantity,
            )  # fmt: skip

        if gain >= t3:
            return close(f"+{t3:g}% target: close", ExitReason.TAKE_PROFIT)
        for level, pct, frac in ((2, t2, p.scale_out_t2), (1, t1, p.scale_out_t1)):
            if gain >= pct and hit < level:
                sell = min(qty, max(1, int(qty * frac)))
                self._target_pending[pos.symbol] = level
                why = ExitReason.TAKE_PROFIT if sell >= qty else ExitReason.SCALE_OUT
                return close(f"+{pct:g}% target: sell {sell} of {qty} ({frac:.0%})", why, sell)
        if mark <= entry * (1.0 - p.stop_loss):
            return close(
                f"stop at {entry * (1.0 - p.stop_loss):.2f} ({p.stop_loss:.0%} loss)",
                ExitReason.STOP,
            )
        opened = pos.opened_at
        if opened is not None:
            held_h = market_hours_between(ctx.calendar, opened, ctx.now)
            limit_h = self._hold_hours(kind)
            if held_h >= limit_h:
                return close(
                    f"held {held_h:.1f} market hours >= {limit_h:g} h max hold", ExitReason.TIME
                )
        if kind is SignalKind.MOMENTUM and ctx.et_time.hour >= p.eod_exit_hour:
            return close(
                f"momentum trade at {ctx.et_time:%H:%M} ET, at/after {p.eod_exit_hour}:00: "
                "end-of-day exit",
                ExitReason.END_OF_DAY,
            )
        if (
            opened is not None
            and kind in (SignalKind.MOMENTUM, SignalKind.BREAKOUT)
            and opened.astimezone(NEW_YORK).date() < ctx.today
            and gain > p.next_day_exit_above
        ):
            return close(
                f"opened {opened.astimezone(NEW_YORK):%Y-%m-%d}, next session with P&L "
                f"{gain:+.0f}% > {p.next_day_exit_above:g}%: next-day exit",
                ExitReason.NEXT_DAY,
            )
        return None

    # -- fills and state -------------------------------------------------------------------

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        if fill.side is Side.SELL and fill.symbol in self._target_pending:
            level = self._target_pending.pop(fill.symbol)
            self._targets_hit[fill.symbol] = max(level, self._targets_hit.get(fill.symbol, 0))
        return ()

    def state(self) -> dict[str, Any]:
        return {
            "signals": dict(sorted(self._signals.items())),
            "targets_hit": dict(sorted(self._targets_hit.items())),
            "target_pending": dict(sorted(self._target_pending.items())),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        self._signals = {str(k): str(v) for k, v in dict(state.get("signals", {})).items()}
        self._targets_hit = {str(k): int(v) for k, v in dict(state.get("targets_hit", {})).items()}
        self._target_pending = {
            str(k): int(v) for k, v in dict(state.get("target_pending", {})).items()
        }
