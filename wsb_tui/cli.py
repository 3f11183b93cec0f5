"""The `wsb` command line.

Heavy imports (Textual, the engine, NumPy) happen inside each command, so `wsb --help` and
`wsb config check` answer at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click

from wsb_tui.commands_backtest import register as register_backtest
from wsb_tui.commands_remote import engine_control_options
from wsb_tui.commands_remote import register as register_remote

SPEED_HELP = "simulated market minutes per real second, or 'max' (as fast as the CPU allows)"


def _parse_speed(value: str | None, default: float | None) -> float | None:
    """Market minutes per real second; None means as fast as possible."""
    if value is None:
        return default
    if value.strip().lower() == "max":
        return None
    try:
        v = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: {SPEED_HELP}", param_hint="--speed") from None
    if v <= 0:
        raise click.BadParameter(f"{value!r} must be positive ({SPEED_HELP})", param_hint="--speed")
    return v


def _load_config(config: Path | None, overrides: dict[str, Any]) -> Any:
    from engine.runtime.config import ConfigError, load_config
    from engine.strategies.registry import available

    try:
        return load_config(config, overrides=overrides, known_strategies=frozenset(available()))
    except ConfigError as exc:
        click.echo("configuration error:", err=True)
        for line in exc.problems:
            click.echo(f"  {line}", err=True)
        raise SystemExit(2) from None


def _overrides(
    seed: int | None, broker: str | None = None, data: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if seed is not None:
        out.setdefault("data", {})["seed"] = seed
    if data is not None:
        out.setdefault("data", {})["kind"] = data
    if broker is not None:
        out.setdefault("broker", {})["kind"] = broker
    return out


config_option = click.option(
    "--config", type=click.Path(path_type=Path, dir_okay=False), help="TOML config file."
)
db_option = click.option(
    "--db", type=click.Path(path_type=Path, dir_okay=False), help="SQLite database file."
)
seed_option = click.option("--seed", type=int, help="Simulator seed (same seed, same market).")
speed_option = click.option("--speed", type=str, help=SPEED_HELP)
broker_option = click.option(
    "--broker", type=click.Choice(["paper", "alpaca"]), help="Broker (overrides [broker] kind)."
)
data_option = click.option(
    "--data",
    "data_kind",
    type=click.Choice(["sim", "csv", "alpaca", "yfinance"]),
    help="Market data source (overrides [data] kind).",
)
live_option = click.option(
    "--live", is_flag=True, help="Trade the LIVE Alpaca account (real money; confirmed at start)."
)
confirm_live_option = click.option(
    "--confirm-live",
    "confirm_live",
    metavar="SUFFIX",
    help="Headless live start: the last four digits of the live account number.",
)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@db_option
@seed_option
@speed_option
@broker_option
@data_option
@live_option
@click.pass_context
def main(
    ctx: click.Context,
    config: Path | None,
    db: Path | None,
    seed: int | None,
    speed: str | None,
    broker: str | None,
    data_kind: str | None,
    live: bool,
) -> None:
    """wsb: a terminal trading desk for WallStreetBots-style strategies.

    With no command, opens the desk on the embedded simulated market and paper broker
    (no account, key or network needed). Proposals wait for your y/n.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not live and broker in (None, "paper") and data_kind in (None, "sim"):
        # Paint first: the config is read and the engine built behind the dashboard; a
        # config that turns out to need a real broker, real data or live mode comes back
        # here, before any engine starts, for the full path below (launch.py).
        from wsb_tui.launch import run_deferred_tui

        sp = _parse_speed(speed, 1.0)
        if run_deferred_tui(config, _overrides(seed, broker, data_kind), db_path=db, speed=sp):
            return
    cfg = _load_config(config, _overrides(seed, broker, data_kind))
    if live:
        cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"mode": "live"})})
    from wsb_tui.live_start import needs_full_start, prepare_real_start, report_aborted_start

    if needs_full_start(cfg):
        # Keys (checked against Alpaca) and the live confirmation (the account's last four
        # digits) are settled on the plain terminal before the desk takes it over
        # (live_start.py); a refusal found later, while the engine is built, closes the desk.
        builder = prepare_real_start(cfg)
        from wsb_tui.app import run_tui

        sp = _parse_speed(speed, 1.0)
        report_aborted_start(run_tui(None, builder=builder, config=cfg, db_path=db, speed=sp))
        return
    from wsb_tui.launch import run_embedded_tui

    run_embedded_tui(cfg, db_path=db, speed=_parse_speed(speed, 1.0))


@main.command()
@config_option
@db_option
@seed_option
@speed_option
@click.option("--run-for", "run_for", help="Market time to run, e.g. 30d (trading days) or 6h.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary on exit.")
@click.option("--quiet", is_flag=True, help="No live summary lines.")
@broker_option
@data_option
@live_option
@confirm_live_option
@engine_control_options
def engine(
    config: Path | None,
    db: Path | None,
    seed: int | None,
    speed: str | None,
    run_for: str | None,
    as_json: bool,
    quiet: bool,
    broker: str | None,
    data_kind: str | None,
    live: bool,
    confirm_live: str | None,
    control_socket: Path | None,
    tcp_port: int | None,
    tcp_host: str,
    exposed: bool,
    log_format: str,
    print_systemd_unit: bool,
) -> None:
    """Run the engine headless (no TUI), with a live summary on stderr.

    Open-ended runs serve the control socket for `wsb attach` / `wsb status`; a `--run-for`
    run serves only when asked (--socket / --tcp-port), so parallel runs never collide.
    """
    if print_systemd_unit:
        from wsb_tui.remote.systemd import systemd_unit

        argv = sys.argv[sys.argv.index("engine") + 1 :] if "engine" in sys.argv else []
        click.echo(systemd_unit(argv), nl=False)
        return
    from engine.runtime.engine import RunBudget
    from wsb_tui.remote.headless_control import ControlOptions
    from wsb_tui.remote.logfmt import configure_logging

    configure_logging(log_format)
    cfg = _load_config(config, _overrides(seed, broker, data_kind))
    # A bounded run goes as fast as it can unless told otherwise; an open-ended one is live.
    sp = _parse_speed(speed, None if run_for else 1.0)
    budget = None
    if run_for:
        try:
            budget = RunBudget.parse(run_for)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--run-for") from None
    from wsb_tui.headless import run_headless

    serve = budget is None or control_socket is not None or tcp_port is not None
    control = (
        ControlOptions(control_socket, tcp_port, tcp_host, exposed, log_format) if serve else None
    )

    def reload_config() -> Any:
        return _load_config(config, _overrides(seed, broker, data_kind))

    code = asyncio.run(
        run_headless(
            cfg,
            db_path=db,
            speed=sp,
            budget=budget,
            as_json=as_json,
            quiet=quiet,
            live=live,
            confirm_live=confirm_live,
            control=control,
            reload_config=reload_config,
        )
    )
    sys.exit(code)


register_remote(main)
register_backtest(main)


@main.group()
def config() -> None:
    """Configuration commands."""


@config.command("check")
@config_option
def config_check(config: Path | None) -> None:
    """Validate a config file: every error with field, value and what is allowed."""
    from engine.runtime.config import ConfigError, default_config_path, load_config
    from engine.strategies.registry import available

    path = config or default_config_path()
    try:
        load_config(config, known_strategies=frozenset(available()))
    except ConfigError as exc:
        for line in exc.problems:
            click.echo(line, err=True)
        sys.exit(1)
    where = str(path) if path.exists() else f"{path} (absent: defaults)"
    click.echo(f"config OK: {where}")
    from engine.secrets import credential_report, describe_credentials

    click.echo("credentials (values never shown):")
    for line in credential_report(describe_credentials()):
        click.echo(f"  {line}")


@main.command()
@click.option("--profile", default=None, help="research_2024 (default) or wsb_2025.")
@click.option("--json", "as_json", is_flag=True)
def strategies(profile: str | None, as_json: bool) -> None:
    """List every strategy with its parameters."""
    from engine.strategies.base import DEFAULT_PROFILE, ParameterError
    from engine.strategies.registry import allocation_cap, available, strategy_class

    prof = profile or DEFAULT_PROFILE
    rows = []
    for name in available():
        cls = strategy_class(name)
        try:
            strat = cls.from_profile(prof)
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="--profile") from None
        rows.append(
            {
                "name": name,
                "title": cls.title,
                "profile": prof,
                "allocation_cap": allocation_cap(name, prof),
                "scan_interval_s": cls.scan_interval.total_seconds(),
                "universe": sorted(strat.universe()),
                "params": json.loads(strat.params.model_dump_json()),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['title']} ({r['name']}), profile {prof}, cap {r['allocation_cap']:.0%}")
        for k, v in r["params"].items():
            click.echo(f"    {k} = {v}")


@main.group()
def risk() -> None:
    """Risk measurement commands."""


@risk.command("var")
@click.option(
    "--csv", "csv_path", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False)
)
@click.option("--confidence", type=float, default=0.99, show_default=True)
@click.option(
    "--method",
    type=click.Choice(
        ["historical", "normal", "student_t", "cornish_fisher", "monte_carlo", "evt"]
    ),
    default="historical",
    show_default=True,
)
@click.option(
    "--returns",
    "returns_kind",
    type=click.Choice(["simple", "log"]),
    default="simple",
    show_default=True,
)
@click.option("--window", type=int, default=None, help="Use the last N returns.")
@click.option(
    "--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Last date used."
)
@click.option("--json", "as_json", is_flag=True)
def risk_var(
    csv_path: Path,
    confidence: float,
    method: str,
    returns_kind: str,
    window: int | None,
    end: Any,
    as_json: bool,
) -> None:
    """1-day VaR and CVaR of a price file (fractions of position value, from adj_close)."""
    if not 0.5 < confidence < 1:
        raise click.BadParameter(
            f"{confidence} must be between 0.5 and 1 (e.g. 0.99)", param_hint="--confidence"
        )
    from engine.risk.cli_var import var_from_csv

    try:
        out = var_from_csv(
            csv_path,
            confidence,
            method,
            returns="log" if returns_kind == "log" else "simple",
            window=window,
            end=end.date() if end is not None else None,
        )
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(
            f"{method} {confidence:.1%} 1-day VaR {out['var']:.4%}  CVaR {out['cvar']:.4%}  "
            f"({out.get('n_returns', '?')} returns to {out.get('last_return_date', '?')})"
        )


def _register_extra_commands() -> None:
    from wsb_tui.commands_data import register as register_data

    register_data(main)


_register_extra_commands()


@risk.command("stress")
@db_option
@seed_option
@click.option("--json", "as_json", is_flag=True)
def risk_stress(db: Path | None, seed: int | None, as_json: bool) -> None:
    """The six stress scenarios of the spec applied to the stored portfolio."""
    from engine.risk.cli_stress import format_stress_text, stress_from_db_sync
    from engine.store import default_db_path

    path = db or default_db_path("sim")
    if not path.exists():
        click.echo(f"error: no database at {path}", err=True)
        sys.exit(1)
    try:
        report = stress_from_db_sync(path, seed=seed if seed is not None else 7)
    except (ValueError, LookupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(json.dumps(report, default=str) if as_json else format_stress_text(report))
