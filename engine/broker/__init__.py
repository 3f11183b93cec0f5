"""Brokers: the `Broker` protocol and the embedded paper broker.

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from engine.broker.fill_model import PaperBrokerConfig
    from engine.broker.paper import OrderNotCancelable, PaperBroker, UnknownOrder
    from engine.broker.protocol import Account, Broker, OrderRejected

_EXPORTS: dict[str, tuple[str, str]] = {
    "PaperBrokerConfig": ("engine.broker.fill_model", "PaperBrokerConfig"),
    "OrderNotCancelable": ("engine.broker.paper", "OrderNotCancelable"),
    "PaperBroker": ("engine.broker.paper", "PaperBroker"),
    "UnknownOrder": ("engine.broker.paper", "UnknownOrder"),
    "Account": ("engine.broker.protocol", "Account"),
    "Broker": ("engine.broker.protocol", "Broker"),
    "OrderRejected": ("engine.broker.protocol", "OrderRejected"),
}

__all__ = [
    "Account",
    "Broker",
    "OrderNotCancelable",
    "OrderRejected",
    "PaperBroker",
    "PaperBrokerConfig",
    "UnknownOrder",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
