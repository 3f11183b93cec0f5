"""Assemble an engine from configuration: the embedded simulator + paper broker by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from engine.broker import PaperBroker, PaperBrokerConfig
from engine.data.calendar import default_calendar
from engine.data.simulator import SimulatedMarket, sim_start_time
from engine.risk.pretrade import PreTradeRisk, RiskLimits
from engine.runtime.clock import SimulatedClock
from engine.runtime.config import WsbConfig
from engine.runtime.engine import Engine
from engine.runtime.gate import ConfirmationGate, GateMode
from engine.runtime.local_client import LocalEngineClient
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
    )


async def build_embedded(
    cfg: WsbConfig,
    *,
    db_path: Path | None = None,
    headless: bool = True,
    speed: float | None = None,
    universe: Sequence[str] | None = None,
    strategies: Sequence[Strategy] | None = None,
) -> Embedded:
    """Simulated market + paper broker + SQLite store + engine + in-process client.

    `speed` is simulated minutes per real second (None = as fast as possible).
    """
    if cfg.data.kind != "sim" or cfg.broker.kind != "paper":
        raise UnsupportedSetup(
            f"data.kind={cfg.data.kind!r} / broker.kind={cfg.broker.kind!r}: this build runs "
            "the embedded simulator with the paper broker; real adapters are not wired yet"
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
    engine = Engine(
        market=market,
        feed=market,
        broker=broker,
        store=store,
        clock=clock,
        calendar=calendar,
        strategies=list(strategies) if strategies is not None else build_strategies(cfg),
        risk=PreTradeRisk(risk_limits(cfg)),
        gate=ConfirmationGate(GateMode(gate_mode), timedelta(seconds=cfg.engine.confirm_timeout_s)),
        mode_label="SIM",
        initial_cash=initial_cash,
        strategy_timeout=timedelta(seconds=cfg.engine.strategy_timeout_s),
        equity_snapshot_every=timedelta(minutes=cfg.engine.equity_snapshot_minutes),
    )
    return Embedded(engine, LocalEngineClient(engine), store, path)
