"""Wheel (spec §4): cash-secured puts -> assignment -> covered calls -> repeat.

The cycle of each ticker is a small state machine persisted through `state()`/`restore()`:

    (none) --short put seen--> PUT --put gone, no shares--> (none)      expired / bought back
                                PUT --shares seen-->         STOCK      assigned
    STOCK --call gone, shares kept--> STOCK (sell the next call)         call expired
    STOCK --shares gone--> (none)                                        called away / sold

The phase is inferred from this strategy's positions on every scan, so a restart, a missed
fill callback or an assignment the broker books without an order all land in the right state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    Equity,
    ExitReason,
    Fill,
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
)
from engine.strategies.chain_select import (
    LiquidityFilter,
    expiries_in_window,
    nearest_expiry,
    option_delta,
    round_to_tick,
    rows,
    strike_nearest,
)
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import InsufficientData
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_daily_bars,
    fresh_option_quote,
    fresh_quote,
    require_fresh_bar,
)
from engine.strategies.vol_rank import iv_rank, rolling_realized_vol

log = logging.getLogger(__name__)

ENG_UNIVERSE: tuple[str, ...] = (
    "AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "AMD", "PLTR",
    "F", "BAC", "T", "KO", "PFE", "INTC", "CCL", "AAL",
)  # fmt: skip
R24_UNIVERSE: tuple[str, ...] = ("SPY", "QQQ", "AAPL", "MSFT", "GOOGL", "AMZN")

RV_WINDOW = 20
HISTORY_BARS = 252 + RV_WINDOW + 1
MIN_HISTORY_BARS = 60
EPS = 1e-9
CONTRACT_MULTIPLIER = 100  # listed equity options; the collateral pre-check assumes it
MAX_DIV_YIELD = 0.10  # above any simulated name's (6%) and nearly every listed stock's
_NORMAL = NormalDist()


class Phase(StrEnum):
    PUT = "put"
    STOCK = "stock"


class WheelParams(StrategyParams):
    """Wheel thresholds. Field defaults are the engine (Eng) values of spec §4."""

    watchlist: tuple[str, ...] = ENG_UNIVERSE
    min_iv_rank: float = Field(50.0, ge=0.0, le=100.0)
    min_dte: int = Field(30, ge=0, le=365)
    max_dte: int = Field(45, ge=0, le=365)
    min_delta: float = Field(0.15, ge=0.0, le=1.0, description="|delta| range, puts and calls")
    max_delta: float = Field(0.30, ge=0.0, le=1.0)
    call_target_delta: float | None = Field(None, ge=0.0, le=1.0, description="R24 CC delta")
    max_positions: int = Field(10, ge=1, le=200)
    min_premium: float = Field(50.0, ge=0.0, le=10_000.0, description="dollars per contract")
    profit_target: float = Field(0.25, gt=0.0, le=1.0, description="fraction of the credit")
    max_loss: float = Field(0.50, gt=0.0, le=1.0, description="cycle loss / (strike × 100)")
    option_stop_multiple: float = Field(2.0, gt=0.0, le=20.0, description="loss vs credit")
    close_buffer_dte: int = Field(7, ge=0, le=60, description="buy back a CSP at DTE <= this")
    accept_assignment: bool = Field(False, description="R24: skip the buffer, roll instead")
    roll_dte: int = Field(21, ge=0, le=365)
    cc_strike_rule: Literal["eng", "reference"] = "eng"
    cc_min_above_spot: float = Field(0.01, ge=0.0, le=1.0, description="Eng: strike >= spot×(1+x)")
    reference_call_dte: int = Field(30, ge=1, le=365)
    min_volume: int = Field(50, ge=0)
    min_open_interest: int = Field(100, ge=0)
    max_spread_pct: float = Field(0.10, gt=0.0, le=5.0)
    avoid_earnings: bool = False
    gamma_factor: float = Field(0.0, ge=0.0, le=1.0)
    rate: float = Field(0.04, ge=-0.05, le=0.25)
    max_data_age_minutes: float = Field(15.0, gt=0.0, le=1440.0)

    @model_validator(mode="after")
    def _ranges(self) -> WheelParams:
        if self.min_dte > self.max_dte:
            raise ValueError(f"min_dte={self.min_dte} must be <= max_dte={self.max_dte}")
        if self.min_delta > self.max_delta:
            raise ValueError(f"min_delta={self.min_delta} must be <= max_delta={self.max_delta}")
        return self


def annualized_yield(premium: float, strike: float, dte: int) -> float:
    """Spec §4: premium / strike × 365 / DTE × 100 (percent per year)."""
    return premium / strike * 365.0 / max(dte, 1) * 100.0


def lowest_put_strike(spot: float, min_abs_delta: float, max_dte: int) -> float:
    """A strike below every put with Black-Scholes |delta| >= `min_abs_delta` and at most
    `max_dte` (+1 for the expiry-day close) days to run, whatever its vol, for rates >= 0 and
    dividend yields <= MAX_DIV_YIELD.

    |delta| = e^(-qT) N(-d1) >= m needs d1 <= z = -N^-1(m). With x = sigma sqrt(T),
    d1 = (ln(S/K) + (r - q)T) / x + x/2, so ln(S/K) <= z x - x^2/2 - (r - q)T, and the right
    side is at most max(z, 0)^2 / 2 + q T over all x > 0. Chain quotes carry Black-Scholes
    deltas (the simulator's, at the quote's IV), which is what the wheel's band filters on.
    """
    if min_abs_delta <= 0.0:
        return 0.0
    z = max(-_NORMAL.inv_cdf(min(min_abs_delta, 0.5)), 0.0)
    t_max = (max_dte + 1) / 365.0
    # 1e-9 below: the bound is attained at one vol; rounding must not lift a strike over it.
    return spot * math.exp(-0.5 * z * z - MAX_DIV_YIELD * t_max) * (1.0 - 1e-9)


def reference_call_strike(cost_basis: float, spot: float) -> float:
    """Reference post-assignment call strike: round(max(1.05 × cost, 1.03 × spot))."""
    return float(round(max(1.05 * cost_basis, 1.03 * spot)))


@dataclass(slots=True)
class WheelCycle:
    """One ticker's wheel cycle. `premiums` is net option cash of the cycle in dollars."""

    symbol: str
    phase: Phase
    started: str  # ISO date
    put_strike: float | None = None
    cost_basis: float | None = None
    shares: int = 0
    premiums: float = 0.0
    seen_options: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.events = [*self.events, text][-20:]


class Wheel(Strategy):
    """Sell cash-secured puts; when assigned, sell covered calls; when called away, repeat.

    Entry: IV rank (current 20-day realised vol against its 252-day range; no IV history is
    stored) >= min; puts in the DTE window with volume >= 50, OI >= 100, spread <= 10% of mid,
    |delta| in range and premium × 100 >= min; the best annualised yield wins; one put per new
    ticker until max positions, each fully cash-secured. After assignment: covered calls on
    every 100 shares with strike >= max(cost basis, spot × 1.01) (or the reference rule
    round(max(1.05 × cost, 1.03 × spot)) at ~30 DTE). Exits: buy back any short option at
    gain >= profit target × credit; buy back a CSP at DTE <= buffer; loss >= 2 × credit closes
    the option; cycle P&L <= -max_loss × strike × 100 closes stock and call.

    [PROPOSED] choices taken: R24's ticker list is honoured; R24 (accept assignment) skips the
    buffer rule and rolls (buys back) its CSP at 21 DTE, the next scan sells a fresh put; the
    max-loss rules as in the spec. Interpretations: the R24 extras "liquidity >= 0.7" and
    "fundamental screen" have no data source and are not applied; "avoid earnings" skips
    expiries spanning an earnings date; W25's gamma factor is recorded but unused. CSP size is
    checked against buying power and the strategy's allocation cap (not the per-position cap:
    one contract of a $100 stock is already 10% of a $100k account; risk decides). Cycle
    premiums count each short option's credit when it is first seen and subtract buy-backs
    reported through `on_fill`. Scans hourly (§0 gives no interval for the wheel).
    """

    name: ClassVar[str] = "wheel"
    title: ClassVar[str] = "Wheel"
    params_model: ClassVar[type[StrategyParams]] = WheelParams
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "watchlist": R24_UNIVERSE,
            "max_positions": 8,
            "profit_target": 0.50,
            "call_target_delta": 0.20,
            "accept_assignment": True,
            "roll_dte": 21,
            "avoid_earnings": True,
        },
        "wsb_2025": {
            "watchlist": MEME_CORE_EX_ETF,
            "min_iv_rank": 25.0,
            "min_dte": 14,
            "max_dte": 28,
            "min_delta": 0.25,
            "max_delta": 0.45,
            "max_positions": 20,
            "min_premium": 20.0,
            "profit_target": 0.50,
            "max_loss": 0.75,
            "close_buffer_dte": 2,
            "gamma_factor": 0.30,
        },
    }

    params: WheelParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self.cycles: dict[str, WheelCycle] = {}
        self.completed_cycles = 0

    @property
    def last_skip_reason(self) -> str | None:
        return self.skips.last

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    @property
    def _max_age(self) -> timedelta:
        return timedelta(minutes=self.params.max_data_age_minutes)

    # -- persistence -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "cycles": {
                s: {**asdict(c), "phase": c.phase.value} for s, c in sorted(self.cycles.items())
            },
            "completed_cycles": self.completed_cycles,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        cycles: dict[str, WheelCycle] = {}
        for sym, raw in dict(state.get("cycles", {})).items():
            d = dict(raw)
            cycles[str(sym)] = WheelCycle(
                symbol=str(d["symbol"]),
                phase=Phase(d["phase"]),
                started=str(d["started"]),
                put_strike=None if d.get("put_strike") is None else float(d["put_strike"]),
                cost_basis=None if d.get("cost_basis") is None else float(d["cost_basis"]),
                shares=int(d.get("shares", 0)),
                premiums=float(d.get("premiums", 0.0)),
                seen_options=[str(x) for x in d.get("seen_options", [])],
                events=[str(x) for x in d.get("events", [])],
            )
        self.cycles = cycles
        self.completed_cycles = int(state.get("completed_cycles", 0))

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        # Buy-backs reduce the cycle's premium; credits are counted when the short is seen.
        inst = fill.instrument
        if isinstance(inst, OptionContract) and fill.side is Side.BUY:
            cyc = self.cycles.get(inst.underlying)
            if cyc is not None:
                cyc.premiums -= float(fill.price) * fill.quantity * inst.multiplier
                cyc.note(
                    f"{ctx.today}: bought back {fill.quantity} {inst.describe()} @{fill.price}"
                )
        return ()

    # -- the state machine -----------------------------------------------------------------

    def observe(self, ctx: StrategyContext) -> list[str]:
        """Update every cycle from the held positions; returns the transitions seen."""
        by_sym: dict[str, list[Position]] = {}
        for pos in ctx.positions.values():
            if pos.quantity != 0:
                by_sym.setdefault(pos.instrument.underlying, []).append(pos)
        seen: list[str] = []
        for sym in sorted(set(by_sym) | set(self.cycles)):
            held = by_sym.get(sym, [])
            stock = sum(p.quantity for p in held if isinstance(p.instrument, Equity))
            stock_pos = next((p for p in held if isinstance(p.instrument, Equity)), None)
            short_puts = [p for p in held if _is_short(p, OptionRight.PUT)]
            cyc = self.cycles.get(sym)
            if stock > 0 and stock_pos is not None:
                if cyc is None or cyc.phase is not Phase.STOCK:
                    prior = cyc.phase.value if cyc is not None else "none"
                    cyc = cyc or WheelCycle(sym, Phase.STOCK, ctx.today.isoformat())
                    cyc.phase = Phase.STOCK
                    cyc.cost_basis = float(stock_pos.avg_price)
                    cyc.put_strike = cyc.put_strike or cyc.cost_basis
                    what = "assigned" if prior == "put" else "took over"
                    cyc.note(f"{ctx.today}: {what} {stock} sh at {cyc.cost_basis:.2f}")
                    seen.append(f"{sym}: {prior} -> stock ({what} at {cyc.cost_basis:.2f})")
                cyc.shares = stock
                self.cycles[sym] = cyc
            elif short_puts:
                if cyc is None:
                    k = short_puts[0].instrument
                    strike = float(k.strike) if isinstance(k, OptionContract) else None
                    cyc = WheelCycle(sym, Phase.PUT, ctx.today.isoformat(), put_strike=strike)
                    seen.append(f"{sym}: none -> put")
                    self.cycles[sym] = cyc
            elif cyc is not None and not ctx.has_pending(sym):
                end = "called away" if cyc.phase is Phase.STOCK else "put expired/closed"
                seen.append(f"{sym}: {cyc.phase.value} -> none ({end}); restart")
                log.info("wheel %s cycle ended: %s, premiums %.2f", sym, end, cyc.premiums)
                del self.cycles[sym]
                self.completed_cycles += 1
                continue
            if cyc is None:
                continue
            for p in held:
                if (
                    p.quantity < 0
                    and isinstance(p.instrument, OptionContract)
                    and p.symbol not in cyc.seen_options
                ):
                    cyc.seen_options = [*cyc.seen_options, p.symbol][-50:]
                    cyc.premiums += float(p.avg_price) * -p.quantity * p.multiplier
        return seen

    # -- scan ------------------------------------------------------------------------------

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        self.skips.reset()
        transitions = self.observe(ctx)
        for t in transitions:
            log.info("wheel transition %s", t)
        out: list[TradeProposal] = []
        for sym in sorted(self.cycles):
            if ctx.has_pending(sym):
                continue
            try:
                out.extend(await self._manage(ctx, sym))
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
        if not ctx.market_open:
            return out
        busy = (
            set(self.cycles)
            | {p.underlying for p in ctx.pending}
            | {p.instrument.underlying for p in ctx.positions.values() if p.quantity != 0}
        )
        committed = 0.0
        for sym in sorted(self.universe()):
            if sym in busy:
                continue
            if len(busy) >= self.params.max_positions:
                self.skips.record(sym, f"max positions {self.params.max_positions} reached")
                break
            try:
                prop = await self._sell_put(ctx, bars, sym, committed)
            except SkipSymbol as s:
                self.skips.record(s.symbol, s.reason)
                continue
            out.append(prop)
            busy.add(sym)
            committed += float(prop.meta.get("collateral", 0.0))
        return out

    # -- entry: cash-secured put -----------------------------------------------------------

    async def iv_rank_of(self, ctx: StrategyContext, sym: str) -> float:
        daily = await fresh_daily_bars(ctx, sym, HISTORY_BARS, min_count=MIN_HISTORY_BARS)
        try:
            rv = rolling_realized_vol([b.close for b in daily], RV_WINDOW)
        except InsufficientData as exc:
            raise SkipSymbol(sym, str(exc)) from None
        return iv_rank(float(rv[-1]), rv[-252:])

    def _filter(self) -> LiquidityFilter:
        p = self.params
        return LiquidityFilter(
            min_volume=p.min_volume,
            min_open_interest=p.min_open_interest,
            max_spread_pct=p.max_spread_pct,
        )

    async def _earnings_blocked(self, ctx: StrategyContext, sym: str, last: date) -> list[date]:
        if not self.params.avoid_earnings:
            return []
        try:
            events = await ctx.market.earnings_calendar(ctx.today, last)
        except (DataUnavailable, BadMarketData) as exc:
            raise SkipSymbol(sym, f"cannot check earnings ({exc})") from None
        return [e.date for e in events if e.symbol == sym]

    def _candidates(
        self,
        ctx: StrategyContext,
        chain: OptionChain,
        right: OptionRight,
        *,
        min_strike: float = 0.0,
        blocked: Sequence[date] = (),
    ) -> list[tuple[OptionQuote, float, float, int]]:
        """(quote, |delta|, annualised yield, DTE) passing every hard filter."""
        p = self.params
        out: list[tuple[OptionQuote, float, float, int]] = []
        for exp in expiries_in_window(chain, ctx.today, p.min_dte, p.max_dte, right):
            if any(ctx.today <= d <= exp for d in blocked):
                continue
            dte = (exp - ctx.today).days
            for q in rows(chain, exp, right, self._filter()):
                k = float(q.contract.strike)
                if k < min_strike - EPS or q.mid * q.contract.multiplier < p.min_premium - EPS:
                    continue
                d = abs(option_delta(q, chain.spot, ctx.now, rate=p.rate))
                out.append((q, d, annualized_yield(q.mid, k, dte), dte))
        return out

    async def _sell_put(
        self, ctx: StrategyContext, bars: Mapping[str, Bar], sym: str, committed: float
    ) -> TradeProposal:
        p = self.params
        require_fresh_bar(ctx, bars, sym, self._max_age)
        rank = await self.iv_rank_of(ctx, sym)
        if rank < p.min_iv_rank:
            raise SkipSymbol(sym, f"IV rank {rank:.0f} < {p.min_iv_rank:.0f}")
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        room_cash = float(ctx.portfolio.buying_power) - committed
        room_cap = ctx.equity * ctx.allocation_cap - ctx.open_risk - committed
        # Most scans end on the collateral check below once the sleeve is committed: when even
        # the lowest strike the delta band admits is unaffordable, no put can pass it, so the
        # chain (the expensive read) is not priced. Same decision; the reason names the bound.
        lowest = lowest_put_strike(spot, p.min_delta - EPS, p.max_dte) * CONTRACT_MULTIPLIER
        if lowest > min(room_cash, room_cap) + EPS:
            raise SkipSymbol(
                sym,
                f"collateral >= ${lowest:,.0f} > room ${max(0.0, min(room_cash, room_cap)):,.0f} "
                f"(buying power / allocation cap; lowest strike a |delta| >= {p.min_delta:.2f} "
                "put can have)",
            )
        last_exp = ctx.today + timedelta(days=p.max_dte)
        chain = await fresh_chain(
            ctx, sym, ctx.today + timedelta(days=p.min_dte), last_exp, self._max_age,
            right=OptionRight.PUT,
        )  # fmt: skip
        blocked = await self._earnings_blocked(ctx, sym, last_exp)
        cands = [
            c for c in self._candidates(ctx, chain, OptionRight.PUT, blocked=blocked)
            if p.min_delta - EPS <= c[1] <= p.max_delta + EPS
        ]  # fmt: skip
        if not cands:
            raise SkipSymbol(
                sym,
                f"no put with |delta| {p.min_delta:.2f}-{p.max_delta:.2f}, {p.min_dte}-{p.max_dte} DTE, "
                f"premium >= ${p.min_premium:.0f}" + (" outside earnings" if blocked else ""),
            )
        q, delta, yld, dte = max(
            cands, key=lambda c: (round(c[2], 9), -float(c[0].contract.strike))
        )
        k = float(q.contract.strike)
        collateral = k * q.contract.multiplier
        if collateral > min(room_cash, room_cap) + EPS:
            raise SkipSymbol(
                sym,
                f"collateral ${collateral:,.0f} > room ${max(0.0, min(room_cash, room_cap)):,.0f} "
                "(buying power / allocation cap)",
            )
        limit = round_to_tick(q.mid)
        credit = float(limit)
        reason = (
            f"{sym} IV rank {rank:.0f} >= {p.min_iv_rank:.0f}; selling 1 cash-secured "
            f"{q.contract.describe()} @{limit} (|delta| {delta:.2f}, {dte} DTE, "
            f"yield {yld:.1f}%/yr, collateral ${collateral:,.0f})"
        )
        mult = q.contract.multiplier
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, Side.SELL)],
            quantity=1,
            reason=reason,
            limit_price=limit,
            max_loss=(q.contract.strike - limit) * mult,
            max_profit=limit * mult,
            breakevens=[k - credit],
            confidence=min(0.95, 0.5 + rank / 200.0),
            meta={
                "iv_rank": rank,
                "delta": delta,
                "annualized_yield": yld,
                "collateral": collateral,
                "phase": "put",
            },
        )

    # -- managing a cycle ------------------------------------------------------------------

    async def _manage(self, ctx: StrategyContext, sym: str) -> list[TradeProposal]:
        cyc = self.cycles[sym]
        held = [
            p for p in ctx.positions.values() if p.quantity != 0 and p.instrument.underlying == sym
        ]
        shorts = [p for p in held if p.quantity < 0 and isinstance(p.instrument, OptionContract)]
        marks: dict[str, float] = {}
        for pos in shorts:
            assert isinstance(pos.instrument, OptionContract)
            marks[pos.symbol] = (await fresh_option_quote(ctx, pos.instrument, self._max_age)).mid
        if cyc.phase is Phase.STOCK:
            stock = next((p for p in held if isinstance(p.instrument, Equity)), None)
            if stock is not None:
                spot = (await fresh_quote(ctx, sym, self._max_age)).last
                stop = self._cycle_stop(ctx, cyc, stock, shorts, marks, spot)
                if stop:
                    return stop
        for pos in shorts:
            exit_p = self._option_exit(ctx, cyc, pos, marks[pos.symbol])
            if exit_p is not None:
                return [exit_p]
        if cyc.phase is Phase.STOCK and ctx.market_open:
            covered = sum(-p.quantity for p in shorts if _is_short(p, OptionRight.CALL))
            free = cyc.shares // 100 - covered
            if free > 0:
                return [await self._sell_call(ctx, cyc, free)]
        return []

    def _option_exit(
        self, ctx: StrategyContext, cyc: WheelCycle, pos: Position, mark: float
    ) -> TradeProposal | None:
        p = self.params
        c = pos.instrument
        assert isinstance(c, OptionContract)
        credit = float(pos.avg_price)
        if credit <= 0:
            return None
        gain = (credit - mark) / credit
        kind = "CSP" if c.right is OptionRight.PUT else "covered call"
        desc = f"{kind} {c.describe()} sold @{credit:.2f}, mark {mark:.2f}"
        dte = c.dte(ctx.today)
        if gain + EPS >= p.profit_target:
            return self._close(ctx, pos, mark, ExitReason.TAKE_PROFIT,
                f"{desc}: gain {gain:.1%} >= {p.profit_target:.0%} of credit; buy to close")  # fmt: skip
        if mark - credit + EPS >= p.option_stop_multiple * credit:
            return self._close(ctx, pos, mark, ExitReason.STOP,
                f"{desc}: loss {mark - credit:.2f} >= {p.option_stop_multiple:g}x credit; buy to close")  # fmt: skip
        if c.right is OptionRight.PUT:
            if p.accept_assignment:
                if dte <= p.roll_dte:
                    return self._close(ctx, pos, mark, ExitReason.ROLL,
                        f"{desc}: {dte} DTE <= {p.roll_dte}; roll (buy back, sell a new put)")  # fmt: skip
            elif dte <= p.close_buffer_dte:
                return self._close(ctx, pos, mark, ExitReason.EXPIRY,
                    f"{desc}: {dte} DTE <= buffer {p.close_buffer_dte}; buy to close before expiry")  # fmt: skip
        return None

    def _cycle_stop(
        self,
        ctx: StrategyContext,
        cyc: WheelCycle,
        stock: Position,
        shorts: Sequence[Position],
        marks: Mapping[str, float],
        spot: float,
    ) -> list[TradeProposal]:
        p = self.params
        basis = cyc.cost_basis if cyc.cost_basis is not None else float(stock.avg_price)
        strike = cyc.put_strike or basis
        open_liability = sum(marks[s.symbol] * -s.quantity * s.multiplier for s in shorts)
        pnl = (spot - basis) * stock.quantity + cyc.premiums - open_liability
        limit = -p.max_loss * strike * 100.0 * max(1, stock.quantity // 100)
        if pnl > limit + EPS:
            return []
        why = (
            f"{cyc.symbol} wheel cycle P&L {pnl:,.0f} <= -{p.max_loss:.0%} x {strike:.2f} x 100 "
            f"({limit:,.0f}): stock {spot:.2f} vs basis {basis:.2f}, premiums {cyc.premiums:,.0f}"
        )
        out = [
            self._close(ctx, s, marks[s.symbol], ExitReason.STOP, why + "; buy back call")
            for s in shorts
        ]
        out.append(
            close_proposal(
                self,
                ctx,
                [stock],
                {stock.symbol: spot},
                reason=why + "; sell stock",
                exit_reason=ExitReason.STOP,
            )
        )
        return out

    async def _sell_call(
        self, ctx: StrategyContext, cyc: WheelCycle, contracts: int
    ) -> TradeProposal:
        p = self.params
        sym = cyc.symbol
        spot = (await fresh_quote(ctx, sym, self._max_age)).last
        basis = cyc.cost_basis if cyc.cost_basis is not None else spot
        if p.cc_strike_rule == "reference":
            q = await self._reference_call(ctx, sym, basis, spot)
            floor_txt = f"reference strike round(max(1.05x{basis:.2f}, 1.03x{spot:.2f}))"
        else:
            floor = max(basis, spot * (1.0 + p.cc_min_above_spot))
            q = await self._eng_call(ctx, sym, floor)
            floor_txt = f"strike >= max(basis {basis:.2f}, spot {spot:.2f} x {1 + p.cc_min_above_spot:g}) = {floor:.2f}"
        limit = round_to_tick(q.mid)
        k = float(q.contract.strike)
        mult = q.contract.multiplier
        dte = q.contract.dte(ctx.today)
        first = cyc.events[-1] if cyc.events else ""
        reason = (
            f"{sym} holding {cyc.shares} sh at basis {basis:.2f} ({first}); selling {contracts} covered "
            f"{q.contract.describe()} @{limit} ({dte} DTE, {floor_txt})"
        )
        return self.propose(
            ctx,
            legs=[OrderLeg(q.contract, Side.SELL)],
            quantity=contracts,
            reason=reason,
            limit_price=limit,
            # covered by shares already held: no loss beyond the stock's own
            max_loss=Decimal(0),
            max_profit=(limit + Decimal(str(k)) - Decimal(str(basis))) * mult * contracts,
            breakevens=[basis - float(limit)],
            confidence=0.8,
            meta={"phase": "stock", "cost_basis": basis},
        )

    async def _eng_call(self, ctx: StrategyContext, sym: str, floor: float) -> OptionQuote:
        p = self.params
        chain = await fresh_chain(
            ctx,
            sym,
            ctx.today + timedelta(days=p.min_dte),
            ctx.today + timedelta(days=p.max_dte),
            self._max_age,
            right=OptionRight.CALL,
        )
        cands = self._candidates(ctx, chain, OptionRight.CALL, min_strike=floor)
        if not cands:
            raise SkipSymbol(
                sym,
                f"no liquid call with strike >= {floor:.2f} and premium >= ${p.min_premium:.0f}",
            )
        in_range = [c for c in cands if p.min_delta - EPS <= c[1] <= p.max_delta + EPS]
        if in_range and p.call_target_delta is not None:
            target = p.call_target_delta
            return min(in_range, key=lambda c: (abs(c[1] - target), float(c[0].contract.strike)))[0]
        if in_range:
            return max(in_range, key=lambda c: (round(c[2], 9), float(c[0].contract.strike)))[0]
        # Nothing in the delta band above the cost basis: the basis rule wins over the band.
        return min(cands, key=lambda c: (abs(c[1] - p.min_delta), float(c[0].contract.strike)))[0]

    async def _reference_call(
        self, ctx: StrategyContext, sym: str, basis: float, spot: float
    ) -> OptionQuote:
        p = self.params
        target = reference_call_strike(basis, spot)
        dte = p.reference_call_dte
        chain = await fresh_chain(
            ctx,
            sym,
            ctx.today + timedelta(days=1),
            ctx.today + timedelta(days=2 * dte + 14),
            self._max_age,
            right=OptionRight.CALL,
        )
        exp = nearest_expiry(chain, ctx.today, dte, min_dte=1, right=OptionRight.CALL)
        q = (
            None
            if exp is None
            else strike_nearest(chain, exp, OptionRight.CALL, target, filt=self._filter())
        )
        if q is None:
            raise SkipSymbol(sym, f"no liquid call near reference strike {target:.0f}")
        return q

    def _close(
        self, ctx: StrategyContext, pos: Position, mark: float, why: ExitReason, reason: str
    ) -> TradeProposal:
        return close_proposal(self, ctx, [pos], {pos.symbol: mark}, reason=reason, exit_reason=why)


def _is_short(pos: Position, right: OptionRight) -> bool:
    inst = pos.instrument
    return pos.quantity < 0 and isinstance(inst, OptionContract) and inst.right is right
