"""Every key binding of the desk, as data.

Each binding has a stable id (`scope.name`) so a user can rebind it from settings
(`{"keymap": {"dashboard.confirm": "Y"}}`, applied with Textual's `set_keymap`), the help
screen lists them all, and the command palette offers the ones that fit the current screen
under a "namespace: action" title.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class KeySpec:
    id: str
    key: str
    action: str
    description: str
    palette: str | None = None  # "risk: halt trading"; None keeps it out of the palette
    show: bool = True
    priority: bool = False
    key_display: str | None = None

    @property
    def scope(self) -> str:
        return self.id.split(".", 1)[0]

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            key_display=self.key_display,
            id=self.id,
        )


APP: tuple[KeySpec, ...] = (
    KeySpec("app.help", "question_mark", "help", "help", "app: show help", key_display="?"),
    KeySpec("app.quit", "q", "request_quit", "quit", "app: quit"),
    KeySpec("app.risk", "r", "open_risk", "risk", "risk: open risk screen"),
    KeySpec("app.orders", "o", "open_blotter", "orders", "orders: open orders & fills"),
    KeySpec("app.chain", "c", "open_chain", "chain", "chain: open option chain"),
    KeySpec("app.chart", "g", "open_chart", "chart", "chart: open price chart"),
    KeySpec("app.kill", "k", "kill_switch", "kill switch", "risk: kill switch (halt trading)"),
    KeySpec("app.theme", "ctrl+t", "cycle_theme", "theme", "theme: next theme", show=False),
    KeySpec(
        "app.dashboard", "D", "go_dashboard", "dashboard", "app: back to dashboard", show=False
    ),
)

DASHBOARD: tuple[KeySpec, ...] = (
    KeySpec("dashboard.confirm", "y", "confirm_selected", "confirm", "proposal: confirm selected"),
    KeySpec("dashboard.reject", "n", "reject_selected", "reject", "proposal: reject selected"),
    KeySpec("dashboard.edit", "e", "edit_selected", "edit", "proposal: edit selected qty/limit"),
    KeySpec(
        "dashboard.details",
        "enter",
        "review_selected",
        "details",
        "proposal: review selected",
        key_display="⏎",
    ),
    KeySpec("dashboard.pause", "p", "toggle_strategy", "pause", "strategy: pause/resume selected"),
    KeySpec("dashboard.strategy", "s", "open_strategy", "strategy", "strategy: open selected"),
    KeySpec(
        "dashboard.sort", "S", "cycle_sort", "sort", "positions: sort by next column", show=False
    ),
    KeySpec(
        "dashboard.focus_queue", "w", "focus_queue", "queue", "proposal: focus queue", show=False
    ),
    KeySpec(
        "dashboard.backtest", "b", "open_backtest", "backtest", "backtest: open backtest screen"
    ),
)

CONFIRM: tuple[KeySpec, ...] = (
    KeySpec("confirm.yes", "y", "confirm", "confirm"),
    KeySpec("confirm.no", "n", "reject", "reject"),
    KeySpec("confirm.edit", "e", "edit", "edit qty/limit"),
    KeySpec("confirm.defer", "escape", "defer", "defer", key_display="esc"),
)

STRATEGY: tuple[KeySpec, ...] = (
    KeySpec("strategy.pause", "p", "pause", "pause", "strategy: pause this strategy"),
    KeySpec("strategy.resume", "u", "resume", "resume", "strategy: resume this strategy"),
    KeySpec("strategy.stop", "x", "stop", "stop", "strategy: stop this strategy"),
    KeySpec("strategy.profile", "f", "switch_profile", "profile", "strategy: switch profile"),
    KeySpec("strategy.prev", "left_square_bracket", "cycle(-1)", "prev", key_display="["),
    KeySpec("strategy.next", "right_square_bracket", "cycle(1)", "next", key_display="]"),
    KeySpec("strategy.back", "escape", "back", "back", key_display="esc"),
)

RISK: tuple[KeySpec, ...] = (
    KeySpec("risk.reset", "b", "reset_breaker", "reset breaker", "risk: reset a breaker"),
    KeySpec("risk.halt", "h", "set_state('HALTED')", "halt", "risk: halt trading"),
    KeySpec(
        "risk.reducing", "m", "set_state('REDUCING')", "reduce-only", "risk: reduce-only trading"
    ),
    KeySpec(
        "risk.activate", "a", "set_state('ACTIVE')", "activate", "risk: resume trading (ACTIVE)"
    ),
    KeySpec("risk.refresh", "f5", "refresh_report", "refresh", "risk: refresh report"),
    KeySpec("risk.back", "escape", "back", "back", key_display="esc"),
)

CHAIN: tuple[KeySpec, ...] = (
    KeySpec(
        "chain.symbol", "slash", "ask_symbol", "symbol", "chain: choose symbol", key_display="/"
    ),
    KeySpec("chain.buy", "b", "add_leg('buy')", "buy leg", "chain: add selected as buy leg"),
    KeySpec("chain.sell", "s", "add_leg('sell')", "sell leg", "chain: add selected as sell leg"),
    KeySpec("chain.ticket", "t", "open_ticket", "ticket", "chain: send ticket as proposal"),
    KeySpec("chain.clear", "backspace", "clear_legs", "clear legs", "chain: clear legs"),
    KeySpec("chain.prev", "left_square_bracket", "expiry(-1)", "prev expiry", key_display="["),
    KeySpec("chain.next", "right_square_bracket", "expiry(1)", "next expiry", key_display="]"),
    KeySpec("chain.back", "escape", "back", "back", key_display="esc"),
)

BLOTTER: tuple[KeySpec, ...] = (
    KeySpec(
        "blotter.filter",
        "slash",
        "focus_filter",
        "filter",
        "orders: filter by text",
        key_display="/",
    ),
    KeySpec("blotter.status", "f", "cycle_status", "status", "orders: cycle status filter"),
    KeySpec("blotter.cancel", "x", "cancel_order", "cancel order", "orders: cancel selected order"),
    KeySpec(
        "blotter.modify", "m", "modify_order", "modify", "orders: modify selected order qty/limit"
    ),
    KeySpec("blotter.switch", "t", "switch_table", "orders/fills", "orders: switch orders/fills"),
    KeySpec("blotter.back", "escape", "back", "back", key_display="esc"),
)

CHART: tuple[KeySpec, ...] = (
    KeySpec(
        "chart.symbol", "slash", "ask_symbol", "symbol", "chart: choose symbol", key_display="/"
    ),
    KeySpec("chart.style", "t", "toggle_style", "candles/line", "chart: toggle candles/line"),
    KeySpec("chart.prev", "left_square_bracket", "cycle(-1)", "prev", key_display="["),
    KeySpec("chart.next", "right_square_bracket", "cycle(1)", "next", key_display="]"),
    KeySpec("chart.back", "escape", "back", "back", key_display="esc"),
)

HELP: tuple[KeySpec, ...] = (KeySpec("help.back", "escape", "back", "back", key_display="esc"),)

# Ctrl keys with priority: they must work while a form field has the focus.
BACKTEST: tuple[KeySpec, ...] = (
    KeySpec("backtest.run", "ctrl+r", "run", "run", "backtest: run", priority=True),
    KeySpec(
        "backtest.cancel",
        "ctrl+x",
        "cancel_run",
        "cancel run",
        "backtest: cancel the running backtest",
        priority=True,
    ),
    KeySpec(
        "backtest.all",
        "ctrl+l",
        "toggle_all",
        "all strategies",
        "backtest: select all / no strategies",
        priority=True,
    ),
    KeySpec("backtest.back", "escape", "back", "back", key_display="esc"),
)

DIALOG: tuple[KeySpec, ...] = (
    KeySpec("dialog.yes", "y", "answer(True)", "yes"),
    KeySpec("dialog.no", "n", "answer(False)", "no"),
    KeySpec("dialog.cancel", "escape", "answer(False)", "cancel", key_display="esc"),
)

SCOPES: dict[str, tuple[KeySpec, ...]] = {
    "app": APP,
    "dashboard": DASHBOARD,
    "confirm": CONFIRM,
    "strategy": STRATEGY,
    "risk": RISK,
    "chain": CHAIN,
    "blotter": BLOTTER,
    "chart": CHART,
    "help": HELP,
    "dialog": DIALOG,
    "backtest": BACKTEST,
}

SCOPE_TITLES: dict[str, str] = {
    "app": "everywhere",
    "dashboard": "dashboard",
    "confirm": "trade confirmation",
    "strategy": "strategy screen",
    "risk": "risk screen",
    "chain": "option chain",
    "blotter": "orders & fills",
    "chart": "price chart",
    "help": "help",
    "dialog": "yes/no dialogs",
    "backtest": "backtest screen",
}


def bindings(scope: str) -> list[BindingType]:
    try:
        specs = SCOPES[scope]
    except KeyError:
        raise ValueError(f"binding scope {scope!r} is not one of {', '.join(SCOPES)}") from None
    return [s.binding() for s in specs]


def all_specs() -> Iterator[KeySpec]:
    for specs in SCOPES.values():
        yield from specs


def spec(binding_id: str) -> KeySpec:
    for s in all_specs():
        if s.id == binding_id:
            return s
    raise KeyError(f"no binding with id {binding_id!r}")


def display_key(s: KeySpec, keymap: dict[str, str] | None = None) -> str:
    key = (keymap or {}).get(s.id, s.key_display or s.key)
    return key.replace("question_mark", "?").replace("ctrl+", "^")
