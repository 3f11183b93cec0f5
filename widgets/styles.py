"""Rich styles derived from the running theme's variables.

TCSS covers widget chrome; cell text inside DataTables and logs is Rich text, so the few
signal colours (gain, loss, warning, muted) are read from the theme here instead of being
hard-coded. Widgets recompute them when the theme changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App
from textual.color import Color


@dataclass(frozen=True, slots=True)
class SignalStyles:
    gain: str
    loss: str
    warn: str
    muted: str
    accent: str
    primary: str
    text: str

    def for_sign(self, sign: int) -> str:
        return self.gain if sign > 0 else self.loss if sign < 0 else ""


def _solid(value: str | None, background: Color, fallback: str) -> str:
    if not value:
        return fallback
    try:
        color = Color.parse(value)
    except Exception:
        return fallback
    if color.a < 1:
        color = background + color
    return color.hex6


def _muted(foreground: str | None, background: Color) -> str:
    try:
        fg = Color.parse(foreground or "#808080")
    except Exception:
        return "grey50"
    return background.blend(fg, 0.6).hex6


def signal_styles(app: App[object]) -> SignalStyles:
    v = app.get_css_variables()
    try:
        bg = Color.parse(v.get("background", "#000000"))
    except Exception:
        bg = Color(0, 0, 0)
    return SignalStyles(
        gain=_solid(v.get("text-success"), bg, "green"),
        loss=_solid(v.get("text-error"), bg, "red"),
        warn=_solid(v.get("text-warning"), bg, "yellow"),
        muted=_muted(v.get("foreground"), bg),
        accent=_solid(v.get("text-accent"), bg, "cyan"),
        primary=_solid(v.get("text-primary"), bg, "blue"),
        text=_solid(v.get("foreground"), bg, "white"),
    )


FALLBACK = SignalStyles("green", "red", "yellow", "grey50", "cyan", "blue", "")


class ThemeAware:
    """Mixin for widgets that colour Rich text from the theme.

    `theme_styles` is always current; after a theme switch `on_theme_change()` runs (by
    default a repaint) so nothing on screen keeps the previous theme's colours.
    """

    _theme_styles: SignalStyles | None = None

    @property
    def theme_styles(self) -> SignalStyles:
        if self._theme_styles is None:
            try:
                self._theme_styles = signal_styles(self.app)  # type: ignore[attr-defined]
            except Exception:
                return FALLBACK
        return self._theme_styles

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_switched)  # type: ignore[attr-defined]

    def _theme_switched(self, _theme: object) -> None:
        self._theme_styles = signal_styles(self.app)  # type: ignore[attr-defined]
        self.on_theme_change()

    def on_theme_change(self) -> None:
        self.refresh()  # type: ignore[attr-defined]
