"""Brokers: the `Broker` protocol and the embedded paper broker."""

from engine.broker.fill_model import PaperBrokerConfig
from engine.broker.paper import OrderNotCancelable, PaperBroker, UnknownOrder
from engine.broker.protocol import Account, Broker, OrderRejected

__all__ = [
    "Account",
    "Broker",
    "OrderNotCancelable",
    "OrderRejected",
    "PaperBroker",
    "PaperBrokerConfig",
    "UnknownOrder",
]
