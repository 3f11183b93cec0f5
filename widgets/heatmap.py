"""Monthly returns as a heat-map: a row per year, a cell per month, coloured by sign and size.

Colours come from the theme (gain / loss blended into the surface by the return's size
against the largest month), so the map reads in every theme; the number is printed in each
cell as well, so colour is never the only signal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.widget import Widget

from widgets.styles import ThemeAware

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CELL = 6  # "+12.3 "
YEAR_W = 5
MIN_TINT = 0.25  # the smallest non-zero month still shows its colour


def year_return(months: Mapping[int, float]) -> float:
    """Compounded return of the months present."""
    growth = 1.0
    for r in months.values():
        growth *= 1.0 + r
    return growth - 1.0


def cell_text(r: float | None) -> str:
    if r is None or not math.isfinite(r):
        return "·".center(CELL - 1)
    v = r * 100.0
    body = f"{v:+.1f}" if abs(v) < 99.95 else f"{v:+.0f}"
    return body.rjust(CELL - 1)


class MonthlyHeatmap(ThemeAware, Widget):
    DEFAULT_CSS = """
    MonthlyHeatmap { height: auto; min-height: 2; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.returns: dict[tuple[int, int], float] = {}

    def set_returns(self, returns: Mapping[tuple[int, int], float]) -> None:
        self.returns = dict(returns)
        self.refresh(layout=True)

    @property
    def years(self) -> list[int]:
        return sorted({y for y, _ in self.returns})

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return 1 + max(1, len(self.years))

    def _background(self) -> Color:
        v = self.app.get_css_variables()
        try:
            return Color.parse(v.get("surface", v.get("background", "#000000")))
        except Exception:
            return Color(0, 0, 0)

    def render(self) -> RenderResult:
        st = self.theme_styles
        out = Text(no_wrap=True, overflow="crop")
        show_year = self.size.width >= YEAR_W + 13 * CELL or self.size.width == 0
        out.append("Year ".ljust(YEAR_W), style=st.muted)
        for m in MONTHS:
            out.append(m.rjust(CELL - 1) + " ", style=st.muted)
        if show_year:
            out.append("Year".rjust(CELL - 1), style=f"bold {st.muted}")
        if not self.returns:
            out.append("\nno complete month yet", style=st.muted)
            return out
        finite = [abs(r) for r in self.returns.values() if math.isfinite(r)]
        span = max(max(finite, default=0.0), 1e-9)
        base = self._background()
        gain, loss = Color.parse(st.gain), Color.parse(st.loss)
        for year in self.years:
            out.append("\n")
            out.append(f"{year}".ljust(YEAR_W), style=st.muted)
            months = {m: r for (y, m), r in self.returns.items() if y == year}
            for month in range(1, 13):
                r = months.get(month)
                out.append(cell_text(r), style=self._style(r, span, base, gain, loss))
                out.append(" ")
            if show_year:
                yr = year_return(months)
                out.append(cell_text(yr), style=f"bold {st.for_sign(_sign(yr))}")
        return out

    def _style(self, r: float | None, span: float, base: Color, gain: Color, loss: Color) -> str:
        if r is None or not math.isfinite(r):
            return self.theme_styles.muted
        if abs(r) < 5e-5:
            return ""
        strength = MIN_TINT + (1.0 - MIN_TINT) * min(1.0, abs(r) / span)
        bg = base.blend(gain if r > 0 else loss, strength * 0.85)
        fg = "#000000" if bg.brightness > 0.55 else "#FFFFFF"
        return f"{fg} on {bg.hex6}"


def _sign(x: float) -> int:
    if abs(x) < 5e-5:
        return 0
    return 1 if x > 0 else -1
