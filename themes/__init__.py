"""The desk's themes: named Textual `Theme` objects plus one stylesheet that uses only theme
variables, so every screen reads the same in every theme.

`themes/` sits beside the packages (fixed by the product layout); the stylesheet is found
relative to this file, so it works from a checkout and from an installed wheel alike as long
as the wheel ships `themes/*.tcss`.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

STYLESHEET: Path = Path(__file__).with_name("wsb.tcss")

DARK = Theme(
    name="wsb-dark",
    primary="#4EA1FF",
    secondary="#8C7CF0",
    accent="#FFB454",
    warning="#F2C94C",
    error="#FF5F5F",
    success="#3DDC84",
    foreground="#D8DEE9",
    background="#0E1116",
    surface="#161B22",
    panel="#1F2630",
    dark=True,
    variables={
        "footer-key-foreground": "#FFB454",
        "block-cursor-text-style": "bold",
        "input-selection-background": "#4EA1FF 35%",
    },
)

LIGHT = Theme(
    name="wsb-light",
    primary="#0B5CAD",
    secondary="#5B4BC4",
    accent="#B25E00",
    warning="#9A6700",
    error="#C62828",
    success="#1B7F3B",
    foreground="#1F2328",
    background="#F6F8FA",
    surface="#FFFFFF",
    panel="#E7ECF2",
    dark=False,
    variables={
        "footer-key-foreground": "#B25E00",
        "block-cursor-text-style": "bold",
    },
)

# Pure black/white with saturated signal colours, for low vision and washed-out screens.
HIGH_CONTRAST = Theme(
    name="wsb-high-contrast",
    primary="#00FFFF",
    secondary="#FFFF00",
    accent="#FFFF00",
    warning="#FFFF00",
    error="#FF3030",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    dark=True,
    luminosity_spread=0.25,
    text_alpha=1.0,
    variables={
        "footer-key-foreground": "#FFFF00",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "border": "#FFFFFF",
        "border-blurred": "#A0A0A0",
    },
)

THEMES: tuple[Theme, ...] = (DARK, LIGHT, HIGH_CONTRAST)
DEFAULT_THEME: str = DARK.name
THEME_NAMES: tuple[str, ...] = tuple(t.name for t in THEMES)


def next_theme(current: str) -> str:
    """The theme after `current` in the desk's cycle (any other theme restarts the cycle)."""
    if current not in THEME_NAMES:
        return THEME_NAMES[0]
    return THEME_NAMES[(THEME_NAMES.index(current) + 1) % len(THEME_NAMES)]
