"""`wsb backtest`: replay history through the engine and print (or report) the figures.

Heavy imports happen inside the command so `wsb --help` stays instant. The lead wires it in
with ``register(main)``.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _parse_value(text: str) -> Any:
    """A parameter value from the command line: JSON when it parses (numbers, true, lists),
    else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(items: tuple[str, ...], strategies: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        name, dot, field = key.partition(".")
        if not sep or not dot or not field:
            raise click.BadParameter(
                f"{item!r}: use STRATEGY.FIELD=VALUE, e.g. sma_cross.fast=20", param_hint="--param"
            )
        if name not in strategies:
            raise click.BadParameter(
                f"{item!r}: {name!r} is not among --strategy {','.join(strategies)}",
                param_hint="--param",
            )
        out.setdefault(name, {})[field] = _parse_value(value)
    return out


def _grid(items: tuple[str, ...]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise click.BadParameter(
                f"{item!r}: use FIELD=V1,V2,..., e.g. fast=5,10,20", param_hint="--sweep"
            )
        out[key] = [_parse_value(v) for v in values.split(",") if v]
    return out


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if pct:
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return str(value)


_PCT = {
    "total_return", "cagr", "volatility", "max_drawdown", "win_rate", "time_in_market",
    "avg_gross_exposure", "alpha", "benchmark_return",
}  # fmt: skip
_MONEY = {"start_equity", "end_equity", "avg_win", "avg_loss", "expectancy"}
_SESSIONS = {"max_drawdown_duration", "recovery_periods"}


def _summary_value(key: str, value: Any) -> str:
    """One figure of the text summary, with its unit."""
    if key == "recovery_periods" and value is None:
        return "not recovered"
    if key in _MONEY and isinstance(value, int | float) and math.isfinite(value):
        return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"
    if key in _SESSIONS and value is not None:
        return f"{value} sessions"
    return _fmt(value, key in _PCT)


def _print_result(result: Any) -> None:
    s = result.summary.to_dict()
    first, last = result.sessions[0], result.sessions[-1]
    click.echo(
        f"backtest {', '.join(result.config['strategies'])}: {first}..{last}, "
        f"{len(result.sessions)} sessions, step {result.step}, data {result.config['data']}"
    )
    width = max(len(k) for k in s)
    for key, value in s.items():
        click.echo(f"  {key:<{width}}  {_summary_value(key, value)}")
    click.echo("strategies:")
    for a in result.attribution:
        click.echo(f"  {a.strategy:<22} P&L ${a.pnl:>12,.2f}   contribution {a.contribution:+.2%}")
    checks = result.checks
    if checks.ok:
        click.echo("checks: ledger verified; equity = cash + marked positions every day; "
                   "strategies add up to the account")  # fmt: skip
    else:
        click.echo("checks FAILED:", err=True)
        for line in (*checks.ledger, *checks.equity, *checks.attribution)[:20]:
            click.echo(f"  {line}", err=True)
    for err in result.errors:
        click.echo(f"strategy error: {err}", err=True)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(
        f"{result.bars_processed:,} bars in {result.elapsed_seconds:.2f} s "
        f"({result.bars_per_second:,.0f} bars/s); fingerprint {result.fingerprint()[:16]}"
    )


def register(main: click.Group) -> None:
    """Add `wsb backtest` to the `wsb` command group."""

    @main.command("backtest")
    @click.option("--strategy", "strategy", required=True, help="NAME[,NAME...] or 'all'.")
    @click.option("--profile", default=None, help="Strategy profile (research_2024 | wsb_2025).")
    @click.option("--data", "data", default="sim", show_default=True,
                  help="sim | csv:DIR | yfinance")  # fmt: skip
    @click.option("--symbols", default=None, help="Comma list (default: the strategies' own).")
    @click.option("--start", type=_DATE, required=True, help="First session, YYYY-MM-DD.")
    @click.option("--end", type=_DATE, required=True, help="Last session, YYYY-MM-DD.")
    @click.option("--capital", default="100000", show_default=True, help="Starting cash ($).")
    @click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
    @click.option("--step", type=click.Choice(["auto", "day", "minute"]), default="auto",
                  show_default=True, help="Engine step: one tick per session (decides on the daily bar, fills at the close; a resting limit fills within the next session's range) or per minute.")  # fmt: skip
    @click.option("--benchmark", default="SPY", show_default=True)
    @click.option("--param", "params", multiple=True,
                  help="STRATEGY.FIELD=VALUE parameter override (repeatable).")  # fmt: skip
    @click.option("--sweep", "sweep", multiple=True,
                  help="FIELD=V1,V2,... grid for the first strategy (repeatable).")  # fmt: skip
    @click.option("--walk-forward", "walk", default=None,
                  help="TRAIN:TEST sessions for walk-forward splits of a sweep, e.g. 252:63.")  # fmt: skip
    @click.option("--metric", default="sharpe", show_default=True, help="Sweep ranking metric.")
    @click.option("--workers", type=click.IntRange(min=0), default=None,
                  help="Local sweep processes (default: one per CPU; 0 = in this process).")  # fmt: skip
    @click.option("--cluster", default=None,
                  help="Run the sweep on a Dask distributed scheduler at ADDRESS.")  # fmt: skip
    @click.option("--screen-top", type=int, default=None,
                  help="Screen the grid vectorised first; run the best N through the engine.")  # fmt: skip
    @click.option("--db", type=click.Path(path_type=Path, dir_okay=False), default=None,
                  help="Keep the run's SQLite store in this (new) file.")  # fmt: skip
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    @click.option("--verbose", is_flag=True, help="Show the engine's warnings while it runs.")
    @click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
                  default=None, help="Write report.html, trades.csv, daily.csv here.")  # fmt: skip
    def backtest(
        strategy: str,
        profile: str | None,
        data: str,
        symbols: str | None,
        start: Any,
        end: Any,
        capital: str,
        seed: int,
        step: str,
        benchmark: str,
        params: tuple[str, ...],
        sweep: tuple[str, ...],
        walk: str | None,
        metric: str,
        workers: int | None,
        cluster: str | None,
        screen_top: int | None,
        db: Path | None,
        as_json: bool,
        verbose: bool,
        report_dir: Path | None,
    ) -> None:
        """Backtest strategies through the engine (risk, paper fills, store) on history."""
        if not verbose:
            # Denials and broker rejections are part of a backtest's record (the store and the
            # result), not something to scroll past on the terminal.
            logging.getLogger("engine").setLevel(logging.ERROR)
        from engine.backtest.config import BacktestConfig, DataSpec, parse_symbols
        from engine.backtest.strategy_set import expand_names
        from engine.strategies.base import DEFAULT_PROFILE
        from engine.strategies.registry import UnknownStrategy

        try:
            names = expand_names(strategy)
        except UnknownStrategy as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--strategy") from None
        try:
            spec = DataSpec.parse(data)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--data") from None
        try:
            cash = Decimal(capital)
        except InvalidOperation:
            raise click.BadParameter(
                f"{capital!r} is not a number", param_hint="--capital"
            ) from None
        try:
            cfg = BacktestConfig(
                strategies=names,
                start=date.fromisoformat(start.date().isoformat()),
                end=date.fromisoformat(end.date().isoformat()),
                data=spec,
                symbols=parse_symbols(symbols),
                profile=profile or DEFAULT_PROFILE,
                capital=cash,
                seed=seed,
                step=step,
                benchmark=benchmark.upper(),
                params=_params(params, names),
            )
        except (ValueError, TypeError) as exc:
            raise click.UsageError(str(exc)) from None
        if cfg.data.kind == "yfinance":
            import asyncio

            from engine.backtest.runner import prepare_data

            try:
                cfg = asyncio.run(prepare_data(cfg))
            except (ValueError, OSError) as exc:
                raise click.ClickException(f"yfinance: {exc}") from None
        if sweep:
            _run_sweep(cfg, _grid(sweep), walk, metric, workers, cluster, screen_top, as_json)
            return
        _run_single(cfg, db, as_json, report_dir)


def _run_single(cfg: Any, db: Path | None, as_json: bool, report_dir: Path | None) -> None:
    from engine.backtest.runner import BacktestCancelled, run_backtest_sync

    bar: Any = None
    show = not as_json and sys.stderr.isatty()

    def progress(done: int, n: int, rec: Any) -> None:
        nonlocal bar
        if not show:
            return
        if bar is None:
            bar = click.progressbar(length=n, label="backtest", file=sys.stderr, show_pos=True)
            bar.__enter__()
        bar.label = f"{rec.session} equity ${rec.equity:,.0f}"
        bar.update(1)

    try:
        result = run_backtest_sync(cfg, progress=progress, db_path=db)
    except (ValueError, BacktestCancelled) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    files = None
    if report_dir is not None:
        from engine.backtest.report import write_report

        try:
            files = write_report(result, report_dir)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        out = result.to_dict(include_daily=False)
        if files is not None:
            out["report"] = {"html": str(files.html), "trades_csv": str(files.trades_csv)}
        click.echo(json.dumps(out, default=str))
    else:
        _print_result(result)
        if files is not None:
            click.echo(f"report: {files.html}  trades: {files.trades_csv}")
    if not result.checks.ok:
        sys.exit(1)


def _run_sweep(
    cfg: Any,
    grid: dict[str, list[Any]],
    walk: str | None,
    metric: str,
    workers: int | None,
    cluster: str | None,
    screen_top: int | None,
    as_json: bool,
) -> None:
    from engine.backtest.runner import build_source
    from engine.backtest.strategy_set import build_strategies
    from engine.backtest.sweep import (
        dask_executor,
        process_executor,
        run_sweep,
        serial_executor,
    )
    from engine.backtest.walkforward import walk_forward_splits

    splits: list[Any] = []
    if walk:
        train, _, test = walk.partition(":")
        try:
            n_train, n_test = int(train), int(test)
        except ValueError:
            raise click.BadParameter(f"{walk!r}: use TRAIN:TEST, e.g. 252:63",
                                     param_hint="--walk-forward") from None  # fmt: skip
        source = build_source(cfg, build_strategies(cfg.strategies, cfg.profile, cfg.params))
        try:
            splits = walk_forward_splits(source.sessions, train=n_train, test=n_test)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--walk-forward") from None
    if cluster:
        executor = dask_executor(cluster)
    elif workers == 0:
        executor = serial_executor
    else:
        executor = process_executor(workers)
    try:
        res = run_sweep(
            cfg, cfg.strategies[0], grid, splits=splits, metric=metric, executor=executor,
            screen_top=screen_top,
        )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    table = res.table()
    if as_json:
        click.echo(json.dumps({"strategy": res.strategy, "metric": metric,
                               "splits": [s.describe() for s in res.splits], "rows": table}))  # fmt: skip
        return
    click.echo(f"sweep {res.strategy}: {len(table)} cells ranked by in-sample {metric}"
               f"{'' if not splits else f' over {len(splits)} walk-forward splits'}")  # fmt: skip
    for row in table:
        click.echo(
            f"  #{row['rank']:<3} {json.dumps(row['params'], sort_keys=True):<40} "
            f"IS {_fmt(row[f'is_{metric}']):>8}  OOS {_fmt(row[f'oos_{metric}']):>8}  "
            f"Δ {_fmt(row['degradation']):>8}  trades {row['is_trades']}/{row['oos_trades']}"
        )


# ---------------------------------------------------------------------------------------
# The TUI's backtest: the form's values in, plain render-ready data out.
#
# The backtest screen sees engine *types* only (tests/wsb_tui/test_ui_import_contract.py),
# so everything that touches `engine.backtest` / `engine.analytics` lives here and runs in
# the screen's worker thread: the heavy imports (~2 s), the run and the figures.

TRADE_ROWS_MAX = 500


@dataclass(frozen=True, slots=True)
class BacktestForm:
    """What the person typed. Text fields are validated by `form_config`, each error naming
    the field, the value and what is allowed."""

    strategies: tuple[str, ...]
    profile: str
    data: str = "sim"
    symbols: str = ""
    start: str = ""
    end: str = ""
    capital: str = "100000"
    seed: str = "7"


def _form_date(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a date; use YYYY-MM-DD") from None


def check_form(form: BacktestForm) -> list[str]:
    """Problems found without importing the engine (so the UI can answer instantly)."""
    problems: list[str] = []
    if not form.strategies:
        problems.append("strategies: pick at least one (or all)")
    data = form.data.strip()
    if not (data == "sim" or (data.startswith("csv:") and len(data) > 4)):
        problems.append(f"data: {form.data!r}: use 'sim' or 'csv:DIR' (a folder of SYMBOL.csv)")
    dates: list[date] = []
    for name, text in (("start", form.start), ("end", form.end)):
        try:
            dates.append(_form_date(name, text))
        except ValueError as exc:
            problems.append(str(exc))
    if len(dates) == 2 and dates[1] < dates[0]:
        problems.append(f"end: {form.end} is before start {form.start}")
    try:
        cash = Decimal(form.capital.replace(",", "").replace("$", "").strip())
        if not cash.is_finite() or cash <= 0:
            problems.append(f"capital: {form.capital!r} must be a number > 0")
    except InvalidOperation:
        problems.append(f"capital: {form.capital!r} is not a number")
    if not form.seed.strip().isdigit():
        problems.append(f"seed: {form.seed!r} must be a whole number >= 0")
    return problems


def form_config(form: BacktestForm) -> Any:
    """The `BacktestConfig` for `form` (imports the engine: call it off the UI thread)."""
    problems = check_form(form)
    if problems:
        raise ValueError("; ".join(problems))
    from engine.backtest.config import BacktestConfig, DataSpec, parse_symbols
    from engine.backtest.strategy_set import expand_names
    from engine.strategies.registry import UnknownStrategy

    try:
        names = expand_names(list(form.strategies))
    except UnknownStrategy as exc:
        raise ValueError(f"strategies: {exc.args[0]}") from None
    spec = DataSpec.parse(form.data)
    if spec.directory is not None and not spec.directory.is_dir():
        raise ValueError(f"data: {spec.directory} is not a folder")
    return BacktestConfig(
        strategies=names,
        start=_form_date("start", form.start),
        end=_form_date("end", form.end),
        data=spec,
        symbols=parse_symbols(form.symbols),
        profile=form.profile,
        capital=Decimal(form.capital.replace(",", "").replace("$", "").strip()),
        seed=int(form.seed),
    )


def strategy_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the registry's strategies, which 'all' means; the backtest examples)."""
    from engine.backtest.strategy_set import EXAMPLES
    from engine.strategies.registry import available

    return available(), tuple(EXAMPLES)


@dataclass(frozen=True, slots=True)
class Figure:
    label: str
    text: str
    sign: int = 0  # colour: +1 gain, -1 loss, 0 plain


@dataclass(frozen=True, slots=True)
class TradeRow:
    key: str
    strategy: str
    symbol: str
    side: str
    quantity: int
    entry: str
    entry_price: float
    exit: str
    exit_price: float | None
    pnl: float
    return_pct: float


@dataclass(frozen=True, slots=True)
class BacktestView:
    """A finished (or cancelled) backtest as plain values the screen draws."""

    title: str
    sessions: tuple[str, ...]  # ISO dates
    equity: tuple[float, ...]  # closing equity per session
    benchmark: tuple[float, ...] | None  # benchmark scaled to the starting equity
    benchmark_name: str | None
    drawdown_pct: tuple[float, ...]  # per session, <= 0
    monthly: dict[tuple[int, int], float]
    figures: tuple[Figure, ...]
    trades: tuple[TradeRow, ...]
    trades_total: int
    attribution: tuple[tuple[str, float, float], ...]  # strategy, P&L $, contribution
    sessions_done: int
    sessions_total: int
    checks_ok: bool
    fingerprint: str
    notes: tuple[str, ...] = ()

    @property
    def cancelled(self) -> bool:
        return self.sessions_done < self.sessions_total


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """What the worker hands back: a view, or an error to show in the status line."""

    view: BacktestView | None
    error: str = ""


def _fig(label: str, value: Any, kind: str = "", signed: bool = False) -> Figure:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Figure(label, "—")
    v = float(value)
    sign = (1 if v > 0 else -1 if v < 0 else 0) if signed else 0
    if kind == "pct":
        text = f"{v * 100:+.2f}%" if signed else f"{v * 100:.2f}%"
    elif kind == "money":
        text = f"{'-' if v < 0 else ''}${abs(v):,.2f}"
    elif kind == "int":
        text = f"{int(v):,}"
    else:
        text = f"{v:,.2f}"
    return Figure(label, text, sign)


def backtest_view(result: Any, sessions_total: int | None = None) -> BacktestView:
    """Render-ready data from a `BacktestResult` (uses `engine.analytics`)."""
    from engine.analytics import drawdown_series, monthly_returns

    s = result.summary
    eq = result.equity_curve
    closes = [d.benchmark_close for d in result.daily]
    bench: tuple[float, ...] | None = None
    first = next((c for c in closes if c is not None), None)
    if result.benchmark and first:
        bench = tuple(math.nan if c is None else result.start_equity * c / first for c in closes)
    dd = drawdown_series(eq) * 100.0
    trips = list(result.trades)
    rows = tuple(
        TradeRow(
            key=f"t{i}",
            strategy=t.strategy,
            symbol=t.symbol,
            side="long" if t.direction > 0 else "short",
            quantity=t.quantity,
            entry=f"{t.entry_ts:%Y-%m-%d}",
            entry_price=t.entry_price,
            exit=f"{t.exit_ts:%Y-%m-%d}" if t.exit_ts is not None else "open",
            exit_price=t.exit_price,
            pnl=t.pnl,
            return_pct=t.return_pct,
        )
        for i, t in enumerate(trips[:TRADE_ROWS_MAX])
    )
    figures = (
        _fig("Total return", s.total_return, "pct", signed=True),
        _fig("Annualised", s.cagr, "pct", signed=True),
        _fig("Volatility", s.volatility, "pct"),
        _fig("Sharpe", s.sharpe, signed=True),
        _fig("Sortino", s.sortino, signed=True),
        _fig("Calmar", s.calmar, signed=True),
        _fig("Max drawdown", -s.max_drawdown, "pct", signed=True),
        _fig("DD length (sessions)", s.max_drawdown_duration, "int"),
        _fig("Closed trades", s.trades, "int"),
        _fig("Win rate", s.win_rate, "pct"),
        _fig("Profit factor", s.profit_factor),
        _fig("Avg win", s.avg_win, "money", signed=True),
        _fig("Avg loss", s.avg_loss, "money", signed=True),
        _fig("Alpha (ann.)", s.alpha, "pct", signed=True),
        _fig("Beta", s.beta),
        _fig(f"{result.benchmark or 'Benchmark'} return", s.benchmark_return, "pct", signed=True),
        _fig("End equity", s.end_equity, "money"),
    )
    names = ", ".join(result.config.get("strategies", []))
    return BacktestView(
        title=f"{names} · {result.config.get('data')} · {result.config.get('profile')}",
        sessions=tuple(d.isoformat() for d in result.sessions),
        equity=tuple(d.equity for d in result.daily),
        benchmark=bench,
        benchmark_name=result.benchmark,
        drawdown_pct=tuple(float(x) for x in dd[1:]),
        monthly=monthly_returns(result.sessions, eq),
        figures=figures,
        trades=rows,
        trades_total=len(trips),
        attribution=tuple((a.strategy, a.pnl, a.contribution) for a in result.attribution),
        sessions_done=len(result.sessions),
        sessions_total=sessions_total or len(result.sessions),
        checks_ok=result.checks.ok,
        fingerprint=result.fingerprint(),
        notes=(*result.errors, *result.notes),
    )


def run_backtest_for_tui(
    form: BacktestForm,
    progress: Callable[[int, int, str, float], None],
    cancelled: Callable[[], bool],
) -> BacktestOutcome:
    """Build, run and render one backtest; blocking, for a worker thread. Never raises for
    a bad form or a failed run: the outcome carries the message instead."""
    try:
        cfg = form_config(form)
    except (ValueError, TypeError) as exc:
        return BacktestOutcome(None, str(exc))
    from engine.backtest.runner import BacktestCancelled, run_backtest_sync

    total = 0

    def on_session(done: int, n: int, rec: Any) -> None:
        nonlocal total
        total = n
        progress(done, n, rec.session.isoformat(), rec.equity)

    # The engine loggers' levels are left alone: a live engine may share this process.
    try:
        result = run_backtest_sync(cfg, progress=on_session, cancel=cancelled)
    except BacktestCancelled:
        return BacktestOutcome(None, "cancelled before the first session")
    except Exception as exc:  # shown in the status line, never as a traceback
        return BacktestOutcome(None, f"backtest failed: {type(exc).__name__}: {exc}")
    return BacktestOutcome(backtest_view(result, total or None))
