"""Price chart for a symbol (daily candles or a close line) with fills marked: ▲ buys
(entries), ▼ sells (exits). Option fills are marked at the underlying's close that day."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical

from engine.domain import Bar, Equity, Side
from widgets.charts import PriceChart, TradeMark
from wsb_tui.bindings import bindings
from wsb_tui.screens.base import DeskScreen
from wsb_tui.screens.dialogs import PromptDialog

BARS = 120


class ChartScreen(DeskScreen):
    SCOPE = "chart"
    BINDINGS = bindings("chart")

    def __init__(self, symbol: str) -> None:
        super().__init__(id="chart-screen")
        self.symbol = symbol.upper()
        self.bars: tuple[Bar, ...] = ()

    def compose(self) -> ComposeResult:
        yield from self.compose_header()
        with Vertical(id="chart-box", classes="box"):
            yield PriceChart(id="price-chart")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, group="chart", name="price chart")
    async def _load(self) -> None:
        box = self.query_one("#chart-box")
        box.border_title = f"{self.symbol} · loading…"
        try:
            bars = tuple(await self.wsb.client.daily_bars(self.symbol, BARS))
        except Exception as exc:
            bars = ()
            self.notify(f"bars for {self.symbol}: {exc}", severity="error")
        self.bars = bars
        self._draw()

    def marks(self) -> list[TradeMark]:
        closes = {b.start.date(): b.close for b in self.bars}
        out: list[TradeMark] = []
        for f in self.wsb.desk.fills.values():
            if f.instrument.underlying != self.symbol:
                continue
            day = f.ts.date()
            px = float(f.price) if isinstance(f.instrument, Equity) else closes.get(day)
            if px is None:
                continue
            out.append(TradeMark(day, px, f.side is Side.BUY, f.strategy or "manual"))
        return out

    def _draw(self) -> None:
        marks = self.marks()
        chart = self.query_one(PriceChart)
        chart.set_data(self.symbol, self.bars, marks)
        box = self.query_one("#chart-box")
        box.border_title = f"{self.symbol} · {len(self.bars)} days"
        box.border_subtitle = f"{chart.style_kind} · ▲ entry ▼ exit · {len(marks)} fills"

    def render_desk(self, topics: set[str]) -> None:
        super().render_desk(topics)
        if "fills" in topics and self.bars:
            self._draw()

    def action_toggle_style(self) -> None:
        self.query_one(PriceChart).toggle_style()
        self._draw()

    def action_cycle(self, step: int) -> None:
        symbols = self.wsb.desk.underlyings() or [self.symbol]
        i = symbols.index(self.symbol) if self.symbol in symbols else -1
        self.symbol = symbols[(i + step) % len(symbols)]
        self._load()

    def action_ask_symbol(self) -> None:
        def chosen(symbol: str | None) -> None:
            if symbol:
                self.symbol = symbol
                self._load()

        self.app.push_screen(PromptDialog("Chart symbol", value=self.symbol), chosen)
