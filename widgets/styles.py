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
