"""Strategy names -> instances: the registry's ten plus the backtest examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.backtest.examples import SmaCross
from engine.strategies.base import Strategy
from engine.strategies.registry import UnknownStrategy, available, strategy_class

EXAMPLES: Mapping[str, type[Strategy]] = {SmaCross.name: SmaCross}


def known_strategies() -> tuple[str, ...]:
    return (*available(), *EXAMPLES)


def expand_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """``all`` -> every registry strategy; otherwise a comma list (or sequence), validated."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    if names == ["all"]:
        return available()
    allowed = known_strategies()
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise UnknownStrategy(
            f"strategy {', '.join(bad) or '(none)'}: allowed {', '.join(allowed)} or 'all'"
        )
    return tuple(dict.fromkeys(names))


def build_strategy(name: str, profile: str, params: Mapping[str, Any] | None = None) -> Strategy:
    cls = EXAMPLES.get(name) or strategy_class(name)
    return cls.from_profile(profile, params or {})


def build_strategies(
    names: Sequence[str], profile: str, params: Mapping[str, Mapping[str, Any]]
) -> list[Strategy]:
    return [build_strategy(n, profile, params.get(n)) for n in names]
