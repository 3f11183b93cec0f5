"""The event log: timestamped engine events, coloured by level, capped so it never grows."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.cache import LRUCache
from textual.strip import Strip
from textual.widgets import RichLog

from widgets.styles import ThemeAware

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_MAX_LINES = 300  # the desk keeps as many (MAX_LOG_HISTORY) to refill it
# RichLog caches 1,024 rendered lines keyed by absolute line number. A log that keeps
# scrolling never hits an old key again, so that cache only ever fills up: over a long run it
# held more lines than the log itself (each a Strip with its own caches). A couple of screens
# of lines covers every repaint.
LINE_CACHE = 160
LEVELS = ("debug", "info", "fill", "warning", "error")


class EventLog(ThemeAware, RichLog):
    """`add(ts, level, message)`; the oldest lines fall off past `max_lines`."""

    def __init__(
        self,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(
            max_lines=max_lines, wrap=False, markup=False, highlight=False, id=id, classes=classes
        )
        self._line_cache: LRUCache[tuple[int, int, int, int], Strip] = LRUCache(LINE_CACHE)
        self.lines_written = 0
        self._history: deque[tuple[datetime | None, str, str]] = deque(maxlen=max_lines)

    def on_theme_change(self) -> None:
        # Old lines were coloured for the old theme: write them again.
        history = list(self._history)
        self.clear()
        self._history.clear()
        for ts, level, message in history:
            self.add(ts, level, message)

    def add(self, ts: datetime | None, level: str, message: str) -> None:
        st = self.theme_styles
        style = {
            "error": f"bold {st.loss}",
            "warning": st.warn,
            "fill": st.gain,
            "debug": st.muted,
        }.get(level, "")
        self._history.append((ts, level, message))
        line = Text(no_wrap=True, overflow="ellipsis")
        if ts is not None:
            line.append(f"{ts.astimezone(NEW_YORK):%H:%M:%S} ", style=st.muted)
        line.append(message, style=style)
        self.write(line, scroll_end=True)
        self.lines_written += 1
