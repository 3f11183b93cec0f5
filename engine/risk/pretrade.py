"""Pre-trade checks: every proposal passes through `PreTradeRisk.check` before any order.

Risk denies, it does not raise: each check yields a `RiskCheckResult` with its value and
limit, stored with the decision so a person can see exactly why a trade was blocked. Checks
fail closed: missing prices, stale data or an error inside a check block new risk.
Risk-reducing (closing) proposals skip the checks that only guard new risk, so a halted or
over-limit book can always be reduced.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from engine.domain import (
    BROAD_INDEX_ETFS,
    CheckOutcome,
    Equity,
    OptionContract,
    Portfolio,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.domain.proposals import ProposalIntent

log = logging.getLogger(__name__)

BROAD_ETFS = BROAD_INDEX_ETFS


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Fractions are of account equity. Defaults follow spec/risk.md.

    The three sizing limits default to None, meaning "the proposing strategy's profile"
    (spec §0.1: R24 5% per position and 10% total, W25 30% and 65%); a value set here is an
    explicit account-wide limit and wins.
    """

    max_position_pct: float | None = None
    max_total_risk_pct: float | None = None
    max_loss_per_trade_pct: float | None = None
    max_order_notional: float = 50_000.0
    max_orders_per_second: float = 100.0
    stale_data_seconds: float = 120.0
    max_name_concentration: float = 0.30
    max_etf_concentration: float = 0.80
    buying_power_buffer_pct: float = 0.0
    var99_limit_pct: float = 0.05


@dataclass(frozen=True, slots=True)
class PreTradeInputs:
    """Everything a check may read, gathered by the engine before calling `check`."""

    now: datetime
    portfolio: Portfolio
    trading_state: str  # ACTIVE | REDUCING | HALTED
    market_open: bool
    leg_prices: Mapping[str, float]  # current mid per leg symbol; absent = unpriceable
    underlying_prices: Mapping[str, float]
    last_data_at: datetime | None
    strategy_open_risk: float = 0.0
    strategy_allocation_cap: float = 1.0  # fraction of equity
    total_open_risk: float = 0.0
    tripped_breakers: tuple[str, ...] = ()
    var99_pct: float | None = None  # current portfolio VaR as a fraction, if known
    profile_max_position_pct: float = 0.05  # the proposing strategy's profile (spec §0.1)
    profile_max_total_risk_pct: float = 0.10


def proposal_cost(proposal: TradeProposal, leg_prices: Mapping[str, float]) -> float:
    """Net dollars paid (positive) or received (negative) at current mids."""
    total = 0.0
    for leg in proposal.legs:
        px = leg_prices[leg.symbol]
        total += leg.side.sign * px * leg.ratio * leg.instrument.multiplier
    return total * proposal.quantity


def proposal_max_loss(proposal: TradeProposal, leg_prices: Mapping[str, float]) -> float:
    """Dollars at risk: the strategy's stated max loss, else the premium/notional paid, else
    (for an uncovered short) strike × multiplier, the worst case a cash account must cover."""
    if proposal.max_loss is not None:
        return float(proposal.max_loss)
    worst = 0.0
    for leg in proposal.legs:
        px = leg_prices[leg.symbol] * leg.instrument.multiplier * leg.ratio
        if leg.side is Side.BUY:
            worst += px
        elif isinstance(leg.instrument, OptionContract):
            worst += float(leg.instrument.strike) * leg.instrument.multiplier * leg.ratio - px
        else:
            worst += px
    return worst * proposal.quantity


class RateThrottle:
    """Sliding one-second window of order submits (spec: 100 per second by default)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self._clock = clock
        self._stamps: deque[float] = deque()

    def count(self) -> int:
        now = self._clock()
        while self._stamps and now - self._stamps[0] >= 1.0:
            self._stamps.popleft()
        return len(self._stamps)

    def allow(self) -> bool:
        return self.count() < self.per_second

    def record(self) -> None:
        self._stamps.append(self._clock())


@dataclass
class PreTradeRisk:
    limits: RiskLimits = field(default_factory=RiskLimits)
    throttle: RateThrottle | None = None

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = RateThrottle(self.limits.max_orders_per_second)

    def check(self, proposal: TradeProposal, inp: PreTradeInputs) -> RiskDecision:
        checks: list[RiskCheckResult] = []
        reducing = proposal.intent is ProposalIntent.CLOSE
        for fn in self._checks(reducing):
            try:
                res = fn(proposal, inp)
            except Exception as exc:  # fail closed: a broken check blocks the trade
                log.exception("risk check %s failed", fn.__name__)
                res = RiskCheckResult(
                    fn.__name__.removeprefix("_check_"),
                    CheckOutcome.FAIL,
                    message=f"check raised {type(exc).__name__}: {exc} (fail closed)",
                )
            checks.append(res)
            # Later checks assume prices exist; stop at an unpriceable proposal.
            if res.name == "pricing" and not res.passed:
                break
        failed = [c for c in checks if not c.passed]
        approved = not failed
        return RiskDecision(
            proposal_id=proposal.proposal_id,
            approved=approved,
            approved_quantity=proposal.quantity if approved else 0,
            checks=tuple(checks),
            decided_at=inp.now,
            reason="approved" if approved else "; ".join(f"{c.name}: {c.message}" for c in failed),
        )

    def _checks(
        self, reducing: bool
    ) -> list[Callable[[TradeProposal, PreTradeInputs], RiskCheckResult]]:
        always: list[Callable[[TradeProposal, PreTradeInputs], RiskCheckResult]] = [
            self._check_trading_state,
            self._check_pricing,
            self._check_stale_data,
            self._check_market_hours,
            self._check_rate,
        ]
        if reducing:
            return always
        return [
            *always,
            self._check_breakers,
            self._check_buying_power,
            self._check_order_notional,
            self._check_position_size,
            self._check_max_loss,
            self._check_strategy_allocation,
            self._check_total_risk,
            self._check_concentration,
            self._check_var_budget,
        ]

    # -- checks ---------------------------------------------------------------------------

    def _check_trading_state(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        state = inp.trading_state
        if state == "HALTED":
            return _fail("trading_state", "trading is HALTED: no orders until a person resumes")
        if state == "REDUCING" and p.intent is not ProposalIntent.CLOSE:
            return _fail("trading_state", "trading is REDUCING: only risk-reducing orders pass")
        return _ok("trading_state", f"state {state}")

    def _check_pricing(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        missing = [leg.symbol for leg in p.legs if not _good(inp.leg_prices.get(leg.symbol))]
        if missing:
            return _fail("pricing", f"no valid price for {', '.join(missing)} (fail closed)")
        return _ok("pricing", "every leg priced")

    def _check_stale_data(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        limit = self.limits.stale_data_seconds
        if inp.last_data_at is None:
            return _fail("stale_data", "no market data received yet", limit=limit)
        age = (inp.now - inp.last_data_at).total_seconds()
        if age > limit and inp.market_open:
            return _fail("stale_data", f"market data {age:.0f}s old", value=age, limit=limit)
        return _ok("stale_data", f"data {age:.0f}s old", value=age, limit=limit)

    def _check_market_hours(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        if not inp.market_open:
            return _fail("market_hours", "regular session is closed")
        return _ok("market_hours", "regular session open")

    def _check_rate(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        assert self.throttle is not None
        n = self.throttle.count()
        lim = self.throttle.per_second
        if n >= lim:
            return _fail("rate_limit", f"{n} orders in the last second", value=n, limit=lim)
        return _ok("rate_limit", f"{n} orders in the last second", value=n, limit=lim)

    def _check_breakers(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        if inp.tripped_breakers:
            return _fail("breakers", f"tripped: {', '.join(inp.tripped_breakers)}")
        return _ok("breakers", "none tripped")

    def _check_buying_power(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        cost = proposal_cost(p, inp.leg_prices)
        need = max(cost, 0.0) + _collateral(p, inp.leg_prices)
        bp = float(inp.portfolio.buying_power) * (1 - self.limits.buying_power_buffer_pct)
        if need > bp:
            return _fail(
                "buying_power", f"needs ${need:,.0f}, has ${bp:,.0f}", value=need, limit=bp
            )
        return _ok("buying_power", f"needs ${need:,.0f} of ${bp:,.0f}", value=need, limit=bp)

    def _check_order_notional(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        notional = abs(proposal_cost(p, inp.leg_prices))
        lim = self.limits.max_order_notional
        if notional > lim:
            return _fail("order_notional", f"${notional:,.0f} per order", value=notional, limit=lim)
        return _ok("order_notional", f"${notional:,.0f}", value=notional, limit=lim)

    def _check_position_size(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        eq = inp.portfolio.equity
        pct = self.limits.max_position_pct or inp.profile_max_position_pct
        if _is_broad_etf_stock(p):
            # The index sleeve holds a broad ETF by design (spec §3, 55-80% of equity):
            # the integration limit of spec §4 (80% for broad ETFs) is its position limit.
            pct = self.limits.max_etf_concentration
        lim = pct * eq
        exposure = proposal_max_loss(p, inp.leg_prices)
        if exposure > lim:
            return _fail(
                "position_size",
                f"${exposure:,.0f} > {pct:.0%} of equity",
                value=exposure,
                limit=lim,
                suggested=_scale(p.quantity, lim, exposure),
            )
        return _ok("position_size", f"${exposure:,.0f}", value=exposure, limit=lim)

    def _check_max_loss(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        loss = proposal_max_loss(p, inp.leg_prices)
        pct = self.limits.max_loss_per_trade_pct or inp.profile_max_position_pct
        lim = pct * inp.portfolio.equity
        # Stock has no defined max loss; its loss is governed by position size, concentration
        # and VaR instead.
        if all(isinstance(leg.instrument, Equity) for leg in p.legs):
            return _ok("max_loss", "stock order: governed by size and VaR", value=loss, limit=lim)
        if loss > lim:
            return _fail(
                "max_loss",
                f"max loss ${loss:,.0f} > {pct:.0%} of equity",
                value=loss,
                limit=lim,
                suggested=_scale(p.quantity, lim, loss),
            )
        return _ok("max_loss", f"${loss:,.0f}", value=loss, limit=lim)

    def _check_strategy_allocation(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        eq = inp.portfolio.equity
        lim = inp.strategy_allocation_cap * eq
        after = inp.strategy_open_risk + proposal_max_loss(p, inp.leg_prices)
        if after > lim:
            return _fail(
                "strategy_allocation",
                f"{p.strategy} open risk ${after:,.0f} > cap {inp.strategy_allocation_cap:.0%}",
                value=after,
                limit=lim,
            )
        return _ok("strategy_allocation", f"${after:,.0f}", value=after, limit=lim)

    def _check_total_risk(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        pct = self.limits.max_total_risk_pct or inp.profile_max_total_risk_pct
        eq = inp.portfolio.equity
        after = inp.total_open_risk + proposal_max_loss(p, inp.leg_prices)
        lim = pct * eq
        # Fully paid equities in a broad index are the baseline sleeve, not "risk" in the
        # profile's sense (spec §0.1 counts option/speculative exposure); they are bounded by
        # the concentration check instead.
        if all(isinstance(leg.instrument, Equity) for leg in p.legs):
            return _ok(
                "total_risk", "equity order: bounded by concentration", value=after, limit=lim
            )
        if after > lim:
            return _fail(
                "total_risk",
                f"open risk ${after:,.0f} > {pct:.0%} of equity",
                value=after,
                limit=lim,
            )
        return _ok("total_risk", f"${after:,.0f}", value=after, limit=lim)

    def _check_concentration(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        eq = inp.portfolio.equity
        und = p.underlying
        current = sum(
            abs(pos.market_value)
            for pos in inp.portfolio.positions.values()
            if pos.quantity and pos.instrument.underlying == und
        )
        after = current + max(proposal_cost(p, inp.leg_prices), 0.0)
        frac = after / eq if eq > 0 else math.inf
        lim = (
            self.limits.max_etf_concentration
            if und in BROAD_ETFS
            else self.limits.max_name_concentration
        )
        if frac > lim:
            return _fail("concentration", f"{und} {frac:.0%} of equity", value=frac, limit=lim)
        return _ok("concentration", f"{und} {frac:.1%} of equity", value=frac, limit=lim)

    def _check_var_budget(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        lim = self.limits.var99_limit_pct
        if inp.var99_pct is None:
            return RiskCheckResult(
                "var_budget", CheckOutcome.WARN, None, lim, "portfolio VaR not yet computed"
            )
        if inp.var99_pct > lim:
            return _fail("var_budget", f"VaR99 {inp.var99_pct:.2%}", value=inp.var99_pct, limit=lim)
        return _ok("var_budget", f"VaR99 {inp.var99_pct:.2%}", value=inp.var99_pct, limit=lim)


def _collateral(p: TradeProposal, prices: Mapping[str, float]) -> float:
    """Cash a cash account must set aside: short puts not covered by a long put of the same
    expiry are secured by strike × 100; a vertical credit spread reserves its width."""
    if p.intent is ProposalIntent.CLOSE:
        return 0.0
    shorts = [
        leg
        for leg in p.legs
        if leg.side is Side.SELL and isinstance(leg.instrument, OptionContract)
    ]
    longs = [
        leg for leg in p.legs if leg.side is Side.BUY and isinstance(leg.instrument, OptionContract)
    ]
    total = Decimal(0)
    for s in shorts:
        sc = s.instrument
        assert isinstance(sc, OptionContract)
        hedge = next(
            (
                lg.instrument
                for lg in longs
                if isinstance(lg.instrument, OptionContract)
                and lg.instrument.right is sc.right
                and lg.instrument.expiry >= sc.expiry
            ),
            None,
        )
        if hedge is not None:
            total += abs(sc.strike - hedge.strike) * sc.multiplier * s.ratio
        elif sc.is_call:
            continue  # covered calls are checked by the broker against shares held
        else:
            total += sc.strike * sc.multiplier * s.ratio
    return float(total) * p.quantity


def _is_broad_etf_stock(p: TradeProposal) -> bool:
    return all(isinstance(leg.instrument, Equity) and leg.symbol in BROAD_ETFS for leg in p.legs)


def _good(x: float | None) -> bool:
    return x is not None and math.isfinite(x) and x > 0


def _scale(qty: int, limit: float, value: float) -> int:
    if value <= 0:
        return qty
    return max(0, int(qty * limit / value))


def _ok(
    name: str, msg: str, *, value: float | None = None, limit: float | None = None
) -> RiskCheckResult:
    return RiskCheckResult(name, CheckOutcome.PASS, value, limit, msg)


def _fail(
    name: str,
    msg: str,
    *,
    value: float | None = None,
    limit: float | None = None,
    suggested: int | None = None,
) -> RiskCheckResult:
    return RiskCheckResult(name, CheckOutcome.FAIL, value, limit, msg, suggested)
