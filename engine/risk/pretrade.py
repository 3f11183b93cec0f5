"""Pre-trade checks: every proposal passes through `PreTradeRisk.check` before any order.

Risk denies, it does not raise: each check yields a `RiskCheckResult` with its value and
limit, stored with the decision so a person can see exactly why a trade was blocked.  Every
check runs (not just up to the first failure), so the decision lists every reason at once;
only an unpriceable proposal stops the list, since later checks need prices.  Checks fail
closed: missing prices, stale data, an option that cannot be priced, a VaR model that is
not ready or an error inside a check block new risk.

Order (spec §4): trading state and breakers, session and data guards (hours, LULD band,
SSR), PDT, order rates, compliance-style limits (restricted list, lotto gate, notional per
order and per day, leverage, position, loss, allocation, total risk, concentration), then
the portfolio VaR layer and the greek rules.  Risk-reducing (closing) proposals run only the
first group - state, prices, data, hours, LULD, SSR, rates, PDT - so a halted-for-new-risk
or over-limit book can always be reduced.  The compliance rules live in
engine.risk.compliance; modify/replace and cancel throttles (`check_modify`,
`check_cancel`) sit beside the submit throttle.

The live picture (marginal-VaR model, VIX, day trades, sectors) comes from the
`LiveRiskState` the live risk monitor keeps up to date; see engine.risk.live_state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.domain import (
    BROAD_INDEX_ETFS,
    CheckOutcome,
    Equity,
    ExitReason,
    OptionContract,
    Portfolio,
    Position,
    RiskCheckResult,
    RiskDecision,
    Side,
    TradeProposal,
)
from engine.domain.fast_init import fast_init
from engine.domain.proposals import ProposalIntent
from engine.risk.breakers import vix_level, vix_size_multiplier
from engine.risk.compliance import (
    LOTTO_STRATEGIES,
    DayNotionalLog,
    check_day_notional,
    check_leverage,
    check_lotto_gate,
    check_luld,
    check_restricted,
    check_ssr,
    normalize_symbols,
)
from engine.risk.greek_limits import GreekLimits, greek_breaches
from engine.risk.live_state import LiveRiskState
from engine.risk.marginal import MarginalResult
from engine.risk.open_risk import book_open_risk
from engine.risk.pdt import MAX_DAY_TRADES, PDT_MIN_EQUITY
from engine.risk.rate_limits import OrderRateLog, RateThrottle
from engine.risk.recurring import recurring
from engine.risk.tail_hedge import is_protective_hedge

log = logging.getLogger(__name__)

BROAD_ETFS: frozenset[str] = BROAD_INDEX_ETFS
# Sectors a concentration limit makes no sense for: the whole market.
_UNCONCENTRATED_SECTORS = frozenset({"broad", "index", "unknown", ""})
_PASS = CheckOutcome.PASS
_WARN = CheckOutcome.WARN
_FAIL = CheckOutcome.FAIL
# Results that never vary, built once (results are frozen values).
_PRICED = RiskCheckResult("pricing", _PASS, message="every leg priced")
_SESSION_OPEN = RiskCheckResult("market_hours", _PASS, message="regular session open")
_SESSION_CLOSED = RiskCheckResult("market_hours", _FAIL, message="regular session is closed")
_NO_BREAKERS = RiskCheckResult("breakers", _PASS, message="none tripped")
_GREEKS_UNCHECKED = RiskCheckResult(
    "greek_limits", _WARN, message="no live risk monitor: not checked"
)

__all__ = [
    "BROAD_ETFS",
    "LazyOpenRiskInputs",
    "PreTradeInputs",
    "PreTradeRisk",
    "RateThrottle",
    "RiskLimits",
    "proposal_cost",
    "proposal_max_loss",
]


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Fractions are of account equity. Defaults follow spec/risk.md §4.

    The three sizing limits default to None, meaning "the proposing strategy's profile"
    (spec §0.1: R24 5% per position and 10% total, W25 30% and 65%); a value set here is an
    explicit account-wide limit and wins.

    `max_order_pct` is the compliance layer's "order <= 5% of portfolio (warn at 4%)".  It is
    off by default because the strategy profiles size positions up to 30% (W25) and the
    index sleeve up to 80% in one broad ETF by design; set it (e.g. 0.05 / 0.04) for an
    account that wants the compliance rule.
    """

    max_position_pct: float | None = None
    max_total_risk_pct: float | None = None
    max_loss_per_trade_pct: float | None = None
    max_order_notional: float = 50_000.0
    max_order_pct: float | None = None
    warn_order_pct: float | None = None
    max_orders_per_second: float = 100.0
    max_orders_per_minute: int = 60
    max_symbol_orders_per_minute: int = 10
    stale_data_seconds: float = 120.0
    max_name_concentration: float = 0.30
    max_etf_concentration: float = 0.80
    max_sector_concentration: float = 0.35
    buying_power_buffer_pct: float = 0.0
    var99_limit_pct: float = 0.05
    cvar99_limit_pct: float = 0.07
    var_confidence: float = 0.99
    pdt_min_equity: float = PDT_MIN_EQUITY
    max_day_trades: int = MAX_DAY_TRADES
    greeks: GreekLimits = field(default_factory=GreekLimits)
    # Modify/replace and cancel throttles (spec: 100/s, like submits).
    max_modifies_per_second: float = 100.0
    max_cancels_per_second: float = 100.0
    # Compliance and market-structure rules (engine.risk.compliance).
    restricted: frozenset[str] = frozenset()
    luld_tier2: frozenset[str] = frozenset()  # names with the 10 % band (else Tier 1, 5 %)
    ssr_drop_pct: float = 0.10
    max_day_notional: float = 5_000_000.0
    max_leverage: float = 1.0
    lotto_strategies: frozenset[str] = LOTTO_STRATEGIES
    lotto_max_day_loss_pct: float = 0.05
    lotto_min_equity: float = 10_000.0

    def __post_init__(self) -> None:
        for name in ("restricted", "luld_tier2"):
            object.__setattr__(
                self, name, normalize_symbols(f"RiskLimits.{name}", getattr(self, name))
            )
        if isinstance(self.lotto_strategies, str):
            raise ValueError(
                f"RiskLimits.lotto_strategies={self.lotto_strategies!r} must be a set of names"
            )
        object.__setattr__(self, "lotto_strategies", frozenset(self.lotto_strategies))

        def frac(name: str, v: float | None, *, allow_zero: bool = False) -> None:
            if v is None:
                return
            ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0) and v <= 1
            if not ok:
                lo = "0 <=" if allow_zero else "0 <"
                raise ValueError(f"RiskLimits.{name}={v!r} must be a fraction, {lo} x <= 1")

        for name in (
            "max_position_pct",
            "max_total_risk_pct",
            "max_loss_per_trade_pct",
            "max_order_pct",
            "warn_order_pct",
            "max_name_concentration",
            "max_etf_concentration",
            "max_sector_concentration",
            "var99_limit_pct",
            "cvar99_limit_pct",
            "ssr_drop_pct",
            "lotto_max_day_loss_pct",
        ):
            frac(name, getattr(self, name))
        frac("buying_power_buffer_pct", self.buying_power_buffer_pct, allow_zero=True)
        for name in (
            "max_order_notional",
            "max_orders_per_second",
            "stale_data_seconds",
            "pdt_min_equity",
            "max_modifies_per_second",
            "max_cancels_per_second",
            "max_day_notional",
            "max_leverage",
        ):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"RiskLimits.{name}={v!r} must be a positive number")
        for name in ("max_orders_per_minute", "max_symbol_orders_per_minute", "max_day_trades"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 0):
                raise ValueError(f"RiskLimits.{name}={v!r} must be a whole number >= 0")
        if not (math.isfinite(self.lotto_min_equity) and self.lotto_min_equity >= 0):
            raise ValueError(
                f"RiskLimits.lotto_min_equity={self.lotto_min_equity!r} must be a number >= 0"
            )
        if not 0.5 <= self.var_confidence < 1:
            raise ValueError(
                f"RiskLimits.var_confidence={self.var_confidence!r} must be in [0.5, 1)"
            )


@fast_init
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
    # Overrides of the live picture (None = use the monitor's LiveRiskState).
    vix: float | None = None
    day_trades_5d: int | None = None
    sector_of: Mapping[str, str] | None = None
    # The proposing strategy's own positions: its open risk is then measured with spreads
    # recognised (else `strategy_open_risk`, the engine's leg-by-leg figure, is used).
    strategy_positions: Mapping[str, Position] | None = None
    # Cash already promised to open orders (the broker holds it): not available to this one.
    open_order_holds: float = 0.0
    # Prior session's close per symbol for the SSR rule (None = the monitor's LiveRiskState).
    prior_closes: Mapping[str, float] | None = None
    # Dollars already sent today (None = what `record_submit` counted).
    day_notional: float | None = None


_STRATEGY_RISK_SLOT = PreTradeInputs.__dict__["strategy_open_risk"]
_TOTAL_RISK_SLOT = PreTradeInputs.__dict__["total_open_risk"]


class LazyOpenRiskInputs(PreTradeInputs):
    """`PreTradeInputs` whose `strategy_open_risk` and `total_open_risk` come from callables,
    asked the first time each figure is read (then kept) instead of when the inputs are built.

    Each walks the whole book, and the engine builds inputs for every proposal, while the
    checks read `strategy_open_risk` only when no `strategy_positions` are given and
    `total_open_risk` not at all. Read them within the step that built the inputs: a
    callable answers for the book as it is when asked. Otherwise a `PreTradeInputs` in
    every way (fields, equality, repr; `dataclasses.replace` copies the figures as read).
    """

    __slots__ = ("_strategy_risk_fn", "_total_risk_fn")
    _strategy_risk_fn: Callable[[], float] | None
    _total_risk_fn: Callable[[], float] | None

    def __init__(
        self,
        *args: Any,
        strategy_open_risk_fn: Callable[[], float] | None = None,
        total_open_risk_fn: Callable[[], float] | None = None,
        **kwargs: Any,
    ) -> None:
        PreTradeInputs.__init__(self, *args, **kwargs)
        object.__setattr__(self, "_strategy_risk_fn", strategy_open_risk_fn)
        object.__setattr__(self, "_total_risk_fn", total_open_risk_fn)

    @property
    def strategy_open_risk(self) -> float:
        fn = self._strategy_risk_fn
        if fn is not None:
            _STRATEGY_RISK_SLOT.__set__(self, fn())
            object.__setattr__(self, "_strategy_risk_fn", None)
        value: float = _STRATEGY_RISK_SLOT.__get__(self, PreTradeInputs)
        return value

    @property
    def total_open_risk(self) -> float:
        fn = self._total_risk_fn
        if fn is not None:
            _TOTAL_RISK_SLOT.__set__(self, fn())
            object.__setattr__(self, "_total_risk_fn", None)
        value: float = _TOTAL_RISK_SLOT.__get__(self, PreTradeInputs)
        return value


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


Check = Callable[[TradeProposal, PreTradeInputs], RiskCheckResult]


class _Run:
    """Figures several checks of one `check` call read: the proposal's cost at mids (five
    checks), its max loss (four) and the account equity (about ten), each worked out once."""

    __slots__ = ("cost", "equity", "inp", "max_loss", "proposal")

    def __init__(self, proposal: TradeProposal, inp: PreTradeInputs) -> None:
        self.proposal = proposal
        self.inp = inp
        self.cost: float | None = None
        self.max_loss: float | None = None
        self.equity: float | None = None


@dataclass
class PreTradeRisk:
    limits: RiskLimits = field(default_factory=RiskLimits)
    throttle: RateThrottle | None = None
    live: LiveRiskState = field(default_factory=LiveRiskState)
    orders: OrderRateLog = field(default_factory=OrderRateLog)
    day_notional: DayNotionalLog = field(default_factory=DayNotionalLog)

    def __post_init__(self) -> None:
        if self.throttle is None:
            self.throttle = RateThrottle(self.limits.max_orders_per_second)
        # Modify and cancel count on the submit throttle's clock (market time in a replay).
        clock = self.throttle.clock
        self.modify_throttle = RateThrottle(self.limits.max_modifies_per_second, clock=clock)
        self.cancel_throttle = RateThrottle(self.limits.max_cancels_per_second, clock=clock)
        self._memo: tuple[int, int, MarginalResult | Exception] | None = None
        self._run: _Run | None = None  # the proposal being checked (see `_cost`)
        self._check_lists: dict[bool, tuple[Check, ...]] = {}
        self._unit_notional: dict[str, float] = {}  # proposal id -> $ per unit at its check

    # -- API ------------------------------------------------------------------------------

    def check(self, proposal: TradeProposal, inp: PreTradeInputs) -> RiskDecision:
        checks: list[RiskCheckResult] = []
        reducing = proposal.intent is ProposalIntent.CLOSE
        self._memo = None
        self._run = run = _Run(proposal, inp)
        for fn in self._checks(reducing):
            try:
                res = fn(proposal, inp)
            except Exception as exc:  # fail closed: a broken check blocks the trade
                log.exception("risk check %s failed", getattr(fn, "__name__", fn))
                res = RiskCheckResult(
                    getattr(fn, "__name__", "check").removeprefix("_check_"),
                    CheckOutcome.FAIL,
                    message=f"check raised {type(exc).__name__}: {exc} (fail closed)",
                )
            checks.append(res)
            # Later checks assume prices exist; stop at an unpriceable proposal.
            if res.name == "pricing" and not res.passed:
                break
        self._memo = None
        prices = inp.leg_prices
        if all(_good(prices.get(leg.symbol)) for leg in proposal.legs):
            # What `record_submit` adds to the day's notional if this one is sent.
            unit = abs(self._cost(proposal, inp)) / proposal.quantity
            self._unit_notional[proposal.proposal_id] = unit
            if len(self._unit_notional) > 10_000:  # checked but never sent: forget the oldest
                del self._unit_notional[next(iter(self._unit_notional))]
        if self._run is run:
            self._run = None
        failed = [c for c in checks if c.outcome is _FAIL]  # i.e. `not c.passed`
        approved = not failed
        return RiskDecision(
            proposal_id=proposal.proposal_id,
            approved=approved,
            approved_quantity=proposal.quantity if approved else 0,
            checks=tuple(checks),
            decided_at=inp.now,
            reason="approved" if approved else "; ".join(f"{c.name}: {c.message}" for c in failed),
        )

    def record_submit(
        self, proposal: TradeProposal, now: datetime, notional: float | None = None
    ) -> None:
        """Count an order sent to the broker (the engine calls this right before submit).

        `notional` (dollars) defaults to the proposal's value at its last check, scaled to the
        quantity sent (a person may have edited it)."""
        assert self.throttle is not None
        self.throttle.record()
        self.orders.record(proposal.underlying, now)
        if notional is None:
            notional = self._unit_notional.pop(proposal.proposal_id, 0.0) * proposal.quantity
        self.day_notional.record(notional, now)

    def check_modify(self) -> RiskCheckResult:
        """May an open order be modified/replaced now?  Call before the broker's replace
        and `record_modify` once it is sent."""
        return _throttle_check("modify_rate", "modifies", self.modify_throttle)

    def record_modify(self) -> None:
        self.modify_throttle.record()

    def check_cancel(self) -> RiskCheckResult:
        """May an order be canceled now?  The kill switch never asks: it must always work."""
        return _throttle_check("cancel_rate", "cancels", self.cancel_throttle)

    def record_cancel(self) -> None:
        self.cancel_throttle.record()

    def _checks(self, reducing: bool) -> tuple[Check, ...]:
        # The bound methods, built once per kind (a decision ran ~26 attribute look-ups).
        got = self._check_lists.get(reducing)
        if got is None:
            got = self._check_lists[reducing] = tuple(self._check_list(reducing))
        return got

    def _check_list(self, reducing: bool) -> list[Check]:
        always: list[Check] = [
            self._check_trading_state,
            self._check_pricing,
            self._check_stale_data,
            self._check_market_hours,
            self._check_luld,
            self._check_ssr,
            self._check_rate,
            self._check_order_rate,
            self._check_pdt,
        ]
        if reducing:
            return always
        return [
            *always,
            self._check_breakers,
            self._check_vix,
            self._check_restricted,
            self._check_lotto_gate,
            self._check_buying_power,
            self._check_order_notional,
            self._check_day_notional,
            self._check_leverage,
            self._check_position_size,
            self._check_max_loss,
            self._check_strategy_allocation,
            self._check_total_risk,
            self._check_concentration,
            self._check_sector_concentration,
            self._check_var_budget,
            self._check_cvar_budget,
            self._check_greeks,
        ]

    # -- figures shared by several checks --------------------------------------------------

    def _cost(self, p: TradeProposal, inp: PreTradeInputs) -> float:
        """`proposal_cost(p, inp.leg_prices)`, once per `check` call."""
        run = self._run
        if run is None or run.proposal is not p or run.inp is not inp:
            return proposal_cost(p, inp.leg_prices)
        cost = run.cost
        if cost is None:
            cost = run.cost = proposal_cost(p, inp.leg_prices)
        return cost

    def _max_loss(self, p: TradeProposal, inp: PreTradeInputs) -> float:
        """`proposal_max_loss(p, inp.leg_prices)`, once per `check` call."""
        run = self._run
        if run is None or run.proposal is not p or run.inp is not inp:
            return proposal_max_loss(p, inp.leg_prices)
        loss = run.max_loss
        if loss is None:
            loss = run.max_loss = proposal_max_loss(p, inp.leg_prices)
        return loss

    def _equity(self, inp: PreTradeInputs) -> float:
        """`inp.portfolio.equity`, once per `check` call."""
        run = self._run
        if run is None or run.inp is not inp:
            return inp.portfolio.equity
        eq = run.equity
        if eq is None:
            eq = run.equity = inp.portfolio.equity
        return eq

    # -- state, data, hours, rates ----------------------------------------------------------

    def _check_trading_state(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        state = inp.trading_state
        if state == "HALTED":
            return _fail("trading_state", "trading is HALTED: no orders until a person resumes")
        if state == "REDUCING" and p.intent is not ProposalIntent.CLOSE:
            if is_protective_hedge(p):
                return _ok("trading_state", "state REDUCING: protective tail hedge allowed")
            return _fail("trading_state", "trading is REDUCING: only risk-reducing orders pass")
        return recurring("trading_state", _PASS, f"state {state}")

    def _check_pricing(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        prices = inp.leg_prices
        missing = [leg.symbol for leg in p.legs if not _good(prices.get(leg.symbol))]
        if missing:
            return _fail("pricing", f"no valid price for {', '.join(missing)} (fail closed)")
        return _PRICED

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
            return _SESSION_CLOSED
        return _SESSION_OPEN

    def _check_luld(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        return check_luld(p, inp.leg_prices, self.limits.luld_tier2)

    def _check_ssr(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        prior = inp.prior_closes if inp.prior_closes is not None else self.live.prior_close
        return check_ssr(p, inp.portfolio, inp.leg_prices, prior, self.limits.ssr_drop_pct)

    def _check_restricted(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        return check_restricted(p, self.limits.restricted)

    def _check_lotto_gate(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        lim = self.limits
        return check_lotto_gate(
            p,
            inp.portfolio,
            strategies=lim.lotto_strategies,
            max_day_loss=lim.lotto_max_day_loss_pct,
            min_equity=lim.lotto_min_equity,
        )

    def _check_day_notional(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        order = abs(self._cost(p, inp))
        today = (
            inp.day_notional if inp.day_notional is not None else self.day_notional.today(inp.now)
        )
        return check_day_notional(order, today, self.limits.max_day_notional)

    def _check_leverage(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        return check_leverage(p, inp.portfolio, inp.leg_prices, self.limits.max_leverage)

    def _check_rate(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        assert self.throttle is not None
        n = self.throttle.count()
        lim = self.throttle.per_second
        if n >= lim:
            return _fail("rate_limit", f"{n} orders in the last second", value=n, limit=lim)
        return recurring("rate_limit", _PASS, f"{n} orders in the last second", n, lim)

    def _check_order_rate(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        total, sym = self.orders.counts(p.underlying, inp.now)
        lim_t = self.limits.max_orders_per_minute
        lim_s = self.limits.max_symbol_orders_per_minute
        if total >= lim_t:
            return _fail(
                "order_rate",
                f"RATE_LIMIT: {total} orders in the last minute (limit {lim_t}/min)",
                value=total,
                limit=lim_t,
            )
        if sym >= lim_s:
            return _fail(
                "order_rate",
                f"RATE_LIMIT: {sym} {p.underlying} orders in the last minute "
                f"(limit {lim_s}/min per symbol)",
                value=sym,
                limit=lim_s,
            )
        return recurring(
            "order_rate", _PASS, f"{total}/min total, {sym}/min {p.underlying}", total, lim_t
        )

    def _check_pdt(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        today = inp.now.date()
        count = (
            inp.day_trades_5d
            if inp.day_trades_5d is not None
            else self.live.day_trades.count(today)
        )
        lim = self.limits.max_day_trades
        day_trade = p.intent is ProposalIntent.CLOSE and any(
            (pos := inp.portfolio.positions.get(leg.symbol)) is not None
            and pos.quantity != 0
            and pos.opened_at is not None
            and pos.opened_at.date() == today
            for leg in p.legs
        )
        if not day_trade:
            return recurring("pdt", _PASS, f"not a day trade ({count} in 5 days)", count, lim)
        eq = self._equity(inp)
        if eq >= self.limits.pdt_min_equity:
            return _ok(
                "pdt",
                f"day trade {count + 1}; equity ${eq:,.0f} >= ${self.limits.pdt_min_equity:,.0f}",
                value=count,
                limit=lim,
            )
        if count + 1 > lim:
            msg = (
                f"PDT: would be day trade {count + 1} in 5 business days with equity "
                f"${eq:,.0f} < ${self.limits.pdt_min_equity:,.0f} (at most {lim})"
            )
            if p.exit_reason in (ExitReason.STOP, ExitReason.EXPIRY):
                # A protective exit is never trapped: a flagged account beats an open loss.
                return RiskCheckResult(
                    "pdt", CheckOutcome.WARN, count, lim, msg + "; protective exit allowed"
                )
            return _fail("pdt", msg, value=count, limit=lim)
        return _ok("pdt", f"day trade {count + 1} of {lim} allowed", value=count, limit=lim)

    # -- new-risk limits ------------------------------------------------------------------

    def _check_breakers(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        if inp.tripped_breakers:
            msg = f"tripped: {', '.join(inp.tripped_breakers)}"
            if is_protective_hedge(p):  # lowers the book's loss; the HALTED state still blocks
                return RiskCheckResult(
                    "breakers", CheckOutcome.WARN, message=msg + "; protective tail hedge allowed"
                )
            return _fail("breakers", msg)
        return _NO_BREAKERS

    def _size_multiplier(self, inp: PreTradeInputs) -> tuple[float | None, float]:
        if inp.vix is not None:
            return inp.vix, vix_size_multiplier(inp.vix)
        return self.live.vix, self.live.size_multiplier

    def _check_vix(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        vix, mult = self._size_multiplier(inp)
        label = "unknown" if vix is None else f"{vix:.1f}"
        msg = f"VIX {label} ({vix_level(vix)}): size x {mult:g}"
        if mult <= 0:
            return _fail("vix", msg + ": no new risk", value=vix, limit=mult)
        if mult < 1:
            return RiskCheckResult("vix", CheckOutcome.WARN, vix, mult, msg)
        return _ok("vix", msg, value=vix, limit=mult)

    def _check_buying_power(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        cost = self._cost(p, inp)
        need = max(cost, 0.0) + _collateral(p, inp.leg_prices)
        free = float(inp.portfolio.buying_power) - max(inp.open_order_holds, 0.0)
        bp = free * (1 - self.limits.buying_power_buffer_pct)
        if need > bp:
            return _fail(
                "buying_power", f"needs ${need:,.0f}, has ${bp:,.0f}", value=need, limit=bp
            )
        return _ok("buying_power", f"needs ${need:,.0f} of ${bp:,.0f}", value=need, limit=bp)

    def _check_order_notional(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        notional = abs(self._cost(p, inp))
        lim = self.limits.max_order_notional
        if notional > lim:
            return _fail("order_notional", f"${notional:,.0f} per order", value=notional, limit=lim)
        pct = self.limits.max_order_pct
        if pct is not None:
            eq = self._equity(inp)
            cap = pct * eq
            if notional > cap:
                return _fail(
                    "order_notional",
                    f"${notional:,.0f} > {pct:.0%} of equity",
                    value=notional,
                    limit=cap,
                    suggested=_scale(p.quantity, cap, notional),
                )
            warn = self.limits.warn_order_pct
            if warn is not None and notional > warn * eq:
                return RiskCheckResult(
                    "order_notional",
                    CheckOutcome.WARN,
                    notional,
                    cap,
                    f"${notional:,.0f} > {warn:.0%} of equity (limit {pct:.0%})",
                )
            lim = min(lim, cap)
        return _ok("order_notional", f"${notional:,.0f}", value=notional, limit=lim)

    def _check_position_size(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        eq = self._equity(inp)
        pct = self.limits.max_position_pct or inp.profile_max_position_pct
        if _is_broad_etf_stock(p):
            # The index sleeve holds a broad ETF by design (spec §3, 55-80% of equity):
            # the integration limit of spec §4 (80% for broad ETFs) is its position limit.
            pct = self.limits.max_etf_concentration
        _, mult = self._size_multiplier(inp)
        lim = pct * eq * mult
        exposure = self._max_loss(p, inp)
        scaled = f" x VIX {mult:g}" if mult < 1 else ""
        if exposure > lim:
            return _fail(
                "position_size",
                f"${exposure:,.0f} > {pct:.0%} of equity{scaled}",
                value=exposure,
                limit=lim,
                suggested=_scale(p.quantity, lim, exposure),
            )
        return _ok("position_size", f"${exposure:,.0f}", value=exposure, limit=lim)

    def _check_max_loss(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        loss = self._max_loss(p, inp)
        pct = self.limits.max_loss_per_trade_pct or inp.profile_max_position_pct
        _, mult = self._size_multiplier(inp)
        lim = pct * self._equity(inp) * mult
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
        eq = self._equity(inp)
        lim = inp.strategy_allocation_cap * eq
        current = (
            book_open_risk(inp.strategy_positions.values())
            if inp.strategy_positions is not None
            else inp.strategy_open_risk
        )
        after = current + self._max_loss(p, inp)
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
        eq = self._equity(inp)
        # Fully paid broad-index ETF shares are the baseline sleeve, not "risk" in the
        # profile's sense (spec §0.1: R24 allows 10% total risk but gives the index sleeve a
        # 60% cap); they are bounded by the concentration check instead.  Open risk is
        # measured with spreads recognised (engine.risk.open_risk), not leg by leg.
        positions = inp.portfolio.positions
        sleeve = frozenset(
            s
            for s in BROAD_ETFS.intersection(positions)
            if isinstance(positions[s].instrument, Equity)
        )
        current = book_open_risk(positions.values(), exclude=sleeve)
        after = current + self._max_loss(p, inp)
        lim = pct * eq
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
        eq = self._equity(inp)
        und = p.underlying
        current: float = 0  # summed as `sum` would: from int 0, in position order
        for pos in inp.portfolio.positions.values():
            if pos.quantity and pos.instrument.underlying == und:
                current += abs(pos.market_value)
        after = current + max(self._cost(p, inp), 0.0)
        frac = after / eq if eq > 0 else math.inf
        lim = (
            self.limits.max_etf_concentration
            if und in BROAD_ETFS
            else self.limits.max_name_concentration
        )
        if frac > lim:
            return _fail("concentration", f"{und} {frac:.0%} of equity", value=frac, limit=lim)
        return _ok("concentration", f"{und} {frac:.1%} of equity", value=frac, limit=lim)

    def _check_sector_concentration(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        sectors = inp.sector_of if inp.sector_of is not None else self.live.sectors
        und = p.underlying
        sector = sectors.get(und, "unknown")
        lim = self.limits.max_sector_concentration
        if und in BROAD_ETFS or sector.lower() in _UNCONCENTRATED_SECTORS:
            return recurring(
                "sector_concentration", _PASS, f"{und}: sector {sector!r} not limited", None, lim
            )
        eq = self._equity(inp)
        current = sum(
            abs(pos.market_value)
            for pos in inp.portfolio.positions.values()
            if pos.quantity and sectors.get(pos.instrument.underlying) == sector
        )
        after = current + max(self._cost(p, inp), 0.0)
        frac = after / eq if eq > 0 else math.inf
        if frac > lim:
            return _fail(
                "sector_concentration",
                f"sector {sector} {frac:.0%} of equity",
                value=frac,
                limit=lim,
            )
        return _ok(
            "sector_concentration", f"sector {sector} {frac:.1%} of equity", value=frac, limit=lim
        )

    # -- portfolio VaR layer and greeks ---------------------------------------------------

    def _marginal(self, p: TradeProposal, inp: PreTradeInputs) -> MarginalResult:
        key = (id(p), id(inp))
        if self._memo is not None and self._memo[:2] == key:
            hit = self._memo[2]
        else:
            model = self.live.model
            if model is None:
                hit = LookupError(f"VaR model not ready: {self.live.model_error}")
            else:
                try:
                    hit = model.evaluate(
                        inp.portfolio,
                        p,
                        inp.leg_prices,
                        inp.underlying_prices,
                        self.limits.var_confidence,
                    )
                except Exception as exc:  # fail closed, with the reason
                    hit = exc
            self._memo = (key[0], key[1], hit)
        if isinstance(hit, Exception):
            raise hit
        return hit

    def _check_var_budget(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        lim = self.limits.var99_limit_pct
        if not self.live.attached:
            if inp.var99_pct is None:
                return recurring("var_budget", _WARN, "portfolio VaR not yet computed", None, lim)
            if inp.var99_pct > lim:
                return _fail(
                    "var_budget", f"VaR99 {inp.var99_pct:.2%}", value=inp.var99_pct, limit=lim
                )
            return _ok("var_budget", f"VaR99 {inp.var99_pct:.2%}", value=inp.var99_pct, limit=lim)
        try:
            m = self._marginal(p, inp)
        except Exception as exc:
            return _fail("var_budget", f"{exc} (fail closed)", limit=lim)
        return _budget("var_budget", "VaR", m.var_before, m.var_after, lim, m.confidence)

    def _check_cvar_budget(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        lim = self.limits.cvar99_limit_pct
        if not self.live.attached:
            return recurring("cvar_budget", _WARN, "no live risk monitor: CVaR unknown", None, lim)
        try:
            m = self._marginal(p, inp)
        except Exception as exc:
            return _fail("cvar_budget", f"{exc} (fail closed)", limit=lim)
        return _budget("cvar_budget", "CVaR", m.cvar_before, m.cvar_after, lim, m.confidence)

    def _check_greeks(self, p: TradeProposal, inp: PreTradeInputs) -> RiskCheckResult:
        if not self.live.attached:
            return _GREEKS_UNCHECKED
        try:
            m = self._marginal(p, inp)
        except Exception as exc:
            return _fail("greek_limits", f"{exc} (fail closed)")
        gl = self.limits.greeks
        eq = inp.portfolio.equity
        port, port_top = greek_breaches(
            "portfolio", m.greeks_before, m.greeks_after, gl.portfolio(eq)
        )
        name, name_top = greek_breaches(m.name, m.name_before, m.name_after, gl.per_name(eq))
        breaches = port + name
        if breaches:
            b = breaches[0]
            text = ", ".join(
                f"{x.scope} {x.greek} ${x.after:,.0f} vs limit ${x.limit:,.0f}" for x in breaches
            )
            return _fail("greek_limits", text, value=b.after, limit=b.limit)
        top = max((port_top, name_top), key=lambda x: x.utilisation)
        return _ok(
            "greek_limits",
            f"largest use: {top.scope} {top.greek} ${top.after:,.0f} of ${top.limit:,.0f}",
            value=top.after,
            limit=top.limit,
        )


def _throttle_check(name: str, what: str, throttle: RateThrottle) -> RiskCheckResult:
    n = throttle.count()
    lim = throttle.per_second
    msg = f"{n} {what} in the last second"
    if n >= lim:
        return _fail(name, f"RATE_LIMIT: {msg} (limit {lim:g}/s)", value=n, limit=lim)
    return _ok(name, msg, value=n, limit=lim)


def _budget(
    name: str, what: str, before: float, after: float, lim: float, conf: float
) -> RiskCheckResult:
    label = f"{what}{conf * 100:.0f}"
    msg = f"{label} {before:.2%} -> {after:.2%} (marginal {after - before:+.2%})"
    if after <= lim:
        return _ok(name, msg, value=after, limit=lim)
    if after <= before:
        # Over budget, but this trade lowers it: reducing risk must always be possible.
        return RiskCheckResult(name, CheckOutcome.WARN, after, lim, msg + ": over budget, reduces")
    return _fail(name, msg + f" > budget {lim:.2%}", value=after, limit=lim)


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
    if not shorts:
        return 0.0  # what the loop below gives with nothing to secure: float(0) x quantity
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
