"""The tail hedge (spec §5) in the running engine: VIX >= 25 -> buy ~20-delta index puts ~30
days out for 5 % of the book's value, roll them at 7 days left, spend <= 2 % a year.

`engine.risk.tail_hedge.plan_tail_hedge` decides; this module feeds it from the live engine
and hands its proposals back.  Once per check interval (the spec checks VIX every 300 s),
while the market is open, the engine builds a `HedgeView` and calls `TailHedger.check`:

* the VIX is this minute's bar (else the risk monitor's last print);
* the hedge book is the ledger's "tail_hedge" positions, so another strategy's puts are
  never counted or rolled;
* candidates are the underlying's puts of the listed expiry nearest the target DTE (inside
  the window) that pass a liquidity filter, with deltas as strategies get them
  (`chain_select.option_delta`), priced at the ask;
* the spend so far is the premium of the "tail_hedge" buy fills of the last 365 days, read
  from the store, so it survives a restart.

The proposals (strategy "tail_hedge") then take a strategy's path in the engine: pre-trade
risk, the confirmation gate, the broker, the store.  Nothing here submits anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import (
    BadMarketData,
    Fill,
    OptionContract,
    OptionRight,
    Portfolio,
    Position,
    Side,
    TradeProposal,
)
from engine.risk.tail_hedge import (
    STRATEGY,
    HedgeCandidate,
    TailHedgeConfig,
    TailHedgePlan,
    plan_tail_hedge,
)
from engine.strategies.chain_select import LiquidityFilter, expiries_in_window, option_delta, rows

if TYPE_CHECKING:
    from engine.runtime.config import RiskConfig

__all__ = [
    "CHECK_EVERY",
    "DENIED_BACKOFF",
    "HEDGE_LIQUIDITY",
    "HedgeStep",
    "HedgeView",
    "TailHedger",
    "hedge_config",
]

CHECK_EVERY = timedelta(seconds=300)  # spec §5: VIX checked every 300 s
# After risk denies a hedge, wait this long before proposing again (the breakers' cool-down).
DENIED_BACKOFF = timedelta(minutes=30)
YEAR = timedelta(days=365)
# An index put worth hedging with trades: some volume or open interest, a bid, a spread a
# marketable buy does not overpay on.
HEDGE_LIQUIDITY = LiquidityFilter(
    min_volume=10, min_open_interest=100, volume_or_oi=True, max_spread_pct=0.10, min_bid=0.05
)
# Strikes considered, as a fraction of spot: a ~20-delta put a month out sits a few percent
# below spot; the band only saves pricing deep and in-the-money rows.
_STRIKE_BAND = (0.60, 1.0)


class FillLog(Protocol):
    async def load_fills(
        self, since: datetime | None = None, strategy: str | None = None
    ) -> list[Fill]: ...


@dataclass(frozen=True, slots=True)
class HedgeView:
    """What the hedger sees at one check (built by the engine)."""

    now: datetime
    vix: float | None
    portfolio: Portfolio  # the whole book: its equity sizes the hedge and the budget
    held: Mapping[str, Position]  # the "tail_hedge" book
    busy: bool  # a hedge order is open or waits for a person: never stack another
    market: MarketData


@dataclass(frozen=True, slots=True)
class HedgeStep:
    """One check's outcome: proposals for the engine's path and lines for its log."""

    plan: TailHedgePlan | None
    proposals: tuple[TradeProposal, ...] = ()
    notes: tuple[tuple[str, str], ...] = ()  # (level, message)
    spent_last_year: float = 0.0


def hedge_config(risk: RiskConfig) -> TailHedgeConfig:
    """The planner's settings from `[risk] tail_hedge_*`."""
    return TailHedgeConfig(
        vix_trigger=risk.tail_hedge_vix_trigger,
        target_delta=risk.tail_hedge_delta,
        target_dte=risk.tail_hedge_dte,
        min_dte=risk.tail_hedge_min_dte,
        max_dte=risk.tail_hedge_max_dte,
        hedge_pct=risk.tail_hedge_pct,
        roll_dte=risk.tail_hedge_roll_dte,
        max_annual_spend_pct=risk.tail_hedge_max_annual_spend_pct,
        underlying=risk.tail_hedge_underlying,
    )


class TailHedger:
    strategy = STRATEGY

    def __init__(
        self,
        config: TailHedgeConfig,
        fills: FillLog,
        *,
        check_every: timedelta = CHECK_EVERY,
        denied_backoff: timedelta = DENIED_BACKOFF,
        liquidity: LiquidityFilter = HEDGE_LIQUIDITY,
        rate: float = 0.04,
    ) -> None:
        if check_every <= timedelta(0):
            raise ValueError(f"check_every={check_every!r} must be positive")
        self.config = config
        self.check_every = check_every
        self.denied_backoff = denied_backoff
        self.liquidity = liquidity
        self.rate = rate
        self._fills = fills
        self._last_check: datetime | None = None
        self._retry_at: datetime | None = None
        self._last_logged: str | None = None  # action of the last logged step
        self.last_step: HedgeStep | None = None
        self.checks = 0

    def due(self, now: datetime) -> bool:
        if self._retry_at is not None and now < self._retry_at:
            return False
        last = self._last_check
        return last is None or now - last >= self.check_every

    def denied(self, now: datetime) -> None:
        """Risk denied a hedge proposal: no new one before `denied_backoff` has passed."""
        self._retry_at = now + self.denied_backoff

    async def spent_last_year(self, now: datetime) -> float:
        """Dollars paid for hedges (premium and commission) in the 365 days to `now`.

        Gross of what rolled puts sold back for: the cap is on what insurance costs to buy."""
        fills = await self._fills.load_fills(since=now - YEAR, strategy=self.strategy)
        return sum(
            (
                float(f.price * f.quantity * f.instrument.multiplier + f.commission)
                for f in fills
                if f.side is Side.BUY and f.ts <= now
            ),
            0.0,
        )

    async def check(self, view: HedgeView) -> HedgeStep:
        self._last_check = view.now
        self.checks += 1
        try:
            step = await self._check(view)
        except (DataUnavailable, BadMarketData) as exc:
            step = HedgeStep(None, notes=(("warning", f"tail hedge: no market data: {exc}"),))
            self._last_logged = "no-data"
        self.last_step = step
        return step

    async def _check(self, view: HedgeView) -> HedgeStep:
        cfg = self.config
        spent = await self.spent_last_year(view.now)
        if view.busy:
            return self._step(
                None, "busy", "info", "tail hedge: a hedge order is open or waiting", spent
            )
        vix = view.vix
        triggered = vix is not None and math.isfinite(vix) and vix >= cfg.vix_trigger
        today = view.now.date()
        covered = any(
            isinstance(c := p.instrument, OptionContract)
            and c.underlying == cfg.underlying
            and not c.is_call
            and p.quantity > 0
            and (c.expiry - today).days > cfg.roll_dte
            for p in view.held.values()
        )
        spot: float = 0.0
        candidates: Sequence[HedgeCandidate] = ()
        if triggered and not covered:  # only then does the plan need a chain
            spot, candidates = await self._candidates(view)
        plan = plan_tail_hedge(
            now=view.now,
            portfolio=view.portfolio,
            vix=vix,
            spot=spot,
            candidates=candidates,
            spent_last_year=spent,
            config=cfg,
            held=tuple(view.held.values()),
        )
        allowance = cfg.max_annual_spend_pct * view.portfolio.equity
        budget = f"hedge spend ${spent:,.0f} of ${allowance:,.0f} in the last 365 days"
        if plan.action in ("open", "roll"):
            verb = "rolling" if plan.action == "roll" else "proposing"
            msg = f"tail hedge: {verb}: {plan.reason}; ${plan.cost:,.0f} at most; {budget}"
            return self._step(plan, plan.action, "warning", msg, spent, always=True)
        if plan.action == "close":
            return self._step(
                plan, "close", "warning", f"tail hedge: {plan.reason}", spent, always=True
            )
        if plan.action == "blocked":
            return self._step(
                plan, "blocked", "warning", f"tail hedge skipped: {plan.reason}", spent
            )
        if plan.action == "hold":
            return self._step(plan, "hold", "info", f"tail hedge held: {plan.reason}", spent)
        return self._step(plan, "none", "info", f"tail hedge: {plan.reason}", spent)

    def _step(
        self,
        plan: TailHedgePlan | None,
        action: str,
        level: str,
        message: str,
        spent: float,
        *,
        always: bool = False,
    ) -> HedgeStep:
        # The same state every five minutes is one line, not a line per check.
        notes: tuple[tuple[str, str], ...] = ()
        if always or action != self._last_logged:
            notes = ((level, message),)
        self._last_logged = action
        proposals = plan.proposals if plan is not None else ()
        return HedgeStep(plan, proposals, notes, spent)

    async def _candidates(self, view: HedgeView) -> tuple[float, Sequence[HedgeCandidate]]:
        cfg = self.config
        today = view.now.date()
        chain = await view.market.option_chain(
            cfg.underlying,
            today + timedelta(days=cfg.min_dte),
            today + timedelta(days=cfg.max_dte),
            OptionRight.PUT,  # a hedge is puts only
        )
        spot = chain.spot
        if not (math.isfinite(spot) and spot > 0):
            raise BadMarketData(f"{cfg.underlying} chain has no usable spot ({spot!r})")
        lo, hi = _STRIKE_BAND[0] * spot, _STRIKE_BAND[1] * spot
        put = OptionRight.PUT
        # One expiry, the listed one nearest the target DTE with a liquid put (the planner
        # would otherwise trade DTE for a hair of delta); then the planner picks the delta.
        window = expiries_in_window(chain, today, cfg.min_dte, cfg.max_dte, put)
        for expiry in sorted(window, key=lambda e: (abs((e - today).days - cfg.target_dte), e)):
            out = [
                # Priced at the ask: the hedge is bought with a marketable limit (a resting
                # hedge protects nothing), and the budget is charged what it will pay.
                HedgeCandidate(q.contract, q.ask, option_delta(q, spot, view.now, rate=self.rate))
                for q in rows(chain, expiry, put, self.liquidity)
                if lo <= float(q.contract.strike) <= hi
            ]
            if out:
                return spot, out
        return spot, ()
