"""Reusable Textual widgets for the desk. They import engine *types* only and post messages
defined inside their own classes; they never reach up into a screen or the app.

Names are loaded on first use, so importing one widget does not import them all (the chart
widgets pull in plotext): startup time is part of the product.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "BlotterFilter": "widgets.blotter",
    "FillsTable": "widgets.blotter",
    "OrdersTable": "widgets.blotter",
    "ChainTable": "widgets.chain_table",
    "EquityChart": "widgets.charts",
    "PriceChart": "widgets.charts",
    "TradeMark": "widgets.charts",
    "EventLog": "widgets.event_log",
    "RiskGauges": "widgets.gauges",
    "DeskHeader": "widgets.header",
    "HeaderView": "widgets.header",
    "ModeBadge": "widgets.header",
    "Cell": "widgets.keyed_table",
    "Column": "widgets.keyed_table",
    "KeyedTable": "widgets.keyed_table",
    "SyncStats": "widgets.keyed_table",
    "cell": "widgets.keyed_table",
    "num": "widgets.keyed_table",
    "PositionsTable": "widgets.positions",
    "ProposalsQueue": "widgets.proposals",
    "StrategyGrid": "widgets.strategy_grid",
    "StrategyPane": "widgets.strategy_grid",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'widgets' has no attribute {name!r}")
    return getattr(import_module(module), name)
