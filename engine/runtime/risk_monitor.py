"""`LiveRiskMonitor`: breakers every tick, the full risk snapshot on a cadence.

Each tick (O(positions), no maths beyond sums) it gathers the portfolio numbers breakers look
at, runs the `BreakerBoard` (engine.risk.breakers), updates the VIX size multiplier the
pre-trade checks read, and decides the trading state.  Every `snapshot_every` of market time
and at the session's last minute it computes the full risk snapshot - VaR/CVaR by method at
95/99 %, LVaR, greeks, stress, backtest, and (at the close) Monte Carlo - in a worker thread
(`asyncio.to_thread`), stores it, hands the marginal-VaR model to the pre-trade checks and
returns the gauges.  The market loop awaits the snapshot (a simulated run stays
deterministic at any speed); the event loop never blocks on it.

Trading state: a newly tripped breaker moves ACTIVE to REDUCING (HALTED for the drawdown
kill switch, which also cancels open orders and, if configured, flattens).  When every
breaker has cleared, the monitor returns to ACTIVE only a state it set itself; a state set by
a person is never overridden downwards.  A breaker a person resets (engine.reset_breaker)
stays quiet until its condition clears once.  Breaker trip times, suppressions, day trades
and the loss streak are persisted in the store's settings, so cool-downs and latches survive
a restart (the engine persists which breakers are tripped and the trading state).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from engine.data.calendar import MarketCalendar
from engine.data.protocol import DataUnavailable, MarketData
from engine.domain import BadMarketData, Fill, OptionContract, Portfolio, Side
from engine.domain.events import RiskUpdated
from engine.risk.breakers import (
    BREAKERS,
    BreakerBoard,
    BreakerConfig,
    RiskMetrics,
    Trip,
    vix_level,
    vix_size_multiplier,
)
from engine.risk.live import LiveRiskInputs, LiveRiskResult, compute_live_risk
from engine.risk.marginal import ScenarioHistory
from engine.risk.pretrade import PreTradeRisk
from engine.risk.report import RiskReport
from engine.runtime.monitor import MonitorUpdate, MonitorView
from engine.runtime.views import GaugeReading, TradingState
from engine.store import Store

log = logging.getLogger(__name__)

__all__ = ["SETTING_MONITOR", "LiveRiskMonitor", "MonitorConfig"]

SETTING_MONITOR = "risk_monitor"
_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    snapshot_every: timedelta = timedelta(minutes=15)
    levels: tuple[float, ...] = (0.95, 0.99)
    lookback: int = 252
    backtest_days: int = 250  # extra history fetched so the 250-day backtest can run
    monte_carlo_paths: int = 10_000  # at the close snapshot only; 0 = never
    garch: bool = True
    vix_symbol: str = "VIX"
    vix_check_every: timedelta = timedelta(seconds=300)
    # `RiskUpdated` goes out when the picture moves (state, breakers, a new snapshot, or a
    # gauge by `event_move` of equity) and at least every `event_every` of market time.
    event_every: timedelta = timedelta(minutes=5)
    event_move: float = 0.001

    def __post_init__(self) -> None:
        if self.snapshot_every <= timedelta(0):
            raise ValueError(f"snapshot_every={self.snapshot_every!r} must be positive")
        if 0.99 not in self.levels:
            raise ValueError(f"levels={self.levels!r} must include 0.99 (the VaR budget level)")
        if self.lookback < 30:
            raise ValueError(f"lookback={self.lookback!r} must be >= 30 days")
        if self.event_every <= timedelta(0):
            raise ValueError(f"event_every={self.event_every!r} must be positive")
        if not (math.isfinite(self.event_move) and self.event_move >= 0):
            raise ValueError(f"event_move={self.event_move!r} must be a fraction >= 0")
        if self.monte_carlo_paths < 0:
            raise ValueError(f"monte_carlo_paths={self.monte_carlo_paths!r} must be >= 0")


class LiveRiskMonitor:
    """The engine's `RiskMonitor`: give it the engine's `PreTradeRisk` and its store."""

    def __init__(
        self,
        *,
        risk: PreTradeRisk,
        store: Store | None = None,
        breakers: BreakerConfig | None = None,
        config: MonitorConfig | None = None,
        calendar: MarketCalendar | None = None,
    ) -> None:
        self.risk = risk
        self.store = store
        self.config = config or MonitorConfig()
        self.calendar = calendar
        self.board = BreakerBoard(breakers)
        risk.live.attached = True
        self._loaded = False
        self._dirty = False
        self._report: RiskReport | None = None
        self._report_error = ""
        self._last_snapshot: datetime | None = None
        self._history: ScenarioHistory | None = None
        self._history_end: date | None = None
        self._static: tuple[dict[str, str], dict[str, float]] | None = None
        self._gauges: tuple[GaugeReading, ...] = ()
        self._var99: float | None = None
        self._errors: deque[datetime] = deque(maxlen=1000)
        self._consecutive_errors: list[str] = []
        self._loss_streak = 0
        self._last_result_order = ""
        self._no_data_since: datetime | None = None
        self._vix_ref: tuple[datetime, float] | None = None
        self._vix_spike = False
        self._state_by_monitor: TradingState | None = None
        self._close_day: date | None = None
        self._last_event: RiskUpdated | None = None
        self._saved_notional: tuple[date | None, float] = (None, 0.0)
        self._last_close: dict[str, float] = {}
        self._now = datetime.min.replace(tzinfo=UTC)
        self.snapshots = 0
        self.snapshot_seconds = 0.0

    # ------------------------------------------------------------------ engine hooks

    def on_fill(self, fill: Fill, realized_pnl_change: float) -> None:
        if not self._loaded:
            # Before the first tick the day-trade log has not been seeded with the book, so
            # a closing fill would look like an opening; the seed (taken from the book as
            # it then stands) already includes this fill.  Priming the monitor at engine
            # start removes the window.
            return
        trades = self.risk.live.day_trades
        prev = trades.quantity(fill.symbol)
        reducing = prev != 0 and (prev > 0) != (fill.side is Side.BUY)
        if trades.on_fill(fill):
            self._dirty = True
        self._consecutive_errors.clear()  # a fill is a success: the error streak is broken
        if reducing and fill.client_order_id != self._last_result_order:
            self._last_result_order = fill.client_order_id
            if realized_pnl_change < 0:
                self._loss_streak += 1
                self._dirty = True
            elif realized_pnl_change > 0:
                self._loss_streak = 0
                self._dirty = True

    def on_error(self, what: str, now: datetime) -> None:
        self._errors.append(now)
        if what not in self._consecutive_errors:
            self._consecutive_errors.append(what)

    async def on_tick(self, view: MonitorView) -> MonitorUpdate:
        if not self._loaded:
            await self._load(view)
        now = self._now = view.now
        self._track_closes(view)
        vix = self._vix(view)
        metrics = self._metrics(view, vix)
        self._sync_with_engine(view, metrics)
        upd = self.board.evaluate(metrics)
        for name in upd.clears:
            if name == "consecutive_losses":
                self._loss_streak = 0
            elif name == "order_errors":
                self._consecutive_errors.clear()
        if upd.changed:
            self._dirty = True
        dn = self.risk.day_notional
        if (dn.day, dn.total) != self._saved_notional:
            self._dirty = True  # orders were sent: the day's notional survives a restart
        self.risk.live.vix = vix
        self.risk.live.size_multiplier = vix_size_multiplier(vix, self.board.config)
        new_var: float | None = None
        if self._snapshot_due(now):
            close = self._at_close(now)
            await self._snapshot(view, monte_carlo=close)
            new_var = self._var99
        state, kill = self._decide_state(view, upd.trips, upd.clears)
        if self._dirty:
            await self._persist(now)
        note = "; ".join(t.reason for t in upd.trips) or (
            "all breakers cleared" if upd.clears else ""
        )
        return MonitorUpdate(
            trading_state=state,
            trip=tuple((t.name, t.reason) for t in upd.trips),
            clear=upd.clears,
            gauges=self._gauges + self._live_gauges(vix),
            var99_pct=new_var,
            note=note,
            cancel_open_orders=kill,
            flatten=kill and self.board.config.flatten_on_kill,
            details=self._details(vix),
        )

    # ------------------------------------------------------------------ public reads

    def report(self) -> RiskReport | None:
        """The latest full risk report (None until the first snapshot succeeded)."""
        return self._report

    def risk_event(
        self,
        ts: datetime,
        portfolio: Portfolio,
        trading_state: TradingState,
        tripped: tuple[str, ...],
    ) -> RiskUpdated | None:
        """The bus event for the picture as it stands, or None when nothing moved enough to
        be worth telling (see `MonitorConfig.event_every`).  The engine publishes it after
        applying this tick's update, so the state and breakers are the ones it acted on."""
        eq = portfolio.equity
        cfg = self.board.config
        lim = self.risk.limits
        r = None if self._report_error else self._report
        g = r.greeks_total if r is not None else None
        sod = _f(portfolio.start_of_day_equity)
        peak = _f(portfolio.peak_equity)
        ev = RiskUpdated(
            ts=ts,
            equity=eq,
            var99=r.var_dollars(0.99) if r is not None else None,
            var99_budget=lim.var99_limit_pct * eq,
            cvar99=r.cvar_dollars(0.99) if r is not None else None,
            cvar99_budget=lim.cvar99_limit_pct * eq,
            drawdown=max(0.0, (peak - eq) / peak) if peak else 0.0,
            drawdown_limit=cfg.order_drawdown_pct,
            day_loss=max(0.0, (sod - eq) / sod) if sod else 0.0,
            day_loss_limit=cfg.daily_loss_pct,
            gross_exposure=portfolio.gross_exposure,
            net_delta=g.delta if g is not None else None,
            net_vega=g.vega if g is not None else None,
            trading_state=trading_state.value,
            breakers=tripped,
            size_multiplier=self.risk.live.size_multiplier,
            vix=self.risk.live.vix,
            snapshot_at=r.ts if r is not None else None,
            error=self._report_error,
        )
        if not self._worth_telling(ev):
            return None
        self._last_event = ev
        return ev

    def _worth_telling(self, ev: RiskUpdated) -> bool:
        last = self._last_event
        if last is None or ev.ts - last.ts >= self.config.event_every:
            return True
        if (
            ev.trading_state != last.trading_state
            or ev.breakers != last.breakers
            or ev.snapshot_at != last.snapshot_at
            or ev.error != last.error
            or ev.size_multiplier != last.size_multiplier
        ):
            return True
        eq = ev.equity if ev.equity > 0 else 1.0
        move = self.config.event_move
        return (
            abs(ev.drawdown - last.drawdown) >= move
            or abs(ev.day_loss - last.day_loss) >= move
            or abs(ev.gross_exposure - last.gross_exposure) / eq >= move
            or abs(ev.equity - last.equity) / eq >= move
        )

    @property
    def last_error(self) -> str:
        """Why the latest snapshot failed ('' when it succeeded): new risk is blocked."""
        return self._report_error

    # ------------------------------------------------------------------ breakers & state

    def _sync_with_engine(self, view: MonitorView, metrics: RiskMetrics) -> None:
        engine_has = set(view.tripped_breakers)
        conds = None
        for name in list(self.board.tripped):
            if name not in engine_has:
                # Gone from the engine's list without our clear: a person reset it.  It stays
                # quiet until its condition clears, or deepens past where it is now.
                conds = conds or self.board.conditions(metrics)
                self.board.reset(name, conds[name].value)
                self._dirty = True
                if name == "consecutive_losses":
                    self._loss_streak = 0
                elif name == "order_errors":
                    self._consecutive_errors.clear()
        for name in engine_has:
            if name in BREAKERS and name not in self.board.tripped:
                self.board.adopt(name, "restored after restart", view.now)
                self._dirty = True

    def _decide_state(
        self, view: MonitorView, trips: tuple[Trip, ...], clears: tuple[str, ...]
    ) -> tuple[TradingState | None, bool]:
        current = view.trading_state
        tripped = (set(view.tripped_breakers) | {t.name for t in trips}) - set(clears)
        kill = any(BREAKERS[t.name].kill for t in trips)
        if trips:
            want = TradingState.HALTED if kill else TradingState.REDUCING
            if _SEVERITY[want] > _SEVERITY[current]:
                self._state_by_monitor = want
                self._dirty = True
                return want, kill
            return None, kill
        if (
            not tripped
            and current is not TradingState.ACTIVE
            and current is self._state_by_monitor
            and current is not TradingState.HALTED
        ):
            self._state_by_monitor = None
            self._dirty = True
            return TradingState.ACTIVE, False
        if self._state_by_monitor is not None and current is not self._state_by_monitor:
            self._state_by_monitor = None  # a person took the state over
            self._dirty = True
        return None, False

    def _metrics(self, view: MonitorView, vix: float | None) -> RiskMetrics:
        port = view.portfolio
        now = view.now
        by_und: dict[str, int] = {}
        total = 0
        for pos in port.positions.values():
            if isinstance(pos.instrument, OptionContract) and pos.quantity:
                q = abs(pos.quantity)
                by_und[pos.instrument.underlying] = by_und.get(pos.instrument.underlying, 0) + q
                total += q
        while self._errors and now - self._errors[0] > timedelta(minutes=1):
            self._errors.popleft()
        age: float | None = None
        if view.market_open:
            if view.last_data_at is not None:
                age = (now - view.last_data_at).total_seconds()
                self._no_data_since = None
            else:
                self._no_data_since = self._no_data_since or now
                age = (now - self._no_data_since).total_seconds()
        bt = self._report.backtest if self._report is not None else None
        return RiskMetrics(
            now=now,
            equity=port.equity,
            start_of_day_equity=_f(port.start_of_day_equity),
            peak_equity=_f(port.peak_equity),
            gross_exposure=port.gross_exposure,
            max_symbol_contracts=max(by_und.values(), default=0),
            total_contracts=total,
            errors_last_minute=max(view.errors_last_minute, len(self._errors)),
            consecutive_errors=len(self._consecutive_errors),
            consecutive_losses=max(self._loss_streak, view.consecutive_losses),
            data_age_seconds=age,
            vix=vix,
            backtest_zone=None if bt is None else bt.zone,
        )

    def _track_closes(self, view: MonitorView) -> None:
        """Prior-session closes for the SSR rule: the last price seen in the previous session
        (seeded from the daily history at a snapshot after a restart)."""
        day = view.now.date()
        if self._close_day is not None and day != self._close_day and self._last_close:
            self.risk.live.prior_close = dict(self._last_close)
            self._last_close = {}
        self._close_day = day
        if view.market_open:
            for sym, bar in view.bars.items():
                if math.isfinite(bar.close) and bar.close > 0:
                    self._last_close[sym] = bar.close

    def _vix(self, view: MonitorView) -> float | None:
        bar = view.bars.get(self.config.vix_symbol)
        vix = bar.close if bar is not None and math.isfinite(bar.close) else None
        if vix is None:
            vix = self.risk.live.vix  # between VIX prints, the last one stands
        if vix is not None:
            ref = self._vix_ref
            if ref is None or view.now - ref[0] >= self.config.vix_check_every:
                self._vix_spike = ref is not None and vix >= ref[1] * (
                    1 + self.board.config.vix_spike_pct
                )
                self._vix_ref = (view.now, vix)
        return vix

    # ------------------------------------------------------------------ snapshot

    def _close_of(self, now: datetime) -> datetime | None:
        if self.calendar is None:
            return None
        session = self.calendar.session_of(now - timedelta(seconds=1))
        return None if session is None else self.calendar.session_close(session)

    def _at_close(self, now: datetime) -> bool:
        close = self._close_of(now)
        return close is not None and now >= close - timedelta(minutes=1)

    def _snapshot_due(self, now: datetime) -> bool:
        last = self._last_snapshot
        if last is None or now - last >= self.config.snapshot_every:
            return True
        close = self._close_of(now)
        return close is not None and now >= close - timedelta(minutes=1) > last

    async def _snapshot(self, view: MonitorView, *, monte_carlo: bool) -> None:
        now = view.now
        self._last_snapshot = now
        live = self.risk.live
        try:
            inputs = await self._gather(view, monte_carlo=monte_carlo)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            result: LiveRiskResult = await asyncio.to_thread(compute_live_risk, inputs)
            self.snapshot_seconds += loop.time() - t0
        except Exception as exc:  # fail closed: no model, no new risk, and say why
            why = f"{type(exc).__name__}: {exc}"
            log.warning("risk snapshot failed at %s: %s", now, why)
            self._report_error = why
            live.fail_model(why)
            self._var99 = None
            self._gauges = ()  # no figure rather than a stale or NaN one; `last_error` says why
            return
        self.snapshots += 1
        self._report_error = ""
        self._report = result.report
        live.set_model(result.model, now)
        self._var99 = result.report.var_at(0.99)
        self._gauges = self._report_gauges(result.report, view.portfolio)
        if self.store is not None:
            await self._store_snapshot(result.report, inputs)

    async def _gather(self, view: MonitorView, *, monte_carlo: bool) -> LiveRiskInputs:
        market = view.market
        port = view.portfolio
        sectors, betas = self._static_data(market)
        self.risk.live.sectors = sectors
        history = await self._history_for(market, view.now)
        if history.dates and history.dates[-1] < view.now.date():
            seed = {s: float(history.last_close[i]) for i, s in enumerate(history.symbols)}
            self.risk.live.prior_close = {**seed, **self.risk.live.prior_close}
        spots: dict[str, float] = {
            s: b.close for s, b in view.bars.items() if math.isfinite(b.close) and b.close > 0
        }
        ivs: dict[str, float] = {}
        spreads: dict[str, float] = {}
        for pos in port.positions.values():
            if pos.quantity == 0:
                continue
            inst = pos.instrument
            und = inst.underlying
            if und not in spots:
                try:
                    spots[und] = (await market.latest_quote(und)).mid
                except (DataUnavailable, BadMarketData) as exc:
                    raise DataUnavailable(f"no spot for {und}: {exc}") from exc
            if isinstance(inst, OptionContract):
                try:
                    q = await market.option_quote(inst)
                except (DataUnavailable, BadMarketData):
                    continue  # valued from its mark if it has one, else fails closed
                if q.iv is not None and math.isfinite(q.iv) and q.iv > 0:
                    ivs[pos.symbol] = q.iv
                mid = (q.bid + q.ask) / 2
                if mid > 0:
                    spreads[pos.symbol] = (q.ask - q.bid) / mid
        strategies: dict[str, str] = {}
        for strat, book in view.strategy_positions.items():
            for sym, p in book.items():
                held = port.positions.get(sym)
                if held is not None and abs(p.quantity) * 2 >= abs(held.quantity):
                    strategies[sym] = strat
        return LiveRiskInputs(
            ts=view.now,
            portfolio=port,
            history=history,
            spots=spots,
            ivs=ivs,
            spreads=spreads,
            strategies=strategies,
            sectors=sectors,
            betas=betas,
            rate=float(getattr(market, "rate", 0.0) or 0.0),
            levels=self.config.levels,
            lookback=self.config.lookback,
            monte_carlo_paths=self.config.monte_carlo_paths if monte_carlo else 0,
            garch=self.config.garch,
        )

    def _static_data(self, market: MarketData) -> tuple[dict[str, str], dict[str, float]]:
        """Sector and beta per symbol, when the source knows them (the simulator does)."""
        if self._static is None:
            sectors: dict[str, str] = {}
            betas: dict[str, float] = {}
            spec = getattr(market, "spec", None)
            if spec is not None:
                for sym in market.symbols():
                    try:
                        sp = spec(sym)
                    except (DataUnavailable, LookupError):
                        continue
                    sectors[sym] = str(getattr(sp, "sector", "unknown"))
                    beta = getattr(sp, "beta", None)
                    if isinstance(beta, int | float) and math.isfinite(beta):
                        betas[sym] = float(beta)
            self._static = (sectors, betas)
        return self._static

    async def _history_for(self, market: MarketData, now: datetime) -> ScenarioHistory:
        """The universe's daily closes, refetched only when a new session has completed."""
        end = now.date()
        if self.calendar is not None:
            last_done = (
                self.calendar.previous_session(end)
                if not self._closed_today(now)
                else self.calendar.session_on_or_before(end)
            )
        else:
            last_done = end
        if self._history is not None and self._history_end == last_done:
            return self._history
        count = self.config.lookback + self.config.backtest_days + 1
        closes: dict[str, list[tuple[date, float]]] = {}
        for sym in market.symbols():
            try:
                bars = await market.daily_bars(sym, end, count)
            except (DataUnavailable, BadMarketData) as exc:
                log.warning("no daily history for %s: %s", sym, exc)
                continue
            closes[sym] = [(b.start.date(), b.close) for b in bars]
        self._history = await asyncio.to_thread(ScenarioHistory.from_closes, closes)
        self._history_end = last_done
        return self._history

    def _closed_today(self, now: datetime) -> bool:
        assert self.calendar is not None
        d = now.date()
        return self.calendar.is_session(d) and now >= self.calendar.session_close(d)

    async def _store_snapshot(self, report: RiskReport, inputs: LiveRiskInputs) -> None:
        assert self.store is not None
        details = report.to_details()
        # The marks the snapshot valued the book at, so `wsb risk stress --db` can re-value
        # the stored book without a market.
        held = {p.instrument.underlying for p in inputs.portfolio.positions.values()}
        details["book"] = {
            "spots": {u: inputs.spots[u] for u in held if u in inputs.spots},
            "ivs": dict(inputs.ivs),
            "sectors": {u: inputs.sectors[u] for u in held if u in inputs.sectors},
            "betas": {u: inputs.betas[u] for u in held if u in inputs.betas},
            "rate": inputs.rate,
        }
        try:
            await self.store.record_risk_snapshot(
                report.ts,
                var=report.var_at(0.99),
                cvar=report.cvar_at(0.99),
                lvar=None if report.lvar_dollars is None or report.value <= 0
                else report.lvar_dollars / report.value,
                details=details,
            )  # fmt: skip
        except Exception:  # the picture is still live; a lost row is logged, not fatal
            log.exception("could not store the risk snapshot")

    # ------------------------------------------------------------------ gauges

    def _report_gauges(self, r: RiskReport, port: Portfolio) -> tuple[GaugeReading, ...]:
        eq = port.equity
        lim = self.risk.limits  # the pre-trade budgets: one source for gauges and checks
        out: list[GaugeReading] = []
        v99, c99 = r.var_dollars(0.99), r.cvar_dollars(0.99)
        if v99 is not None:
            out.append(GaugeReading("VaR99 1d", v99, lim.var99_limit_pct * eq))
        if c99 is not None:
            out.append(GaugeReading("CVaR99 1d", c99, lim.cvar99_limit_pct * eq))
        if r.lvar_dollars is not None:
            out.append(GaugeReading("LVaR99 1d", r.lvar_dollars, lim.var99_limit_pct * eq))
        limits = self.risk.limits.greeks.portfolio(eq)
        g = r.greeks_total
        out.append(GaugeReading("net delta", abs(g.delta), limits.delta))
        # The limit is on gamma's P&L for a 1 % move; the report's gamma$ is per 1 % of delta.
        out.append(GaugeReading("gamma 1% P&L", abs(g.gamma) / 200.0, limits.gamma))
        out.append(GaugeReading("vega", abs(g.vega), limits.vega))
        out.append(GaugeReading("theta", max(0.0, -g.theta), -limits.theta))
        if r.stress:
            worst = min(r.stress, key=lambda s: s.pnl)
            out.append(GaugeReading("worst stress", max(0.0, -worst.pnl), 0.25 * r.value))
        return tuple(out)

    def _live_gauges(self, vix: float | None) -> tuple[GaugeReading, ...]:
        if vix is None:
            return ()
        return (GaugeReading("VIX", vix, self.board.config.vix_critical, unit=""),)

    def _details(self, vix: float | None) -> dict[str, object]:
        cfg = self.board.config
        return {
            "vix": vix,
            "vix_level": vix_level(vix, cfg),
            "vix_spike": self._vix_spike,
            "size_multiplier": self.risk.live.size_multiplier,
            "snapshot_error": self._report_error,
            "last_snapshot": self._last_snapshot,
            "cooldowns": {
                n: left.total_seconds()
                for n in self.board.tripped
                if (left := self.board.cooldown_left(n, self._now)) is not None
            },
        }

    # ------------------------------------------------------------------ persistence

    async def _load(self, view: MonitorView) -> None:
        self._loaded = True
        self.risk.live.day_trades.seed(view.portfolio.positions)
        if self.store is None:
            return
        data = await self.store.get_setting(SETTING_MONITOR)
        if not isinstance(data, dict):
            return
        self.board.load_json(data.get("board"))
        self.risk.live.day_trades.load_json(data.get("day_trades"))
        self.risk.day_notional.load_json(data.get("day_notional"))
        self._saved_notional = (self.risk.day_notional.day, self.risk.day_notional.total)
        streak = data.get("loss_streak")
        if isinstance(streak, int) and streak >= 0:
            self._loss_streak = streak
        owner = data.get("state_by_monitor")
        if isinstance(owner, str) and owner in TradingState.__members__:
            self._state_by_monitor = TradingState(owner)

    async def _persist(self, now: datetime) -> None:
        self._dirty = False
        if self.store is None:
            return
        self.risk.live.day_trades.prune(now.date())
        self._saved_notional = (self.risk.day_notional.day, self.risk.day_notional.total)
        await self.store.set_setting(
            SETTING_MONITOR,
            {
                "board": self.board.to_json(),
                "day_trades": self.risk.live.day_trades.to_json(),
                "day_notional": self.risk.day_notional.to_json(),
                "loss_streak": self._loss_streak,
                "state_by_monitor": None
                if self._state_by_monitor is None
                else self._state_by_monitor.value,
            },
            at=now,
        )


def _f(x: object) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
