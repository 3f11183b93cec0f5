"""Live analytics: rolling Sharpe, drawdown from the peak and per-strategy P&L, as text.

The widget only draws `LiveFigures`; the desk computes them (off the paint path) from the
equity and strategy P&L the engine's snapshots and events carry. With a `strategy` it shows
that strategy first (strategy screen); without, the account and the best and worst strategy
(dashboard). One line when squeezed (80 x 24), a few lines otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from widgets.format import compact_money, money, pct
from widgets.styles import SignalStyles, ThemeAware


@dataclass(frozen=True, slots=True)
class StrategyFigures:
    """One strategy, from its end-of-day P&L history and its P&L now.

    * `sharpe`: rolling Sharpe of its daily P&L over the account's equity (NaN until the
      window has filled).
    * `drawdown`: dollars below the highest P&L it has had (>= 0).
    * `day_pnl`: P&L now minus its last end-of-day P&L (None without history).
    """

    name: str
    title: str
    pnl: float
    day_pnl: float | None
    sharpe: float
    drawdown: float
    days: int


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """The account's figures. `drawdown` is a fraction <= 0 (equity / peak - 1); `sharpe`
    is NaN until `points` reaches `needed`; `basis` says what it was computed on."""

    equity: float | None
    peak: float | None
    drawdown: float
    sharpe: float
    basis: str  # e.g. "20d" (daily closes) or "5m" (intraday buckets)
    points: int
    needed: int
    strategies: tuple[StrategyFigures, ...] = ()

    def strategy(self, name: str) -> StrategyFigures | None:
        return next((s for s in self.strategies if s.name == name), None)


def ratio_text(x: float) -> str:
    return f"{x:+.2f}" if math.isfinite(x) else "—"


class LiveAnalyticsPanel(ThemeAware, Widget):
    DEFAULT_CSS = """
    LiveAnalyticsPanel { height: auto; min-height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self, *, strategy: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.strategy = strategy
        self.figures: LiveFigures | None = None

    def show(self, figures: LiveFigures) -> None:
        if figures != self.figures:
            self.figures = figures
            # The height depends on the -compact class only, never on the figures: a plain
            # repaint, not a layout pass over the whole dashboard.
            self.refresh()

    def follow(self, strategy: str) -> None:
        self.strategy = strategy
        self.refresh(layout=True)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        if self.has_class("-compact"):
            return 1
        return 3

    def render(self) -> RenderResult:
        st = self.theme_styles
        f = self.figures
        if f is None:
            return Text("analytics: waiting for equity history…", style=st.muted)
        if self.has_class("-compact") or self.size.height <= 1:
            return self._one_line(f, st)
        if self.strategy:
            return self._strategy_lines(f, st)
        return self._account_lines(f, st)

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _sharpe(t: Text, f: LiveFigures, st: SignalStyles, label: str = "Sharpe") -> None:
        t.append(f"{label} {f.basis} ", style=st.muted)
        if math.isfinite(f.sharpe):
            t.append(ratio_text(f.sharpe), style=st.for_sign(1 if f.sharpe > 0 else -1))
        else:
            t.append(f"— ({f.points}/{f.needed})", style=st.muted)

    @staticmethod
    def _dd(t: Text, f: LiveFigures, st: SignalStyles) -> None:
        t.append("DD ", style=st.muted)
        t.append(pct(f.drawdown), style=st.loss if f.drawdown < -5e-5 else st.gain)

    @staticmethod
    def _extremes(f: LiveFigures) -> tuple[StrategyFigures | None, StrategyFigures | None]:
        if not f.strategies:
            return None, None
        ranked = sorted(f.strategies, key=lambda s: (s.pnl, s.name))
        return ranked[-1], ranked[0]

    def _one_line(self, f: LiveFigures, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        if self.strategy and (s := f.strategy(self.strategy)) is not None:
            t.append(f"{s.title} ", style=st.muted)
            t.append(compact_money(s.pnl, signed=True), style=st.for_sign(_sign(s.pnl)))
            t.append(f"  Sharpe20d {ratio_text(s.sharpe)}  ", style=st.muted)
        self._sharpe(t, f, st)
        t.append("  ")
        self._dd(t, f, st)
        best, worst = self._extremes(f)
        if best is not None and worst is not None and not self.strategy:
            t.append("  best ", style=st.muted)
            t.append(f"{best.title} {compact_money(best.pnl, signed=True)}", style=st.gain)
            t.append("  worst ", style=st.muted)
            t.append(f"{worst.title} {compact_money(worst.pnl, signed=True)}", style=st.loss)
        return t

    def _account_lines(self, f: LiveFigures, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        self._sharpe(t, f, st)
        t.append("   ")
        self._dd(t, f, st)
        t.append(" from peak ", style=st.muted)
        t.append(compact_money(f.peak))
        best, worst = self._extremes(f)
        total = sum(s.pnl for s in f.strategies)
        t.append("\nstrategies ", style=st.muted)
        t.append(money(total, signed=True, cents=False), style=st.for_sign(_sign(total)))
        day = [s.day_pnl for s in f.strategies if s.day_pnl is not None]
        if day:
            t.append("  today ", style=st.muted)
            t.append(compact_money(sum(day), signed=True), style=st.for_sign(_sign(sum(day))))
        if best is not None and worst is not None:
            t.append("\nbest ", style=st.muted)
            t.append(f"{best.title} {compact_money(best.pnl, signed=True)}", style=st.gain)
            t.append("  worst ", style=st.muted)
            t.append(f"{worst.title} {compact_money(worst.pnl, signed=True)}", style=st.loss)
        return t

    def _strategy_lines(self, f: LiveFigures, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        s = f.strategy(self.strategy or "")
        if s is None:
            t.append(f"{self.strategy}: no P&L yet\n", style=st.muted)
        else:
            t.append("P&L ", style=st.muted)
            t.append(money(s.pnl, signed=True), style=st.for_sign(_sign(s.pnl)))
            t.append("  today ", style=st.muted)
            day = s.day_pnl
            t.append(
                money(day, signed=True) if day is not None else "—",
                style=st.for_sign(_sign(day or 0.0)),
            )
            t.append("\nSharpe 20d ", style=st.muted)
            if math.isfinite(s.sharpe):
                t.append(ratio_text(s.sharpe), style=st.for_sign(_sign(s.sharpe)))
            else:
                t.append(f"— ({s.days} days of history)", style=st.muted)
            t.append("  off P&L peak ", style=st.muted)
            t.append(money(-s.drawdown), style=st.loss if s.drawdown > 0.005 else st.gain)
            t.append("\n")
        t.append("account: ", style=st.muted)
        self._sharpe(t, f, st)
        t.append("  ")
        self._dd(t, f, st)
        return t


def _sign(x: float) -> int:
    if not math.isfinite(x) or abs(x) < 0.005:
        return 0
    return 1 if x > 0 else -1
