"""Lotto Scanner (spec §10): tiny 0DTE / earnings / catalyst punts with a hard risk cap."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import Field, model_validator

from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    BarInterval,
    EarningsEvent,
    EarningsTiming,
    ExitReason,
    Fill,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderLeg,
    Position,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext, StrategyParams, contracts_for_budget
from engine.strategies.chain_select import round_to_tick, strike_nearest, this_friday
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import InsufficientData, rms_return, sma_last
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_daily_bars,
    fresh_intraday_bars,
    fresh_option_quote,
    fresh_quote,
)

HIGH_VOLUME: tuple[str, ...] = (
    "SPY",
    "QQQ",
    "AAPL",
    "MSFT",
    "GOOGL",
    "AMZN",
    "TSLA",
    "NVDA",
    "META",
)
MEME: tuple[str, ...] = ("GME", "AMC", "PLTR", "COIN", "HOOD", "RIVN", "SOFI")
EARNINGS: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "CRM", "ADBE", "ORCL", "AMD",
    "QCOM", "UBER", "SNOW",
)  # fmt: skip

EXPECTED_PAYOFF = 5.0  # spec: expected payoff 5×


class PlayKind(StrEnum):
    ZERO_DTE = "0dte"
    EARNINGS = "earnings"
    CATALYST = "catalyst"


class LottoParams(StrategyParams):
    """Gates, candidate rules, filters, scoring and exits. Gains/losses in percent of premium."""

    high_volume: tuple[str, ...] = HIGH_VOLUME
    meme: tuple[str, ...] = MEME
    earnings_names: tuple[str, ...] = EARNINGS
    risk_per_play: float = Field(0.01, gt=0.0, le=0.05)  # fraction of equity; > 5% rejected
    max_concurrent: int = Field(3, ge=1, le=50)
    max_contracts: int = Field(10, ge=1, le=100)
    profit_levels: tuple[float, ...] = Field((300.0, 500.0, 800.0), min_length=2)
    stop_loss: float = Field(0.50, gt=0.0, le=1.0)  # loss of premium; 1.0 = no stop
    min_win_probability: float = Field(0.15, ge=0.0, le=1.0)
    max_dte: int = Field(5, ge=0, le=30)
    max_risk_score: float = Field(8.0, gt=0.0)
    min_equity: float = Field(10_000.0, ge=0.0)
    max_day_loss: float = Field(0.05, gt=0.0, le=1.0)  # new plays need day P&L > -this × equity
    no_entry_after: time = time(15, 30)
    zero_dte_exit: time = time(15, 0)
    min_momentum_score: float = Field(60.0, ge=0.0, le=130.0)
    move_factor: float = Field(0.6, gt=0.0, le=5.0)  # intraday move = factor × RMS daily return
    min_move: float = Field(0.01, gt=0.0, le=1.0)
    max_move: float = Field(0.15, gt=0.0, le=1.0)
    earnings_move: float = Field(0.05, gt=0.0, le=1.0)  # default expected earnings move
    catalyst_volume_ratio: float = Field(3.0, gt=0.0)
    catalyst_min_move: float = Field(0.03, gt=0.0, le=1.0)
    min_bid: float = Field(0.05, ge=0.0)  # bid and ask must exceed this
    max_spread_of_bid: float = Field(0.50, gt=0.0)  # ask - bid <= this × bid
    min_volume: int = Field(50, ge=0)
    min_open_interest: int = Field(100, ge=0)
    # After an entry proposal on an underlying, wait before proposing on it again, so a denied
    # or expired proposal is not re-sent on every scan.
    reentry_cooldown_minutes: int = Field(15, ge=0, le=1440)
    # R24 extras that upstream does not read; available, off unless set explicitly.
    max_premium: float | None = Field(None, gt=0.0)
    min_otm: float | None = Field(None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self) -> LottoParams:
        lv = self.profit_levels
        if any(b <= a for a, b in itertools.pairwise(lv)) or lv[0] <= 0:
            raise ValueError(f"profit_levels {lv} must be positive and strictly increasing")
        if self.min_move > self.max_move:
            raise ValueError(f"min_move {self.min_move} > max_move {self.max_move}")
        return self


def momentum_score(price: float, closes: Sequence[float]) -> float:
    """0DTE momentum (spec §10): 40 if P > SMA5 > SMA20, 25 if only P > SMA5, + min(30,
    1000 × |1-day change|) + 30 (upstream's constant volume placeholder)."""
    s5, s20 = _sma_5_20(tuple(closes))
    trend = 40.0 if price > s5 > s20 else 25.0 if price > s5 else 0.0
    change = abs(price / float(closes[-1]) - 1.0)
    return trend + min(30.0, 1000.0 * change) + 30.0


@lru_cache(maxsize=256)
def _sma_5_20(closes: tuple[float, ...]) -> tuple[float, float]:
    # Daily closes change once a session while the score is taken every minute per name.
    return sma_last(closes, 5), sma_last(closes, 20)


def score_play(distance: float, dte: int, volume: int) -> tuple[float, float]:
    """(win probability, risk score) of spec §10.

    d = distance to breakeven / spot; p = max(0.10, base - 8d), base 0.35 for 0DTE else 0.25;
    risk = 10d + max(0, 5 - DTE) + (10 - min(10, volume/20)) + 2 if 0DTE.
    """
    d = max(0.0, distance)
    base = 0.35 if dte == 0 else 0.25
    p = max(0.10, base - 8.0 * d)
    risk = (
        10.0 * d + max(0, 5 - dte) + (10.0 - min(10.0, volume / 20.0)) + (2.0 if dte == 0 else 0.0)
    )
    return p, risk


@dataclass(frozen=True, slots=True)
class Play:
    kind: PlayKind
    quote: OptionQuote
    spot: float
    dte: int
    win_probability: float
    risk: float
    why: str

    @property
    def premium(self) -> float:
        return self.quote.mid

    @property
    def breakeven(self) -> float:
        k = float(self.quote.contract.strike)
        return k + self.premium if self.quote.contract.is_call else k - self.premium

    @property
    def value(self) -> float:
        return self.win_probability * EXPECTED_PAYOFF / (1.0 + self.risk)


class LottoScanner(Strategy):
    """One small, defined-loss punt at a time: 0DTE momentum, earnings straddle legs, or a meme
    catalyst, sized at `risk_per_play` of equity and capped at 10 contracts.

    Gates: market open; equity >= $10,000; today's P&L > -5% of equity; open plays < max; no
    new plays at/after 15:30 ET. Candidates: 0DTE (momentum score >= 60; call and put at spot
    × (1 ± 0.5 × move), move = 0.6 × RMS of 20 daily returns clamped 1-15%); earnings (call
    and put at spot × (1 ± 5%), first expiry after the event); catalyst (meme names: volume
    pace > 3× and |move| > 3% -> one option in the move's direction at spot × (1 ± 0.7 ×
    min(20%, 2|move|)), this week's expiry). Filters: bid and ask > $0.05, ask - bid <= 50% of
    bid, volume >= 50, OI >= 100. Trade only the best p × 5 / (1 + risk) with p >= min win
    probability and risk <= 8. Size: floor(budget / (mid × 100)), cap 10, 0 -> skip, budget =
    `ctx.budget(risk_per_play)`.

    Exits: gain >= second level -> close all; gain >= first level (not yet taken) -> sell half;
    loss >= stop -> close; a 0DTE play at/after 15:00 ET on expiry day -> close.

    [PROPOSED]/interpretation choices:
    - Risk per play: R24's "0.5" and W25's "2.5" are read as 0.5% / 2.5%; > 5% is rejected.
    - Profit levels are checked descending (close-all can fire; upstream's ascending order
      never reaches it). The third level has no rule in the spec and is unused.
    - The first-level half sale happens once (recorded on its fill, persisted via `state()`).
    - Catalyst volume = today's volume so far (5-min bars) / (20-day average daily volume ×
      the fraction of the session elapsed); the move is the quote vs yesterday's close.
    - An unknown day P&L (no start-of-day equity) does not block: the risk manager's daily
      loss breaker still applies.
    - R24's extras (catalyst required, 5× spike, focus list, earnings window only, OTM >= 10%,
      IV spike, premium <= $2) are not read upstream and are not applied; `max_premium` and
      `min_otm` exist as explicit opt-ins. W25's "-" min win probability takes Eng's 15%;
      its "1 (0DTE only)" max DTE is read as 1.
    """

    name: ClassVar[str] = "lotto_scanner"
    title: ClassVar[str] = "Lotto"
    params_model: ClassVar[type[StrategyParams]] = LottoParams
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "risk_per_play": 0.005,
            "max_concurrent": 3,
            "profit_levels": (500.0, 1000.0, 2000.0),
            "stop_loss": 1.0,
            "min_win_probability": 0.05,
            "max_dte": 2,
        },
        "wsb_2025": {
            "risk_per_play": 0.025,
            "max_concurrent": 10,
            "profit_levels": (150.0, 250.0, 400.0),
            "stop_loss": 0.90,
            "max_dte": 1,
        },
    }
    scan_interval: ClassVar[timedelta] = timedelta(seconds=60)
    intraday: ClassVar[bool] = True
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)

    params: LottoParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._last_entry: dict[str, datetime] = {}  # underlying -> last entry proposal
        self.last_candidates: list[Play] = []
        self._half_taken: set[str] = set()
        self._half_pending: set[str] = set()

    def universe(self) -> frozenset[str]:
        p = self.params
        return frozenset(p.high_volume) | frozenset(p.meme) | frozenset(p.earnings_names)

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
        live = {p.symbol for p in held}
        self._half_taken &= live
        self._half_pending &= live
        out: list[TradeProposal] = []
        pending = {pr.underlying for pr in ctx.pending}
        for pos in held:
            if pos.instrument.underlying in pending:
                continue
            prop = await self._manage(ctx, pos)
            if prop is not None:
                out.append(prop)
        gate = self._gate(ctx, len(held))
        if gate:
            self.skips.record("*", gate)
            return out
        entry = await self._best_play(ctx, held)
        if entry is not None:
            out.append(entry)
        return out

    def _cooling(self, ctx: StrategyContext, sym: str) -> bool:
        last = self._last_entry.get(sym)
        wait = timedelta(minutes=self.params.reentry_cooldown_minutes)
        if last is not None and ctx.now - last < wait:
            self.skips.record(sym, f"entry proposed at {last:%H:%M} UTC, cooling down {wait}")
            return True
        return False

    def _gate(self, ctx: StrategyContext, n_held: int) -> str:
        p = self.params
        equity = ctx.equity
        if equity < p.min_equity:
            return f"equity ${equity:,.0f} < ${p.min_equity:,.0f}: no plays"
        day = ctx.portfolio.day_pnl
        if day is not None and day <= -p.max_day_loss * equity:
            return f"day P&L ${day:,.0f} <= -{p.max_day_loss:.0%} of ${equity:,.0f}: no new plays"
        opening = sum(1 for pr in ctx.pending if pr.intent is ProposalIntent.OPEN)
        if n_held + opening >= p.max_concurrent:
            return f"{p.max_concurrent} plays open or pending"
        if ctx.et_time >= p.no_entry_after:
            return f"no new plays at/after {p.no_entry_after:%H:%M} ET"
        return ""

    async def _best_play(self, ctx: StrategyContext, held: list[Position]) -> TradeProposal | None:
        p = self.params
        busy = {pos.instrument.underlying for pos in held} | {pr.underlying for pr in ctx.pending}
        plays: list[Play] = []
        earnings = await self._earnings(ctx)
        for sym in sorted(self.universe()):
            if sym in busy or self._cooling(ctx, sym):
                continue
            try:
                plays.extend(await self._candidates(ctx, sym, earnings.get(sym)))
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
            except InsufficientData as exc:
                self.skips.record(sym, str(exc))
        self.last_candidates = plays
        eligible = []
        for play in plays:
            c = play.quote.contract
            if play.win_probability < p.min_win_probability:
                self.skips.record(
                    c.symbol, f"p {play.win_probability:.2f} < {p.min_win_probability:.2f}"
                )
            elif play.risk > p.max_risk_score:
                self.skips.record(c.symbol, f"risk {play.risk:.2f} > {p.max_risk_score:g}")
            else:
                eligible.append(play)
        if not eligible:
            return None
        best = min(eligible, key=lambda x: (-x.value, x.quote.contract.symbol))
        return self._proposal(ctx, best)

    async def _earnings(self, ctx: StrategyContext) -> dict[str, EarningsEvent]:
        p = self.params
        try:
            events = await ctx.market.earnings_calendar(
                ctx.today, ctx.today + timedelta(days=p.max_dte)
            )
        except (DataUnavailable, BadMarketData) as exc:
            self.skips.record("earnings", f"calendar unavailable ({exc})")
            return {}
        names = set(p.earnings_names)
        out: dict[str, EarningsEvent] = {}
        for ev in events:
            if ev.symbol in names and ev.symbol not in out:
                out[ev.symbol] = ev
        return out

    async def _candidates(
        self, ctx: StrategyContext, sym: str, event: EarningsEvent | None
    ) -> list[Play]:
        p = self.params
        kinds: list[PlayKind] = []
        if sym in p.high_volume:
            kinds.append(PlayKind.ZERO_DTE)
        if event is not None:
            kinds.append(PlayKind.EARNINGS)
        if sym in p.meme:
            kinds.append(PlayKind.CATALYST)
        if not kinds:
            return []
        spot = (await fresh_quote(ctx, sym)).mid
        daily = await fresh_daily_bars(ctx, sym, 21)
        closes = [b.close for b in daily]
        today = ctx.today
        # The chain is read only once a play kind has passed its cheap checks: pricing a
        # chain for every name every minute dominated the scan, and most names stop at the
        # momentum or catalyst gate. A missing/stale chain still skips the symbol whenever a
        # play would need it.
        fetched: list[OptionChain] = []

        async def get_chain() -> OptionChain:
            if not fetched:
                fetched.append(
                    await fresh_chain(ctx, sym, today, today + timedelta(days=p.max_dte))
                )
            return fetched[0]

        zero: list[OptionChain] = []

        async def get_zero_dte_chain() -> OptionChain:
            # A 0DTE play reads today's expiry only, so only today's expiry is read (the same
            # quotes the full chain holds for it). When it is not listed the play is skipped
            # as before ("no 0DTE expiry listed") without pricing the later expiries; a
            # missing or stale chain is reported by reading the full chain as before.
            if not zero:
                try:
                    alone = await fresh_chain(ctx, sym, today, today, allow_empty=True)
                except SkipSymbol:
                    alone = await get_chain()
                zero.append(alone)
            return zero[0]

        out: list[Play] = []
        reasons: list[str] = []
        for kind in kinds:
            targets: list[tuple[OptionRight, float, date, str]] = []
            if kind is PlayKind.ZERO_DTE:
                if self._zero_dte_closing(ctx) is not None:
                    # It would be closed by the next scan's 0DTE exit, paying the spread twice.
                    reasons.append(f"0DTE plays close at/after {p.zero_dte_exit:%H:%M} ET")
                    continue
                score = momentum_score(spot, closes)
                if score < p.min_momentum_score:
                    reasons.append(f"0DTE momentum score {score:.0f} < {p.min_momentum_score:.0f}")
                    continue
                chain = await get_zero_dte_chain()
                if today not in chain.expiries:
                    reasons.append("no 0DTE expiry listed")
                    continue
                move = min(p.max_move, max(p.min_move, p.move_factor * rms_return(closes, 20)))
                why = f"0DTE momentum {score:.0f}, intraday move {move:.1%}"
                targets += [
                    (OptionRight.CALL, spot * (1 + 0.5 * move), today, why),
                    (OptionRight.PUT, spot * (1 - 0.5 * move), today, why),
                ]
            elif kind is PlayKind.EARNINGS and event is not None:
                chain = await get_chain()
                expiry = _first_expiry_after(chain, event)
                if expiry is None:
                    reasons.append(f"no expiry after earnings {event.date}")
                    continue
                m = p.earnings_move
                why = f"earnings {event.date} ({event.timing}), expected move {m:.0%}"
                targets += [
                    (OptionRight.CALL, spot * (1 + m), expiry, why),
                    (OptionRight.PUT, spot * (1 - m), expiry, why),
                ]
            elif kind is PlayKind.CATALYST:
                found = await self._catalyst(ctx, sym, spot, daily)
                if isinstance(found, str):
                    reasons.append(found)
                    continue
                right, move, pace = found
                chain = await get_chain()
                expiry = _weekly_expiry(chain, today, p.max_dte)
                if expiry is None:
                    reasons.append(f"no weekly expiry within {p.max_dte} DTE")
                    continue
                dist = 0.7 * min(0.20, 2 * abs(move))
                sign = 1 if right is OptionRight.CALL else -1
                why = f"catalyst: {move:+.1%} on {pace:.1f}x volume pace"
                targets.append((right, spot * (1 + sign * dist), expiry, why))
            for right, strike, expiry, why in targets:
                play = self._play(ctx, kind, chain, right, strike, expiry, spot, why, reasons)
                if play is not None:
                    out.append(play)
        if not out and reasons:
            self.skips.record(sym, "; ".join(reasons))
        return out

    async def _catalyst(
        self, ctx: StrategyContext, sym: str, spot: float, daily: list[Bar]
    ) -> tuple[OptionRight, float, float] | str:
        p = self.params
        move = spot / daily[-1].close - 1.0
        if abs(move) <= p.catalyst_min_move:
            return f"catalyst: move {move:+.1%} within ±{p.catalyst_min_move:.0%}"
        session = ctx.calendar.session_of(ctx.now)
        if session is None:
            return "catalyst: market closed"
        opened = ctx.calendar.session_open(session)
        bars = await fresh_intraday_bars(
            ctx, sym, BarInterval.FIVE_MINUTES, opened, min_count=1, max_age=timedelta(minutes=10)
        )
        elapsed = (ctx.now - opened).total_seconds() / 60.0
        fraction = min(1.0, elapsed / ctx.calendar.session_minutes(session))
        avg = sum(b.volume for b in daily[-20:]) / 20.0
        today_vol = sum(b.volume for b in bars)
        pace = today_vol / (avg * fraction) if avg > 0 and fraction > 0 else 0.0
        if pace <= p.catalyst_volume_ratio:
            return f"catalyst: volume pace {pace:.1f}x <= {p.catalyst_volume_ratio:g}x"
        return (OptionRight.CALL if move > 0 else OptionRight.PUT), move, pace

    def _play(
        self,
        ctx: StrategyContext,
        kind: PlayKind,
        chain: OptionChain,
        right: OptionRight,
        target: float,
        expiry: date,
        spot: float,
        why: str,
        reasons: list[str],
    ) -> Play | None:
        q = strike_nearest(chain, expiry, right, target)
        if q is None:
            reasons.append(f"no {right.name.lower()} strikes for {expiry}")
            return None
        problem = self._filter(q, spot)
        if problem:
            reasons.append(f"{q.contract.describe()}: {problem}")
            return None
        k = float(q.contract.strike)
        be = k + q.mid if right is OptionRight.CALL else k - q.mid
        distance = (be - spot) / spot if right is OptionRight.CALL else (spot - be) / spot
        dte = q.contract.dte(ctx.today)
        prob, risk = score_play(distance, dte, q.volume)
        return Play(kind, q, spot, dte, prob, risk, why)

    def _filter(self, q: OptionQuote, spot: float) -> str:
        p = self.params
        if q.bid <= p.min_bid or q.ask <= p.min_bid:
            return f"bid/ask {q.bid:.2f}/{q.ask:.2f} not above {p.min_bid:.2f}"
        if q.ask - q.bid > p.max_spread_of_bid * q.bid + 1e-9:
            return f"spread {q.ask - q.bid:.2f} > {p.max_spread_of_bid:.0%} of bid {q.bid:.2f}"
        if q.volume < p.min_volume:
            return f"volume {q.volume} < {p.min_volume}"
        if q.open_interest < p.min_open_interest:
            return f"OI {q.open_interest} < {p.min_open_interest}"
        if p.max_premium is not None and q.mid > p.max_premium:
            return f"premium {q.mid:.2f} > {p.max_premium:.2f}"
        if p.min_otm is not None:
            otm = abs(float(q.contract.strike) / spot - 1.0)
            if otm < p.min_otm:
                return f"{otm:.1%} OTM < {p.min_otm:.0%}"
        return ""

    def _proposal(self, ctx: StrategyContext, play: Play) -> TradeProposal | None:
        p = self.params
        c = play.quote.contract
        premium = play.premium
        budget = ctx.budget(p.risk_per_play)
        n = contracts_for_budget(budget, premium, c.multiplier, cap=p.max_contracts)
        if n <= 0:
            self.skips.record(
                c.underlying, f"budget ${budget:,.0f} buys no contract at {premium:.2f}"
            )
            return None
        limit = round_to_tick(premium)
        self._last_entry[c.underlying] = ctx.now
        lv = p.profit_levels
        return self.propose(
            ctx,
            legs=[OrderLeg(c, Side.BUY)],
            quantity=n,
            reason=(
                f"{c.underlying} lotto ({play.kind}): {play.why}; buy {n} × {c.describe()} @ "
                f"{limit} (spot {play.spot:,.2f}, breakeven {play.breakeven:,.2f}); win p "
                f"{play.win_probability:.2f}, risk {play.risk:.2f}, value "
                f"{play.value:.3f}; risk {p.risk_per_play:.1%} of equity = "
                f"${float(limit) * 100 * n:,.0f}; sell half at +{lv[0]:g}%, all at "
                f"+{lv[1]:g}%, stop -{p.stop_loss:.0%}"
            ),
            limit_price=limit,
            max_loss=limit * n * c.multiplier,
            breakevens=(play.breakeven,),
            confidence=play.win_probability,
            meta={
                "kind": play.kind.value,
                "win_p": round(play.win_probability, 4),
                "risk": round(play.risk, 4),
            },
        )

    # -- exits -----------------------------------------------------------------------------

    def _zero_dte_closing(self, ctx: StrategyContext) -> str | None:
        """Why a 0DTE play is closed now (None while it may stay open): at/after the 0DTE
        exit time, or within the last hour of an early-close session (13:00 ET)."""
        p = self.params
        if ctx.et_time >= p.zero_dte_exit:
            return f"0DTE at {ctx.et_time:%H:%M} ET, at/after {p.zero_dte_exit:%H:%M}"
        left = ctx.minutes_to_close()
        if left is not None and left <= 60.0:
            # Early-close sessions end at 13:00 ET: same one-hour margin as 15:00 normally.
            return f"0DTE with {left:.0f} min to an early close"
        return None

    async def _manage(self, ctx: StrategyContext, pos: Position) -> TradeProposal | None:
        p = self.params
        c = pos.instrument
        assert isinstance(c, OptionContract)
        try:
            mark = (await fresh_option_quote(ctx, c)).mid
        except SkipSymbol as exc:
            self.skips.record(pos.symbol, exc.reason)
            if pos.mark is None:
                return None
            mark = pos.mark
            fresh = False
        else:
            fresh = True
        entry = float(pos.avg_price)
        gain = (mark / entry - 1.0) * 100.0 if entry > 0 else 0.0
        marks = {pos.symbol: mark}
        head = f"{c.describe()}: premium {mark:.2f} vs entry {entry:.2f} ({gain:+.0f}%)"

        def close(reason: str, why: ExitReason, qty: int | None = None) -> TradeProposal:
            return close_proposal(
                self, ctx, [pos], marks, reason=f"{head}: {reason}", exit_reason=why, quantity=qty
            )

        if c.dte(ctx.today) == 0 and (why_now := self._zero_dte_closing(ctx)) is not None:
            return close(why_now, ExitReason.EXPIRY)
        if not fresh:
            return None  # price rules need a live premium
        first, second = p.profit_levels[0], p.profit_levels[1]
        if gain >= second:
            return close(f">= +{second:g}%: close all", ExitReason.TAKE_PROFIT)
        if gain >= first and pos.symbol not in self._half_taken:
            half = max(1, pos.quantity // 2)
            self._half_pending.add(pos.symbol)
            why = ExitReason.TAKE_PROFIT if half >= pos.quantity else ExitReason.SCALE_OUT
            return close(f">= +{first:g}%: sell half ({half} of {pos.quantity})", why, half)
        if p.stop_loss < 1.0 and mark <= entry * (1.0 - p.stop_loss) + 1e-9:
            return close(f"loss >= {p.stop_loss:.0%} stop", ExitReason.STOP)
        return None

    # -- fills and state -------------------------------------------------------------------

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        if fill.side is Side.SELL and fill.symbol in self._half_pending:
            self._half_pending.discard(fill.symbol)
            self._half_taken.add(fill.symbol)
        return ()

    def state(self) -> dict[str, Any]:
        return {"half_taken": sorted(self._half_taken), "half_pending": sorted(self._half_pending)}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._half_taken = {str(s) for s in state.get("half_taken", [])}
        self._half_pending = {str(s) for s in state.get("half_pending", [])}


def _first_expiry_after(chain: OptionChain, event: EarningsEvent) -> date | None:
    """First expiry that includes the reaction: the event day itself for a before-open report,
    else the next expiry after it."""
    for e in chain.expiries:
        if e > event.date or (e == event.date and event.timing is EarningsTiming.BEFORE_OPEN):
            return e
    return None


def _weekly_expiry(chain: OptionChain, today: date, max_dte: int) -> date | None:
    """This week's Friday when listed within max DTE, else the nearest listed expiry."""
    friday = this_friday(today)
    exps = [e for e in chain.expiries if 0 <= (e - today).days <= max_dte]
    if friday in exps:
        return friday
    return exps[0] if exps else None
