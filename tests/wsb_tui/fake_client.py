"""A seeded, scripted `EngineClient` for layout tests, benchmarks and the tmux smoke run.

It implements the whole protocol with small, real behaviour (confirming a proposal fills it
and updates the portfolio; pausing a strategy changes its state) so the UI can be driven
end to end without an engine. Everything derives from `seed` and a fixed clock.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from engine.domain import (
    Bar,
    CheckOutcome,
    EngineEvent,
    Equity,
    Fill,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Order,
    OrderFilled,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Portfolio,
    PortfolioSnapshot,
    Position,
    ProposalCreated,
    ProposalDecided,
    ProposalIntent,
    ProposalState,
    ProposalStateChanged,
    RiskCheckResult,
    RiskDecision,
    Side,
    StrategyStatusChanged,
    TradeProposal,
    make_client_order_id,
    make_proposal_id,
)
from engine.runtime.client_api import CommandResult
from engine.runtime.views import (
    BreakerStatus,
    DataHealth,
    EngineSnapshot,
    GaugeReading,
    GreeksBucket,
    GreeksTotal,
    PendingProposal,
    PositionGreeks,
    RiskReportView,
    RiskSummary,
    StrategyRunState,
    StrategyStatus,
    StressResult,
    TradingState,
    VarBacktest,
    VarEstimate,
)

T0 = datetime(2025, 1, 15, 15, 42, 17, tzinfo=UTC)  # 10:42:17 New York

STRATEGIES: tuple[tuple[str, str], ...] = (
    ("wsb_dip_bot", "Dip Bot"),
    ("earnings_protection", "Earnings"),
    ("index_baseline", "Index"),
    ("wheel", "Wheel"),
    ("momentum_weeklies", "Momentum"),
    ("debit_spreads", "Debit"),
    ("leaps_tracker", "LEAPS"),
    ("swing_trading", "Swing"),
    ("spx_credit_spreads", "SPX CS"),
    ("lotto_scanner", "Lotto"),
)
EQUITIES = ("SPY", "AAPL", "MSFT", "NVDA", "QQQ", "AMD", "TSLA", "META", "GOOGL", "AMZN")
SPOTS = {
    "SPY": 584.02,
    "AAPL": 228.40,
    "MSFT": 421.10,
    "NVDA": 142.75,
    "QQQ": 512.30,
    "AMD": 121.40,
    "TSLA": 402.20,
    "META": 611.90,
    "GOOGL": 191.50,
    "AMZN": 221.30,
}


@dataclass
class Calls:
    confirm: list[tuple[str, int | None, Decimal | None]] = field(default_factory=list)
    reject: list[tuple[str, str]] = field(default_factory=list)
    pause: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    profile: list[tuple[str, str]] = field(default_factory=list)
    trading_state: list[str] = field(default_factory=list)
    reset_breaker: list[str] = field(default_factory=list)
    kill_switch: list[bool] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    replace: list[tuple[str, int | None, Decimal | None]] = field(default_factory=list)
    submitted: list[TradeProposal] = field(default_factory=list)
    closed: int = 0


def _contract(under: str, days: int, strike: float, right: OptionRight) -> OptionContract:
    return OptionContract(under, (T0 + timedelta(days=days)).date(), Decimal(str(strike)), right)


class FakeEngineClient:
    """`FakeEngineClient(seed=7)`; `push(event)` scripts the event stream."""

    def __init__(
        self,
        *,
        seed: int = 7,
        mode: str = "SIM",
        gate_mode: str = "confirm",
        n_positions: int = 8,
        pending: int = 2,
        risk_report: bool = True,
        breakers: tuple[str, ...] = (),
    ) -> None:
        self.rng = random.Random(seed)
        self.mode = mode
        self.gate_mode = gate_mode
        self.now = T0
        self.calls = Calls()
        self._queue: asyncio.Queue[EngineEvent | None] | None = None
        self._backlog: list[EngineEvent] = []
        self.closed = False
        self.trading_state = TradingState.ACTIVE
        self.breakers = breakers
        self.positions = self._make_positions(n_positions)
        self.strategies = self._make_strategies()
        self.pending: dict[str, PendingProposal] = {}
        for i in range(pending):
            pp = self._make_pending(i)
            self.pending[pp.proposal.proposal_id] = pp
        self.orders: list[Order] = []
        self.fills: list[Fill] = self._make_fills()
        # Each strategy holds what its fills bought (as the engine attributes positions).
        held = {f.symbol: f.strategy for f in self.fills}
        for name, s in self.strategies.items():
            mine = tuple(p for sym, p in self.positions.items() if held.get(sym) == name)
            self.strategies[name] = replace(s, positions=mine)
        self.greeks = {sym: self._make_greeks(p) for sym, p in self.positions.items()}
        self.has_risk_report = risk_report
        self.data = DataHealth("sim", True, self.now, latency_ms=None, age_seconds=0.0)
        # Cash chosen so the desk opens at equity $101,204.55 (day +$1,204.55 on $100k).
        value = sum((p.market_value for p in self.positions.values()), 0.0)
        self.cash = (Decimal("101204.55") - Decimal(str(round(value, 2)))).quantize(Decimal("0.01"))

    # ------------------------------------------------------------------ fixtures
    def _make_positions(self, n: int) -> dict[str, Position]:
        out: dict[str, Position] = {}
        rng = self.rng
        i = 0
        while len(out) < n:
            under = EQUITIES[i % len(EQUITIES)]
            spot = SPOTS[under]
            if i % 3 == 0 and i < 3 * len(EQUITIES):
                qty = rng.choice([10, 25, 60, -15, 100])
                avg = round(spot * rng.uniform(0.95, 1.04), 2)
                inst: Equity | OptionContract = Equity(under)
                mark = round(spot, 2)
            else:
                right = OptionRight.CALL if i % 2 else OptionRight.PUT
                strike = round(spot * (1 + rng.choice([-0.1, -0.05, 0.0, 0.05, 0.1])) + i % 7, 0)
                inst = _contract(under, 7 + (i * 3) % 60, strike, right)
                qty = rng.choice([1, 2, 3, 4, -1, -2, 5])
                avg = round(rng.uniform(0.5, 9.0), 2)
                mark = round(max(0.05, avg * rng.uniform(0.6, 1.6)), 2)
            if inst.symbol not in out:
                out[inst.symbol] = Position(
                    inst, qty, Decimal(str(avg)), Decimal(0), mark, T0 - timedelta(days=3)
                )
            i += 1
        return out

    def _make_greeks(self, p: Position) -> PositionGreeks:
        spot = SPOTS[p.instrument.underlying]
        units = p.quantity * p.instrument.multiplier
        if not p.instrument.is_option:
            return PositionGreeks(
                p.symbol, p.symbol, 1.0, units * spot, 0.0, 0.0, 0.0, None, "shares"
            )
        # Plausible signs, so the snapshots show what a trader expects: calls have positive
        # unit delta, puts negative; a short option earns theta.
        assert isinstance(p.instrument, OptionContract)
        size = self.rng.uniform(0.05, 0.9)
        delta = round(size if p.instrument.is_call else -size, 2)
        theta = round(-abs(self.rng.uniform(1, 40)) * p.quantity, 0)
        return PositionGreeks(
            p.symbol,
            p.instrument.underlying,
            delta,
            round(delta * spot * units, 2),
            round(abs(delta) * 0.04 * spot * units / 100, 2),
            round(0.12 * units, 2),
            theta,
            0.31,
        )

    def _make_strategies(self) -> dict[str, StrategyStatus]:
        out: dict[str, StrategyStatus] = {}
        rng = self.rng
        for j, (name, title) in enumerate(STRATEGIES):
            hist = [0.0]
            for _ in range(20):
                hist.append(round(hist[-1] + rng.gauss(15, 120), 2))
            state = StrategyRunState.RUNNING
            error = ""
            if name == "momentum_weeklies":
                state = StrategyRunState.PAUSED
            if name == "lotto_scanner":
                state, error = StrategyRunState.ERRORED, "chain stale for 45 s"
            out[name] = StrategyStatus(
                name=name,
                title=title,
                state=state,
                profile="research_2024" if j % 3 else "wsb_2025",
                open_positions=j % 4,
                proposals_today=(j * 7) % 5,
                realized_pnl=round(rng.uniform(-300, 900), 2),
                unrealized_pnl=round(rng.uniform(-400, 600), 2),
                pnl_history=tuple(hist),
                last_reason=f"{title.lower()} scan: {['no signal', 'dip -3.1% after +11% run', 'IV rank 62', 'rolled 220P'][j % 4]}",
                error=error,
                allocation_cap=[0.25, 0.06, 0.6, 0.2, 0.05, 0.15, 0.03, 0.05, 0.04, 0.01][j],
                open_risk=round(rng.uniform(0, 5000), 2),
                params=(
                    ("run_lookback_days", "7"),
                    ("dip_threshold", "-2%"),
                    ("target_dte_days", "21"),
                    ("otm_percentage", "3%"),
                ),
            )
        return out

    def _make_pending(self, i: int) -> PendingProposal:
        if i % 2 == 0:
            c = _contract("NVDA", 30, 145, OptionRight.CALL)
            legs: tuple[OrderLeg, ...] = (OrderLeg(c, Side.BUY),)
            p = TradeProposal(
                proposal_id=make_proposal_id("wsb_dip_bot", T0, f"nvda{i}"),
                strategy="wsb_dip_bot",
                created_at=T0 - timedelta(seconds=40 - i),
                intent=ProposalIntent.OPEN,
                legs=legs,
                quantity=3,
                reason="NVDA dipped -3.1% after a +11.4% 7-day run; 21 DTE 3% OTM call",
                limit_price=Decimal("4.80"),
                max_loss=Decimal("1440"),
                breakevens=(149.80,),
                expires_at=T0 + timedelta(minutes=5),
                confidence=0.7,
            )
        else:
            short = _contract("AAPL", 37, 215, OptionRight.PUT)
            long = _contract("AAPL", 37, 210, OptionRight.PUT)
            p = TradeProposal(
                proposal_id=make_proposal_id("wheel", T0, f"aapl{i}"),
                strategy="wheel",
                created_at=T0 - timedelta(seconds=20 - i),
                intent=ProposalIntent.OPEN,
                legs=(OrderLeg(short, Side.SELL), OrderLeg(long, Side.BUY)),
                quantity=1,
                reason="AAPL IV rank 62: sell 215/210 put spread, 37 DTE",
                limit_price=Decimal("-1.45"),
                max_loss=Decimal("355"),
                max_profit=Decimal("145"),
                breakevens=(213.55,),
                expires_at=T0 + timedelta(minutes=2),
            )
        checks = (
            RiskCheckResult("session", CheckOutcome.PASS, message="regular session"),
            RiskCheckResult("position_weight", CheckOutcome.PASS, 0.014, 0.05),
            RiskCheckResult(
                "order_notional_pct", CheckOutcome.WARN, 0.041, 0.05, "above 4% warn level"
            ),
            RiskCheckResult("var99_after", CheckOutcome.PASS, 3650.0, 5121.0),
            RiskCheckResult("options_share", CheckOutcome.PASS, 0.09, 0.15),
        )
        d = RiskDecision(p.proposal_id, True, p.quantity, checks, T0, "all checks passed")
        return PendingProposal(p, d, ProposalState.AWAITING_CONFIRMATION, p.expires_at)

    def _make_fills(self) -> list[Fill]:
        fills = []
        for k, pos in enumerate(list(self.positions.values())[:6]):
            fills.append(
                Fill(
                    fill_id=f"f-{k}",
                    client_order_id=f"wsb-{k:024d}",
                    broker_order_id=f"b-{k}",
                    instrument=pos.instrument,
                    side=Side.BUY if pos.quantity > 0 else Side.SELL,
                    quantity=abs(pos.quantity),
                    price=pos.avg_price,
                    commission=Decimal("0.65") if pos.instrument.is_option else Decimal(0),
                    ts=T0 - timedelta(days=3 - k % 3, minutes=k),
                    strategy=STRATEGIES[k % len(STRATEGIES)][0],
                )
            )
        return fills

    # ------------------------------------------------------------------ views
    def portfolio(self) -> Portfolio:
        return Portfolio(
            ts=self.now,
            cash=self.cash,
            positions=MappingProxyType(dict(self.positions)),
            reserved_collateral=Decimal("0"),
            start_of_day_equity=Decimal("100000.00"),
            peak_equity=Decimal("103000.00"),
        )

    def risk_summary(self) -> RiskSummary:
        return RiskSummary(
            ts=self.now,
            trading_state=self.trading_state,
            gauges=(
                GaugeReading("VaR99 1d", 3210.0, 5121.0),
                GaugeReading("CVaR99", 4020.0, 7170.0),
                GaugeReading("drawdown", 0.021, 0.06, "%"),
                GaugeReading("gross exp", 48200.0, 100000.0),
                GaugeReading("options", 0.092, 0.15, "%"),
            ),
            net_delta=41200.0,
            net_gamma=1200.0,
            net_vega=3400.0,
            net_theta=-210.0,
            breakers=self.breakers,
        )

    async def snapshot(self) -> EngineSnapshot:
        snap = EngineSnapshot(
            ts=self.now,
            mode=self.mode,
            session_state="open",
            portfolio=self.portfolio(),
            strategies=tuple(self.strategies.values()),
            pending=tuple(self.pending.values()),
            open_orders=tuple(o for o in self.orders if o.status.is_open),
            recent_fills=tuple(self.fills[-50:]),
            risk=self.risk_summary(),
            data=self.data,
            gate_mode=self.gate_mode,
            log=("10:40:02 engine started (sim, seed 7)", "10:41:50 risk denied Lotto: VaR budget"),
            position_greeks=MappingProxyType(dict(self.greeks)),
            profiles=("research_2024", "wsb_2025"),
        )
        return snap

    # ------------------------------------------------------------------ events
    def push(self, event: EngineEvent) -> None:
        if self._queue is None:
            self._backlog.append(event)
        else:
            self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[EngineEvent]:
        self._queue = asyncio.Queue()
        for ev in self._backlog:
            self._queue.put_nowait(ev)
        self._backlog.clear()
        while True:
            ev = await self._queue.get()
            if ev is None:
                return
            yield ev

    def _tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    # ------------------------------------------------------------------ commands
    async def confirm(
        self, proposal_id: str, *, quantity: int | None = None, limit_price: Decimal | None = None
    ) -> CommandResult:
        self.calls.confirm.append((proposal_id, quantity, limit_price))
        pp = self.pending.pop(proposal_id, None)
        if pp is None:
            return CommandResult(False, f"proposal {proposal_id} is not awaiting confirmation")
        p = pp.proposal
        qty = quantity or pp.decision.approved_quantity
        limit = limit_price if limit_price is not None else p.limit_price
        ts = self._tick()
        self.push(ProposalStateChanged(ts, proposal_id, ProposalState.CONFIRMED, actor="desk"))
        req = OrderRequest(
            make_client_order_id(p.proposal_id, 0),
            p.legs,
            qty,
            OrderType.LIMIT,
            limit,
            strategy=p.strategy,
            proposal_id=p.proposal_id,
        )
        order = Order(req, f"b-{len(self.orders)}", OrderStatus.NEW, ts, ts)
        self.orders.append(order)
        self.push(OrderUpdated(ts, order))
        filled = order.transition(
            OrderStatus.FILLED, ts, filled_quantity=qty, avg_fill_price=abs(limit or Decimal(1))
        )
        self.orders[-1] = filled
        self.push(OrderUpdated(ts, filled))
        for k, leg in enumerate(p.legs):
            fill = Fill(
                f"f-{len(self.fills)}",
                req.client_order_id,
                order.broker_order_id,
                leg.instrument,
                leg.side,
                qty,
                abs(limit or Decimal(1)),
                Decimal("0.65"),
                ts,
                k,
                p.strategy,
            )
            self.fills.append(fill)
            pos = self.positions.get(leg.symbol) or Position(leg.instrument, 0, Decimal(0))
            pos = pos.apply(fill).with_mark(float(fill.price))
            self.positions[leg.symbol] = pos
            self.push(OrderFilled(ts, fill, pos))
        self.push(PortfolioSnapshot(ts, self.portfolio()))
        return CommandResult(True, f"order sent: {qty} @ {limit}")

    async def reject(self, proposal_id: str, note: str = "") -> CommandResult:
        self.calls.reject.append((proposal_id, note))
        if self.pending.pop(proposal_id, None) is None:
            return CommandResult(False, f"proposal {proposal_id} is not awaiting confirmation")
        self.push(
            ProposalStateChanged(self._tick(), proposal_id, ProposalState.REJECTED, note, "desk")
        )
        return CommandResult(True, "rejected")

    async def _set_state(self, name: str, state: StrategyRunState) -> CommandResult:
        s = self.strategies.get(name)
        if s is None:
            return CommandResult(False, f"unknown strategy {name!r}")
        self.strategies[name] = replace(s, state=state, error="")
        self.push(StrategyStatusChanged(self._tick(), name, state.value))
        return CommandResult(True, state.value)

    async def pause_strategy(self, name: str) -> CommandResult:
        self.calls.pause.append(name)
        return await self._set_state(name, StrategyRunState.PAUSED)

    async def resume_strategy(self, name: str) -> CommandResult:
        self.calls.resume.append(name)
        return await self._set_state(name, StrategyRunState.RUNNING)

    async def stop_strategy(self, name: str) -> CommandResult:
        self.calls.stop.append(name)
        return await self._set_state(name, StrategyRunState.STOPPED)

    async def set_profile(self, name: str, profile: str) -> CommandResult:
        self.calls.profile.append((name, profile))
        s = self.strategies[name]
        self.strategies[name] = replace(s, profile=profile)
        return CommandResult(True, f"profile {profile}")

    async def set_trading_state(self, state: str, reason: str = "") -> CommandResult:
        self.calls.trading_state.append(state)
        self.trading_state = TradingState(state)
        return CommandResult(True, state)

    async def reset_breaker(self, name: str) -> CommandResult:
        self.calls.reset_breaker.append(name)
        if name not in self.breakers:
            return CommandResult(False, f"breaker {name!r} is not tripped")
        self.breakers = tuple(b for b in self.breakers if b != name)
        return CommandResult(True, f"{name} reset")

    async def kill_switch(self, *, flatten: bool = False) -> CommandResult:
        self.calls.kill_switch.append(flatten)
        self.trading_state = TradingState.HALTED
        return CommandResult(True, "halted" + (" and flattening" if flatten else ""))

    async def cancel_order(self, client_order_id: str) -> CommandResult:
        self.calls.cancel.append(client_order_id)
        return CommandResult(True, "cancel requested")

    async def replace_order(
        self,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: Decimal | None = None,
    ) -> CommandResult:
        self.calls.replace.append((client_order_id, quantity, limit_price))
        return CommandResult(True, "replace requested")

    async def submit_proposal(self, proposal: TradeProposal) -> CommandResult:
        self.calls.submitted.append(proposal)
        ts = self._tick()
        d = RiskDecision(
            proposal.proposal_id,
            True,
            proposal.quantity,
            (RiskCheckResult("manual", CheckOutcome.PASS),),
            ts,
        )
        self.pending[proposal.proposal_id] = PendingProposal(
            proposal, d, ProposalState.AWAITING_CONFIRMATION, None
        )
        self.push(ProposalCreated(ts, proposal))
        self.push(ProposalDecided(ts, proposal, d))
        self.push(
            ProposalStateChanged(ts, proposal.proposal_id, ProposalState.AWAITING_CONFIRMATION)
        )
        return CommandResult(True, "proposal queued for risk")

    async def option_chain(self, symbol: str, min_expiry: date, max_expiry: date) -> OptionChain:
        spot = SPOTS.get(symbol)
        if spot is None:
            raise LookupError(f"no options listed for {symbol!r}")
        quotes = []
        rng = random.Random(sum(map(ord, symbol)))
        for days in (2, 9, 16, 30, 44):
            exp = (T0 + timedelta(days=days)).date()
            if not min_expiry <= exp <= max_expiry:
                continue
            t = days / 365
            step = 5.0 if spot > 200 else 2.5
            center = round(spot / step) * step
            for k in range(-8, 9):
                strike = center + k * step
                for right in (OptionRight.CALL, OptionRight.PUT):
                    intrinsic = max(
                        0.0, (spot - strike) if right is OptionRight.CALL else (strike - spot)
                    )
                    iv = 0.25 + 0.002 * abs(k) ** 1.5
                    tv = (
                        spot
                        * iv
                        * math.sqrt(t)
                        * 0.4
                        * math.exp(
                            -(((strike - spot) / (spot * iv * math.sqrt(t) + 1e-9)) ** 2) / 2
                        )
                    )
                    mid = max(0.05, intrinsic + tv)
                    spread = max(0.02, mid * 0.03)
                    m = (spot - strike) / (spot * iv * math.sqrt(t))
                    delta = 0.5 * (1 + math.erf(m / math.sqrt(2)))
                    if right is OptionRight.PUT:
                        delta -= 1
                    quotes.append(
                        OptionQuote(
                            OptionContract(symbol, exp, Decimal(str(strike)), right),
                            self.now,
                            round(max(0.0, mid - spread / 2), 2),
                            round(mid + spread / 2, 2),
                            round(mid, 2),
                            rng.randint(0, 9000),
                            rng.randint(100, 40000),
                            iv=iv,
                            delta=delta,
                            gamma=0.01,
                            theta=-0.05,
                            vega=0.1,
                        )
                    )
        return OptionChain(symbol, self.now, spot, tuple(quotes))

    async def daily_bars(self, symbol: str, count: int) -> Sequence[Bar]:
        spot = SPOTS.get(symbol, 100.0)
        rng = random.Random(sum(map(ord, symbol)))
        closes = [spot]
        for _ in range(count - 1):
            closes.append(closes[-1] / math.exp(rng.gauss(0.0004, 0.015)))
        closes.reverse()
        bars = []
        start = (T0 - timedelta(days=count)).replace(hour=14, minute=30, second=0)
        prev = closes[0]
        for k, c in enumerate(closes):
            o = prev
            hi = max(o, c) * (1 + abs(rng.gauss(0, 0.004)))
            lo = min(o, c) * (1 - abs(rng.gauss(0, 0.004)))
            bars.append(Bar(symbol, start + timedelta(days=k + 1), o, hi, lo, c, 1e6))
            prev = c
        return bars

    async def risk_report(self) -> RiskReportView:
        if not self.has_risk_report:
            return RiskReportView(
                ts=self.now,
                var=(),
                stress=(),
                greeks=(),
                backtest=None,
                breakers=tuple(BreakerStatus(b, True, "tripped by test") for b in self.breakers),
                note="no risk snapshot yet (the monitor measures on its first tick)",
                available=False,
            )
        return RiskReportView(
            ts=self.now,
            var=(
                VarEstimate("historical", 0.95, 1, 2110.0, 2950.0, 2140.0),
                VarEstimate("historical", 0.99, 1, 3210.0, 4020.0, 3255.0),
                VarEstimate("parametric_t_cf", 0.99, 1, 3080.0, 3990.0),
                VarEstimate("monte_carlo", 0.99, 1, 3150.0, 4100.0),
                VarEstimate("evt", 0.99, 1, 3320.0, 4300.0),
            ),
            stress=(
                StressResult("2008 financial crisis", -18250.0, -0.178, 1095, False),
                StressResult("2010 flash crash", -6120.0, -0.060, 7, True),
                StressResult("COVID-19", -12900.0, -0.126, 120, True),
                StressResult("interest-rate shock", -7700.0, -0.075, 180, True),
                StressResult("geopolitical crisis", -9400.0, -0.092, 365, True),
                StressResult("AI bubble burst", -21400.0, -0.209, 540, True),
            ),
            greeks=(
                GreeksBucket(
                    "NVDA", (T0 + timedelta(days=30)).date(), 18200.0, 610.0, 1450.0, -95.0
                ),
                GreeksBucket(
                    "AAPL", (T0 + timedelta(days=37)).date(), -4100.0, -120.0, -600.0, 42.0
                ),
                GreeksBucket("SPY", None, 35040.0, 0.0, 0.0, 0.0),
            ),
            backtest=VarBacktest(250, 3, 0.364, "green", 0.91),
            breakers=tuple(BreakerStatus(b, True, "tripped by test") for b in self.breakers)
            or (
                BreakerStatus("order", False),
                BreakerStatus("monitoring", False),
                BreakerStatus("drawdown kill", False),
            ),
            available=True,
            report_ts=self.now,
            value=101204.55,
            greeks_total=GreeksTotal(49140.0, 490.0, 850.0, -53.0),
        )

    async def close(self) -> None:
        self.calls.closed += 1
        self.closed = True
        if self._queue is not None:
            self._queue.put_nowait(None)
