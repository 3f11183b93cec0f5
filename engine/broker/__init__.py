"""Brokers: the `Broker` protocol and the embedded paper broker.

Names are imported on first use (PEP 562), so importing one submodule does not load
the whole package (NumPy, SciPy, pandas) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
