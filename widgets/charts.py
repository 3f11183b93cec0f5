"""Charts via textual-plotext: a strategy's P&L curve and a symbol's price with trade marks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from textual_plotext import PlotextPlot

from engine.domain import Bar

ChartStyle = Literal["candles", "line"]
DATE_FORM = "Y-m-d"


@dataclass(frozen=True, slots=True)
class TradeMark:
    """One entry or exit to draw on the price chart."""

    day: date
    price: float
    is_entry: bool
    label: str = ""


class EquityChart(PlotextPlot):
    """A P&L (or equity) curve, newest last."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._series: tuple[float, ...] = ()
        self._series_title = ""

    def set_series(self, values: Sequence[float], title: str = "P&L") -> None:
        vals = tuple(float(v) for v in values)
        if vals == self._series and title == self._series_title:
            return
        self._series, self._series_title = vals, title
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        if vals:
            plt.plot(list(range(1, len(vals) + 1)), list(vals), marker="braille")
            plt.xlabel("day")
        else:
            plt.title(f"{title}: no history yet")
        self.refresh()


class PriceChart(PlotextPlot):
    """Daily bars as candles or a close line, entries (▲) and exits (▼) marked."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.style_kind: ChartStyle = "candles"
        self.symbol = ""
        self._bars: tuple[Bar, ...] = ()
        self._marks: tuple[TradeMark, ...] = ()

    def set_data(
        self,
        symbol: str,
        bars: Sequence[Bar],
        marks: Sequence[TradeMark] = (),
        style: ChartStyle | None = None,
    ) -> None:
        self.symbol = symbol
        self._bars = tuple(bars)
        self._marks = tuple(marks)
        if style is not None:
            self.style_kind = style
        self._draw()

    def toggle_style(self) -> ChartStyle:
        self.style_kind = "line" if self.style_kind == "candles" else "candles"
        self._draw()
        return self.style_kind

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.date_form(DATE_FORM)
        if not self._bars:
            plt.title(f"{self.symbol or 'no symbol'}: no bars")
            self.refresh()
            return
        dates = [f"{b.start:%Y-%m-%d}" for b in self._bars]
        if self.style_kind == "candles":
            plt.candlestick(
                dates,
                {
                    "Open": [b.open for b in self._bars],
                    "Close": [b.close for b in self._bars],
                    "High": [b.high for b in self._bars],
                    "Low": [b.low for b in self._bars],
                },
                colors=["green", "red"],
            )
        else:
            plt.plot(dates, [b.close for b in self._bars], marker="braille", label="close")
        first, last = self._bars[0].start.date(), self._bars[-1].start.date()
        entries = [m for m in self._marks if first <= m.day <= last and m.is_entry]
        exits = [m for m in self._marks if first <= m.day <= last and not m.is_entry]
        if entries:
            plt.scatter(
                [f"{m.day:%Y-%m-%d}" for m in entries],
                [m.price for m in entries],
                marker="▲",
                color="cyan",
                label="entry",
            )
        if exits:
            plt.scatter(
                [f"{m.day:%Y-%m-%d}" for m in exits],
                [m.price for m in exits],
                marker="▼",
                color="magenta",
                label="exit",
            )
        plt.title(f"{self.symbol} daily ({self.style_kind})")
        self.refresh()
