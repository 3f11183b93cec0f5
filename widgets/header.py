"""The desk header: mode badge (SIM / PAPER / LIVE, LIVE in red), market clock and session,
equity, day P&L, buying power, trading state and data health.

The status line drops its least important parts first when the terminal is narrow, so the
badge, the clock and equity are always visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label

from engine.runtime.views import DataHealth, DataState
from widgets.format import compact_money, money, pct
from widgets.styles import SignalStyles, ThemeAware

NEW_YORK = ZoneInfo("America/New_York")
MODES = ("SIM", "PAPER", "LIVE")


@dataclass(frozen=True, slots=True)
class HeaderView:
    mode: str
    ts: datetime | None = None
    session_state: str = "closed"
    equity: float | None = None
    day_pnl: float | None = None
    day_return: float | None = None
    buying_power: float | None = None
    trading_state: str = "ACTIVE"
    data_source: str = ""
    data_ok: bool = True
    gate_mode: str = "auto"
    waiting: int = 0
    connected: bool = True
    # The engine's full data health (state, latency, age); overrides data_source/data_ok.
    data: DataHealth | None = None


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.0f}h"


def data_text(v: HeaderView, st: SignalStyles) -> tuple[int, Text]:
    """`data: alpaca ok 42ms`, `data: yfinance (failover) ok`, `data: alpaca STALE 95s`,
    `data: alpaca FAILED`: healthy data is shown quietly and dropped first when space is
    short; stale or failed data is never dropped."""
    d = v.data
    text = Text("data: ", style=st.muted)
    if d is None:
        text.append(
            f"{v.data_source} {'ok' if v.data_ok else 'STALE'}".strip(),
            style=(st.gain if v.data_ok else f"bold {st.loss}"),
        )
        return (6 if v.data_ok else 10, text)
    state = d.state if d.healthy or d.state is not DataState.HEALTHY else DataState.STALE
    text.append(d.source, style="" if state is DataState.HEALTHY else f"bold {st.loss}")
    if d.failover:
        text.append(" (failover)", style=st.warn)
    if state is DataState.HEALTHY:
        text.append(" ok", style=st.gain)
        if d.latency_ms is not None:
            text.append(f" {d.latency_ms:.0f}ms", style=st.muted)
        return (6, text)
    text.append(f" {state.value.upper()}", style=f"bold reverse {st.loss}")
    if d.age_seconds is not None:
        text.append(f" {_age(d.age_seconds)}", style=st.loss)
    return (10, text)


class ModeBadge(Label):
    """`[SIM]`, `[PAPER]` or `[LIVE]`; the class `-live` paints it in the error colour."""

    def set_mode(self, mode: str) -> None:
        mode = mode.upper()
        self.update(f" {mode} ")
        for m in MODES:
            self.set_class(m == mode, f"-{m.lower()}")


class StatusLine(ThemeAware, Widget):
    """Renders as much of the view as fits its width."""

    DEFAULT_CSS = """
    StatusLine { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = HeaderView(mode="SIM")

    def set_view(self, view: HeaderView) -> None:
        if view != self.view:
            self.view = view
            self.refresh()

    def _parts(self, st: SignalStyles) -> list[tuple[int, Text]]:
        """(priority, text) pairs in display order; lower priority is dropped first."""
        v = self.view
        parts: list[tuple[int, Text]] = []
        if v.ts is not None:
            local = v.ts.astimezone(NEW_YORK)
            session = Text(f"NYSE {v.session_state} ", style=st.muted)
            session.append(f"{local:%H:%M:%S}", style="bold")
            parts.append((9, session))
            parts.append((2, Text(f"{local:%Y-%m-%d}", style=st.muted)))
        if not v.connected:
            parts.append((10, Text("DISCONNECTED", style=f"bold {st.loss}")))
        parts.append((8, Text.assemble(("equity ", st.muted), (money(v.equity), "bold"))))
        day = Text("day ", style=st.muted)
        sign_style = st.for_sign(0 if v.day_pnl is None else (1 if v.day_pnl > 0 else -1))
        day.append(money(v.day_pnl, signed=True), style=sign_style)
        parts.append((7, day))
        if v.day_return is not None:
            parts.append((3, Text(f"({pct(v.day_return)})", style=sign_style)))
        parts.append((5, Text.assemble(("BP ", st.muted), (compact_money(v.buying_power), ""))))
        state_style = {
            "ACTIVE": st.gain,
            "REDUCING": st.warn,
            "HALTED": f"bold reverse {st.loss}",
        }.get(v.trading_state, st.warn)
        parts.append((9, Text(v.trading_state, style=state_style)))
        if v.waiting:
            parts.append((6, Text(f"{v.waiting} waiting", style=f"bold {st.accent}")))
        parts.append((4, Text(f"gate:{v.gate_mode}", style=st.muted)))
        parts.append(data_text(v, st))
        return parts

    def render(self) -> RenderResult:
        st = self.theme_styles
        parts = self._parts(st)
        width = max(1, self.size.width)
        sep = 2
        kept = list(parts)
        # Drop the lowest-priority part until the line fits (ties: the rightmost goes first).
        while kept and sum(len(t.plain) for _, t in kept) + sep * (len(kept) - 1) > width:
            lowest = min(p for p, _ in kept)
            idx = max(i for i, (p, _) in enumerate(kept) if p == lowest)
            kept.pop(idx)
        line = Text(no_wrap=True, overflow="ellipsis")
        for i, (_, t) in enumerate(kept):
            if i:
                line.append(" " * sep)
            line.append_text(t)
        return line


class DeskHeader(Horizontal):
    """Badge + status line, one row tall."""

    DEFAULT_CSS = """
    DeskHeader { height: 1; dock: top; }
    """

    def __init__(self, mode: str = "SIM", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._mode = mode

    def compose(self) -> ComposeResult:
        yield Label(" wsb ", id="brand")
        badge = ModeBadge(id="mode-badge")
        badge.set_mode(self._mode)
        yield badge
        yield StatusLine(id="status-line")

    def set_view(self, view: HeaderView) -> None:
        if view.mode.upper() != self._mode:
            self._mode = view.mode.upper()
            self.query_one(ModeBadge).set_mode(self._mode)
        self.query_one(StatusLine).set_view(view)
