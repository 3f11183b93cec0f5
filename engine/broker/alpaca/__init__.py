"""Alpaca (alpaca-py) broker adapter: paper or live trading through the `Broker` protocol."""

from engine.broker.alpaca.broker import AlpacaBroker, make_trading_client
from engine.broker.alpaca.convert import PayloadError, unsupported_reason
from engine.broker.alpaca.reconcile import OrderDifference, reconcile_orders
from engine.broker.alpaca.settings import AlpacaSettings, AlpacaSettingsError
from engine.broker.alpaca.transport import AlpacaError, FailureKind, Transport

__all__ = [
    "AlpacaBroker",
    "AlpacaError",
    "AlpacaSettings",
    "AlpacaSettingsError",
    "FailureKind",
    "OrderDifference",
    "PayloadError",
    "Transport",
    "make_trading_client",
    "reconcile_orders",
    "unsupported_reason",
]
