"""Snapshots of every screen at 80x24 and 160x48 in every theme.

Fixed seed and engine clock (the fake client's), cursor blink off, settings isolated.
One app per terminal size visits every screen and switches theme in place (live theme
switching is a feature; it is also four times cheaper than booting an app per picture).
Each picture is its own SVG in __snapshots__; review failures in the pytest-textual-snapshot
report. Update deliberately: `pytest --snapshot-update tests/wsb_tui/test_screen_snapshots.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import make_app, wait_until
from pytest_textual_snapshot import SVGImageExtension
from textual.pilot import Pilot

import themes
from wsb_tui.screens.blotter import BlotterScreen
from wsb_tui.screens.chain import ChainScreen
from wsb_tui.screens.chart import ChartScreen
from wsb_tui.screens.confirm import ConfirmScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.help import HelpScreen
from wsb_tui.screens.risk import RiskScreen
from wsb_tui.screens.strategy import StrategyScreen

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
Enter = Callable[[Any, Pilot[Any]], Awaitable[None]]


async def _press_for(
    app: Any, pilot: Pilot[Any], key: str, cls: type, ready: Callable[[Any], bool] = lambda s: True
) -> None:
    await pilot.press(key)
    await wait_until(lambda: isinstance(app.screen, cls) and ready(app.screen), 10)


async def dashboard(app: Any, pilot: Pilot[Any]) -> None:
    await wait_until(lambda: isinstance(app.screen, DashboardScreen))


async def confirm(app: Any, pilot: Pilot[Any]) -> None:
    app.open_confirm(next(iter(app.desk.pending)))
    await wait_until(lambda: isinstance(app.screen, ConfirmScreen))


async def strategy(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "s", StrategyScreen)


async def risk(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "r", RiskScreen, lambda s: s.report is not None)


async def chain(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "c", ChainScreen, lambda s: s.chain is not None)


async def blotter(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "o", BlotterScreen)


async def chart(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "g", ChartScreen, lambda s: bool(s.bars))


async def help_screen(app: Any, pilot: Pilot[Any]) -> None:
    await _press_for(app, pilot, "question_mark", HelpScreen)


SCREENS: dict[str, Enter] = {
    "dashboard": dashboard,
    "confirm": confirm,
    "strategy": strategy,
    "risk": risk,
    "chain": chain,
    "blotter": blotter,
    "chart": chart,
    "help": help_screen,
}


async def _settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def _shoot(app: Any, size: tuple[int, int], screens: dict[str, Enter]) -> dict[str, str]:
    shots: dict[str, str] = {}

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        await app.wait_ready()
        for i, (name, enter) in enumerate(screens.items()):
            await enter(app, pilot)
            # Themes in snake order (dark, light, hc; hc, light, dark; ...): a theme switch
            # restyles every widget, so the next screen starts in the theme the last ended in.
            order = themes.THEME_NAMES if i % 2 == 0 else tuple(reversed(themes.THEME_NAMES))
            for theme in order:
                if app.theme != theme:
                    app.theme = theme
                await _settle(pilot)
                shots[f"{name}-{theme}"] = app.export_screenshot(title=f"{name} {theme}")
            while len(app.screen_stack) > 2:
                app.pop_screen()
            await _settle(pilot)
        app.exit()

    app.run(headless=True, size=size, auto_pilot=auto_pilot)
    return shots


def _mismatched(snap: Any, shots: dict[str, str], size: str) -> list[str]:
    """Compare every picture (each one recorded by syrupy), then report all that differ."""
    bad = []
    for name, svg in sorted(shots.items()):
        same = snap(name=f"{name}-{size}") == svg
        if not same:
            bad.append(name)
    return bad


@pytest.mark.parametrize("size", list(SIZES))
def test_every_screen_in_every_theme_matches_snapshot(
    size: str, snapshot: Any, isolated_config: Path
) -> None:
    snap = snapshot.use_extension(SVGImageExtension)
    shots = _shoot(make_app(isolated_config), SIZES[size], SCREENS)
    assert len(shots) == len(SCREENS) * len(themes.THEME_NAMES)
    assert _mismatched(snap, shots, size) == []


def test_live_confirm_snapshot_shows_red_modal_and_symbol_prompt(
    snapshot: Any, isolated_config: Path
) -> None:
    """LIVE: the modal is red and confirming asks for the underlying's symbol."""
    snap = snapshot.use_extension(SVGImageExtension)
    app = make_app(isolated_config, mode="LIVE")

    async def live_confirm(app: Any, pilot: Pilot[Any]) -> None:
        await confirm(app, pilot)
        await pilot.press("y")

    shots = _shoot(app, (80, 24), {"live-confirm": live_confirm})
    assert _mismatched(snap, shots, "80x24") == []
