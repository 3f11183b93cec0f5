"""Backtest charts via textual-plotext: equity against the benchmark, and the drawdown."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot

DATE_FORM = "Y-m-d"


def _finite(xs: Sequence[str], ys: Sequence[float]) -> tuple[list[str], list[float]]:
    pairs = [(x, y) for x, y in zip(xs, ys, strict=False) if math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class BacktestEquityChart(PlotextPlot):
    """Closing equity per session, with the benchmark scaled to the same starting equity."""

    def set_data(
        self,
        sessions: Sequence[str],
        equity: Sequence[float],
        benchmark: Sequence[float] | None = None,
        benchmark_name: str | None = None,
    ) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.date_form(DATE_FORM)
        if not sessions:
            plt.title("equity: run a backtest")
            self.refresh()
            return
        plt.plot(list(sessions), list(equity), marker="braille", label="strategy")
        if benchmark is not None:
            xs, ys = _finite(sessions, benchmark)
            if xs:
                plt.plot(xs, ys, marker="braille", label=f"{benchmark_name or 'benchmark'}")
        plt.title("Equity vs benchmark ($)")
        self.refresh()


class DrawdownChart(PlotextPlot):
    """Percent below the running peak, per session (0 at a new high)."""

    def set_data(self, sessions: Sequence[str], drawdown_pct: Sequence[float]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.date_form(DATE_FORM)
        if not sessions:
            plt.title("drawdown: run a backtest")
            self.refresh()
            return
        xs, ys = _finite(sessions, drawdown_pct)
        plt.plot(xs, ys, marker="braille", fillx=True, color="red")
        plt.title("Drawdown (% below peak)")
        self.refresh()
