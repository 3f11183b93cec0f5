"""Example strategies for backtests and benchmarks: a plain SMA crossover on equities.

`SmaCross` is a real `Strategy` (the engine runs it through risk, the broker and the store like
any other) and carries a vectorised twin, `sma_cross_positions`, that the parameter-sweep
fast path uses to screen a grid before the event-driven engine validates the best cells.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, model_validator

from engine.data.protocol import DataUnavailable
from engine.domain import (
    BadMarketData,
    Bar,
    Equity,
    ExitReason,
    OrderLeg,
    PositionEffect,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.strategies.base import Strategy, StrategyContext, StrategyParams

SMA_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "AAPL", "MSFT", "JPM", "XOM", "KO")


class SmaCrossParams(StrategyParams):
    """Long when the fast SMA of closes is above the slow one, flat otherwise."""

    symbols: tuple[str, ...] = Field(SMA_SYMBOLS, min_length=1)
    fast: int = Field(10, ge=1, le=500)
    slow: int = Field(30, ge=2, le=1000)
    # Share of the strategy's allocation cap given to each symbol's position.
    weight: float | None = Field(None, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast={self.fast} must be below slow={self.slow}")
        return self


class SmaCross(Strategy):
    """SMA(fast/slow) crossover, long-only, market orders at the daily decision.

    State is the last `slow` closes per symbol, built from the bars the engine hands in, so a
    scan reads nothing from the data source. Each symbol gets `weight` (default 1/n) of the
    strategy's allocation cap; a position is bought when fast > slow and sold when fast <= slow.
    """

    name: ClassVar[str] = "sma_cross"
    title: ClassVar[str] = "SMA cross"
    params_model: ClassVar[type[StrategyParams]] = SmaCrossParams
    scan_interval: ClassVar[timedelta] = timedelta(hours=1)
    intraday: ClassVar[bool] = False

    params: SmaCrossParams

    def __init__(self, params: StrategyParams, *, profile: str = "research_2024") -> None:
        super().__init__(params, profile=profile)
        p = self.params
        self._closes: dict[str, deque[float]] = {s: deque(maxlen=p.slow) for s in p.symbols}
        # Running sums of the last `slow` and `fast` closes: O(1) per bar.
        self._sums: dict[str, list[float]] = {s: [0.0, 0.0] for s in p.symbols}
        self._universe = frozenset(p.symbols)

    def universe(self) -> frozenset[str]:
        return self._universe

    async def on_bar(
        self, ctx: StrategyContext, bars: Mapping[str, Bar]
    ) -> Sequence[TradeProposal]:
        p = self.params
        # Read once per scan, not per symbol: the loop below runs for every symbol every bar.
        n_fast, n_slow = p.fast, p.slow
        all_closes, all_sums, positions = self._closes, self._sums, ctx.positions
        out: list[TradeProposal] = []
        weight = p.weight if p.weight is not None else 1.0 / len(p.symbols)
        busy = {pr.underlying for pr in ctx.pending}
        equity: float | None = None  # computed once, only when a buy needs it
        room = 0.0  # what is left of the allocation cap after this scan's earlier buys
        for sym in p.symbols:
            bar = bars.get(sym)
            if bar is None:
                continue
            closes = all_closes[sym]
            if not closes:
                await self._warm_up(ctx, sym, closes)
            sums = all_sums[sym]  # after a warm-up, which sets them
            close = bar.close
            held_n = len(closes)
            if held_n == n_slow:
                sums[0] -= closes[0]
            if held_n >= n_fast:
                sums[1] -= closes[-n_fast]
            closes.append(close)
            sums[0] += close
            sums[1] += close
            if len(closes) < n_slow or sym in busy:
                continue
            slow = sums[0] / n_slow
            fast = sums[1] / n_fast
            held = positions.get(sym)
            qty_held = held.quantity if held is not None else 0
            if fast > slow and qty_held == 0:
                if equity is None:
                    equity = ctx.equity
                    room = min(
                        equity * ctx.allocation_cap - ctx.open_risk,
                        float(ctx.portfolio.buying_power) * 0.98,
                    )
                budget = min(equity * ctx.allocation_cap * weight, room)
                qty = int(budget // (bar.close * 1.01))
                if qty <= 0:
                    continue
                room -= qty * bar.close * 1.01
                leg = OrderLeg(Equity(sym), Side.BUY, 1, PositionEffect.OPEN)
                out.append(
                    self.propose(
                        ctx,
                        legs=(leg,),
                        quantity=qty,
                        reason=f"SMA{p.fast} {fast:.2f} > SMA{p.slow} {slow:.2f}",
                        limit_price=None,
                        key=sym,
                    )
                )
            elif fast <= slow and qty_held > 0:
                leg = OrderLeg(Equity(sym), Side.SELL, 1, PositionEffect.CLOSE)
                out.append(
                    self.propose(
                        ctx,
                        legs=(leg,),
                        quantity=qty_held,
                        reason=f"SMA{p.fast} {fast:.2f} <= SMA{p.slow} {slow:.2f}",
                        limit_price=None,
                        intent=ProposalIntent.CLOSE,
                        exit_reason=ExitReason.SIGNAL,
                        key=sym,
                    )
                )
        return out

    async def _warm_up(self, ctx: StrategyContext, sym: str, closes: deque[float]) -> None:
        """Fill the window with completed sessions before today (none are from the future: the
        source serves only bars whose session has closed)."""
        try:
            history = await ctx.market.daily_bars(sym, ctx.today, self.params.slow - 1)
        except (DataUnavailable, BadMarketData):
            return
        closes.extend(b.close for b in history if b.session_date < ctx.today)
        window = list(closes)
        self._sums[sym] = [math.fsum(window), math.fsum(window[-self.params.fast :])]

    def state(self) -> dict[str, Any]:
        # Nothing to persist: after a restart the closes are re-read from the source's history
        # on the first scan (`_warm_up`), and the engine saves state every session close.
        return {}


def sma_cross_positions(closes: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """Vectorised twin of `SmaCross`: 1.0 where long after the close of day t, else 0.0.

    `closes` is (days, symbols); NaN marks a missing bar. The first `slow - 1` days are flat.
    """
    if closes.ndim != 2:
        raise ValueError(f"closes must be 2-D (days, symbols), got shape {closes.shape}")
    if not 1 <= fast < slow:
        raise ValueError(f"need 1 <= fast < slow, got fast={fast}, slow={slow}")
    c = np.nan_to_num(closes, nan=0.0)
    csum = np.cumsum(c, axis=0)
    csum = np.vstack([np.zeros((1, c.shape[1])), csum])
    n = c.shape[0]
    out: np.ndarray = np.zeros_like(c)
    if n < slow:
        return out
    idx = np.arange(slow, n + 1)
    slow_ma = (csum[idx] - csum[idx - slow]) / slow
    fast_ma = (csum[idx] - csum[idx - fast]) / fast
    out[slow - 1 :] = (fast_ma > slow_ma).astype(np.float64)
    return out
