"""The command palette: every desk action as "namespace: action", fitted to the screen.

Keyed actions come from the binding table (so palette and keys never disagree); dynamic
entries are added per strategy, breaker, pending proposal, held symbol and theme.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

import themes
from wsb_tui.bindings import SCOPES, display_key

Entry = tuple[str, Callable[[], Any], str]  # title, callback, help


def _open_backtest(app: Any) -> None:
    # Imported on use: the screen pulls in the chart widgets.
    from wsb_tui.screens.backtest import open_backtest

    open_backtest(app)


class DeskCommands(Provider):
    def _entries(self) -> Iterator[Entry]:
        app: Any = self.app
        screen: Any = self.screen
        scope = getattr(screen, "SCOPE", None)
        keymap = getattr(getattr(app, "settings", None), "keymap", {}) or {}
        for spec in SCOPES["app"]:
            if spec.palette:
                yield (
                    spec.palette,
                    partial(app.run_action, spec.action),
                    f"key {display_key(spec, keymap)}",
                )
        if scope in SCOPES and scope != "app":
            for spec in SCOPES[scope]:
                if spec.palette:
                    yield (
                        spec.palette,
                        partial(screen.run_action, spec.action),
                        f"key {display_key(spec, keymap)} on this screen",
                    )
        if scope != "dashboard":  # there the dashboard.backtest binding offers it
            yield ("backtest: open backtest screen", partial(_open_backtest, app), "")
        desk = getattr(app, "desk", None)
        if desk is None:
            return
        for name, status in desk.strategies.items():
            title = status.title or name
            yield (f"strategy: open {title}", partial(app.open_strategy, name), name)
            yield (f"strategy: pause {title}", partial(app.pause_strategy, name), name)
            yield (f"strategy: resume {title}", partial(app.resume_strategy, name), name)
            yield (f"strategy: stop {title}", partial(app.stop_strategy, name), name)
            for profile in desk.profiles:
                if profile != status.profile:
                    yield (
                        f"strategy: {title} profile {profile}",
                        partial(app.set_profile, name, profile),
                        f"now {status.profile}",
                    )
        for pid, pending in desk.pending.items():
            p = pending.proposal
            yield (
                f"proposal: review {p.strategy} {p.underlying}",
                partial(app.open_confirm, pid),
                pid,
            )
        if desk.risk is not None:
            for breaker in desk.risk.breakers:
                yield (
                    f"risk: reset breaker {breaker}",
                    partial(app.reset_breaker, breaker),
                    "asks first",
                )
        for state in ("ACTIVE", "REDUCING", "HALTED"):
            yield (f"trading: set {state}", partial(app.set_trading_state, state), "")
        for symbol in desk.underlyings():
            yield (f"chain: open {symbol}", partial(app.open_chain, symbol), "")
            yield (f"chart: open {symbol}", partial(app.open_chart, symbol), "")
        for name in themes.THEME_NAMES:
            yield (f"theme: {name}", partial(setattr, app, "theme", name), "remembered")

    async def discover(self) -> Hits:
        for title, callback, help_text in self._entries():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
