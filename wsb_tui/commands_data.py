"""`wsb data fetch SYMBOL... --start --end` fills the yfinance cache; `wsb data ls` shows it.

`register(main)` adds the `data` group to the `wsb` command line. Heavy imports (pandas,
yfinance) happen inside the commands so `wsb --help` stays instant.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

_INTERVALS = ("1d", "1h", "15m", "5m", "1m")


def _symbols(values: tuple[str, ...]) -> list[str]:
    from engine.domain import Equity

    out = []
    for raw in values:
        sym = raw.strip().upper()
        try:
            Equity(sym)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="SYMBOL") from None
        out.append(sym)
    return list(dict.fromkeys(out))


def _history(cache_dir: Path | None) -> Any:
    from engine.data.yfinance_history import YFinanceClient, YFinanceHistory

    return YFinanceHistory(source=YFinanceClient(), cache_dir=cache_dir)


cache_option = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Cache directory (default: the user cache dir, or $WSB_CACHE_DIR).",
)


def register(main: click.Group) -> None:
    """Add `wsb data ...` to the main command group."""

    @main.group("data")
    def data() -> None:
        """Market data history cache (yfinance)."""

    @data.command("fetch")
    @click.argument("symbols", nargs=-1, required=True)
    @click.option(
        "--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD."
    )
    @click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: today).")
    @click.option(
        "--interval", type=click.Choice(_INTERVALS), default="1d", show_default=True,
        help="Bar size. Yahoo keeps 1m bars for 7 days and 5m/15m for 60.",
    )  # fmt: skip
    @cache_option
    def fetch(
        symbols: tuple[str, ...],
        start: datetime,
        end: datetime | None,
        interval: str,
        cache_dir: Path | None,
    ) -> None:
        """Download SYMBOL... history into the local cache (a second run reads locally)."""
        from engine.data.protocol import DataUnavailable
        from engine.domain import BarInterval

        syms = _symbols(symbols)
        first: date = start.date()
        last: date = end.date() if end is not None else datetime.now(UTC).date()
        if last < first:
            raise click.BadParameter(f"--end {last} is before --start {first}", param_hint="--end")
        hist = _history(cache_dir)
        try:
            counts = asyncio.run(hist.fetch(syms, first, last, BarInterval(interval)))
        except (DataUnavailable, OSError, ValueError) as exc:
            click.echo(f"data fetch failed: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:  # network errors from yfinance have many types
            click.echo(f"data fetch failed ({type(exc).__name__}): {exc}", err=True)
            sys.exit(1)
        for sym in syms:
            click.echo(f"{sym:<8} {interval:>3}  {counts.get(sym, 0):>6} rows  {first} .. {last}")
        if not any(counts.values()):
            click.echo("no rows stored: no data for these symbols and dates", err=True)
            sys.exit(1)
        click.echo(f"cache: {hist.cache_dir}")

    @data.command("ls")
    @cache_option
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    def ls(cache_dir: Path | None, as_json: bool) -> None:
        """What the cache holds: symbol, interval, first and last bar, rows, fetched."""
        hist = _history(cache_dir)
        entries = hist.cache_summary()
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "symbol": e.symbol,
                            "interval": e.interval,
                            "first": e.first.isoformat(),
                            "last": e.last.isoformat(),
                            "rows": e.rows,
                            "fetched_at": e.fetched_at.isoformat() if e.fetched_at else None,
                        }
                        for e in entries
                    ]
                )
            )
            return
        if not entries:
            click.echo(f"cache empty: {hist.cache_dir}")
            return
        click.echo(f"{'symbol':<8} {'int':>3}  {'first':<16} {'last':<16} {'rows':>7}  fetched")
        for e in entries:
            fetched = f"{e.fetched_at:%Y-%m-%d %H:%M}" if e.fetched_at else "-"
            click.echo(
                f"{e.symbol:<8} {e.interval:>3}  {e.first:%Y-%m-%d %H:%M} {e.last:%Y-%m-%d %H:%M} "
                f"{e.rows:>7}  {fetched}"
            )
        click.echo(f"cache: {hist.cache_dir}")
