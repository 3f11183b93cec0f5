"""Pilot tests against the real embedded engine on the simulator.

The engine is started and stepped a few market minutes until strategies have proposals
waiting (confirm gate), then frozen: the market only moves when a test asks it to, so the
desk can be driven key by key and every effect checked in the engine itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import make_app, wait_until
from textual.widgets import Input

from engine.domain import (
    Equity,
    OrderLeg,
    OrderType,
    ProposalIntent,
    ProposalState,
    Side,
    TradeProposal,
)
from engine.runtime.config import WsbConfig
from engine.runtime.embedded import Embedded, build_embedded
from engine.runtime.engine import RunBudget
from engine.runtime.views import StrategyRunState, TradingState
from widgets.blotter import OrdersTable
from widgets.chain_table import ChainTable
from widgets.strategy_grid import StrategyGrid
from wsb_tui.bindings import all_specs
from wsb_tui.screens.backtest import BacktestScreen
from wsb_tui.screens.blotter import BlotterScreen
from wsb_tui.screens.chain import ChainScreen
from wsb_tui.screens.chart import ChartScreen
from wsb_tui.screens.confirm import ConfirmScreen
from wsb_tui.screens.dashboard import DashboardScreen
from wsb_tui.screens.dialogs import (
    KillSwitchDialog,
    ModifyOrderDialog,
    PromptDialog,
    YesNoDialog,
)
from wsb_tui.screens.help import HelpScreen
from wsb_tui.screens.risk import RiskScreen
from wsb_tui.screens.strategy import StrategyScreen
from wsb_tui.screens.ticket import TicketDialog

pytestmark = pytest.mark.slow


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[Embedded]:
    cfg = WsbConfig.model_validate({"engine": {"gate": "confirm", "confirm_timeout_s": 86400}})
    emb = await build_embedded(cfg, db_path=tmp_path / "desk.db", headless=False, speed=None)
    await emb.engine.start()
    for _ in range(12):
        if len(emb.engine.snapshot().pending) >= 4:
            break
        await emb.engine.advance(RunBudget.parse("5m"))
    assert len(emb.engine.snapshot().pending) >= 4, "the simulator produced no proposals to decide"
    try:
        yield emb
    finally:
        await emb.engine.stop("test over")
        await emb.close()


def _pending_ids(emb: Embedded) -> list[str]:
    return [p.proposal.proposal_id for p in emb.engine.snapshot().pending]


def _orders_for(emb: Embedded, app: Any, pid: str) -> list[Any]:
    return [o for o in app.desk.orders.values() if o.request.proposal_id == pid]


async def test_decisions_when_confirm_reject_edit_defer_then_engine_records_each(
    embedded: Embedded, isolated_config: Path
) -> None:
    emb = embedded
    app = make_app(isolated_config, emb.client)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.wait_ready()
        await pilot.pause()
        p_confirm, p_reject, p_edit, p_defer = _pending_ids(emb)[:4]

        # defer: Esc leaves it waiting in the engine
        app.open_confirm(p_defer)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, DashboardScreen))
        assert p_defer in _pending_ids(emb)

        # reject: n, the engine records a person's rejection
        app.open_confirm(p_reject)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await wait_until(lambda: p_reject not in _pending_ids(emb))
        await wait_until(lambda: app.desk.proposals[p_reject].state is ProposalState.REJECTED)

        # confirm: y, an order goes to the paper broker
        app.open_confirm(p_confirm)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(lambda: p_confirm not in _pending_ids(emb))
        await wait_until(lambda: bool(_orders_for(emb, app, p_confirm)), within=10)

        # edit: quantity 1, re-checked by risk, the order carries the edited quantity
        asked = app.desk.pending[p_edit].proposal
        app.open_confirm(p_edit, edit=True)
        await wait_until(lambda: isinstance(app.screen, ConfirmScreen) and app.screen.editing)
        app.screen.query_one("#edit-qty", Input).value = "1"
        await pilot.press("enter")
        await wait_until(lambda: p_edit not in _pending_ids(emb))
        if asked.quantity != 1:
            await wait_until(lambda: bool(_orders_for(emb, app, p_edit)), within=10)
            assert all(o.request.quantity == 1 for o in _orders_for(emb, app, p_edit))
        assert app._exception is None


async def _resting_bid(emb: Embedded) -> str:
    """A manual limit bid well under the market, confirmed: an open order; its id."""
    eng = emb.engine
    price = Decimal(str(round(eng._bars["SPY"].close * 0.8, 2)))
    p = TradeProposal(
        proposal_id="p-desk-resting-bid",
        strategy="manual",
        created_at=eng.clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity("SPY"), Side.BUY),),
        quantity=1,
        reason="a resting bid for the blotter keys",
        order_type=OrderType.LIMIT,
        limit_price=price,
    )
    ok, msg = await eng.submit_manual(p)
    assert ok, msg
    ok, msg = await eng.confirm(p.proposal_id)
    assert ok, msg
    (coid,) = [c for c, o in eng.open_orders.items() if o.request.proposal_id == p.proposal_id]
    return coid


async def _screen(app: Any, cls: type, within: float = 5.0) -> Any:
    await wait_until(lambda: isinstance(app.screen, cls), within)
    return app.screen


async def test_every_binding_when_pressed_against_engine_then_acts_without_error(
    embedded: Embedded, isolated_config: Path
) -> None:
    emb = embedded
    app = make_app(isolated_config, emb.client)
    used: set[str] = set()

    async with app.run_test(size=(160, 48)) as pilot:

        async def press(binding_id: str, key: str) -> None:
            used.add(binding_id)
            await pilot.press(key)
            await pilot.pause()

        await app.wait_ready()
        await pilot.pause()
        dash = app.screen
        grid = dash.query_one(StrategyGrid)
        first = grid.selected_name
        assert first is not None

        # ---- dashboard
        await press("dashboard.sort", "S")
        assert dash.query_one("#positions-box").border_subtitle.startswith("sort qty")
        await press("dashboard.focus_queue", "w")
        await press("dashboard.details", "enter")
        await _screen(app, ConfirmScreen)
        await press("confirm.defer", "escape")
        await _screen(app, DashboardScreen)
        await press("dashboard.confirm", "y")
        await _screen(app, ConfirmScreen)
        await press("confirm.edit", "e")
        assert app.screen.editing
        await pilot.press("escape")  # leaves edit mode
        await press("confirm.no", "n")
        await _screen(app, DashboardScreen)
        before = len(_pending_ids(emb))
        await press("dashboard.edit", "e")
        await _screen(app, ConfirmScreen)
        await pilot.press("escape", "escape")
        await _screen(app, DashboardScreen)
        await press("dashboard.reject", "n")
        await wait_until(lambda: len(_pending_ids(emb)) < before)
        await pilot.press("y")
        await _screen(app, ConfirmScreen)
        await press("confirm.yes", "y")
        await _screen(app, DashboardScreen)
        await press("dashboard.pause", "p")
        await wait_until(
            lambda: emb.engine.snapshot().strategies[0].state is StrategyRunState.PAUSED
        )
        await pilot.press("p")
        await wait_until(
            lambda: emb.engine.snapshot().strategies[0].state is StrategyRunState.RUNNING
        )

        # ---- strategy screen
        await press("dashboard.strategy", "s")
        strat = await _screen(app, StrategyScreen)
        assert strat.strategy == first
        await press("strategy.pause", "p")
        await wait_until(lambda: app.desk.strategies[first].state is StrategyRunState.PAUSED)
        await press("strategy.resume", "u")
        await wait_until(lambda: app.desk.strategies[first].state is StrategyRunState.RUNNING)
        profile = app.desk.strategies[first].profile
        await press("strategy.profile", "f")
        await wait_until(
            lambda: any(
                s.name == first and s.profile != profile for s in emb.engine.snapshot().strategies
            )
        )
        await press("strategy.next", "right_square_bracket")
        assert strat.strategy != first
        await press("strategy.prev", "left_square_bracket")
        assert strat.strategy == first
        await press("strategy.stop", "x")
        await _screen(app, YesNoDialog)
        await press("dialog.yes", "y")
        await wait_until(
            lambda: any(
                s.name == first and s.state is StrategyRunState.STOPPED
                for s in emb.engine.snapshot().strategies
            )
        )
        await press("strategy.back", "escape")
        await _screen(app, DashboardScreen)

        # ---- risk screen
        await press("app.risk", "r")
        risk = await _screen(app, RiskScreen)
        await press("risk.refresh", "f5")
        await press("risk.reset", "b")  # nothing tripped: says so, sends nothing
        await press("risk.halt", "h")
        await wait_until(lambda: emb.engine.snapshot().risk.trading_state is TradingState.HALTED)
        await press("risk.reducing", "m")
        await _screen(app, YesNoDialog)
        await press("dialog.no", "n")
        await _screen(app, RiskScreen)
        assert emb.engine.snapshot().risk.trading_state is TradingState.HALTED
        await press("risk.activate", "a")
        await _screen(app, YesNoDialog)
        await pilot.press("y")
        await wait_until(lambda: emb.engine.snapshot().risk.trading_state is TradingState.ACTIVE)
        await press("app.kill", "k")
        await _screen(app, KillSwitchDialog)
        await pilot.press("escape")
        await _screen(app, RiskScreen)
        assert emb.engine.snapshot().risk.trading_state is TradingState.ACTIVE
        assert risk.is_current
        await press("risk.back", "escape")

        # ---- option chain: build a one-leg ticket and send it through risk
        await press("app.chain", "c")
        chain = await _screen(app, ChainScreen)
        await wait_until(lambda: chain.chain is not None and chain._active_table() is not None, 10)
        table = chain._active_table()
        assert isinstance(table, ChainTable)
        table.focus()
        await pilot.press("up")
        await press("chain.buy", "b")
        await pilot.press("right", "right", "right", "right", "right", "right", "right", "right")
        await press("chain.sell", "s")
        assert len(chain.legs) == 2
        await press("chain.clear", "backspace")
        assert chain.legs == []
        await pilot.press("b")
        assert len(chain.legs) == 1
        await press("chain.next", "right_square_bracket")
        await press("chain.prev", "left_square_bracket")
        manual_before = {p.proposal.proposal_id for p in emb.engine.snapshot().pending}
        await press("chain.ticket", "t")
        await _screen(app, TicketDialog)
        await pilot.press("enter")
        await _screen(app, ChainScreen)
        await wait_until(
            lambda: (
                any(
                    p.proposal.strategy == "manual" and p.proposal.proposal_id not in manual_before
                    for p in emb.engine.snapshot().pending
                )
                or any("manual proposal" in n.message for n in app.desk.log_history)
            ),
            10,
        )
        await press("chain.symbol", "slash")
        await _screen(app, PromptDialog)
        await pilot.press("escape")
        await _screen(app, ChainScreen)
        await press("chain.back", "escape")

        # ---- orders & fills: a resting bid to modify (dialog, then leave) and then cancel
        bid = await _resting_bid(emb)
        await wait_until(lambda: bid in app.desk.orders)
        await press("app.orders", "o")
        blotter = await _screen(app, BlotterScreen)
        await press("blotter.status", "f")
        assert blotter.filter.status == "open"
        await press("blotter.switch", "t")
        assert blotter.showing == "fills"
        await pilot.press("t")
        # Strategies may have orders open too (the seeded market decides): pick the bid's row.
        orders = blotter.query_one(OrdersTable)
        await wait_until(lambda: bid in orders.row_keys)
        assert orders.move_to_key(bid)
        await wait_until(lambda: orders.selected_id == bid)
        await press("blotter.modify", "m")
        await _screen(app, ModifyOrderDialog)
        await pilot.press("escape")
        await _screen(app, BlotterScreen)
        await press("blotter.cancel", "x")
        await wait_until(lambda: bid not in emb.engine.open_orders)
        await press("blotter.filter", "slash")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")
        await _screen(app, DashboardScreen)
        used.add("blotter.back")

        # ---- price chart
        await press("app.chart", "g")
        chart = await _screen(app, ChartScreen)
        await wait_until(lambda: bool(chart.bars), 10)
        await press("chart.style", "t")
        await press("chart.next", "right_square_bracket")
        await press("chart.prev", "left_square_bracket")
        await press("chart.symbol", "slash")
        await _screen(app, PromptDialog)
        await pilot.press("escape")
        await press("chart.back", "escape")

        # ---- backtest: open, select, start and cancel a run, leave
        await press("dashboard.backtest", "b")
        bt = await _screen(app, BacktestScreen)
        await press("backtest.all", "ctrl+l")
        await press("backtest.all", "ctrl+l")
        await press("backtest.run", "ctrl+r")
        await press("backtest.cancel", "ctrl+x")
        await wait_until(lambda: bt.state != "running", 60)
        await press("backtest.back", "escape")
        await _screen(app, DashboardScreen)

        # ---- help, theme, back to dashboard, kill switch, quit
        await press("app.help", "question_mark")
        await _screen(app, HelpScreen)
        await press("help.back", "escape")
        await press("app.theme", "ctrl+t")
        assert app.theme == "wsb-light"
        await press("app.orders", "o")
        await _screen(app, BlotterScreen)
        await press("app.dashboard", "D")
        await _screen(app, DashboardScreen)
        await press("app.kill", "k")
        await _screen(app, KillSwitchDialog)
        await pilot.press("h")
        await wait_until(lambda: emb.engine.snapshot().risk.trading_state is TradingState.HALTED)
        await press("app.quit", "q")
        await _screen(app, YesNoDialog) if app.desk.open_positions() else None
        if isinstance(app.screen, YesNoDialog):
            await press("dialog.cancel", "escape")
        used.add("dialog.cancel")
        assert app._exception is None

    every = {s.id for s in all_specs()}
    assert every - used == set(), f"bindings never exercised: {sorted(every - used)}"
