"""Debit Spreads (spec §6): bull call spreads on trending names, chosen for reward/risk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from engine.data.chain_reads import ChainRead, prefetch_chains
from engine.domain import (
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
    Strategy,
    StrategyContext,
    StrategyParams,
    contracts_for_budget,
)
from engine.strategies.chain_select import (
    LiquidityFilter,
    expiries_in_window,
    find_strike,
    quote_vol,
    round_to_tick,
    rows,
)
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import InsufficientData, sma_last
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_daily_bars,
    fresh_option_quote,
    fresh_quote,
    require_fresh_bar,
)
from engine.strategies.vol_rank import iv_rank_bounds, iv_rank_in, rolling_realized_vol

ENG_UNIVERSE: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "CRM", "ADBE", "ORCL",
    "AMD", "QCOM", "UBER", "SNOW", "COIN", "PLTR", "ROKU", "ZM", "SHOP", "SQ", "PYPL", "TWLO",
)  # fmt: skip
R24_UNIVERSE: tuple[str, ...] = (
    "TSLA", "NVDA", "AMD", "PLTR", "GME", "AMC", "MSTR", "COIN", "AAPL", "MSFT", "GOOGL",
    "META", "AMZN", "NFLX", "SNOW", "UBER", "ROKU", "SQ", "PYPL",
)  # fmt: skip

TREND_BARS = 60
HISTORY_BARS = 252 + 21  # a year of 20-day realised-vol windows
EPS = 1e-9  # money comparisons on float mids: 2.90 - 2.00 must count as 0.90


class DebitSpreadParams(StrategyParams):
    """Debit-spread thresholds. Field defaults are the engine (Eng) values of spec §6."""

    watchlist: tuple[str, ...] = ENG_UNIVERSE
    max_positions: int = Field(8, ge=1, le=100)
    size_pct: float = Field(0.10, gt=0.0, le=1.0)
    max_contracts: int = Field(5, ge=1, le=1000)
    min_dte: int = Field(20, ge=0, le=730)
    max_dte: int = Field(60, ge=0, le=730)
    min_reward_risk: float = Field(1.5, ge=0.0, le=20.0)
    min_trend_strength: float = Field(0.6, ge=0.0, le=1.0)
    min_iv_rank: float = Field(15.0, ge=0.0, le=100.0)
    max_iv_rank: float = Field(80.0, ge=0.0, le=100.0)
    min_volume_score: float = Field(0.3, ge=0.0, le=1.0)
    profit_target: float = Field(
        0.30, gt=0.0, le=1.0, description="exit at P&L >= this × max profit"
    )
    stop_loss: float = Field(0.50, gt=0.0, le=1.0, description="exit at P&L <= -this × debit")
    time_exit_dte: int = Field(7, ge=0, le=365)
    widths: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0)
    long_strike_min: float = Field(0.95, gt=0.0, le=2.0, description="× spot")
    long_strike_max: float = Field(1.10, gt=0.0, le=3.0, description="× spot")
    min_debit: float = Field(0.10, ge=0.0, le=100.0)
    min_leg_price: float = Field(0.05, ge=0.0, le=100.0, description="bid and ask must exceed")
    max_leg_spread: float = Field(0.30, gt=0.0, le=5.0, description="(ask-bid)/mid below")
    min_leg_volume: int = Field(10, ge=0)
    min_leg_open_interest: int = Field(50, ge=0)
    rate: float = Field(0.04, ge=-0.05, le=0.25)
    max_data_age_minutes: float = Field(15.0, gt=0.0, le=1440.0)


@dataclass(frozen=True, slots=True)
class VerticalCandidate:
    """A priced bull call spread and the spec §6 measures."""

    long: OptionQuote
    short: OptionQuote
    debit: float
    width: float
    max_profit: float
    reward_risk: float
    breakeven: float
    pop: float
    volume_score: float
    iv: float
    iv_rank: float
    score: float

    @property
    def expiry(self) -> date:
        return self.long.contract.expiry


def evaluate_vertical(
    spot: float,
    long: OptionQuote,
    short: OptionQuote,
    *,
    trend: float = 0.0,
    iv: float = 0.0,
    iv_rank_value: float = 50.0,
) -> VerticalCandidate:
    """Spec §6 construction measures for long `long` / short `short` calls at their mids."""
    debit = long.mid - short.mid
    width = float(short.contract.strike - long.contract.strike)
    max_profit = width - debit
    rr = max_profit / debit if debit > 0 else 0.0
    be = float(long.contract.strike) + debit
    pop = _pop(spot, be)
    vs = _volume_score(long.volume + long.open_interest, short)
    return VerticalCandidate(
        long, short, debit, width, max_profit, rr, be, pop, vs, iv, iv_rank_value,
        _score(rr, trend, pop, vs, iv_rank_value),
    )  # fmt: skip


def _pop(spot: float, breakeven: float) -> float:
    """Spec §6 probability-of-profit proxy from the breakeven's distance above spot."""
    return 0.7 if breakeven <= spot else max(0.1, 0.6 - 3.0 * (breakeven - spot) / spot)


def _volume_score(long_liquidity: int, short: OptionQuote) -> float:
    """Spec §6 volume score: the thinner leg's volume + open interest over 1,000, in [0, 1]."""
    return min(1.0, max(0.0, min(long_liquidity, short.volume + short.open_interest) / 1000.0))


def _score(rr: float, trend: float, pop: float, vs: float, iv_rank_value: float) -> float:
    """Spec §6 spread score, clamped to [0, 1]."""
    score = (
        0.3 * rr / 3.0 + 0.3 * trend + 0.2 * pop + 0.1 * vs + 0.1 * (1.0 - iv_rank_value / 100.0)
    )
    return min(1.0, max(0.0, score))


def trend_strength(closes: Sequence[float], volumes: Sequence[float]) -> float:
    """Spec §6 trend strength over the last 60 daily bars (mean of four parts, 0-1)."""
    if len(closes) < TREND_BARS or len(volumes) < 30:
        raise InsufficientData(f"trend strength needs {TREND_BARS} daily bars, got {len(closes)}")
    c = list(closes[-TREND_BARS:])
    p = c[-1]
    s20, s50 = sma_last(c, 20), sma_last(c, 50)
    ma_part = 0.8 if p > s20 > s50 else 0.6 if p > s20 else 0.2
    mom_part = min(1.0, max(0.0, 5.0 * (p / c[-11] - 1.0)))
    rets = np.diff(np.asarray(c[-11:]))
    signs = np.sign(rets)
    changes = int(np.count_nonzero(signs[1:] != signs[:-1]))
    dir_part = 1.0 - changes / 10.0
    v = list(volumes[-30:])
    prior = sum(v[:20]) / 20.0
    vol_part = 0.5 * min(1.0, (sum(v[-10:]) / 10.0) / prior) if prior > 0 else 0.0
    return (ma_part + mom_part + dir_part + vol_part) / 4.0


@dataclass(frozen=True, slots=True)
class _Signal:
    """What the entry decided before reading a chain."""

    trend: float
    rv_hist: Any
    spot: float


def _rr_reason(rr: float, min_rr: float, long_q: OptionQuote, short_q: OptionQuote) -> str:
    return (
        f"R:R {rr:.2f} < {min_rr:.2f} "
        f"({long_q.contract.describe()}/{short_q.contract.strike.normalize():f})"
    )


class DebitSpreads(Strategy):
    """Bull call spreads on names with a strong trend (spec §6).

    Entry: trend strength >= min on 60 daily bars; for every expiry in the DTE window, long
    calls with strike in [0.95, 1.10] × spot and shorts $5/10/15/20 higher, both legs passing
    (volume >= 10 or OI >= 50), bid and ask > $0.05, (ask-bid)/mid < 0.30. Keep debit > $0.10,
    R:R >= max(min R:R, 0.2), IV rank (long-call IV against the one-year range of 20-day
    realised vol, capped at 50 when IV <= 10%) inside the band, volume score >= min; the best
    score wins (one spread per underlying). Sizing: 10% rule on the debit, cap 5 contracts.
    Exits: P&L per contract >= target × max profit; <= -stop × debit; DTE <= time exit.

    [PROPOSED]/interpretations: the trend's "vol 10 d / vol prior 20 d" is read as traded
    volume; P is the last daily close; only bull call spreads are built (the spec's section is
    titled so); scan every 15 minutes (§0 gives no interval for this strategy); an orphan leg
    (one side of a spread gone) is closed with reason SIGNAL.
    """

    name: ClassVar[str] = "debit_spreads"
    title: ClassVar[str] = "Debit Spreads"
    params_model: ClassVar[type[StrategyParams]] = DebitSpreadParams
    scan_interval: ClassVar[timedelta] = timedelta(minutes=15)
    intraday: ClassVar[bool] = False
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "watchlist": R24_UNIVERSE,
            "max_positions": 12,
            "min_dte": 10,
            "max_dte": 35,
            "min_reward_risk": 1.2,
            "min_trend_strength": 0.4,
            "max_iv_rank": 90.0,
            "min_volume_score": 0.2,
            "profit_target": 0.40,
            "stop_loss": 0.70,
            "time_exit_dte": 3,
        },
        "wsb_2025": {
            "watchlist": MEME_CORE_EX_ETF,
            "max_positions": 12,
            "min_dte": 7,
            "max_dte": 21,
            "min_reward_risk": 1.0,
            "min_trend_strength": 0.35,
            "max_iv_rank": 92.0,
            "min_volume_score": 0.2,
            "profit_target": 0.45,
            "stop_loss": 0.70,
            "time_exit_dte": 2,
        },
    }

    params: DebitSpreadParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._leg_filter: LiquidityFilter | None = None

    @property
    def last_skip_reason(self) -> str | None:
        return self.skips.last

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    @property
    def _max_age(self) -> timedelta:
        return timedelta(minutes=self.params.max_data_age_minutes)

    def _filter(self) -> LiquidityFilter:
        # Built once: the parameters are frozen and the scan checks every leg against it.
        if self._leg_filter is None:
            p = self.params
            self._leg_filter = LiquidityFilter(
                min_volume=p.min_leg_volume,
                min_open_interest=p.min_leg_open_interest,
                volume_or_oi=True,
                max_spread_pct=p.max_leg_spread,
            )
        return self._leg_filter

    def _leg_ok(self, q: OptionQuote) -> bool:
        p = self.params
        return (
            self._filter().passes(q)
            and q.bid > p.min_leg_price
            and q.ask > p.min_leg_price
            and q.spread_pct_of_mid < p.max_leg_spread
        )

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.skips.reset()
        out: list[TradeProposal] = []
        groups: dict[str, list[Position]] = {}
        for pos in ctx.positions.values():
            if isinstance(pos.instrument, OptionContract) and pos.quantity != 0:
                groups.setdefault(pos.instrument.underlying, []).append(pos)
        for und in sorted(groups):
            if ctx.has_pending(und):
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
        busy = set(groups) | {p.underlying for p in ctx.pending}
        todo = [sym for sym in sorted(self.universe()) if sym not in busy]
        # Signals first, then one pricing pass for every chain the loop below may read; the
        # loop then decides exactly as it would reading each chain in turn. An error is kept
        # and raised at its symbol's turn, so earlier symbols still decide first.
        signals: dict[str, _Signal | Exception] = {}
        if len(busy) < self.params.max_positions:
            for sym in todo:
                try:
                    signals[sym] = await self._signal(ctx, bars, sym)
                except Exception as exc:
                    signals[sym] = exc
            reads = [
                self._chain_read(ctx, sym, sig.spot)
                for sym, sig in signals.items()
                if isinstance(sig, _Signal)
            ]
            await prefetch_chains(ctx.market, reads)
        for sym in todo:
            if len(busy) >= self.params.max_positions:
                self.skips.record(sym, f"max positions {self.params.max_positions} reached")
                break
            try:
                sig = signals[sym]
                if isinstance(sig, Exception):
                    raise sig
                prop = await self._entry(ctx, bars, sym, sig)
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
                continue
            out.append(prop)
            busy.add(sym)
        return out

    # -- entry -----------------------------------------------------------------------------

    async def _signal(self, ctx: StrategyContext, bars: Mapping[str, Bar], sym: str) -> _Signal:
        """The entry signal (trend over the gate) and the spot it prices against."""
        p = self.params
        require_fresh_bar(ctx, bars, sym, self._max_age)
        daily = await fresh_daily_bars(ctx, sym, HISTORY_BARS, min_count=TREND_BARS)
        closes = [b.close for b in daily]
        try:
            trend = trend_strength(closes, [b.volume for b in daily])
        except InsufficientData as exc:
            raise SkipSymbol(sym, str(exc)) from None
        if trend < p.min_trend_strength:
            raise SkipSymbol(sym, f"no signal: trend {trend:.2f} < {p.min_trend_strength:.2f}")
        # Only for a name over the gate (about half are not). It cannot fail once the trend
        # was measured: that took >= 60 bars, and bars' closes are finite and positive.
        try:
            rv_hist = rolling_realized_vol(closes[-HISTORY_BARS:], 20)
        except InsufficientData as exc:
            raise SkipSymbol(sym, str(exc)) from None
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        return _Signal(trend, rv_hist, spot)

    def _chain_read(self, ctx: StrategyContext, sym: str, spot: float) -> ChainRead:
        """The chain _best_spread needs: calls in the DTE window, and only strikes in the
        band of long strikes plus the widths either side (a cent of slack: listed strikes
        are floats of decimals). It reads nothing outside."""
        p = self.params
        return ChainRead(
            sym,
            ctx.today + timedelta(days=p.min_dte),
            ctx.today + timedelta(days=p.max_dte),
            OptionRight.CALL,
            (
                p.long_strike_min * spot + min(0.0, *p.widths) - 0.01,
                p.long_strike_max * spot + max(0.0, *p.widths) + 0.01,
            ),
        )

    async def _entry(
        self,
        ctx: StrategyContext,
        bars: Mapping[str, Bar],
        sym: str,
        sig: _Signal | None = None,
    ) -> TradeProposal:
        p = self.params
        if sig is None:
            sig = await self._signal(ctx, bars, sym)
        trend, rv_hist, spot = sig.trend, sig.rv_hist, sig.spot
        read = self._chain_read(ctx, sym, spot)
        # An empty band is reported by _best_spread ("no liquid call pair"), as before.
        chain = await fresh_chain(
            ctx, sym, read.min_expiry, read.max_expiry, self._max_age,
            right=read.right, strikes=read.strikes, allow_empty=True,
        )  # fmt: skip
        best, why = self._best_spread(ctx, chain, spot, trend, rv_hist)
        if best is None:
            raise SkipSymbol(sym, why)
        limit = round_to_tick(best.debit, Decimal("0.01"))
        budget = ctx.budget(p.size_pct)
        qty = contracts_for_budget(
            budget, float(limit), best.long.contract.multiplier, p.max_contracts
        )
        if qty == 0:
            raise SkipSymbol(sym, f"budget ${budget:,.0f} < one spread at {limit}")
        lk, sk = best.long.contract, best.short.contract
        reason = (
            f"{sym} trend {trend:.2f} >= {p.min_trend_strength:.2f}, IV rank {best.iv_rank:.0f}; "
            f"bull call {lk.describe()}/{sk.strike.normalize():f} debit {best.debit:.2f}, "
            f"max profit {best.max_profit:.2f}, R:R {best.reward_risk:.2f}, "
            f"BE {best.breakeven:.2f}, PoP {best.pop:.2f}; buying {qty} @{limit}"
        )
        mult = lk.multiplier * qty
        return self.propose(
            ctx,
            legs=[OrderLeg(lk, Side.BUY), OrderLeg(sk, Side.SELL)],
            quantity=qty,
            reason=reason,
            limit_price=limit,
            max_loss=limit * mult,
            max_profit=(Decimal(str(best.width)) - limit) * mult,
            breakevens=[best.breakeven],
            confidence=best.score,
            meta={
                "trend": trend,
                "reward_risk": best.reward_risk,
                "pop": best.pop,
                "iv_rank": best.iv_rank,
                "score": best.score,
            },
        )

    def _best_spread(
        self,
        ctx: StrategyContext,
        chain: OptionChain,
        spot: float,
        trend: float,
        rv_hist: Any,
    ) -> tuple[VerticalCandidate | None, str]:
        p = self.params
        best: VerticalCandidate | None = None
        why: str | partial[str] = "no liquid call pair in the DTE window"
        min_rr = max(p.min_reward_risk, 0.2)
        bounds: list[tuple[float, float]] = []  # (min, max) of the history, read once
        leg_ok: dict[int, bool] = {}  # id(quote) -> _leg_ok; the chain holds the quotes

        def ok(q: OptionQuote) -> bool:
            got = leg_ok.get(id(q))
            if got is None:
                got = leg_ok[id(q)] = self._leg_ok(q)
            return got

        for expiry in expiries_in_window(chain, ctx.today, p.min_dte, p.max_dte, OptionRight.CALL):
            calls = [q for q in rows(chain, expiry, OptionRight.CALL) if ok(q)]
            for lq in calls:
                k = float(lq.contract.strike)
                if not (p.long_strike_min * spot <= k <= p.long_strike_max * spot):
                    continue
                iv = quote_vol(lq, spot, ctx.now, rate=p.rate)
                if not bounds:
                    bounds.append(iv_rank_bounds(rv_hist))
                ivr = iv_rank_in(iv, *bounds[0])
                if iv <= 0.10:
                    ivr = min(ivr, 50.0)
                long_mid = lq.mid
                long_liq = lq.volume + lq.open_interest
                for w in p.widths:
                    sq = find_strike(chain, expiry, OptionRight.CALL, k + w)
                    if sq is None or not ok(sq):
                        continue
                    # The gates and the ranking read evaluate_vertical's measures, computed
                    # here by its very expressions: a candidate is built only for a pair that
                    # passes and leads (building one for every pair was ~1.5% of an all-ten
                    # run).
                    debit = long_mid - sq.mid
                    if debit <= p.min_debit:
                        why = f"debit {debit:.2f} <= {p.min_debit:.2f}"
                        continue
                    width = float(sq.contract.strike - lq.contract.strike)
                    rr = (width - debit) / debit if debit > 0 else 0.0
                    if rr + EPS < min_rr:
                        # formatted only if it stays the last reason (describing the
                        # contracts for every rejected pair was ~1% of an all-ten run)
                        why = partial(_rr_reason, rr, min_rr, lq, sq)
                        continue
                    if not (p.min_iv_rank <= ivr <= p.max_iv_rank):
                        why = f"IV rank {ivr:.0f} outside {p.min_iv_rank:.0f}-{p.max_iv_rank:.0f}"
                        continue
                    vs = _volume_score(long_liq, sq)
                    if vs < p.min_volume_score:
                        why = f"volume score {vs:.2f} < {p.min_volume_score:.2f}"
                        continue
                    be = k + debit
                    score = _score(rr, trend, _pop(spot, be), vs, ivr)
                    if best is None or score > best.score + EPS:
                        best = evaluate_vertical(
                            spot, lq, sq, trend=trend, iv=iv, iv_rank_value=ivr
                        )
        return best, why if isinstance(why, str) else why()

    # -- exits -----------------------------------------------------------------------------

    async def _exit(
        self, ctx: StrategyContext, und: str, legs: list[Position]
    ) -> TradeProposal | None:
        p = self.params
        marks: dict[str, float] = {}
        for pos in legs:
            assert isinstance(pos.instrument, OptionContract)
            marks[pos.symbol] = (await fresh_option_quote(ctx, pos.instrument, self._max_age)).mid
        longs = [x for x in legs if x.quantity > 0]
        shorts = [x for x in legs if x.quantity < 0]
        if len(longs) != 1 or len(shorts) != 1 or longs[0].quantity != -shorts[0].quantity:
            desc = ", ".join(f"{x.quantity:+d} {x.symbol}" for x in legs)
            return close_proposal(self, ctx, legs, marks, exit_reason=ExitReason.SIGNAL,
                reason=f"{und}: not a clean vertical ({desc}); closing what is left")  # fmt: skip
        lp, sp = longs[0], shorts[0]
        lc, sc = lp.instrument, sp.instrument
        assert isinstance(lc, OptionContract)
        assert isinstance(sc, OptionContract)
        debit = float(lp.avg_price) - float(sp.avg_price)
        width = float(sc.strike - lc.strike)
        max_profit = width - debit
        value = marks[lp.symbol] - marks[sp.symbol]
        pnl = value - debit
        label = f"{lc.describe()}/{sc.strike.normalize():f}"
        target = p.profit_target * max_profit
        if pnl + EPS >= target:
            return close_proposal(self, ctx, legs, marks, exit_reason=ExitReason.TAKE_PROFIT,
                reason=f"{label} value {value:.2f} on debit {debit:.2f}: P&L {pnl:+.2f} >= "
                f"{p.profit_target:.0%} of max profit {max_profit:.2f}")  # fmt: skip
        if pnl - EPS <= -p.stop_loss * debit:
            return close_proposal(self, ctx, legs, marks, exit_reason=ExitReason.STOP,
                reason=f"{label} value {value:.2f} on debit {debit:.2f}: P&L {pnl:+.2f} <= "
                f"-{p.stop_loss:.0%} of debit")  # fmt: skip
        dte = lc.dte(ctx.today)
        if dte <= p.time_exit_dte:
            return close_proposal(self, ctx, legs, marks, exit_reason=ExitReason.TIME,
                reason=f"{label} {dte} DTE <= {p.time_exit_dte}: time exit (P&L {pnl:+.2f})")  # fmt: skip
        return None
