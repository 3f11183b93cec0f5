"""Configuration: pydantic models loaded from TOML, then environment, then CLI flags.

Unknown keys are rejected; every error names the field, the value and what is allowed.
Secrets (API keys) are never part of this model: they are read from the environment or a
`.env` file by the adapters that need them, so a config file can be shared safely.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from engine.strategies.base import DEFAULT_PROFILE, PROFILES

ENV_PREFIX = "WSB__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Section):
    kind: Literal["sim", "csv", "alpaca", "yfinance"] = "sim"
    seed: int = Field(default=7, ge=0, le=2**63 - 1)
    csv_dir: Path | None = None
    history_days: int = Field(default=300, ge=250, le=5000)


class BrokerConfig(_Section):
    kind: Literal["paper", "alpaca"] = "paper"
    initial_cash: float = Field(default=100_000.0, gt=0, le=1e12)
    commission_per_contract: float = Field(default=0.65, ge=0, le=100)
    commission_per_share: float = Field(default=0.0, ge=0, le=1)
    equity_slippage_bps: float = Field(default=2.0, ge=0, le=500)


class EngineConfig(_Section):
    # None = pick by context: auto headless on the simulator, confirm in the TUI / real accounts.
    gate: Literal["auto", "confirm"] | None = None
    confirm_timeout_s: float = Field(default=300.0, gt=0, le=86_400)
    speed: float | Literal["max"] = 60.0  # simulated seconds per real second
    mode: Literal["paper", "live"] = "paper"
    equity_snapshot_minutes: int = Field(default=30, ge=1, le=1440)
    risk_snapshot_minutes: int = Field(default=15, ge=1, le=1440)
    strategy_timeout_s: float = Field(default=10.0, gt=0, le=600)

    @field_validator("speed")
    @classmethod
    def _positive_speed(cls, v: float | str) -> float | str:
        if isinstance(v, float | int) and v <= 0:
            raise ValueError("must be a positive number of simulated seconds per second, or 'max'")
        return v


class StrategyOverride(_Section):
    enabled: bool = True
    profile: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class StrategiesConfig(_Section):
    profile: str = DEFAULT_PROFILE
    enabled: list[str] | None = None  # None = every available strategy
    overrides: dict[str, StrategyOverride] = Field(default_factory=dict)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        if v not in PROFILES:
            raise ValueError(f"must be one of {', '.join(PROFILES)}")
        return v


class RiskConfig(_Section):
    # None = the proposing strategy's profile (spec §0.1); a number is an account-wide limit.
    max_position_pct: float | None = Field(default=None, gt=0, le=1)
    max_total_risk_pct: float | None = Field(default=None, gt=0, le=1)
    max_loss_per_trade_pct: float | None = Field(default=None, gt=0, le=1)
    max_order_notional: float = Field(default=50_000.0, gt=0)
    max_orders_per_second: float = Field(default=100.0, gt=0)
    var99_limit_pct: float = Field(default=0.05, gt=0, le=1)
    cvar99_limit_pct: float = Field(default=0.07, gt=0, le=1)
    daily_loss_limit_pct: float = Field(default=0.06, gt=0, le=1)
    drawdown_limit_pct: float = Field(default=0.15, gt=0, le=1)
    stale_data_seconds: float = Field(default=120.0, gt=0)
    max_name_concentration: float = Field(default=0.30, gt=0, le=1)
    max_etf_concentration: float = Field(default=0.80, gt=0, le=1)
    buying_power_buffer_pct: float = Field(default=0.0, ge=0, lt=1)
    # Spec §4 compliance and market-structure rules (engine.risk.compliance).
    max_modifies_per_second: float = Field(default=100.0, gt=0)
    max_cancels_per_second: float = Field(default=100.0, gt=0)
    restricted_symbols: list[str] = Field(default_factory=list)
    luld_tier2_symbols: list[str] = Field(default_factory=list)
    ssr_drop_pct: float = Field(default=0.10, gt=0, le=1)
    max_day_notional: float = Field(default=5_000_000.0, gt=0)
    max_leverage: float = Field(default=1.0, gt=0, le=10)
    lotto_max_day_loss_pct: float = Field(default=0.05, gt=0, le=1)
    lotto_min_equity: float = Field(default=10_000.0, ge=0)
    # Spec §5 tail hedge (engine.runtime.tail_hedger). Off by default: it spends cash.
    tail_hedge: bool = False
    tail_hedge_underlying: str = "SPY"
    tail_hedge_vix_trigger: float = Field(default=25.0, gt=0, le=200)
    tail_hedge_delta: float = Field(default=0.20, gt=0, lt=1)  # |delta| of the puts
    tail_hedge_pct: float = Field(default=0.05, gt=0, le=1)  # hedged notional / value
    tail_hedge_max_annual_spend_pct: float = Field(default=0.02, gt=0, le=1)
    tail_hedge_roll_dte: int = Field(default=7, ge=0, le=365)
    tail_hedge_min_dte: int = Field(default=20, ge=1, le=730)
    tail_hedge_dte: int = Field(default=30, ge=1, le=730)
    # validate_default: the DTE order is checked even when only tail_hedge_dte is set.
    tail_hedge_max_dte: int = Field(default=45, ge=1, le=730, validate_default=True)

    @field_validator("restricted_symbols", "luld_tier2_symbols")
    @classmethod
    def _symbols(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if not s.strip() or not s.strip().replace(".", "").isalnum()]
        if bad:
            raise ValueError(f"symbols must be ticker strings like 'GME'; bad: {bad!r}")
        return [s.strip().upper() for s in v]

    @field_validator("tail_hedge_underlying")
    @classmethod
    def _hedge_symbol(cls, v: str) -> str:
        if not v.strip() or not v.strip().replace(".", "").isalnum():
            raise ValueError("must be an optionable ticker like 'SPY'")
        return v.strip().upper()

    @field_validator("tail_hedge_max_dte")
    @classmethod
    def _hedge_dtes_ordered(cls, v: int, info: ValidationInfo) -> int:
        # Only the fields that validated are in info.data; a bad one is reported on its own.
        roll = info.data.get("tail_hedge_roll_dte")
        lo = info.data.get("tail_hedge_min_dte")
        mid = info.data.get("tail_hedge_dte")
        if (
            isinstance(roll, int)
            and isinstance(lo, int)
            and isinstance(mid, int)
            and not roll < lo <= mid <= v
        ):
            raise ValueError(
                f"must satisfy tail_hedge_roll_dte ({roll}) < tail_hedge_min_dte ({lo}) <= "
                f"tail_hedge_dte ({mid}) <= tail_hedge_max_dte ({v})"
            )
        return v


class StoreConfig(_Section):
    db: Path | None = None


class AlpacaConfig(_Section):
    """Alpaca connection settings. Keys are never here: ALPACA_API_KEY / ALPACA_SECRET_KEY
    (or APCA_API_KEY_ID / APCA_API_SECRET_KEY) from the environment or a .env file."""

    trading_url: str | None = None  # default: paper-api (paper) / api (live) .alpaca.markets
    data_url: str | None = None  # default: https://data.alpaca.markets
    stream_url: str | None = None  # default: wss://paper-api.alpaca.markets/stream (paper)
    feed: Literal["iex", "sip", "delayed_sip"] = "iex"
    options_feed: Literal["indicative", "opra"] = "indicative"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_retries: int = Field(default=4, ge=0, le=10)
    requests_per_minute: int = Field(default=180, ge=1, le=10_000)
    poll_seconds: float = Field(default=5.0, gt=0, le=300)
    reconcile_seconds: float = Field(default=60.0, gt=0, le=3600)
    use_stream: bool = True
    symbols: list[str] | None = None  # data universe; None = the default universe
    secondary: Literal["yfinance", "none"] = "yfinance"  # failover source behind Alpaca data


class WsbConfig(_Section):
    data: DataConfig = DataConfig()
    broker: BrokerConfig = BrokerConfig()
    engine: EngineConfig = EngineConfig()
    strategies: StrategiesConfig = StrategiesConfig()
    risk: RiskConfig = RiskConfig()
    store: StoreConfig = StoreConfig()
    alpaca: AlpacaConfig = AlpacaConfig()


class ConfigError(ValueError):
    """Every problem in a configuration, one per line: `field: value -> what is allowed`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def default_config_path() -> Path:
    override = os.environ.get("WSB_CONFIG_DIR")
    base = Path(override) if override else platformdirs.user_config_path("wsb-tui")
    return base / "config.toml"


def _describe(exc: ValidationError, source: str) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not a setting of wsb)"
        out.append(f"{source}: {loc} = {value!r} -> {msg}")
    return out


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """`WSB__SECTION__KEY=value` -> {"section": {"key": value}} (strings; pydantic coerces)."""
    layer: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        node = layer
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return layer


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    known_strategies: frozenset[str] | None = None,
) -> WsbConfig:
    """File (if it exists; an explicit path must exist), then environment, then `overrides`."""
    problems: list[str] = []
    data: dict[str, Any] = {}
    explicit = path is not None
    path = path or default_config_path()
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    elif explicit:
        raise ConfigError([f"{path}: config file does not exist"])
    data = _merge(data, _env_layer(os.environ if environ is None else environ))
    data = _merge(data, overrides or {})
    cfg: WsbConfig | None = None
    try:
        cfg = WsbConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(exc, str(path)))
    # Strategy names are checked on the raw data too, so one run reports every problem.
    if known_strategies is not None:
        problems.extend(check_strategy_names(data, known_strategies, str(path)))
    if cfg is not None and not problems:
        problems.extend(check_strategy_params(cfg, str(path)))
    if problems or cfg is None:
        raise ConfigError(problems)
    return cfg


def check_strategy_params(cfg: WsbConfig, source: str) -> list[str]:
    """Build each overridden strategy once so a bad parameter is reported by `config check`
    instead of at start-up."""
    from engine.strategies.base import ParameterError
    from engine.strategies.registry import UnknownStrategy, strategy_class

    out = []
    for name, ov in cfg.strategies.overrides.items():
        if not ov.params and ov.profile is None:
            continue
        try:
            strategy_class(name).from_profile(ov.profile or cfg.strategies.profile, ov.params)
        except (ParameterError, UnknownStrategy) as exc:
            out.append(f"{source}: strategies.overrides.{name}: {exc}")
    return out


def check_strategy_names(data: Mapping[str, Any], known: frozenset[str], source: str) -> list[str]:
    allowed = ", ".join(sorted(known))
    section = data.get("strategies")
    if not isinstance(section, Mapping):
        return []
    out = []
    enabled = section.get("enabled")
    for name in enabled if isinstance(enabled, list) else []:
        if name not in known:
            out.append(
                f"{source}: strategies.enabled = {name!r} -> unknown strategy; allowed: {allowed}"
            )
    overrides = section.get("overrides")
    for name, ov in (overrides if isinstance(overrides, Mapping) else {}).items():
        if name not in known:
            out.append(
                f"{source}: strategies.overrides.{name} -> unknown strategy; allowed: {allowed}"
            )
        profile = ov.get("profile") if isinstance(ov, Mapping) else None
        if profile is not None and profile not in PROFILES:
            out.append(
                f"{source}: strategies.overrides.{name}.profile = {profile!r} -> "
                f"must be one of {', '.join(PROFILES)}"
            )
    return out
