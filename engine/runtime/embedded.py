"""Assemble an engine from configuration: the embedded simulator + paper broker by default."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

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
from engine.runtime.tail_hedger import TailHedger, hedge_config
from engine.store import Store, default_db_path
from engine.strategies.base import Strategy
from engine.strategies.registry import available, strategy_class

if TYPE_CHECKING:
    from engine.broker.alpaca import AlpacaSettings
    from engine.secrets import AlpacaCredentials

log = logging.getLogger(__name__)


class UnsupportedSetup(ValueError):
    """A configuration this build cannot run yet (e.g. a real broker before its adapter)."""


@dataclass
class Embedded:
    engine: Engine
    client: LocalEngineClient
    store: Store
    db_path: Path

    async def close(self) -> None:
        # The Alpaca stream and poller, the paper broker's streams, the data feed's HTTP
        # sessions, then the store (its SQLite thread keeps the process alive until closed).
        await _close_all([self.store, self.engine.market, self.engine.broker])


async def _close_all(resources: Sequence[object]) -> None:
    """Close each resource that has a `close()` (sync or async), last opened first.

    Every one is closed even when another fails: a store left open keeps its SQLite worker
    thread, and the process, alive.
    """
    for res in reversed(resources):
        closer = getattr(res, "close", None)
        if closer is None:
            continue
        try:
            result = closer()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("closing %s failed", type(res).__name__)


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
        max_modifies_per_second=r.max_modifies_per_second,
        max_cancels_per_second=r.max_cancels_per_second,
        restricted=frozenset(r.restricted_symbols),
        luld_tier2=frozenset(r.luld_tier2_symbols),
        ssr_drop_pct=r.ssr_drop_pct,
        max_day_notional=r.max_day_notional,
        max_leverage=r.max_leverage,
        lotto_max_day_loss_pct=r.lotto_max_day_loss_pct,
        lotto_min_equity=r.lotto_min_equity,
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


def _tail_hedger(cfg: WsbConfig, store: Store) -> TailHedger | None:
    # Off unless `[risk] tail_hedge = true`: the hedge spends premium every time VIX spikes.
    return TailHedger(hedge_config(cfg.risk), store) if cfg.risk.tail_hedge else None


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
    if live or cfg.engine.mode == "live":
        raise UnsupportedSetup(
            "--live / engine.mode = 'live' needs broker.kind = 'alpaca' (the simulator has no "
            "money)"
        )
    if cfg.data.kind != "sim" or cfg.broker.kind != "paper":
        raise UnsupportedSetup(
            f"data.kind={cfg.data.kind!r} / broker.kind={cfg.broker.kind!r}: not supported here"
        )
    calendar = default_calendar()
    path = db_path or cfg.store.db or default_db_path("sim")
    store = await Store.open(path)
    try:
        return _build_sim(cfg, store, path, calendar, headless, speed, strategies)
    except BaseException:
        await _close_all([store])
        raise


def _build_sim(
    cfg: WsbConfig,
    store: Store,
    path: Path,
    calendar: MarketCalendar,
    headless: bool,
    speed: float | None,
    strategies: Sequence[Strategy] | None,
) -> Embedded:
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
        tail_hedger=_tail_hedger(cfg, store),
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
    broker, on a wall-paced clock. Live trading only through `engine.runtime.live_gate`.

    Whatever was opened (HTTP sessions, the trade stream, the store) is closed again when a
    later step fails, so a refused start leaves nothing running.
    """
    from engine.broker.alpaca import AlpacaSettings
    from engine.broker.alpaca.settings import AlpacaSettingsError
    from engine.runtime.live_gate import LiveGateError, requested_mode
    from engine.secrets import MissingCredentials, install_log_redaction, load_alpaca_credentials

    if cfg.broker.kind == "alpaca" and cfg.data.kind not in ("alpaca", "yfinance"):
        raise UnsupportedSetup(
            f"broker.kind='alpaca' with data.kind={cfg.data.kind!r}: a real account is never "
            "fed simulated prices; use data.kind = 'alpaca' (or 'yfinance')"
        )
    try:
        mode = requested_mode(cfg.engine.mode, live)
    except LiveGateError as exc:
        raise UnsupportedSetup(str(exc)) from None
    if mode == "live" and cfg.broker.kind != "alpaca":
        raise UnsupportedSetup("--live / engine.mode='live' needs broker.kind = 'alpaca'")
    creds = None
    if cfg.data.kind == "alpaca" or cfg.broker.kind == "alpaca":
        try:
            creds = load_alpaca_credentials()
        except MissingCredentials as exc:
            raise UnsupportedSetup(str(exc)) from None
        install_log_redaction(*creds.secrets())
    try:
        settings = AlpacaSettings.resolve(cfg.alpaca, paper=mode == "paper")
    except AlpacaSettingsError as exc:
        raise UnsupportedSetup(str(exc)) from None
    owned: list[object] = []  # closed, last first, if a later step fails
    try:
        return await _assemble_real(
            cfg,
            owned,
            creds=creds,
            settings=settings,
            db_path=db_path,
            headless=headless,
            strategies=strategies,
            live=live,
            confirm_live=confirm_live,
            prompt=prompt,
        )
    except BaseException:
        await _close_all(owned)
        raise


async def _assemble_real(
    cfg: WsbConfig,
    owned: list[object],
    *,
    creds: AlpacaCredentials | None,
    settings: AlpacaSettings,
    db_path: Path | None,
    headless: bool,
    strategies: Sequence[Strategy] | None,
    live: bool,
    confirm_live: str | None,
    prompt: Callable[[str], str] | None,
) -> Embedded:
    from engine.broker.alpaca import AlpacaBroker, reconcile_orders
    from engine.broker.alpaca.convert import PayloadError
    from engine.broker.alpaca.transport import AlpacaError
    from engine.data.alpaca import AlpacaData
    from engine.data.failover import FailoverFeed
    from engine.data.protocol import MarketData
    from engine.data.yfinance_history import YFinanceHistory
    from engine.runtime.clock import WallPacedClock
    from engine.runtime.live_gate import LiveGateError, decide

    calendar = default_calendar()
    clock = WallPacedClock()
    symbols = cfg.alpaca.symbols
    yahoo = YFinanceHistory(clock=clock, calendar=calendar, symbols=symbols)
    sources: list[MarketData] = []
    if cfg.data.kind == "alpaca":
        assert creds is not None
        sources.append(
            AlpacaData(
                creds, settings, symbols=symbols, clock=clock, calendar=calendar, earnings=yahoo
            )
        )
        owned.append(sources[-1])
        if cfg.alpaca.secondary == "yfinance":
            sources.append(yahoo)
    else:
        sources.append(yahoo)
    feed = FailoverFeed(
        sources, clock=clock, stale_after=timedelta(seconds=cfg.risk.stale_data_seconds)
    )
    clock.on_minute = feed.refresh
    initial_cash = Decimal(str(cfg.broker.initial_cash))
    notes: list[tuple[str, str]] = []  # (level, line) for the engine's log once it exists
    broker: AlpacaBroker | PaperBroker
    if cfg.broker.kind == "alpaca":
        assert creds is not None
        broker = AlpacaBroker(creds, settings, clock=clock)
        owned.append(broker)
        try:
            account = await broker.account()
        except (AlpacaError, PayloadError) as exc:
            raise UnsupportedSetup(account_problem(exc, settings.effective_trading_url)) from None
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
            raise UnsupportedSetup(str(exc)) from None
        if decision.risk_overrides:
            cfg = cfg.model_copy(
                update={"risk": cfg.risk.model_copy(update=dict(decision.risk_overrides))}
            )
        notes.extend(("warning" if decision.is_live else "info", n) for n in decision.notes)
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
        owned.append(broker)
        mode_label = "PAPER"
        profile = f"paper-{cfg.data.kind}"
    path = db_path or cfg.store.db or default_db_path(profile)
    store = await Store.open(path)
    owned.append(store)
    if isinstance(broker, AlpacaBroker):
        # Fills already in the store are never emitted again; our own orders are never
        # mistaken for dashboard orders filled before the start.
        broker.seed_recorded_fills(await store.load_fills(), await store.client_order_ids())
        # Orders the store holds as open that Alpaca finished (or never received) while the
        # desk was down: the engine updates them at start; here they are also reported. Open
        # orders Alpaca has and the store does not are reported by the engine's reconcile.
        stored_open = await store.load_open_orders()
        try:
            now_at_alpaca = {
                o.client_order_id: await broker.order(o.client_order_id) for o in stored_open
            }
        except (AlpacaError, PayloadError) as exc:
            raise UnsupportedSetup(
                f"cannot reconcile open orders with Alpaca at start: {exc}"
            ) from None
        for d in reconcile_orders(stored_open, (), now_at_alpaca):
            notes.append(
                (
                    "warning",
                    f"reconcile order {d.client_order_id} ({d.symbol}): store {d.stored}, "
                    f"Alpaca {d.broker}: {d.detail}",
                )
            )
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
        tail_hedger=_tail_hedger(cfg, store),
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
    owned.append(feed)  # closes the Alpaca data sessions (again: closing twice is harmless)
    for level, line in notes:
        engine.log(level, line)
    return Embedded(engine, LocalEngineClient(engine), store, path)


def account_problem(exc: Exception, url: str) -> str:
    """Why the account could not be read, in words a person can act on."""
    from engine.broker.alpaca.transport import AlpacaError, FailureKind

    if isinstance(exc, AlpacaError) and exc.kind is FailureKind.AUTH:
        return (
            f"Alpaca refused the API keys at {url} ({exc}): check ALPACA_API_KEY and "
            "ALPACA_SECRET_KEY, and that paper keys are used with the paper endpoint and "
            "live keys with the live one"
        )
    return f"cannot read the Alpaca account at {url}: {exc}"
