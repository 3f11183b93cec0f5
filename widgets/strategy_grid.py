"""Strategy panes: state, profile, positions, today's proposals, P&L with a sparkline, last
reason. The grid lays ten of them out in columns, or as a one-line-per-strategy list when the
terminal is small. Arrow keys move the selection; Enter opens the strategy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Sparkline

from engine.runtime.views import StrategyRunState, StrategyStatus
from widgets.format import compact_money, sparkline_text
from widgets.styles import SignalStyles, ThemeAware

STATE_GLYPH = {
    StrategyRunState.RUNNING: "●",
    StrategyRunState.PAUSED: "◌",
    StrategyRunState.STOPPED: "■",
    StrategyRunState.ERRORED: "⚠",
}
SHORT_STATE = {
    StrategyRunState.RUNNING: "run",
    StrategyRunState.PAUSED: "paused",
    StrategyRunState.STOPPED: "stop",
    StrategyRunState.ERRORED: "ERROR",
}
LIST_BELOW_WIDTH = 100


def _state_style(state: StrategyRunState, st: SignalStyles) -> str:
    return {
        StrategyRunState.RUNNING: st.gain,
        StrategyRunState.PAUSED: st.warn,
        StrategyRunState.STOPPED: st.muted,
        StrategyRunState.ERRORED: f"bold {st.loss}",
    }[state]


def _spark_data(status: StrategyStatus) -> list[float]:
    # One point (or none) is no trend: an empty sparkline draws a flat baseline instead of
    # the full bar Textual draws for a single value.
    hist = list(status.pnl_history)
    return hist if len(hist) >= 2 else []


class PaneBody(ThemeAware, Widget):
    """The text of a pane; knows whether it is drawn as a card or as one list line."""

    DEFAULT_CSS = """
    PaneBody { height: auto; }
    """

    def __init__(self, status: StrategyStatus) -> None:
        super().__init__()
        self.status = status

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return 1 if self._compact else 4

    @property
    def _compact(self) -> bool:
        pane = self.parent
        return pane is not None and pane.has_class("-compact")

    def render(self) -> RenderResult:
        st = self.theme_styles
        s = self.status
        pnl = s.realized_pnl + s.unrealized_pnl
        pnl_style = st.for_sign(0 if abs(pnl) < 0.5 else (1 if pnl > 0 else -1))
        glyph = STATE_GLYPH.get(s.state, "?")
        state_style = _state_style(s.state, st)
        if self._compact:
            t = Text(no_wrap=True, overflow="ellipsis")
            t.append(f"{s.title[:12]:<12} ", style="bold")
            t.append(f"{glyph} {SHORT_STATE.get(s.state, '?'):<6}", style=state_style)
            t.append(f"{s.open_positions:>2} pos ")
            t.append(f"{compact_money(pnl, signed=True):>7} ", style=pnl_style)
            t.append(sparkline_text(s.pnl_history, 8), style=pnl_style)
            tail = s.error or s.last_reason
            if tail:
                t.append("  " + tail, style=st.loss if s.error else st.muted)
            return t
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{glyph} {s.state.value}", style=state_style)
        t.append(f"  {s.profile}", style=st.muted)
        t.append("\n")
        t.append(f"{s.open_positions} pos  {s.proposals_today} prop today")
        t.append("\n")
        t.append("P&L ", style=st.muted)
        t.append(compact_money(pnl, signed=True), style=f"bold {pnl_style}")
        t.append(f"  risk {compact_money(s.open_risk)}", style=st.muted)
        t.append("\n")
        if s.error:
            t.append(f"error: {s.error}", style=f"bold {st.loss}")
        else:
            t.append(s.last_reason or "—", style=st.muted)
        return t

    def set_status(self, status: StrategyStatus) -> None:
        if status != self.status:
            self.status = status
            self.refresh()


class StrategyPane(Vertical):
    DEFAULT_CSS = """
    StrategyPane { height: auto; }
    """

    class Clicked(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, status: StrategyStatus) -> None:
        super().__init__(id=f"pane-{status.name}")
        self.strategy_name = status.name
        self._status = status

    def compose(self) -> ComposeResult:
        self.border_title = self._status.title
        yield PaneBody(self._status)
        yield Sparkline(_spark_data(self._status), classes="pane-spark")

    def set_status(self, status: StrategyStatus) -> None:
        changed = status != self._status
        self._status = status
        if not changed:
            return
        self.border_title = status.title
        self.query_one(PaneBody).set_status(status)
        spark = self.query_one(Sparkline)
        data = _spark_data(status)
        if spark.data != data:
            spark.data = data
        self.set_class(status.state is StrategyRunState.ERRORED, "-errored")
        self.set_class(status.state is not StrategyRunState.RUNNING, "-idle")

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked(self.strategy_name))


class StrategyGrid(Widget, can_focus=True):
    """Holds one pane per strategy. Posts `Highlighted` on selection change and `Opened`
    on Enter or a double click."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "prev", show=False),
        Binding("right", "move(1, 0)", "next", show=False),
        Binding("up", "move(0, -1)", "up", show=False),
        Binding("down", "move(0, 1)", "down", show=False),
        Binding("enter", "open", "open strategy", show=False),
    ]

    DEFAULT_CSS = """
    StrategyGrid { layout: grid; grid-size: 5; height: auto; }
    StrategyGrid.-list { layout: vertical; }
    """

    selected: reactive[int] = reactive(0)

    class Highlighted(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Opened(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._names: list[str] = []
        self._columns = 5
        self._force_list = False

    @property
    def names(self) -> list[str]:
        return list(self._names)

    @property
    def selected_name(self) -> str | None:
        return self._names[self.selected] if 0 <= self.selected < len(self._names) else None

    def show(self, statuses: Sequence[StrategyStatus]) -> None:
        names = [s.name for s in statuses]
        if names != self._names:
            self.remove_children()
            self._names = names
            panes = [StrategyPane(s) for s in statuses]
            for p in panes:
                p.set_class(self.has_class("-list") or self._force_list, "-compact")
            self.mount_all(panes)
            self.selected = min(self.selected, max(0, len(names) - 1))
            self.call_after_refresh(self._paint_selection)
            return
        # One DOM query per update, not one per strategy.
        by_name = {pane.strategy_name: pane for pane in self.query(StrategyPane)}
        for s in statuses:
            pane = by_name.get(s.name)
            if pane is not None:
                pane.set_status(s)

    def on_resize(self, event: events.Resize) -> None:
        self._relayout(event.size.width)

    def set_force_list(self, force: bool) -> None:
        """Draw as a list whatever the width (a short terminal has no room for cards)."""
        if force != self._force_list:
            self._force_list = force
            self._relayout(self.size.width)

    def _relayout(self, width: int) -> None:
        as_list = self._force_list or width < LIST_BELOW_WIDTH
        changed = as_list != self.has_class("-list")
        self.set_class(as_list, "-list")
        for pane in self.query(StrategyPane):
            pane.set_class(as_list, "-compact")
            if changed:
                pane.query_one(PaneBody).refresh(layout=True)
        cols = 1 if as_list else (5 if width >= 150 else 4 if width >= 120 else 3)
        if cols != self._columns:
            self._columns = cols
            self.styles.grid_size_columns = cols

    def select_name(self, name: str) -> bool:
        if name in self._names:
            self.selected = self._names.index(name)
            return True
        return False

    def watch_selected(self, _old: int, _new: int) -> None:
        self._paint_selection()
        name = self.selected_name
        if name is not None:
            self.post_message(self.Highlighted(name))

    def _paint_selection(self) -> None:
        for i, pane in enumerate(self.query(StrategyPane)):
            pane.set_class(i == self.selected, "-selected")
            if i == self.selected and self.is_mounted:
                pane.scroll_visible(animate=False)

    def action_move(self, dx: int, dy: int) -> None:
        if not self._names:
            return
        step = dx + dy * (1 if self.has_class("-list") else self._columns)
        self.selected = max(0, min(len(self._names) - 1, self.selected + step))

    def action_open(self) -> None:
        name = self.selected_name
        if name is not None:
            self.post_message(self.Opened(name))

    def on_strategy_pane_clicked(self, event: StrategyPane.Clicked) -> None:
        event.stop()
        already = self.selected_name == event.name
        self.select_name(event.name)
        self.focus()
        if already:
            self.post_message(self.Opened(event.name))
