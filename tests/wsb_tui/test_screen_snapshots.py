"""Snapshot of every screen at 80x24 and 160x48 in every theme.

Fixed seed, fixed engine clock (the fake client's), cursor blink off, settings isolated.
Update deliberately with `pytest --snapshot-update tests/wsb_tui/test_screen_snapshots.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app, wait_until
from textual.pilot import Pilot

import themes
from wsb_tui.screens.blotter import BlotterScreen
from wsb_tui.screens.chain import ChainScreen
from wsb_tui.screens.chart import ChartScreen
from wsb_tui.screens.confirm import ConfirmScreen
from wsb_tui.screens.help import HelpScreen
from wsb_tui.screens.risk import RiskScreen
from wsb_tui.screens.strategy import StrategyScreen

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


async def _ready(pilot: Pilot[Any]) -> Any:
    app: Any = pilot.app
    await app.wait_ready()
    await pilot.pause()
    return app


async def dashboard(pilot: Pilot[Any]) -> None:
    await _ready(pilot)


async def confirm(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    app.open_confirm(next(iter(app.desk.pending)))
    await wait_until(lambda: isinstance(app.screen, ConfirmScreen))


async def strategy(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("s")
    await wait_until(lambda: isinstance(app.screen, StrategyScreen))


async def risk(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("r")
    await wait_until(lambda: isinstance(app.screen, RiskScreen) and app.screen.report is not None)


async def chain(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("c")
    await wait_until(lambda: isinstance(app.screen, ChainScreen) and app.screen.chain is not None)
    await pilot.pause()


async def blotter(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("o")
    await wait_until(lambda: isinstance(app.screen, BlotterScreen))


async def chart(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("g")
    await wait_until(lambda: isinstance(app.screen, ChartScreen) and bool(app.screen.bars))


async def help_screen(pilot: Pilot[Any]) -> None:
    app = await _ready(pilot)
    await pilot.press("question_mark")
    await wait_until(lambda: isinstance(app.screen, HelpScreen))


SCREENS: dict[str, Callable[[Pilot[Any]], Awaitable[None]]] = {
    "dashboard": dashboard,
    "confirm": confirm,
    "strategy": strategy,
    "risk": risk,
    "chain": chain,
    "blotter": blotter,
    "chart": chart,
    "help": help_screen,
}


@pytest.mark.parametrize("theme", themes.THEME_NAMES)
@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(screen: str, size: str, theme: str, snap_compare: Any, isolated_config: Path) -> None:
    app = make_app(isolated_config, theme=theme)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=SCREENS[screen])


def test_live_confirm_snapshot_shows_symbol_prompt(snap_compare: Any, isolated_config: Path) -> None:
    """LIVE: the modal is red and confirming asks for the underlying's symbol."""
    app = make_app(isolated_config, mode="LIVE")

    async def run_before(pilot: Pilot[Any]) -> None:
        await confirm(pilot)
        await pilot.press("y")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
