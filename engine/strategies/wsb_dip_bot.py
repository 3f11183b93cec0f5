"""WSB Dip Bot (spec §1): buy calls on a hard dip that follows a big run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from engine.domain import (
    Bar,
    BarInterval,
    ExitReason,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    Position,
    Side,
    TradeProposal,
)
from engine.strategies.base import (
    NEW_YORK,
    Strategy,
    StrategyContext,
    StrategyParams,
    contracts_for_budget,
)
from engine.strategies.chain_select import (
    nearest_expiry,
    option_delta,
    round_strike,
    round_to_tick,
    rows,
)
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import InsufficientData, bollinger_position, rsi
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain_near,
    fresh_daily_bars,
    fresh_intraday_bars,
    fresh_option_quote,
    fresh_quote,
    require_fresh_bar,
)

DIP_UNIVERSE: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "META", "NVDA", "AMD", "AVGO", "TSLA",
    "AMZN", "NFLX", "CRM", "COST", "ADBE", "V", "MA", "LIN",
)  # fmt: skip

CONFIRM_BARS = 30  # daily bars the opt-in confirmation score reads


class DipBotParams(StrategyParams):
    """Dip Bot thresholds. Field defaults are the engine (Eng) values of spec §1."""

    watchlist: tuple[str, ...] = DIP_UNIVERSE
    run_lookback_days: int = Field(10, ge=2, le=60, description="L: closes t-L..t-1 form the run")
    run_threshold: float = Field(
        0.10, ge=0.0, le=2.0, description="min run close(t-1)/close(t-L)-1"
    )
    dip_threshold: float = Field(-0.03, ge=-0.5, le=0.0, description="max dip vs prior close")
    target_dte_days: int = Field(30, ge=1, le=365)
    otm_percentage: float = Field(0.05, ge=0.0, le=0.5)
    strike_band_pct: float = Field(
        0.02, ge=0.0, le=0.2, description="strikes within this of target"
    )
    min_option_volume: int = Field(10, ge=0, le=1_000_000, description="option volume must exceed")
    min_bid: float = Field(0.05, ge=0.0, le=100.0, description="option bid must exceed")
    target_multiplier: float = Field(3.0, ge=1.0, le=50.0, description="exit at mark >= m × entry")
    delta_exit: float = Field(0.60, ge=0.05, le=1.0)
    stop_fraction: float = Field(0.5, gt=0.0, lt=1.0, description="exit at mark <= f × entry")
    time_exit_dte: int = Field(7, ge=0, le=365, description="exit at DTE <= this ...")
    time_exit_min_gain: float = Field(0.20, ge=-1.0, le=10.0, description="... with gain below")
    max_hold_sessions: int = Field(2, ge=1, le=60)
    risk_pct: float = Field(0.10, gt=0.0, le=1.0, description="fraction of equity per trade")
    wsb_mode: bool = Field(False, description="opt-in 'all cash' sizing (still capped)")
    max_contracts: int | None = Field(None, ge=1, le=10_000)
    sentiment_weight: float = Field(0.0, ge=0.0, le=1.0)
    intraday_confirm: bool = False
    use_confirmation: bool = False
    confirm_min_run: float = Field(0.20, ge=0.0, le=5.0)
    confirm_min_drop: float = Field(0.05, ge=0.0, le=1.0)
    confirm_min_score: int = Field(4, ge=0, le=6)
    fallback_sigma: float = Field(0.30, gt=0.0, le=5.0)
    rate: float = Field(0.04, ge=-0.05, le=0.25)
    max_data_age_minutes: float = Field(15.0, gt=0.0, le=1440.0)


class WsbDipBot(Strategy):
    """Buy an OTM call when a name that ran hard dips hard (spec §1).

    Entry: run = close(t-1)/close(t-L) - 1 >= run_threshold and dip = last/close(t-1) - 1 <=
    dip_threshold. Contract: call, strike spot×(1+otm) rounded to $1, expiry nearest the
    target DTE; among strikes within 2% of the target with volume > min and bid > $0.05 the
    smallest (ask-bid)/bid wins. Sizing: floor(budget / (premium × 100)) with budget =
    `ctx.budget(risk_pct)`; 0 contracts -> skip. Exits (first hit): mark >= target × entry;
    delta >= delta_exit; mark <= 0.5 × entry; DTE <= 7 with gain < 20%; held >= 2 sessions.

    [PROPOSED] choices taken: the confirmation score is opt-in (`use_confirmation`); sizing is
    the generic rule with size = min(10%, cap) and "all cash" only via `wsb_mode`; 0 contracts
    means skip; target_multiplier is a value multiple. The W25 "intraday confirm" is read as:
    the latest completed 5-minute bar closes at or above its open (the dip has stopped
    falling). Sentiment weights are recorded but unused: no sentiment source exists. The
    production dynamic stop is not implemented (spec's exit list uses the fixed 0.5× stop).
    Delta comes from the quote when it carries one, else Black-Scholes with IV from the mid,
    else σ 30%.
    """

    name: ClassVar[str] = "wsb_dip_bot"
    title: ClassVar[str] = "Dip Bot"
    params_model: ClassVar[type[StrategyParams]] = DipBotParams
    scan_interval: ClassVar[timedelta] = timedelta(seconds=60)
    intraday: ClassVar[bool] = True
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "run_lookback_days": 7,
            "run_threshold": 0.08,
            "dip_threshold": -0.02,
            "target_dte_days": 21,
            "otm_percentage": 0.03,
            "target_multiplier": 2.5,
            "delta_exit": 0.50,
            "sentiment_weight": 0.3,
        },
        "wsb_2025": {
            "run_lookback_days": 5,
            "run_threshold": 0.06,
            "dip_threshold": -0.015,
            "target_dte_days": 14,
            "otm_percentage": 0.02,
            "target_multiplier": 3.0,
            "delta_exit": 0.55,
            "sentiment_weight": 0.40,
            "intraday_confirm": True,
            "min_option_volume": 5000,
        },
    }

    params: DipBotParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)

    @property
    def last_skip_reason(self) -> str | None:
        return self.skips.last

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    @property
    def _max_age(self) -> timedelta:
        return timedelta(minutes=self.params.max_data_age_minutes)

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.skips.reset()
        out: list[TradeProposal] = []
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
        for sym in sorted(self.universe()):
            if ctx.holds(sym) or ctx.has_pending(sym):
                continue
            try:
                out.append(await self._entry(ctx, bars, sym))
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
        return out

    # -- entry -----------------------------------------------------------------------------

    async def _entry(
        self, ctx: StrategyContext, bars: Mapping[str, Bar], sym: str
    ) -> TradeProposal:
        p = self.params
        require_fresh_bar(ctx, bars, sym, self._max_age)
        lookback = p.run_lookback_days
        need = max(lookback, CONFIRM_BARS if p.use_confirmation else 0, 20)
        daily = await fresh_daily_bars(ctx, sym, need, min_count=lookback)
        closes = [b.close for b in daily]
        prior = closes[-1]
        run = prior / closes[-lookback] - 1.0
        if run < p.run_threshold:
            raise SkipSymbol(
                sym, f"no signal: run {run:+.1%} over {lookback}d < {p.run_threshold:+.1%}"
            )
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        dip = spot / prior - 1.0
        if dip > p.dip_threshold:
            raise SkipSymbol(sym, f"no signal: dip {dip:+.1%} > {p.dip_threshold:+.1%}")
        today_bars = await self._today_bars(ctx, sym)
        vol_mult = _volume_multiple(daily, today_bars)
        if p.intraday_confirm:
            last5 = today_bars[-1] if today_bars else None
            if last5 is None or last5.close < last5.open:
                raise SkipSymbol(sym, "no signal: intraday confirm (last 5-min bar still falling)")
        confidence = 0.6
        if p.use_confirmation:
            confidence = self._confirmation(sym, daily, spot, vol_mult)

        # Only the call expiry nearest the target DTE is used: read around it first.
        chain = await fresh_chain_near(
            ctx, sym, 1, 2 * p.target_dte_days + 14, p.target_dte_days,
            right=OptionRight.CALL, max_age=self._max_age,
        )  # fmt: skip
        expiry = nearest_expiry(
            chain, ctx.today, p.target_dte_days, min_dte=1, right=OptionRight.CALL
        )
        if expiry is None:
            raise SkipSymbol(sym, "no call expiry listed")
        target = round_strike(spot * (1.0 + p.otm_percentage))
        band = target * p.strike_band_pct
        cands = [
            q
            for q in rows(chain, expiry, OptionRight.CALL)
            if abs(float(q.contract.strike) - target) <= band
            and q.volume > p.min_option_volume
            and q.bid > p.min_bid
        ]
        if not cands:
            raise SkipSymbol(
                sym, f"no liquid call within {p.strike_band_pct:.0%} of {target:g} on {expiry}"
            )
        pick = min(
            cands,
            # rounded so float noise in equal spreads does not decide the strike
            key=lambda q: (
                round((q.ask - q.bid) / q.bid, 6),
                abs(float(q.contract.strike) - target),
            ),
        )
        limit = round_to_tick(pick.mid)
        budget = ctx.budget(1.0 if p.wsb_mode else p.risk_pct)
        qty = contracts_for_budget(budget, float(limit), pick.contract.multiplier, p.max_contracts)
        if qty == 0:
            raise SkipSymbol(sym, f"budget ${budget:,.0f} < one contract at {limit}")
        vol_txt = f" on {vol_mult:.1f}x volume" if vol_mult is not None else ""
        reason = (
            f"{sym} ran {run:+.1%} in {lookback}d, dipped {dip:+.1%} today{vol_txt}; "
            f"buying {qty} {pick.contract.describe()} @{limit}"
        )
        premium = limit * qty * pick.contract.multiplier
        return self.propose(
            ctx,
            legs=[OrderLeg(pick.contract, Side.BUY)],
            quantity=qty,
            reason=reason,
            limit_price=limit,
            max_loss=premium,
            max_profit=None,
            breakevens=[float(pick.contract.strike) + float(limit)],
            confidence=confidence,
            meta={"run": run, "dip": dip, "spot": spot, "target_strike": target},
        )

    async def _today_bars(self, ctx: StrategyContext, sym: str) -> list[Bar]:
        """Today's completed 5-minute bars (volume and intraday confirmation)."""
        if not ctx.calendar.is_session(ctx.today):
            return []
        start = ctx.calendar.session_open(ctx.today)
        try:
            return await fresh_intraday_bars(
                ctx, sym, BarInterval.FIVE_MINUTES, start, min_count=1, max_age=self._max_age
            )
        except SkipSymbol:
            if self.params.intraday_confirm:
                raise
            return []

    def _confirmation(
        self, sym: str, daily: Sequence[Bar], spot: float, vol_mult: float | None
    ) -> float:
        """Opt-in confirmation score of spec §1 (>= confirm_min_score), returns confidence."""
        p = self.params
        if len(daily) < CONFIRM_BARS:
            raise SkipSymbol(sym, f"confirmation needs {CONFIRM_BARS} daily bars, got {len(daily)}")
        closes = [b.close for b in daily] + [spot]
        high5 = max(closes[-5:])
        base = min(closes[-16:-6])
        run2 = high5 / base - 1.0
        drop = 1.0 - spot / high5
        if run2 < p.confirm_min_run or drop < p.confirm_min_drop:
            raise SkipSymbol(
                sym,
                f"not confirmed: run {run2:+.1%} (min {p.confirm_min_run:.0%}), drop {drop:.1%}",
            )
        score = 0
        score += 2 if drop >= 0.08 else 0
        score += 2 if vol_mult is not None and vol_mult >= 1.5 else 0
        try:
            score += 1 if rsi(closes, 14) < 30 else 0
            score += 1 if bollinger_position(closes, 20, 2.0) < 0.2 else 0
        except InsufficientData as exc:
            raise SkipSymbol(sym, f"confirmation indicators: {exc}") from None
        if score < p.confirm_min_score:
            raise SkipSymbol(sym, f"not confirmed: score {score} < {p.confirm_min_score}")
        return min(0.95, score / 6.0)

    # -- exits -----------------------------------------------------------------------------

    async def _exit(self, ctx: StrategyContext, pos: Position) -> TradeProposal | None:
        c = pos.instrument
        if not isinstance(c, OptionContract) or pos.quantity <= 0:
            return None
        if ctx.has_pending(c.underlying):
            return None
        p = self.params
        q = await fresh_option_quote(ctx, c, self._max_age)
        mark = q.mid
        entry = float(pos.avg_price)
        if entry <= 0:
            raise SkipSymbol(c.underlying, f"{c.describe()} has no entry price")
        desc = c.describe()
        gain = mark / entry - 1.0
        if mark >= p.target_multiplier * entry:
            return self._close(ctx, pos, mark, ExitReason.TAKE_PROFIT,
                f"{desc} mark {mark:.2f} >= {p.target_multiplier:g}x entry {entry:.2f} ({gain:+.0%}); take profit")  # fmt: skip
        delta = await self._delta(ctx, q)
        if delta >= p.delta_exit:
            return self._close(ctx, pos, mark, ExitReason.DELTA,
                f"{desc} delta {delta:.2f} >= {p.delta_exit:.2f} (mark {mark:.2f}, entry {entry:.2f})")  # fmt: skip
        if mark <= p.stop_fraction * entry:
            return self._close(ctx, pos, mark, ExitReason.STOP,
                f"{desc} mark {mark:.2f} <= {p.stop_fraction:g}x entry {entry:.2f} ({gain:+.0%}); stop")  # fmt: skip
        dte = c.dte(ctx.today)
        if dte <= p.time_exit_dte and gain < p.time_exit_min_gain:
            return self._close(ctx, pos, mark, ExitReason.TIME,
                f"{desc} {dte} DTE <= {p.time_exit_dte} with gain {gain:+.0%} < {p.time_exit_min_gain:+.0%}")  # fmt: skip
        if pos.opened_at is not None:
            opened = pos.opened_at.astimezone(NEW_YORK).date()
            held = ctx.calendar.trading_days_between(opened, ctx.today)
            if held >= p.max_hold_sessions:
                return self._close(ctx, pos, mark, ExitReason.TIME,
                    f"{desc} held {held} sessions >= {p.max_hold_sessions} (gain {gain:+.0%})")  # fmt: skip
        return None

    async def _delta(self, ctx: StrategyContext, q: OptionQuote) -> float:
        if q.delta is not None and math.isfinite(q.delta):
            return q.delta
        spot = (await fresh_quote(ctx, q.contract.underlying, self._max_age)).last
        return option_delta(
            q, spot, ctx.now, rate=self.params.rate, fallback_sigma=self.params.fallback_sigma
        )

    def _close(
        self, ctx: StrategyContext, pos: Position, mark: float, why: ExitReason, reason: str
    ) -> TradeProposal:
        return close_proposal(self, ctx, [pos], {pos.symbol: mark}, reason=reason, exit_reason=why)


def _volume_multiple(daily: Sequence[Bar], today: Sequence[Bar]) -> float | None:
    """Today's volume so far / average of the last 19 daily volumes (None if unknown)."""
    if not today or len(daily) < 2:
        return None
    hist = [b.volume for b in daily[-19:]]
    avg = sum(hist) / len(hist)
    if avg <= 0:
        return None
    return sum(b.volume for b in today) / avg
