"""Bindings as data: unique ids, real actions, all listed in help and palette."""

from __future__ import annotations

from typing import Any

import pytest

from wsb_tui.app import WsbApp
from wsb_tui.bindings import SCOPES, all_specs, bindings, display_key, spec
from wsb_tui.screens.backtest import BacktestScreen
from wsb_tui.screens.blotter import BlotterScreen
from wsb_tui.screens.chain import ChainScreen
from wsb_tui.screens.chart import ChartScreen
from wsb_tui.screens.confirm import ConfirmScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.dialogs import YesNoDialog
from wsb_tui.screens.help import HelpScreen
from wsb_tui.screens.risk import RiskScreen
from wsb_tui.screens.strategy import StrategyScreen

OWNERS: dict[str, Any] = {
    "app": WsbApp,
    "dashboard": DashboardScreen,
    "confirm": ConfirmScreen,
    "strategy": StrategyScreen,
    "risk": RiskScreen,
    "chain": ChainScreen,
    "blotter": BlotterScreen,
    "chart": ChartScreen,
    "help": HelpScreen,
    "backtest": BacktestScreen,
    "dialog": YesNoDialog,
}


def test_ids_when_listed_then_unique_and_scoped() -> None:
    ids = [s.id for s in all_specs()]
    assert len(ids) == len(set(ids))
    for s in all_specs():
        assert s.id.startswith(s.scope + ".")
        assert s.scope in SCOPES


def test_keys_when_in_one_scope_then_not_duplicated() -> None:
    for scope, specs in SCOPES.items():
        keys = [s.key for s in specs]
        assert len(keys) == len(set(keys)), scope


@pytest.mark.parametrize("scope", list(SCOPES))
def test_actions_when_bound_then_owner_implements_them(scope: str) -> None:
    owner = OWNERS[scope]
    for s in SCOPES[scope]:
        name = s.action.split("(")[0]
        assert hasattr(owner, f"action_{name}"), f"{s.id}: {owner.__name__} has no action_{name}"


def test_screens_when_built_then_use_their_scope_bindings() -> None:
    for scope, owner in OWNERS.items():
        if scope == "app":
            continue
        declared = {b.id for b in owner.BINDINGS}  # type: ignore[union-attr]
        assert {s.id for s in SCOPES[scope]} <= declared, scope


def test_lookup_when_unknown_then_error_names_it() -> None:
    with pytest.raises(KeyError, match="nope"):
        spec("nope")
    with pytest.raises(ValueError, match="binding scope 'x'"):
        bindings("x")


def test_display_when_keymap_overrides_then_override_shown() -> None:
    s = spec("dashboard.confirm")
    assert display_key(s) == "y"
    assert display_key(s, {"dashboard.confirm": "ctrl+y"}) == "^y"
    assert display_key(spec("app.help")) == "?"
