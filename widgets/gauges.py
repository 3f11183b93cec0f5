"""Risk gauges: each reading against its limit as a bar, net greeks, breakers, trading state.

With room it draws one gauge per line; squeezed to a single line (80 x 24) it shows the
ratios only, so the most important numbers survive at any size.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from engine.runtime.views import GaugeReading, RiskSummary
from widgets.format import bar_text, compact_money
from widgets.styles import SignalStyles, ThemeAware

WARN_AT = 0.7
ALARM_AT = 0.9


def gauge_value(value: float, unit: str) -> str:
    if unit == "$":
        return compact_money(value)
    if unit == "%":
        return f"{value * 100:.1f}%"
    return f"{value:,.2f}{unit}"


class RiskGauges(ThemeAware, Widget):
    DEFAULT_CSS = """
    RiskGauges { height: auto; min-height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.summary: RiskSummary | None = None

    def show(self, summary: RiskSummary) -> None:
        if summary != self.summary:
            # A new layout only when the height changes (gauges or a note come or go): a
            # layout pass re-arranges the whole screen, a plain refresh repaints the gauges.
            resized = self._lines(summary) != self._lines(self.summary)
            self.summary = summary
            self.refresh(layout=resized)

    @staticmethod
    def _lines(summary: RiskSummary | None) -> int:
        if summary is None:
            return 1
        return len(summary.gauges) + 2 + (1 if summary.note else 0)

    def _level_style(self, ratio: float, st: SignalStyles) -> str:
        if ratio >= ALARM_AT:
            return f"bold {st.loss}"
        if ratio >= WARN_AT:
            return st.warn
        return st.gain

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        if self.has_class("-compact"):
            return 1
        return max(1, self._lines(self.summary)) if self.summary else 2

    def render(self) -> RenderResult:
        st = self.theme_styles
        s = self.summary
        if s is None:
            return Text("risk: waiting for the engine…", style=st.muted)
        if self.has_class("-compact") or self.size.height <= 1:
            return self._one_line(s, st)
        width = max(20, self.size.width)
        out = Text(no_wrap=True, overflow="ellipsis")
        name_w = max((len(g.name) for g in s.gauges), default=6)
        name_w = min(name_w, 14)
        bar_w = max(4, min(12, width - name_w - 26))
        for i, g in enumerate(s.gauges):
            if i:
                out.append("\n")
            out.append_text(self._gauge_line(g, name_w, bar_w, st))
        if s.gauges:
            out.append("\n")
        out.append_text(self._greeks_line(s, st))
        out.append("\n")
        out.append_text(self._state_line(s, st))
        if s.note:
            out.append("\n")
            out.append(s.note, style=st.warn)
        return out

    def _gauge_line(self, g: GaugeReading, name_w: int, bar_w: int, st: SignalStyles) -> Text:
        ratio = g.ratio
        style = self._level_style(ratio, st)
        filled, empty = bar_text(ratio, bar_w)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{g.name[:name_w]:<{name_w}} ", style=st.muted)
        t.append(f"{gauge_value(g.value, g.unit):>7}/{gauge_value(g.limit, g.unit):<7} ")
        t.append(filled, style=style)
        t.append(empty, style=st.muted)
        t.append(f" {ratio * 100:3.0f}%", style=style)
        return t

    @staticmethod
    def _greeks_line(s: RiskSummary, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        for label, v in (
            ("net Δ ", s.net_delta),
            ("  Γ ", s.net_gamma),
            ("  vega ", s.net_vega),
            ("  θ ", s.net_theta),
        ):
            t.append(label, style=st.muted)
            t.append(compact_money(v))
        return t

    @staticmethod
    def _state_line(s: RiskSummary, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        state = str(s.trading_state)
        t.append(state, style=st.gain if state == "ACTIVE" else f"bold {st.loss}")
        t.append("  breakers: ", style=st.muted)
        if s.breakers:
            t.append(", ".join(s.breakers), style=f"bold {st.loss}")
        else:
            t.append("none tripped", style=st.gain)
        return t

    def _one_line(self, s: RiskSummary, st: SignalStyles) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        for g in s.gauges:
            short = g.name.split()[0][:8]
            t.append(f"{short} ", style=st.muted)
            t.append(f"{g.ratio * 100:.0f}% ", style=self._level_style(g.ratio, st))
        t.append("Δ", style=st.muted)
        t.append(f"{compact_money(s.net_delta)} ")
        if s.breakers:
            t.append("BREAKER " + ",".join(s.breakers), style=f"bold {st.loss}")
        else:
            t.append("no breakers", style=st.gain)
        return t
