"""SPX/SPY Credit Spreads (spec §9): short-dated defined-risk premium selling on index ETFs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, model_validator

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
    TimeInForce,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext, StrategyParams, contracts_for_budget
from engine.strategies.chain_select import (
    LiquidityFilter,
    expiries_in_window,
    expiry_instant,
    find_strike,
    nearest_delta,
    option_delta,
    round_to_tick,
    rows,
)
from engine.strategies.closing import close_proposal
from engine.strategies.indicators import InsufficientData, realized_vol, simple_returns
from engine.strategies.market_guard import (
    SkipLog,
    SkipSymbol,
    fresh_chain,
    fresh_daily_bars,
    fresh_option_quote,
)

COMBO_TICK = Decimal("0.01")
# Prices are cents; float sums of them drift by ~1e-16, so boundaries get a hair of slack.
EPS = 1e-9


class Structure(StrEnum):
    SPREAD = "spread"  # the better of a put or a call credit spread
    IRON_CONDOR = "iron_condor"


class CreditSpreadParams(StrategyParams):
    """Construction, filters and exits. Prices per share; fractions unless named otherwise."""

    watchlist: tuple[str, ...] = Field(("SPY", "QQQ", "IWM"), min_length=1)
    structure: Structure = Structure.SPREAD
    short_delta: float = Field(0.30, ge=0.03, le=0.30)  # spec §0.1 clamp
    long_delta: float | None = Field(None, gt=0.0, le=0.30)  # None = long at short ∓ width
    min_dte: int = Field(0, ge=0, le=60)
    max_dte: int = Field(3, ge=0, le=60)
    target_dte: tuple[int, int] | None = None  # R24: only expiries in this window
    roll_dte: int | None = Field(None, ge=0, le=60)  # close (to re-enter later) at DTE <=
    expiries_scanned: int = Field(2, ge=1, le=10)
    prefer_0dte: bool = False
    min_credit: float = Field(0.10, ge=0.0)
    width_pct: float = Field(0.03, gt=0.0, le=0.5)  # width = clamp(pct × spot, min, max)
    min_width: float = Field(5.0, gt=0.0)
    max_width: float = Field(20.0, gt=0.0)
    min_pop: float = Field(60.0, ge=0.0, le=100.0)  # percent
    max_positions: int = Field(3, ge=1, le=50)
    size_pct: float = Field(0.05, gt=0.0, le=1.0)  # of equity, against max loss
    max_contracts: int = Field(5, ge=1, le=100)
    profit_target: float = Field(0.25, ge=0.10, le=0.80)  # of credit
    stop_multiple: float = Field(0.75, gt=0.0, le=5.0)  # loss >= this × credit
    close_minutes_before_expiry: int = Field(60, ge=0, le=390)
    zero_dte_exit: time = time(15, 0)  # 0DTE positions close at/after (ET)
    entry_start: time = time(9, 30)
    entry_end: time = time(15, 0)  # no new entries at/after (ET)
    vix_max: float | None = Field(None, ge=10.0, le=60.0)  # spec §0.1 clamp
    skip_earnings_days: bool = False
    min_volume: int = Field(10, ge=0)
    min_open_interest: int = Field(50, ge=0)
    volume_or_oi: bool = True
    min_bid: float = Field(0.05, ge=0.0)  # bid and ask must exceed this
    rate: float = Field(0.04, ge=0.0, le=0.2)
    fallback_sigma: float = Field(0.20, gt=0.0, le=3.0)
    # After an entry proposal on an underlying, wait before proposing on it again, so a denied
    # or expired proposal is not re-sent on every scan.
    reentry_cooldown_minutes: int = Field(15, ge=0, le=1440)

    @model_validator(mode="after")
    def _check(self) -> CreditSpreadParams:
        if self.min_dte > self.max_dte:
            raise ValueError(f"min_dte {self.min_dte} > max_dte {self.max_dte}")
        if self.min_width > self.max_width:
            raise ValueError(f"min_width {self.min_width} > max_width {self.max_width}")
        if self.target_dte is not None:
            lo, hi = self.target_dte
            if not self.min_dte <= lo <= hi <= self.max_dte:
                raise ValueError(
                    f"target_dte {self.target_dte} must lie within {self.min_dte}-{self.max_dte}"
                )
        if self.entry_start >= self.entry_end:
            raise ValueError(f"entry_start {self.entry_start} must be before {self.entry_end}")
        return self

    def liquidity(self) -> LiquidityFilter:
        # "> $0.05" on cent prices is ">= $0.06"; the filter's minimums are inclusive.
        floor = self.min_bid + 0.005
        return LiquidityFilter(
            min_volume=self.min_volume,
            min_open_interest=self.min_open_interest,
            volume_or_oi=self.volume_or_oi,
            min_bid=floor,
            min_ask=floor,
        )


@dataclass(frozen=True, slots=True)
class Vertical:
    """One credit vertical: sell `short`, buy `long` further out of the money."""

    short: OptionQuote
    long: OptionQuote
    short_delta: float

    @property
    def right(self) -> OptionRight:
        return self.short.contract.right

    @property
    def credit(self) -> float:
        return self.short.mid - self.long.mid

    @property
    def width(self) -> float:
        return abs(float(self.short.contract.strike) - float(self.long.contract.strike))

    @property
    def pop(self) -> float:
        """Spec: 100 × (1 - |Δ short|)."""
        return 100.0 * (1.0 - abs(self.short_delta))

    @property
    def breakeven(self) -> float:
        k = float(self.short.contract.strike)
        return k - self.credit if self.right is OptionRight.PUT else k + self.credit

    def describe(self) -> str:
        kind = "put" if self.right is OptionRight.PUT else "call"
        s, lg = self.short.contract, self.long.contract
        return (
            f"{kind} spread {s.strike:f}/{lg.strike:f} (short Δ {self.short_delta:+.2f} mid "
            f"{self.short.mid:.2f}, long mid {self.long.mid:.2f})"
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A spread or a condor on one expiry, priced per share."""

    expiry: date
    sides: tuple[Vertical, ...]

    @property
    def credit(self) -> float:
        return sum(v.credit for v in self.sides)

    @property
    def width(self) -> float:
        return max(v.width for v in self.sides)

    @property
    def max_loss(self) -> float:
        return self.width - self.credit

    @property
    def pop(self) -> float:
        """Single spread: 100(1 - |Δ|); condor ≈ 0.8 × the weaker side (spec §9)."""
        if len(self.sides) == 1:
            return self.sides[0].pop
        return 0.8 * min(v.pop for v in self.sides)

    @property
    def score(self) -> float:
        return self.pop * self.credit / self.max_loss if self.max_loss > 0 else 0.0

    def legs(self) -> list[OrderLeg]:
        out: list[OrderLeg] = []
        for v in self.sides:
            out.append(OrderLeg(v.short.contract, Side.SELL))
            out.append(OrderLeg(v.long.contract, Side.BUY))
        return out


def spread_width(spot: float, p: CreditSpreadParams) -> float:
    """clamp(width_pct × spot, min_width, max_width): spot 500 -> 15."""
    return min(p.max_width, max(p.min_width, p.width_pct * spot))


class SpxCreditSpreads(Strategy):
    """Sell short-dated credit spreads (or iron condors) on SPY/QQQ/IWM at a target short delta.

    Construction (per underlying): the `expiries_scanned` nearest expiries with min_dte <= DTE
    <= max_dte (R24: only its 28-35 target window). Short = the liquid strike whose |Δ| is
    nearest the target (quote delta, else BS with σ 20%, r 4%); long = the listed strike at
    short ∓ width, width = clamp(3% × spot, $5, max width) (R24: |Δ| nearest 0.05 within the
    max width). Credit = short mid - long mid >= min credit; max loss = width - credit;
    PoP = 100(1 - |Δ short|) >= min PoP (condor: 0.8 × the weaker side); best by PoP ×
    credit / max loss. Size: floor(5% × equity / (max loss × 100)) via `ctx.budget`, cap 5,
    0 -> skip. Limit = -(credit) per combo unit (a net credit), rounded to $0.01.

    Exits (each a CLOSE combo): P&L >= profit target × credit; P&L <= -stop × credit; <= 60
    minutes to expiry; 0DTE at/after 15:00 ET; R24 roll: DTE <= 21 -> close (a new condor is
    opened by a later scan). No new entries at/after 15:00 ET (W25: 10:00-15:30 window, 0DTE
    entries still end at 15:00 since the 0DTE exit would close them at once).

    [PROPOSED]/interpretation choices:
    - The long leg is priced at its real strike (not upstream's 0.15-Δ option).
    - R24's preset keys are honoured: min credit $1.00, 28-35 DTE target (max 45), roll at 21
      DTE, VIX <= 25 (`ctx.vix`; when the engine supplies none, the underlying's 20-day
      realised vol × 100 stands in; with neither, no entry: fail closed), skip earnings days of
      the underlying (fail closed when the calendar is unavailable), morning entries =
      09:30-12:00 ET, option volume >= 100 and OI >= 50.
    - Profile "-" cells take the Eng value (min PoP 60%, size 5%).
    - W25's "target IV pct 18" has no defined rule upstream and is not used; its r = 5%.
    - Positions are grouped per underlying (one structure per underlying at a time); the entry
      credit is read back from the legs' average fill prices, so nothing needs persisting.
    - Exits are decided on mids but sent immediate-or-cancel at the far side of each leg (buy
      the short at its ask, sell the long at its bid). A close resting at the mid is never
      marketable for a combo and, while it rests, the structure counts as pending and is not
      managed: a profit-taking close placed in the morning used to block the 15:00 ET and
      60-minute exits, so 0DTE spreads went into expiry and the short leg was assigned (QQQ
      200107 382/370 put spread, 400 shares bought at $382). Unfilled, an IOC close is gone
      by the next scan, which decides again. A long leg with no bid is left out of the close
      (it cannot be sold, and in the combo it kept the short from being bought back); it
      expires, worthless or exercised against the short.
    """

    name: ClassVar[str] = "spx_credit_spreads"
    title: ClassVar[str] = "SPX CS"
    params_model: ClassVar[type[StrategyParams]] = CreditSpreadParams
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "structure": Structure.IRON_CONDOR,
            "short_delta": 0.15,
            "long_delta": 0.05,
            "min_dte": 0,
            "max_dte": 45,
            "target_dte": (28, 35),
            "roll_dte": 21,
            "min_credit": 1.00,
            "max_width": 50.0,
            "max_positions": 3,
            "profit_target": 0.50,
            "stop_multiple": 2.2,
            "vix_max": 25.0,
            "skip_earnings_days": True,
            "entry_start": time(9, 30),
            "entry_end": time(12, 0),
            "min_volume": 100,
            "min_open_interest": 50,
            "volume_or_oi": False,
        },
        "wsb_2025": {
            "structure": Structure.SPREAD,
            "short_delta": 0.20,
            "min_dte": 0,
            "max_dte": 2,
            "prefer_0dte": True,
            "min_credit": 0.40,
            "max_width": 100.0,
            "max_positions": 12,
            "profit_target": 0.50,
            "stop_multiple": 3.0,
            "entry_start": time(10, 0),
            "entry_end": time(15, 30),
            "rate": 0.05,
        },
    }
    scan_interval: ClassVar[timedelta] = timedelta(seconds=60)
    intraday: ClassVar[bool] = True
    trades_stock: ClassVar[bool] = False  # options only (see stray_stock)

    params: CreditSpreadParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self._last_entry: dict[str, datetime] = {}  # underlying -> last entry proposal

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.watchlist)

    def _cooling(self, ctx: StrategyContext, sym: str) -> bool:
        last = self._last_entry.get(sym)
        wait = timedelta(minutes=self.params.reentry_cooldown_minutes)
        if last is not None and ctx.now - last < wait:
            self.skips.record(sym, f"entry proposed at {last:%H:%M} UTC, cooling down {wait}")
            return True
        return False

    # -- scan ------------------------------------------------------------------------------

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        if not ctx.market_open:
            return []
        self.skips.reset()
        groups: dict[str, list[Position]] = {}
        for _, pos in sorted(ctx.positions.items()):
            if pos.quantity != 0 and isinstance(pos.instrument, OptionContract):
                groups.setdefault(pos.instrument.underlying, []).append(pos)
        pending = {pr.underlying for pr in ctx.pending}
        out: list[TradeProposal] = []
        for under, legs in sorted(groups.items()):
            if under in pending:
                continue
            prop = await self._manage(ctx, under, legs)
            if prop is not None:
                out.append(prop)
        out.extend(await self._entries(ctx, set(groups) | pending))
        return out

    async def _entries(self, ctx: StrategyContext, busy: set[str]) -> list[TradeProposal]:
        p = self.params
        now_t = ctx.et_time
        if not p.entry_start <= now_t < p.entry_end:
            self.skips.record(
                "*",
                f"entries only {p.entry_start:%H:%M}-{p.entry_end:%H:%M} ET (now {now_t:%H:%M})",
            )
            return []
        slots = p.max_positions - len(busy)
        if slots <= 0:
            self.skips.record("*", f"{p.max_positions} structures held or pending")
            return []
        out: list[TradeProposal] = []
        for sym in sorted(self.universe()):
            if len(out) >= slots:
                break
            if sym in busy or self._cooling(ctx, sym):
                continue
            try:
                out.append(await self._entry(ctx, sym))
                self._last_entry[sym] = ctx.now
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
        return out

    async def _vol_gate(self, ctx: StrategyContext, sym: str) -> str:
        """Reason text for the VIX filter, or raise SkipSymbol when it blocks."""
        p = self.params
        if p.vix_max is None:
            return ""
        if ctx.vix is not None:
            level, source = ctx.vix, "VIX"
        else:
            bars = await fresh_daily_bars(ctx, sym, 21)
            try:
                level = 100.0 * realized_vol([b.close for b in bars], 20)
            except InsufficientData as exc:
                raise SkipSymbol(sym, f"no VIX and no realised-vol proxy ({exc})") from None
            source = f"{sym} 20d realised vol (VIX proxy)"
        if level > p.vix_max:
            raise SkipSymbol(sym, f"{source} {level:.1f} > {p.vix_max:.0f}: no new position")
        return f"{source} {level:.1f} <= {p.vix_max:.0f}"

    async def _earnings_today(self, ctx: StrategyContext, sym: str) -> None:
        if not self.params.skip_earnings_days:
            return
        try:
            events = await ctx.market.earnings_calendar(ctx.today, ctx.today)
        except (DataUnavailable, BadMarketData) as exc:
            raise SkipSymbol(sym, f"earnings calendar unavailable ({exc})") from None
        if any(e.symbol == sym for e in events):
            raise SkipSymbol(sym, "earnings day: no new position")

    async def _expected_move(self, ctx: StrategyContext, sym: str) -> float | None:
        """Spec §9: sd of the last 20 daily returns, clamped to 1-5% (informational)."""
        try:
            bars = await fresh_daily_bars(ctx, sym, 21)
            rets = simple_returns([b.close for b in bars])
        except (SkipSymbol, InsufficientData):
            return None
        return min(0.05, max(0.01, float(rets.std(ddof=1))))

    async def _entry(self, ctx: StrategyContext, sym: str) -> TradeProposal:
        p = self.params
        today = ctx.today
        vol_note = await self._vol_gate(ctx, sym)
        await self._earnings_today(ctx, sym)
        lo, hi = p.target_dte if p.target_dte is not None else (p.min_dte, p.max_dte)
        # Only the target window's expiries are ever used, so only they are read: a 0-45 DTE
        # chain is ~20 expiries of which R24 keeps the 28-35 DTE ones. A chain that is empty
        # over the whole min..max range is also empty over the window, so the skip below
        # covers it.
        chain = await fresh_chain(
            ctx, sym, today + timedelta(days=lo), today + timedelta(days=hi), allow_empty=True
        )
        expiries = list(expiries_in_window(chain, today, lo, hi))
        if ctx.et_time >= p.zero_dte_exit:
            expiries = [e for e in expiries if e != today]
        expiries = expiries[: p.expiries_scanned]
        if not expiries:
            raise SkipSymbol(sym, f"no expiry with {lo}-{hi} DTE")
        cands: list[Candidate] = []
        reasons: list[str] = []
        for expiry in expiries:
            verticals: dict[OptionRight, Vertical] = {}
            for right in (OptionRight.PUT, OptionRight.CALL):
                v = self._vertical(ctx, chain, expiry, right, reasons)
                if v is not None:
                    verticals[right] = v
            if p.structure is Structure.IRON_CONDOR:
                if len(verticals) == 2:
                    cands.append(
                        Candidate(expiry, (verticals[OptionRight.PUT], verticals[OptionRight.CALL]))
                    )
                else:
                    reasons.append(f"{expiry}: no complete condor")
            else:
                cands.extend(Candidate(expiry, (v,)) for v in verticals.values())
        passing: list[Candidate] = []
        for c in cands:
            why = self._reject(c)
            if why:
                reasons.append(f"{c.expiry} {' + '.join(v.describe() for v in c.sides)}: {why}")
            else:
                passing.append(c)
        if not passing:
            raise SkipSymbol(sym, "; ".join(reasons) or "no candidate")
        best = min(
            passing,
            key=lambda c: (p.prefer_0dte and c.expiry != today, -c.score, c.expiry),
        )
        return self._proposal(
            ctx, sym, chain.spot, best, vol_note, await self._expected_move(ctx, sym)
        )

    def _vertical(
        self,
        ctx: StrategyContext,
        chain: OptionChain,
        expiry: date,
        right: OptionRight,
        reasons: list[str],
    ) -> Vertical | None:
        p = self.params
        short = nearest_delta(
            chain, expiry, right, p.short_delta, ctx.now, filt=p.liquidity(), rate=p.rate,
            fallback_sigma=p.fallback_sigma,
        )  # fmt: skip
        if short is None:
            reasons.append(f"{expiry} {right.name.lower()}s: no liquid short strike")
            return None
        delta = option_delta(
            short, chain.spot, ctx.now, rate=p.rate, fallback_sigma=p.fallback_sigma
        )
        k = float(short.contract.strike)
        sign = -1.0 if right is OptionRight.PUT else 1.0
        width = spread_width(chain.spot, p)
        long: OptionQuote | None
        if p.long_delta is not None:
            target_long = p.long_delta
            further = [
                q
                for q in rows(chain, expiry, right)
                if 0 < sign * (float(q.contract.strike) - k) <= p.max_width
            ]

            def by_delta(q: OptionQuote) -> tuple[float, float]:
                d = option_delta(
                    q, chain.spot, ctx.now, rate=p.rate, fallback_sigma=p.fallback_sigma
                )
                return abs(abs(d) - target_long), sign * float(q.contract.strike)

            long = min(further, key=by_delta, default=None)
        else:
            long = find_strike(chain, expiry, right, k + sign * width)
            if long is None:
                # Nearest listed strike on the far side of the target, never inside the short.
                further = [
                    q
                    for q in rows(chain, expiry, right)
                    if sign * (float(q.contract.strike) - k) > 0
                ]
                long = min(
                    further,
                    key=lambda q: (
                        abs(float(q.contract.strike) - (k + sign * width)),
                        sign * float(q.contract.strike),
                    ),
                    default=None,
                )
        if long is None:
            reasons.append(f"{expiry} {right.name.lower()}s: no long strike beyond {k:g}")
            return None
        return Vertical(short, long, delta)

    def _reject(self, c: Candidate) -> str:
        p = self.params
        if c.credit < p.min_credit - EPS:
            return f"credit {c.credit:.2f} < {p.min_credit:.2f}"
        if c.max_loss <= 0:
            return f"max loss {c.max_loss:.2f} <= 0 (credit >= width)"
        if c.pop < p.min_pop - EPS:
            return f"PoP {c.pop:.0f}% < {p.min_pop:.0f}%"
        return ""

    def _proposal(
        self,
        ctx: StrategyContext,
        sym: str,
        spot: float,
        c: Candidate,
        vol_note: str,
        move: float | None,
    ) -> TradeProposal:
        p = self.params
        limit = round_to_tick(-c.credit, COMBO_TICK)
        credit = -float(limit)
        max_loss_share = c.width - credit
        budget = ctx.budget(p.size_pct)
        n = contracts_for_budget(budget, max_loss_share, 100, cap=p.max_contracts)
        if n <= 0:
            raise SkipSymbol(
                sym,
                f"budget ${budget:,.0f} < one structure's max loss ${max_loss_share * 100:,.0f}",
            )
        dte = (c.expiry - ctx.today).days
        kind = "iron condor" if len(c.sides) == 2 else c.sides[0].describe().split(" (")[0]
        parts = " + ".join(v.describe() for v in c.sides)
        extras = [x for x in (vol_note, f"expected daily move {move:.1%}" if move else "") if x]
        reason = (
            f"{sym} {kind}, {c.expiry} ({dte} DTE), spot {spot:,.2f}: {parts}; credit "
            f"{credit:.2f}, width {c.width:g}, max loss {max_loss_share:.2f}, PoP "
            f"{c.pop:.0f}% >= {p.min_pop:.0f}%; sell {n} for {credit * 100 * n:,.0f} credit, "
            f"risk ${max_loss_share * 100 * n:,.0f}"
        ) + (f" ({'; '.join(extras)})" if extras else "")
        return self.propose(
            ctx,
            legs=c.legs(),
            quantity=n,
            reason=reason,
            limit_price=limit,
            max_loss=Decimal(str(round(max_loss_share * 100 * n, 2))),
            max_profit=Decimal(str(round(credit * 100 * n, 2))),
            breakevens=self._breakevens(c, credit),
            confidence=min(1.0, c.pop / 100.0),
            meta={"structure": kind, "credit": round(credit, 4), "pop": round(c.pop, 2)},
        )

    @staticmethod
    def _breakevens(c: Candidate, credit: float) -> tuple[float, ...]:
        """Short strike ∓ the whole credit (a condor's credit cushions both sides)."""
        out = []
        for v in c.sides:
            k = float(v.short.contract.strike)
            out.append(k - credit if v.right is OptionRight.PUT else k + credit)
        return tuple(sorted(out))

    # -- exits -----------------------------------------------------------------------------

    async def _manage(
        self, ctx: StrategyContext, under: str, legs: list[Position]
    ) -> TradeProposal | None:
        p = self.params
        marks: dict[str, float] = {}
        # What closing pays now: the ask of a leg bought back, the bid of a leg sold.
        far: dict[str, float] = {}
        missing: list[str] = []
        for pos in legs:
            assert isinstance(pos.instrument, OptionContract)
            try:
                q = await fresh_option_quote(ctx, pos.instrument)
            except SkipSymbol as exc:
                missing.append(exc.reason)
                if pos.mark is not None:
                    marks[pos.symbol] = far[pos.symbol] = pos.mark
            else:
                marks[pos.symbol] = q.mid
                far[pos.symbol] = q.ask if pos.quantity < 0 else q.bid
        units = math.gcd(*(abs(pos.quantity) for pos in legs))
        # Per combo unit, per share: what we received at entry and what closing costs now.
        credit = -sum(float(pos.avg_price) * pos.quantity for pos in legs) / units
        expiry = min(
            pos.instrument.expiry for pos in legs if isinstance(pos.instrument, OptionContract)
        )
        dte = (expiry - ctx.today).days
        # Trading in the contract stops at its expiry session's close (13:00 ET on early-close
        # days), not always at 16:00.
        cal = ctx.calendar
        stop_at = cal.session_close(expiry) if cal.is_session(expiry) else expiry_instant(expiry)
        minutes_left = (stop_at - ctx.now).total_seconds() / 60.0
        desc = f"{under} {expiry:%y%m%d} credit structure ({len(legs)} legs, entry credit {credit:.2f})"

        def close(reason: str, why: ExitReason) -> TradeProposal | None:
            # A long wing nobody bids for cannot be sold, and in the combo it would keep the
            # short from being bought back: close the rest and let it expire.
            # (For a long leg, its far side is its bid.)
            if not any(pos.quantity < 0 or far[pos.symbol] > 0 for pos in legs):
                return None
            prop = close_proposal(
                self, ctx, legs, far, reason=f"{desc}: {reason}", exit_reason=why, bids=far
            )
            return replace(prop, time_in_force=TimeInForce.IOC)

        have_all = len(marks) == len(legs)
        if have_all and not missing:
            cost = sum(marks[pos.symbol] * pos.quantity for pos in legs) / -units
            pnl = credit - cost
            if pnl >= p.profit_target * credit - EPS:
                return close(
                    f"spread {cost:.2f}, P&L {pnl:+.2f} >= {p.profit_target:.0%} of credit",
                    ExitReason.TAKE_PROFIT,
                )
            if pnl <= -p.stop_multiple * credit + EPS:
                return close(
                    f"spread {cost:.2f}, loss {-pnl:.2f} >= {p.stop_multiple:g} × credit",
                    ExitReason.STOP,
                )
        elif missing:
            self.skips.record(under, "; ".join(missing))
        if not have_all:
            return None  # no price to close at
        if dte == 0 and ctx.et_time >= p.zero_dte_exit:
            return close(
                f"0DTE at {ctx.et_time:%H:%M} ET, at/after {p.zero_dte_exit:%H:%M}",
                ExitReason.EXPIRY,
            )
        if minutes_left <= p.close_minutes_before_expiry:
            return close(
                f"{minutes_left:.0f} min to expiry <= {p.close_minutes_before_expiry}",
                ExitReason.EXPIRY,
            )
        if p.roll_dte is not None and dte <= p.roll_dte:
            return close(f"{dte} DTE <= roll at {p.roll_dte}: close to roll", ExitReason.ROLL)
        return None
