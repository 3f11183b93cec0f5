"""The lazy package exports: every public name resolves to the value it names, even once the
submodules are loaded (a submodule named like an export used to shadow it: `implied_vol`)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

LAZY = ("analytics", "backtest", "broker", "data", "pricing", "risk", "store")


@pytest.mark.parametrize("name", LAZY)
def test_exports_when_every_submodule_loaded_then_each_name_is_its_value(name: str) -> None:
    pkg = importlib.import_module(f"engine.{name}")
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"engine.{name}."):
        importlib.import_module(info.name)
    exports: dict[str, tuple[str, str]] = pkg._EXPORTS
    assert sorted(exports) == sorted(pkg.__all__)
    for public, (module, attr) in exports.items():
        value = getattr(pkg, public)
        assert not isinstance(value, ModuleType), f"engine.{name}.{public} is a module"
        assert value is getattr(importlib.import_module(module), attr)
    assert set(exports) <= set(dir(pkg))


def test_exports_when_unknown_name_then_attribute_error_names_it() -> None:
    pkg = importlib.import_module("engine.pricing")
    with pytest.raises(AttributeError, match=r"'engine\.pricing' has no attribute 'nope'"):
        _ = pkg.nope
