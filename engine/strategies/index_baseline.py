"""Index Baseline (spec §3): the "boring" benchmark sleeve every other strategy is judged by."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, field_validator

from engine.domain import (
    Bar,
    Equity,
    ExitReason,
    Fill,
    OrderLeg,
    Position,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext, StrategyParams
from engine.strategies.chain_select import round_to_tick
from engine.strategies.indicators import InsufficientData, pct_return, realized_vol
from engine.strategies.market_guard import SkipLog, SkipSymbol, fresh_daily_bars, fresh_quote

_TICKER_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ.-")


class IndexBaselineParams(StrategyParams):
    """Thresholds of the benchmark sleeve. Fractions of equity unless named otherwise."""

    benchmarks: tuple[str, ...] = Field(("SPY", "VTI", "QQQ", "IWM", "DIA"), min_length=1)
    target_allocation: float = Field(0.80, ge=0.0, le=1.0)
    rebalance_threshold: float = Field(0.05, gt=0.0, le=1.0)  # |current - target| must exceed
    min_trade_pct: float = Field(0.01, ge=0.0, le=1.0)  # skip trades smaller than this
    tax_loss_harvest: bool = True
    tax_loss_threshold: float = Field(-0.10, ge=-1.0, le=0.0)  # lot return at or below
    wash_sale_days: int = Field(30, ge=0, le=90)
    momentum_factor: float = Field(0.0, ge=0.0, le=1.0)  # share of buys tilted to the leader
    momentum_lookback_days: int = Field(126, ge=5, le=504)  # ~6 months of sessions
    vol_target: float | None = Field(None, gt=0.0, le=2.0)  # None = no vol scaling
    vol_window_days: int = Field(20, ge=5, le=252)
    scan_after_et: time = time(10, 0)  # first scan at/after this New York time, once a session
    cash_buffer: float = Field(0.01, ge=0.0, le=0.5)  # buying power kept free on buys

    @field_validator("benchmarks")
    @classmethod
    def _tickers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for sym in v:
            if not sym or not set(sym) <= _TICKER_CHARS or not sym[0].isalpha():
                raise ValueError(f"benchmark {sym!r} is not a ticker (A-Z, '.', '-')")
        if len(set(v)) != len(v):
            raise ValueError(f"benchmarks {v} repeat a ticker")
        return v


_R24_BENCHMARKS = ("SPY", "QQQ", "IWM", "VTI", "ARKK")


@dataclass(frozen=True, slots=True)
class Lot:
    """One tax lot: shares bought together at one price."""

    quantity: int
    price: Decimal
    opened_at: datetime

    def return_at(self, price: float) -> float:
        return price / float(self.price) - 1.0


class IndexBaseline(Strategy):
    """Hold a target share of equity in broad index ETFs; rebalance on drift; harvest losses.

    Once a session (first scan at/after `scan_after_et`, 10:00 ET): allocation = value of this
    strategy's benchmark holdings / equity. When |allocation - target| > threshold, trade the
    first benchmark (SPY) by target value - current value, skipping trades < 1% of equity;
    confidence = min(1, 10 × |drift|). Buys are capped by what is left of the sleeve's
    allocation cap (cap × equity - open risk); the per-position cap is deliberately not applied
    here: a benchmark sleeve *is* one large ETF position, and the risk manager still rules.

    [PROPOSED] choices taken (spec §3):
    - Tax-loss harvest on real cost basis: lots are built from this strategy's own fills
      (`on_fill`, persisted via `state()`); a held position with no recorded lots is one lot at
      its average price. Lots whose return <= threshold are sold (highest cost first, HIFO);
      blocked when the symbol was bought within `wash_sale_days` (30). After a loss sale the
      symbol is not re-bought for 30 days: buys go to the next benchmark instead.
    - Vol target: target × min(1, vol_target / 20-day realised vol of the first benchmark).
    - Momentum tilt: a `momentum_factor` share of each buy goes to the benchmark with the best
      6-month (126-session) return, when that share is itself >= the 1% minimum trade.
    - Sells (allocation above target) come from the first benchmark, then the others in order.
    - W25's "+ SMH SOXX" extends the R24 list.
    """

    name: ClassVar[str] = "index_baseline"
    title: ClassVar[str] = "Index"
    params_model: ClassVar[type[StrategyParams]] = IndexBaselineParams
    profiles: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "research_2024": {
            "benchmarks": _R24_BENCHMARKS,
            "target_allocation": 0.60,
            "rebalance_threshold": 0.03,
            "tax_loss_threshold": -0.05,
            "momentum_factor": 0.20,
            "vol_target": 0.20,
        },
        "wsb_2025": {
            "benchmarks": (*_R24_BENCHMARKS, "SMH", "SOXX"),
            "target_allocation": 0.55,
            "rebalance_threshold": 0.03,
            "tax_loss_threshold": -0.05,
            "momentum_factor": 0.25,
            "vol_target": 0.25,
        },
    }
    # Daily logic; polled every 30 min so the once-a-session gate finds its 10:00 ET slot.
    scan_interval: ClassVar[timedelta] = timedelta(minutes=30)
    intraday: ClassVar[bool] = False

    params: IndexBaselineParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        self.skips = SkipLog(self.name)
        self.notes: list[str] = []  # decisions of the latest scan that produced no trade
        self._last_scan: date | None = None
        self._lots: dict[str, list[Lot]] = {}
        self._last_buy: dict[str, datetime] = {}
        self._last_loss_sale: dict[str, datetime] = {}

    def universe(self) -> frozenset[str]:
        return frozenset(self.params.benchmarks)

    # -- scan ------------------------------------------------------------------------------

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        if not ctx.market_open or ctx.et_time < self.params.scan_after_et:
            return []
        if self._last_scan == ctx.today:
            return []
        self.skips.reset()
        self.notes = []
        p = self.params
        equity = ctx.equity
        if equity <= 0:
            self.notes.append(f"equity ${equity:,.2f} <= 0: nothing to allocate")
            self._last_scan = ctx.today
            return []
        busy = {pr.underlying for pr in ctx.pending}
        holdings = self._holdings(ctx)
        prices: dict[str, float] = {}
        for sym in p.benchmarks:
            try:
                prices[sym] = (await fresh_quote(ctx, sym)).mid
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
        missing = [s for s in holdings if s not in prices]
        if missing:
            # Cannot value the sleeve: no rebalance, retry on the next scan.
            for sym in missing:
                self.notes.append(f"cannot value held {sym}: {self.skips.by_symbol.get(sym)}")
            return []

        out: list[TradeProposal] = []
        harvested_value = 0.0
        harvested: dict[str, int] = {}
        if p.tax_loss_harvest:
            for sym, pos in holdings.items():
                if sym in busy:
                    continue
                prop = self._harvest(ctx, sym, pos, prices[sym])
                if prop is not None:
                    out.append(prop)
                    harvested[sym] = prop.quantity
                    harvested_value += prop.quantity * prices[sym]

        current = sum(pos.quantity * prices[s] for s, pos in holdings.items()) - harvested_value
        target = p.target_allocation
        scale_note = ""
        if p.vol_target is not None:
            lead = p.benchmarks[0]
            try:
                daily = await fresh_daily_bars(ctx, lead, p.vol_window_days + 1)
                vol = realized_vol([b.close for b in daily], p.vol_window_days)
            except SkipSymbol as exc:
                self.skips.record(lead, exc.reason)
                self.notes.append(f"vol target needs {lead} history: {exc.reason}")
                return out
            except InsufficientData as exc:
                self.skips.record(lead, str(exc))
                return out
            scale = min(1.0, p.vol_target / vol) if vol > 0 else 1.0
            if scale < 1.0:
                scale_note = (
                    f"; vol target {p.vol_target:.0%} / {lead} {p.vol_window_days}d vol "
                    f"{vol:.1%} scales target {p.target_allocation:.0%} -> {target * scale:.1%}"
                )
            target *= scale

        allocation = current / equity
        drift = allocation - target
        if abs(drift) <= p.rebalance_threshold:
            self.notes.append(
                f"allocation {allocation:.1%} vs target {target:.1%}: drift {drift:+.1%} "
                f"within {p.rebalance_threshold:.1%}"
            )
            self._last_scan = ctx.today
            return out
        if busy & set(p.benchmarks):
            self.notes.append("a benchmark proposal is still pending: no rebalance")
            return out
        trade_value = target * equity - current
        head = (
            f"sleeve {allocation:.1%} of ${equity:,.0f} vs target {target:.1%} "
            f"(drift {drift:+.1%} > {p.rebalance_threshold:.1%}){scale_note}"
        )
        confidence = min(1.0, 10.0 * abs(drift))
        if trade_value > 0:
            room = equity * ctx.allocation_cap - ctx.open_risk
            if room < trade_value:
                head += f"; capped by sleeve room ${max(room, 0.0):,.0f}"
                trade_value = max(0.0, room)
            # Shares are paid in cash: never ask for more than is free (a slice is kept for
            # commissions and the gap between the quote and the fill).
            cash = float(ctx.portfolio.buying_power) * (1.0 - p.cash_buffer)
            if cash < trade_value:
                head += f"; capped by buying power ${max(cash, 0.0):,.0f}"
                trade_value = max(0.0, cash)
            out.extend(await self._buys(ctx, trade_value, prices, head, confidence, set(harvested)))
        else:
            sellable = {s: pos.quantity - harvested.get(s, 0) for s, pos in holdings.items()}
            out.extend(self._sells(ctx, -trade_value, sellable, prices, head, confidence))
        self._last_scan = ctx.today
        return out

    def _holdings(self, ctx: StrategyContext) -> dict[str, Position]:
        bench = set(self.params.benchmarks)
        return {
            p.instrument.symbol: p
            for _, p in sorted(ctx.positions.items())
            if isinstance(p.instrument, Equity) and p.instrument.symbol in bench and p.quantity > 0
        }

    def _lots_of(self, sym: str, pos: Position) -> list[Lot]:
        lots = [lot for lot in self._lots.get(sym, []) if lot.quantity > 0]
        recorded = sum(lot.quantity for lot in lots)
        if recorded != pos.quantity:
            # Fills we never saw (restored from elsewhere): the unexplained shares form one lot
            # at the position's average price, so harvesting still sees a real basis.
            opened = pos.opened_at or datetime.min.replace(tzinfo=UTC)
            if recorded < pos.quantity:
                lots.append(Lot(pos.quantity - recorded, pos.avg_price, opened))
            else:
                lots = [Lot(pos.quantity, pos.avg_price, opened)]
        return lots

    def _wash_blocked(self, ctx: StrategyContext, sym: str, events: Mapping[str, datetime]) -> bool:
        ts = events.get(sym)
        return ts is not None and ctx.now - ts < timedelta(days=self.params.wash_sale_days)

    def _harvest(
        self, ctx: StrategyContext, sym: str, pos: Position, price: float
    ) -> TradeProposal | None:
        p = self.params
        losers = [
            lot for lot in self._lots_of(sym, pos) if lot.return_at(price) <= p.tax_loss_threshold
        ]
        if not losers:
            return None
        qty = min(pos.quantity, sum(lot.quantity for lot in losers))
        basis = sum(float(lot.price) * lot.quantity for lot in losers) / sum(
            lot.quantity for lot in losers
        )
        ret = price / basis - 1.0
        if self._wash_blocked(ctx, sym, self._last_buy):
            bought = self._last_buy[sym]
            self.notes.append(
                f"harvest {sym} blocked: lot return {ret:+.1%} <= {p.tax_loss_threshold:.1%} but "
                f"{sym} was bought {bought:%Y-%m-%d}, within the {p.wash_sale_days}-day wash-sale window"
            )
            return None
        loss = (basis - price) * qty
        return self.propose(
            ctx,
            legs=[OrderLeg(Equity(sym), Side.SELL, effect=PositionEffect.CLOSE)],
            quantity=qty,
            reason=(
                f"tax-loss harvest {sym}: {qty} sh cost ${basis:,.2f} now ${price:,.2f} "
                f"({ret:+.1%} <= {p.tax_loss_threshold:.1%}), realises ${loss:,.0f} loss; "
                f"no {sym} buy in the last {p.wash_sale_days} days"
            ),
            limit_price=round_to_tick(price, Decimal("0.01")),
            intent=ProposalIntent.CLOSE,
            exit_reason=ExitReason.SIGNAL,
            key=f"harvest|{sym}",
            meta={"kind": "tax_loss_harvest", "lot_return": round(ret, 6)},
        )

    async def _leader(self, ctx: StrategyContext) -> tuple[str, float] | None:
        p = self.params
        best: tuple[str, float] | None = None
        for sym in p.benchmarks:
            try:
                daily = await fresh_daily_bars(ctx, sym, p.momentum_lookback_days + 1)
                ret = pct_return([b.close for b in daily], p.momentum_lookback_days)
            except SkipSymbol as exc:
                self.skips.record(sym, exc.reason)
                continue
            except InsufficientData as exc:
                self.skips.record(sym, str(exc))
                continue
            if best is None or ret > best[1]:
                best = (sym, ret)
        return best

    async def _buys(
        self,
        ctx: StrategyContext,
        value: float,
        prices: Mapping[str, float],
        head: str,
        confidence: float,
        harvested: set[str],
    ) -> list[TradeProposal]:
        p = self.params
        equity = ctx.equity
        min_trade = p.min_trade_pct * equity
        if value < min_trade:
            self.notes.append(f"{head}; buy ${value:,.0f} < minimum ${min_trade:,.0f}: no trade")
            return []
        # A symbol sold at a loss (now or within the window) is not re-bought: wash sale.
        candidates = [
            s
            for s in p.benchmarks
            if s in prices
            and s not in harvested
            and not self._wash_blocked(ctx, s, self._last_loss_sale)
        ]
        if not candidates:
            self.notes.append(f"{head}; every benchmark is priced-out or in a wash-sale window")
            return []
        primary = candidates[0]
        plan: dict[str, tuple[float, str]] = {}
        if primary != p.benchmarks[0]:
            why = f"{p.benchmarks[0]} sold at a loss within {p.wash_sale_days} days"
            if p.benchmarks[0] in harvested:
                why = f"{p.benchmarks[0]} is being sold at a loss"
            elif p.benchmarks[0] not in prices:
                why = f"{p.benchmarks[0]} has no usable quote"
            head += f"; buying {primary} instead ({why})"
        tilt = 0.0
        if p.momentum_factor > 0:
            leader = await self._leader(ctx)
            if leader is not None and leader[0] != primary and leader[0] in candidates:
                tilt = p.momentum_factor * value
                if tilt >= min_trade:
                    plan[leader[0]] = (
                        tilt,
                        f"momentum tilt {p.momentum_factor:.0%} to 6-month leader {leader[0]} "
                        f"({leader[1]:+.1%})",
                    )
                else:
                    tilt = 0.0
        plan[primary] = (value - tilt, "")
        out: list[TradeProposal] = []
        for sym in sorted(plan, key=lambda s: p.benchmarks.index(s)):
            amount, extra = plan[sym]
            price = prices[sym]
            qty = math.floor(amount / price)
            if qty <= 0:
                self.notes.append(f"{sym}: ${amount:,.0f} buys no whole share at ${price:,.2f}")
                continue
            limit = round_to_tick(price, Decimal("0.01"))
            cost = limit * qty
            out.append(
                self.propose(
                    ctx,
                    legs=[OrderLeg(Equity(sym), Side.BUY)],
                    quantity=qty,
                    reason=f"{head}: buy ${amount:,.0f} {sym} = {qty} sh @ ${price:,.2f}"
                    + (f" ({extra})" if extra else ""),
                    limit_price=limit,
                    max_loss=cost,
                    breakevens=(float(limit),),
                    confidence=confidence,
                    key=f"rebalance|{sym}",
                    meta={"kind": "rebalance", "trade_value": round(amount, 2)},
                )
            )
        return out

    def _sells(
        self,
        ctx: StrategyContext,
        value: float,
        sellable: Mapping[str, int],
        prices: Mapping[str, float],
        head: str,
        confidence: float,
    ) -> list[TradeProposal]:
        p = self.params
        min_trade = p.min_trade_pct * ctx.equity
        if value < min_trade:
            self.notes.append(f"{head}; sell ${value:,.0f} < minimum ${min_trade:,.0f}: no trade")
            return []
        out: list[TradeProposal] = []
        left = value
        for sym in p.benchmarks:
            held = sellable.get(sym, 0)
            if held <= 0 or left <= 0:
                continue
            price = prices[sym]
            qty = min(held, math.floor(left / price))
            if qty <= 0:
                continue
            left -= qty * price
            out.append(
                self.propose(
                    ctx,
                    legs=[OrderLeg(Equity(sym), Side.SELL, effect=PositionEffect.CLOSE)],
                    quantity=qty,
                    reason=f"{head}: sell ${qty * price:,.0f} {sym} = {qty} sh @ ${price:,.2f}",
                    limit_price=round_to_tick(price, Decimal("0.01")),
                    intent=ProposalIntent.CLOSE,
                    exit_reason=ExitReason.REBALANCE,
                    confidence=confidence,
                    key=f"rebalance|{sym}",
                    meta={"kind": "rebalance", "trade_value": round(-qty * price, 2)},
                )
            )
        return out

    # -- fills and state -------------------------------------------------------------------

    async def on_fill(self, ctx: StrategyContext, fill: Fill) -> Sequence[TradeProposal]:
        if not isinstance(fill.instrument, Equity):
            return ()
        sym = fill.instrument.symbol
        lots = self._lots.setdefault(sym, [])
        if fill.side is Side.BUY:
            lots.append(Lot(fill.quantity, fill.price, fill.ts))
            self._last_buy[sym] = fill.ts
            return ()
        # Highest cost first: a harvest sells exactly its losing lots, and rebalancing sells
        # realise the least gain.
        lots.sort(key=lambda lot: (-lot.price, lot.opened_at))
        left = fill.quantity
        basis = Decimal(0)
        kept: list[Lot] = []
        for lot in lots:
            take = min(left, lot.quantity)
            left -= take
            basis += lot.price * take
            if lot.quantity > take:
                kept.append(Lot(lot.quantity - take, lot.price, lot.opened_at))
        kept.sort(key=lambda lot: lot.opened_at)
        self._lots[sym] = kept
        sold = fill.quantity - left
        if sold and fill.price * sold < basis:
            self._last_loss_sale[sym] = fill.ts
        return ()

    def state(self) -> dict[str, Any]:
        return {
            "last_scan": self._last_scan.isoformat() if self._last_scan else None,
            "lots": {
                sym: [[lot.quantity, str(lot.price), lot.opened_at.isoformat()] for lot in lots]
                for sym, lots in sorted(self._lots.items())
                if lots
            },
            "last_buy": {s: t.isoformat() for s, t in sorted(self._last_buy.items())},
            "last_loss_sale": {s: t.isoformat() for s, t in sorted(self._last_loss_sale.items())},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        last = state.get("last_scan")
        self._last_scan = date.fromisoformat(last) if last else None
        self._lots = {
            sym: [Lot(int(q), Decimal(px), datetime.fromisoformat(ts)) for q, px, ts in lots]
            for sym, lots in dict(state.get("lots", {})).items()
        }
        self._last_buy = {
            s: datetime.fromisoformat(t) for s, t in dict(state.get("last_buy", {})).items()
        }
        self._last_loss_sale = {
            s: datetime.fromisoformat(t) for s, t in dict(state.get("last_loss_sale", {})).items()
        }


# -- benchmark reporting (spec §3) -----------------------------------------------------------

TRADE_COST_FIXED = 1.0  # dollars per trade
TRADE_COST_BPS = 2.0
MAX_COST_DRAG = 0.05
REPORT_DAYS = 180


def trade_cost(notional: float) -> float:
    """Spec §3 cost model: $1 + 2 bps of notional per trade."""
    return TRADE_COST_FIXED + abs(notional) * TRADE_COST_BPS / 10_000.0


@dataclass(frozen=True, slots=True)
class BenchmarkComparison:
    """Strategy vs one benchmark over the last `days` observations (fractions, annualised
    Sharpe = √252 · mean / sd of daily returns, vol = √252 · sd)."""

    benchmark: str
    days: int
    strategy_return: float
    benchmark_return: float
    alpha: float  # strategy return - benchmark return - cost drag
    strategy_sharpe: float
    benchmark_sharpe: float
    strategy_max_drawdown: float
    benchmark_max_drawdown: float
    strategy_vol: float
    benchmark_vol: float
    cost_drag: float


def _stats(values: np.ndarray) -> tuple[float, float, float, float]:
    rets = values[1:] / values[:-1] - 1.0
    total = float(values[-1] / values[0] - 1.0)
    sd = float(rets.std(ddof=1)) if rets.size > 1 else 0.0
    sharpe = math.sqrt(252.0) * float(rets.mean()) / sd if sd > 0 else 0.0
    peaks = np.maximum.accumulate(values)
    max_dd = float(np.max(1.0 - values / peaks))
    return total, sharpe, max_dd, sd * math.sqrt(252.0)


def compare_to_benchmark(
    benchmark: str,
    strategy_equity: Sequence[float],
    benchmark_closes: Sequence[float],
    *,
    costs: float = 0.0,
    days: int = REPORT_DAYS,
) -> BenchmarkComparison:
    """Compare aligned daily series (same dates, oldest first) over their last `days` points.
    `costs` are the strategy's trading costs in dollars; their drag on the starting equity is
    capped at 5%."""
    s = np.asarray(strategy_equity, dtype=np.float64)
    b = np.asarray(benchmark_closes, dtype=np.float64)
    if s.size != b.size:
        raise ValueError(f"series lengths differ: strategy {s.size}, benchmark {b.size}")
    if s.size < 3:
        raise ValueError(f"need at least 3 aligned observations, got {s.size}")
    if not (np.all(np.isfinite(s)) and np.all(s > 0) and np.all(np.isfinite(b)) and np.all(b > 0)):
        raise ValueError("strategy_equity and benchmark_closes must be finite and positive")
    s, b = s[-(days + 1) :], b[-(days + 1) :]
    drag = min(MAX_COST_DRAG, max(0.0, costs) / float(s[0]))
    s_ret, s_sh, s_dd, s_vol = _stats(s)
    b_ret, b_sh, b_dd, b_vol = _stats(b)
    return BenchmarkComparison(
        benchmark, int(s.size - 1), s_ret, b_ret, s_ret - b_ret - drag, s_sh, b_sh, s_dd, b_dd,
        s_vol, b_vol, drag,
    )  # fmt: skip
