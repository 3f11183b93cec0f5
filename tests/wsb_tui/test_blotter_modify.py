"""The blotter's modify key: `m` on an open limit order opens the modify dialog, Enter sends
`replace_order` with only what changed; the form's checks; a filled order is not offered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from desk_helpers import wait_until
from fake_client import FakeEngineClient
from textual.widgets import Input, Label

from engine.domain import (
    Equity,
    Order,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from widgets.blotter import OrdersTable
from wsb_tui.screens.blotter import BlotterScreen
from wsb_tui.screens.dialogs import ModifyOrderDialog, ModifyValues, parse_modify

D = Decimal


def _resting(coid: str = "wsb-rest-1", qty: int = 10, filled: int = 0) -> Order:
    req = OrderRequest(
        coid, (OrderLeg(Equity("SPY"), Side.BUY),), qty, OrderType.LIMIT, D("400.00")
    )
    client = FakeEngineClient()
    order = Order(req, "b-rest", OrderStatus.NEW, client.now, client.now)
    if filled:
        order = order.transition(
            OrderStatus.PARTIALLY_FILLED, client.now, filled_quantity=filled, avg_fill_price=D(400)
        )
    return order


def test_parse_modify_when_fields_edited_then_only_changes_returned() -> None:
    order = _resting(filled=3)
    assert parse_modify(order, "10", "401.5") == ModifyValues(None, D("401.5"))
    assert parse_modify(order, "12", "") == ModifyValues(12, None)
    with pytest.raises(ValueError, match="exceed the 3 already filled"):
        parse_modify(order, "3", "400")
    with pytest.raises(ValueError, match="whole number"):
        parse_modify(order, "ten", "400")
    with pytest.raises(ValueError, match="must be positive"):
        parse_modify(order, "10", "-1")
    with pytest.raises(ValueError, match="nothing changed"):
        parse_modify(order, "10", "400.00")


async def _blotter(app: Any, pilot: Any) -> BlotterScreen:
    await app.wait_ready()
    await pilot.press("o")
    await wait_until(lambda: isinstance(app.screen, BlotterScreen))
    screen = app.screen
    assert isinstance(screen, BlotterScreen)
    return screen


async def test_modify_when_limit_edited_and_entered_then_replace_order_sent(
    app_factory: Any,
) -> None:
    client = FakeEngineClient()
    order = _resting()
    client.orders.append(order)
    app = app_factory(client)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _blotter(app, pilot)
        await wait_until(lambda: screen.query_one(OrdersTable).selected_id == order.client_order_id)
        await pilot.press("m")
        await wait_until(lambda: isinstance(app.screen, ModifyOrderDialog))
        dialog = app.screen
        dialog.query_one("#modify-qty", Input).value = "0"
        await pilot.press("enter")
        await pilot.pause()
        assert "must exceed" in str(dialog.query_one("#dialog-error", Label).render())
        assert client.calls.replace == []
        dialog.query_one("#modify-qty", Input).value = "10"
        dialog.query_one("#modify-limit", Input).value = "401.25"
        await pilot.press("enter")
        await wait_until(lambda: bool(client.calls.replace))
        assert client.calls.replace == [(order.client_order_id, None, D("401.25"))]
        assert isinstance(app.screen, BlotterScreen)


async def test_modify_when_escaped_then_nothing_sent(app_factory: Any) -> None:
    client = FakeEngineClient()
    order = _resting()
    client.orders.append(order)
    app = app_factory(client)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await _blotter(app, pilot)
        await wait_until(lambda: screen.query_one(OrdersTable).selected_id == order.client_order_id)
        await pilot.press("m")
        await wait_until(lambda: isinstance(app.screen, ModifyOrderDialog))
        await pilot.press("escape")
        await wait_until(lambda: isinstance(app.screen, BlotterScreen))
        assert client.calls.replace == []
