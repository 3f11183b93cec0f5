"""The event log: timestamped engine events, coloured by level, capped so it never grows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.widgets import RichLog

from widgets.styles import SignalStyles, signal_styles

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_MAX_LINES = 500
LEVELS = ("debug", "info", "fill", "warning", "error")


class EventLog(RichLog):
    """`add(ts, level, message)`; the oldest lines fall off past `max_lines`."""

    def __init__(
        self,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(
            max_lines=max_lines, wrap=False, markup=False, highlight=False, id=id, classes=classes
        )
        self._styles: SignalStyles | None = None
        self.lines_written = 0

    def on_mount(self) -> None:
        self._styles = signal_styles(self.app)
        self.app.theme_changed_signal.subscribe(self, self._on_theme)

    def _on_theme(self, _theme: object) -> None:
        self._styles = signal_styles(self.app)

    def add(self, ts: datetime | None, level: str, message: str) -> None:
        st = self._styles or SignalStyles("green", "red", "yellow", "grey50", "cyan", "blue", "")
        style = {
            "error": f"bold {st.loss}",
            "warning": st.warn,
            "fill": st.gain,
            "debug": st.muted,
        }.get(level, "")
        line = Text(no_wrap=True, overflow="ellipsis")
        if ts is not None:
            line.append(f"{ts.astimezone(NEW_YORK):%H:%M:%S} ", style=st.muted)
        line.append(message, style=style)
        self.write(line, scroll_end=True)
        self.lines_written += 1
