"""Assemble an engine from configuration: the embedded simulator + paper broker by default."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from engine.broker import PaperBroker, PaperBrokerConfig
from engine.data.calendar import MarketCalendar, default_calendar
from engine.data.simulator import SimulatedMarket, sim_start_time
from engine.risk.breakers import BreakerConfig
from engine.risk.pretrade import PreTradeRisk, RateThrottle, RiskLimits
from engine.runtime.clock import SimulatedClock
from engine.runtime.config import WsbConfig
from engine.runtime.engine import Engine
from engine.runtime.gate import ConfirmationGate, GateMode
from engine.runtime.local_client import LocalEngineClient
from engine.runtime.risk_monitor import LiveRiskMonitor, MonitorConfig
from engine.store import Store, default_db_path
from engine.strategies.base import Strategy
from engine.strategies.registry import available, strategy_class


class UnsupportedSetup(ValueError):
    """A configuration this build cannot run yet (e.g. a real broker before its adapter)."""


@dataclass
class Embedded:
    engine: Engine
    client: LocalEngineClient
    store: Store
    db_path: Path

    async def close(self) -> None:
        close_broker = getattr(self.engine.broker, "close", None)
        if close_broker is not None:
            result = close_broker()  # the Alpaca stream and poller; the paper broker's streams
            if inspect.isawaitable(result):
                await result
        await self.store.close()


def build_strategies(cfg: WsbConfig) -> list[Strategy]:
    names = cfg.strategies.enabled if cfg.strategies.enabled is not None else list(available())
    out: list[Strategy] = []
    for name in names:
        ov = cfg.strategies.overrides.get(name)
        if ov is not None and not ov.enabled:
            continue
        profile = (ov.profile if ov is not None and ov.profile else None) or cfg.strategies.profile
        params = ov.params if ov is not None else {}
        out.append(strategy_class(name).from_profile(profile, params))
    return out


def risk_limits(cfg: WsbConfig) -> RiskLimits:
    r = cfg.risk
    return RiskLimits(
        max_position_pct=r.max_position_pct,
        max_total_risk_pct=r.max_total_risk_pct,
        max_loss_per_trade_pct=r.max_loss_per_trade_pct,
        max_order_notional=r.max_order_notional,
        max_orders_per_second=r.max_orders_per_second,
        stale_data_seconds=r.stale_data_seconds,
        max_name_concentration=r.max_name_concentration,
        max_etf_concentration=r.max_etf_concentration,
        buying_power_buffer_pct=r.buying_power_buffer_pct,
        var99_limit_pct=r.var99_limit_pct,
        cvar99_limit_pct=r.cvar99_limit_pct,
    )


def _pretrade(cfg: WsbConfig, clock: SimulatedClock) -> PreTradeRisk:
    # The throttle counts market time, so a replay at max speed is as deterministic as live.
    throttle = RateThrottle(cfg.risk.max_orders_per_second, clock=lambda: clock.now().timestamp())
    return PreTradeRisk(risk_limits(cfg), throttle=throttle)


def _monitor(
    cfg: WsbConfig, risk: PreTradeRisk, store: Store, calendar: MarketCalendar
) -> LiveRiskMonitor:
    return LiveRiskMonitor(
        risk=risk,
        store=store,
        calendar=calendar,
        config=MonitorConfig(snapshot_every=timedelta(minutes=cfg.engine.risk_snapshot_minutes)),
        breakers=BreakerConfig(daily_loss_pct=cfg.risk.daily_loss_limit_pct),
    )


async def build_embedded(
    cfg: WsbConfig,
    *,
    db_path: Path | None = None,
    headless: bool = True,
    speed: float | None = None,
    universe: Sequence[str] | None = None,
    strategies: Sequence[Strategy] | None = None,
    live: bool = False,
    confirm_live: str | None = None,
    prompt: Callable[[str], str] | None = None,
) -> Embedded:
    """Simulated market + paper broker + SQLite store + engine + in-process client.

    `speed` is simulated minutes per real second (None = as fast as possible). With
    `data.kind`/`broker.kind` set to alpaca or yfinance the engine runs on real data and (for
    `broker.kind = "alpaca"`) a real Alpaca account instead: see `_build_real`.
    """
    if cfg.data.kind in ("alpaca", "yfinance") or cfg.broker.kind == "alpaca":
        return await _build_real(
            cfg,
            db_path=db_path,
            headless=headless,
            strategies=strategies,
            live=live,
            confirm_live=confirm_live,
            prompt=prompt,
        )
    if live:
        raise UnsupportedSetup("--live needs broker.kind = 'alpaca' (the simulator has no money)")
    if cfg.data.kind != "sim" or cfg.broker.kind != "paper":
        raise UnsupportedSetup(
            f"data.kind={cfg.data.kind!r} / broker.kind={cfg.broker.kind!r}: not supported here"
        )
    calendar = default_calendar()
    path = db_path or cfg.store.db or default_db_path("sim")
    store = await Store.open(path)
    seed = cfg.data.seed
    market_start = sim_start_time(calendar)
    clock = SimulatedClock(market_start, speed=None if speed is None else speed * 60.0)
    market = SimulatedMarket(
        clock, seed=seed, history_days=cfg.data.history_days, calendar=calendar
    )
    broker_cfg = PaperBrokerConfig(
        commission_per_contract=Decimal(str(cfg.broker.commission_per_contract)),
        commission_per_share=Decimal(str(cfg.broker.commission_per_share)),
        equity_slippage_bps=Decimal(str(cfg.broker.equity_slippage_bps)),
    )
    initial_cash = Decimal(str(cfg.broker.initial_cash))
    broker = PaperBroker(
        market, clock, config=broker_cfg, initial_cash=initial_cash, calendar=calendar
    )
    gate_mode = cfg.engine.gate or ("auto" if headless else "confirm")
    risk = _pretrade(cfg, clock)
    engine = Engine(
        market=market,
        feed=market,
        broker=broker,
        store=store,
        clock=clock,
        calendar=calendar,
        strategies=list(strategies) if strategies is not None else build_strategies(cfg),
        risk=risk,
        monitor=_monitor(cfg, risk, store, calendar),
        gate=ConfirmationGate(GateMode(gate_mode), timedelta(seconds=cfg.engine.confirm_timeout_s)),
        mode_label="SIM",
        initial_cash=initial_cash,
        strategy_timeout=timedelta(seconds=cfg.engine.strategy_timeout_s),
        equity_snapshot_every=timedelta(minutes=cfg.engine.equity_snapshot_minutes),
    )
    return Embedded(engine, LocalEngineClient(engine), store, path)


async def _build_real(
    cfg: WsbConfig,
    *,
    db_path: Path | None,
    headless: bool,
    strategies: Sequence[Strategy] | None,
    live: bool,
    confirm_live: str | None,
    prompt: Callable[[str], str] | None,
) -> Embedded:
    """Real market data (Alpaca, yfinance failover) and a real Alpaca account or the paper
    broker, on a wall-paced clock. Live trading only through `engine.runtime.live_gate`."""
    from engine.broker.alpaca import AlpacaBroker, AlpacaSettings
    from engine.data.alpaca import AlpacaData
    from engine.data.failover import FailoverFeed
    from engine.data.protocol import MarketData
    from engine.data.yfinance_history import YFinanceHistory
    from engine.runtime.clock import WallPacedClock
    from engine.runtime.live_gate import LiveGateError, decide, requested_mode
    from engine.secrets import MissingCredentials, install_log_redaction, load_alpaca_credentials

    if cfg.broker.kind == "alpaca" and cfg.data.kind not in ("alpaca", "yfinance"):
        raise UnsupportedSetup(
            f"broker.kind='alpaca' with data.kind={cfg.data.kind!r}: a real account is never "
            "fed simulated prices; use data.kind = 'alpaca' (or 'yfinance')"
        )
    mode = requested_mode(cfg.engine.mode, live)
    if mode == "live" and cfg.broker.kind != "alpaca":
        raise UnsupportedSetup("--live / engine.mode='live' needs broker.kind = 'alpaca'")
    calendar = default_calendar()
    clock = WallPacedClock()
    symbols = cfg.alpaca.symbols
    yahoo = YFinanceHistory(clock=clock, calendar=calendar, symbols=symbols)
    creds = None
    if cfg.data.kind == "alpaca" or cfg.broker.kind == "alpaca":
        try:
            creds = load_alpaca_credentials()
        except MissingCredentials as exc:
            raise UnsupportedSetup(str(exc)) from None
        install_log_redaction(*creds.secrets())
    settings = AlpacaSettings.resolve(cfg.alpaca, paper=mode == "paper")
    sources: list[MarketData] = []
    if cfg.data.kind == "alpaca":
        assert creds is not None
        sources.append(
            AlpacaData(
                creds, settings, symbols=symbols, clock=clock, calendar=calendar, earnings=yahoo
            )
        )
        if cfg.alpaca.secondary == "yfinance":
            sources.append(yahoo)
    else:
        sources.append(yahoo)
    feed = FailoverFeed(
        sources, clock=clock, stale_after=timedelta(seconds=cfg.risk.stale_data_seconds)
    )
    clock.on_minute = feed.refresh
    initial_cash = Decimal(str(cfg.broker.initial_cash))
    broker: AlpacaBroker | PaperBroker
    if cfg.broker.kind == "alpaca":
        assert creds is not None
        broker = AlpacaBroker(creds, settings, clock=clock)
        account = await broker.account()
        try:
            decision = decide(
                config_mode=cfg.engine.mode,
                live_flag=live,
                account=account,
                targets_live_endpoint=settings.targets_live_endpoint,
                risk=cfg.risk,
                headless=headless,
                confirm_suffix=confirm_live,
                prompt=prompt,
            )
        except LiveGateError as exc:
            await broker.close()
            raise UnsupportedSetup(str(exc)) from None
        if decision.risk_overrides:
            cfg = cfg.model_copy(
                update={"risk": cfg.risk.model_copy(update=dict(decision.risk_overrides))}
            )
        mode_label = "LIVE" if decision.is_live else "PAPER"
        initial_cash = account.cash
        profile = f"alpaca-{mode_label.lower()}-{account.account_id.lower()}"
    else:
        broker = PaperBroker(
            feed,
            clock,
            config=PaperBrokerConfig(
                commission_per_contract=Decimal(str(cfg.broker.commission_per_contract)),
                commission_per_share=Decimal(str(cfg.broker.commission_per_share)),
                equity_slippage_bps=Decimal(str(cfg.broker.equity_slippage_bps)),
            ),
            initial_cash=initial_cash,
            calendar=calendar,
        )
        mode_label = "PAPER"
        profile = f"paper-{cfg.data.kind}"
    path = db_path or cfg.store.db or default_db_path(profile)
    store = await Store.open(path)
    if isinstance(broker, AlpacaBroker):
        # Fills already in the store are never emitted again; our own orders are never
        # mistaken for dashboard orders filled before the start.
        broker.seed_recorded_fills(await store.load_fills(), await store.client_order_ids())
        await broker.start()
    risk = _pretrade(cfg, clock)
    engine = Engine(
        market=feed,
        feed=feed,
        broker=broker,
        store=store,
        clock=clock,
        calendar=calendar,
        strategies=list(strategies) if strategies is not None else build_strategies(cfg),
        risk=risk,
        monitor=_monitor(cfg, risk, store, calendar),
        # A real account: every proposal waits for a person unless the config says auto.
        gate=ConfirmationGate(
            GateMode(cfg.engine.gate or "confirm"),
            timedelta(seconds=cfg.engine.confirm_timeout_s),
        ),
        mode_label=mode_label,
        initial_cash=initial_cash,
        strategy_timeout=timedelta(seconds=cfg.engine.strategy_timeout_s),
        equity_snapshot_every=timedelta(minutes=cfg.engine.equity_snapshot_minutes),
    )
    return Embedded(engine, LocalEngineClient(engine), store, path)
