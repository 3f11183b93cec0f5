"""`write_report`: a backtest as one self-contained HTML file plus CSVs of trades and days.

Charts are static PNGs drawn with matplotlib (Agg, no display) and embedded as data URIs, so
the report opens offline, by double-click, anywhere: equity against the benchmark, drawdown,
monthly returns heat-map and each strategy's cumulative P&L. matplotlib is an optional
dependency of the backtester (`pip install matplotlib`).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.analytics import drawdown_series, monthly_returns
from engine.backtest.result import BacktestResult

MAX_TRADE_ROWS = 500
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path
    trades_csv: Path
    daily_csv: Path


def _figure(width: float = 10.0, height: float = 3.6) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RuntimeError("--report needs matplotlib: pip install matplotlib") from exc
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _dates(result: BacktestResult) -> list[Any]:
    # One point before the first session (starting equity), then each session.
    if not result.sessions:
        return []
    first = result.sessions[0]
    return [first, *result.sessions]


def equity_chart(result: BacktestResult) -> str:
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    xs = _dates(result)
    eq = result.equity_curve
    ax.plot(xs, eq, color="#1f77b4", linewidth=1.4, label="strategy equity")
    closes = [d.benchmark_close for d in result.daily]
    if result.benchmark and any(c is not None for c in closes):
        first = next(c for c in closes if c is not None)
        scaled = [math.nan if c is None else result.start_equity * c / first for c in closes]
        ax.plot(
            xs[1:], scaled, color="#7f7f7f", linewidth=1.0, label=f"{result.benchmark} (scaled)"
        )
    ax.set_title("Equity vs benchmark")
    ax.set_ylabel("$")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return _png(fig)


def drawdown_chart(result: BacktestResult) -> str:
    fig = _figure(height=2.6)
    ax = fig.add_subplot(1, 1, 1)
    dd = drawdown_series(result.equity_curve) * 100.0
    xs = _dates(result)
    ax.fill_between(xs, dd, 0.0, color="#d62728", alpha=0.4, linewidth=0)
    ax.plot(xs, dd, color="#d62728", linewidth=0.8)
    ax.set_title("Drawdown")
    ax.set_ylabel("% below peak")
    ax.grid(alpha=0.3)
    return _png(fig)


def monthly_heatmap(result: BacktestResult) -> str:
    months = monthly_returns(result.sessions, result.equity_curve)
    years = sorted({y for y, _ in months}) or [0]
    grid = np.full((len(years), 12), np.nan)
    for (y, m), r in months.items():
        grid[years.index(y), m - 1] = r * 100.0
    fig = _figure(height=max(1.6, 0.45 * len(years) + 1.0))
    ax = fig.add_subplot(1, 1, 1)
    finite = grid[np.isfinite(grid)]
    span = max(float(np.abs(finite).max()) if finite.size else 1.0, 0.01)
    im = ax.imshow(grid, cmap="RdYlGn", vmin=-span, vmax=span, aspect="auto")
    ax.set_xticks(range(12), _MONTHS)
    ax.set_yticks(range(len(years)), [str(y) for y in years])
    for i in range(len(years)):
        for j in range(12):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="% return")
    ax.set_title("Monthly returns (%)")
    return _png(fig)


def strategy_chart(result: BacktestResult) -> str:
    fig = _figure(height=3.0)
    ax = fig.add_subplot(1, 1, 1)
    names = [a.strategy for a in result.attribution]
    xs = list(result.sessions)
    for name in names:
        ax.plot(
            xs, [d.strategy_pnl.get(name, 0.0) for d in result.daily], linewidth=1.0, label=name
        )
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_title("Cumulative P&L by strategy")
    ax.set_ylabel("$")
    ax.grid(alpha=0.3)
    if names:
        ax.legend(loc="upper left", fontsize=7, ncol=2)
    return _png(fig)


def _fmt(value: Any, kind: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if kind == "pct":
        return f"{value * 100:,.2f}%"
    if kind == "money":
        return f"${value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return html.escape(str(value))


_SUMMARY_ROWS = (
    ("Total return", "total_return", "pct"),
    ("CAGR", "cagr", "pct"),
    ("Volatility (ann.)", "volatility", "pct"),
    ("Sharpe", "sharpe", ""),
    ("Sortino", "sortino", ""),
    ("Calmar", "calmar", ""),
    ("Max drawdown", "max_drawdown", "pct"),
    ("Max drawdown duration (sessions)", "max_drawdown_duration", ""),
    ("Recovery of deepest drawdown (sessions)", "recovery_periods", ""),
    ("Closed trades", "trades", ""),
    ("Win rate", "win_rate", "pct"),
    ("Profit factor", "profit_factor", ""),
    ("Average win", "avg_win", "money"),
    ("Average loss", "avg_loss", "money"),
    ("Time in market", "time_in_market", "pct"),
    ("Average gross exposure", "avg_gross_exposure", "pct"),
    ("Turnover (ann., x equity)", "turnover", ""),
    ("Alpha (ann.)", "alpha", "pct"),
    ("Beta", "beta", ""),
    ("Benchmark return", "benchmark_return", "pct"),
)


def render_html(result: BacktestResult) -> str:
    s = result.summary
    cfg = result.config
    rows = "".join(
        f"<tr><th>{label}</th><td>{_fmt(getattr(s, attr), kind)}</td></tr>"
        for label, attr, kind in _SUMMARY_ROWS
    )
    attr_rows = "".join(
        f"<tr><td>{html.escape(a.strategy)}</td><td>{_fmt(a.pnl, 'money')}</td>"
        f"<td>{_fmt(a.share, 'pct')}</td><td>{_fmt(a.contribution, 'pct')}</td>"
        f"<td>{_fmt(a.sharpe)}</td><td>{_fmt(a.max_drawdown_dollars, 'money')}</td></tr>"
        for a in result.attribution
    )
    closed = [t for t in result.trades if t.closed]
    trade_rows = "".join(
        f"<tr><td>{html.escape(t.strategy)}</td><td>{html.escape(t.symbol)}</td>"
        f"<td>{'long' if t.direction > 0 else 'short'}</td><td>{t.quantity}</td>"
        f"<td>{t.entry_ts:%Y-%m-%d}</td><td>{_fmt(t.entry_price)}</td>"
        f"<td>{t.exit_ts:%Y-%m-%d}</td><td>{_fmt(t.exit_price)}</td>"
        f"<td class='{'pos' if t.pnl > 0 else 'neg'}'>{_fmt(t.pnl, 'money')}</td></tr>"
        for t in closed[:MAX_TRADE_ROWS]
        if t.exit_ts is not None
    )
    more = (
        f"<p>Showing {MAX_TRADE_ROWS} of {len(closed)} closed trades; all are in trades.csv.</p>"
        if len(closed) > MAX_TRADE_ROWS
        else ""
    )
    checks = result.checks
    check_text = (
        "all consistent: ledger verified, equity = cash + marked positions every day, "
        "strategies add up to the account"
        if checks.ok
        else "<br>".join(
            html.escape(x) for x in (*checks.ledger, *checks.equity, *checks.attribution)[:20]
        )
    )
    errors = "".join(f"<li>{html.escape(e)}</li>" for e in result.errors)
    title = f"Backtest: {', '.join(cfg.get('strategies', []))}"
    start = result.sessions[0] if result.sessions else "?"
    end = result.sessions[-1] if result.sessions else "?"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 24px;
       color: #222; max-width: 1100px; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 28px; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.grid {{ display: grid; grid-template-columns: 340px 1fr; gap: 24px; align-items: start; }}
.pos {{ color: #2a7a2a; }} .neg {{ color: #b22; }}
img {{ max-width: 100%; }} .muted {{ color: #666; font-size: 12px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">{start} .. {end} · {len(result.sessions)} sessions · step {result.step} ·
data {html.escape(str(cfg.get("data")))} · profile {html.escape(str(cfg.get("profile")))} ·
capital ${float(result.start_equity):,.0f} · seed {cfg.get("seed")} ·
{result.bars_processed:,} bars in {result.elapsed_seconds:.2f} s</p>
<div class="grid"><table>{rows}</table>
<div><img alt="equity" src="{equity_chart(result)}">
<img alt="drawdown" src="{drawdown_chart(result)}"></div></div>
<h2>Monthly returns</h2><img alt="monthly returns" src="{monthly_heatmap(result)}">
<h2>Strategies</h2>
<table><tr><th>strategy</th><th>P&amp;L</th><th>share</th><th>contribution</th>
<th>Sharpe</th><th>max DD</th></tr>{attr_rows}</table>
<img alt="strategy P&L" src="{strategy_chart(result)}">
<h2>Trades</h2>{more}
<table><tr><th>strategy</th><th>symbol</th><th>side</th><th>qty</th><th>entry</th><th>price</th>
<th>exit</th><th>price</th><th>P&amp;L</th></tr>{trade_rows}</table>
<h2>Checks</h2><p>{check_text}</p>
{f"<h2>Strategy errors</h2><ul>{errors}</ul>" if errors else ""}
<h2>Model</h2><p class="muted">{html.escape(result.model)}</p>
<p class="muted">Fingerprint {result.fingerprint()}</p>
</body></html>
"""


def write_trades_csv(result: BacktestResult, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "strategy", "symbol", "kind", "direction", "quantity", "entry_ts", "entry_price",
                "exit_ts", "exit_price", "pnl", "commission", "return_pct", "holding_days",
            ]
        )  # fmt: skip
        for t in result.trades:
            w.writerow(
                [
                    t.strategy,
                    t.symbol,
                    t.kind,
                    "long" if t.direction > 0 else "short",
                    t.quantity,
                    t.entry_ts.isoformat(),
                    f"{t.entry_price:.4f}",
                    t.exit_ts.isoformat() if t.exit_ts else "",
                    f"{t.exit_price:.4f}" if t.exit_price is not None else "",
                    f"{t.pnl:.2f}",
                    f"{t.commission:.2f}",
                    f"{t.return_pct:.6f}" if math.isfinite(t.return_pct) else "",
                    f"{t.holding_days:.2f}" if t.holding_days is not None else "",
                ]
            )


def write_daily_csv(result: BacktestResult, path: Path) -> None:
    names = [a.strategy for a in result.attribution]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["session", "equity", "cash", "gross_exposure", "benchmark_close", *names])
        for d in result.daily:
            w.writerow(
                [
                    d.session.isoformat(),
                    f"{d.equity:.2f}",
                    f"{d.cash:.2f}",
                    f"{d.gross_exposure:.2f}",
                    "" if d.benchmark_close is None else f"{d.benchmark_close:.4f}",
                    *(f"{d.strategy_pnl.get(n, 0.0):.2f}" for n in names),
                ]
            )


def write_report(result: BacktestResult, directory: Path) -> ReportFiles:
    """Write report.html, trades.csv and daily.csv into `directory` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(
        directory / "report.html", directory / "trades.csv", directory / "daily.csv"
    )
    files.html.write_text(render_html(result), encoding="utf-8")
    write_trades_csv(result, files.trades_csv)
    write_daily_csv(result, files.daily_csv)
    return files
