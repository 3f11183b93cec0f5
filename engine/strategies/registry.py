"""Strategy registry: name -> class, and the per-strategy allocation caps of spec §0.2."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping

from engine.strategies.base import Strategy

# Ordered as the spec numbers them; the dashboard grid follows this order.
_MODULES: dict[str, str] = {
    "wsb_dip_bot": "engine.strategies.wsb_dip_bot:WsbDipBot",
    "earnings_protection": "engine.strategies.earnings_protection:EarningsProtection",
    "index_baseline": "engine.strategies.index_baseline:IndexBaseline",
    "wheel": "engine.strategies.wheel:Wheel",
    "momentum_weeklies": "engine.strategies.momentum_weeklies:MomentumWeeklies",
    "debit_spreads": "engine.strategies.debit_spreads:DebitSpreads",
    "leaps_tracker": "engine.strategies.leaps_tracker:LeapsTracker",
    "swing_trading": "engine.strategies.swing_trading:SwingTrading",
    "spx_credit_spreads": "engine.strategies.spx_credit_spreads:SpxCreditSpreads",
    "lotto_scanner": "engine.strategies.lotto_scanner:LottoScanner",
}

# Spec §0.2: fraction of equity each strategy may have at risk, per profile.
ALLOCATION_CAPS: Mapping[str, Mapping[str, float]] = {
    "research_2024": {
        "wsb_dip_bot": 0.25,
        "earnings_protection": 0.06,
        "index_baseline": 0.60,
        "wheel": 0.20,
        "momentum_weeklies": 0.05,
        "debit_spreads": 0.15,
        "leaps_tracker": 0.03,
        "swing_trading": 0.05,
        "spx_credit_spreads": 0.04,
        "lotto_scanner": 0.01,
    },
    "wsb_2025": {
        "wsb_dip_bot": 0.28,
        "earnings_protection": 0.22,
        "index_baseline": 0.55,
        "wheel": 0.42,
        "momentum_weeklies": 0.10,
        "debit_spreads": 0.18,
        "leaps_tracker": 0.16,
        "swing_trading": 0.06,
        "spx_credit_spreads": 0.12,
        "lotto_scanner": 0.04,
    },
}


class UnknownStrategy(KeyError):
    pass


def available() -> tuple[str, ...]:
    """Names of the strategies whose module is present, in spec order."""
    out = []
    for name, target in _MODULES.items():
        module = target.split(":")[0]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return tuple(out)


def strategy_class(name: str) -> type[Strategy]:
    try:
        target = _MODULES[name]
    except KeyError:
        allowed = ", ".join(available())
        raise UnknownStrategy(f"unknown strategy {name!r}; allowed: {allowed}") from None
    module, _, cls_name = target.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise TypeError(f"{target} is not a Strategy")
    return cls


def allocation_cap(name: str, profile: str) -> float:
    return ALLOCATION_CAPS.get(profile, ALLOCATION_CAPS["research_2024"]).get(name, 0.05)
