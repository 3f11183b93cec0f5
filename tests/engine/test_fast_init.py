"""`fast_init` gives frozen, slotted dataclasses the same `__init__` behaviour, only cheaper."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.domain import (
    CheckOutcome,
    Equity,
    Fill,
    OrderUpdated,
    Position,
    RiskCheckResult,
    Side,
    TradeProposal,
)
from engine.domain.fast_init import fast_init
from engine.domain.proposals import ProposalIntent


def _twin() -> tuple[type, type]:
    """The same class twice: as @dataclass made it and with fast_init on top."""

    def make() -> type:
        @dataclass(frozen=True, slots=True)
        class Thing:
            a: int
            b: list[int] = field(default_factory=list)
            c: str = "c"
            d: int = field(default=4, kw_only=True)
            e: int | None = field(default=None, init=False)
            f: dict[str, int] = field(default_factory=dict, init=False)
            seen: list[str] = field(default_factory=list, compare=False)

            def __post_init__(self) -> None:
                self.seen.append(f"post {self.a}")

        return Thing

    return make(), fast_init(make())


def test_fast_init_when_applied_then_signature_and_values_match_the_generated_init() -> None:
    plain, fast = _twin()
    assert inspect.signature(fast.__init__) == inspect.signature(plain.__init__)  # type: ignore[misc]
    for args, kwargs in [((1,), {}), ((1, [2], "x"), {"d": 5}), ((), {"a": 3, "c": "z"})]:
        want, got = plain(*args, **kwargs), fast(*args, **kwargs)
        assert dataclasses.astuple(got) == dataclasses.astuple(want)
        assert got.seen == ["post " + str(got.a)]  # __post_init__ ran once, after the fields


def test_fast_init_when_factory_default_then_each_instance_gets_its_own() -> None:
    _, fast = _twin()
    one, two = fast(1), fast(2)
    assert one.b == []
    assert one.b is not two.b
    assert one.f is not two.f


def test_fast_init_when_built_then_still_frozen_and_replace_works() -> None:
    _, fast = _twin()
    x = fast(1, [9])
    with pytest.raises(FrozenInstanceError):
        x.a = 2
    y = dataclasses.replace(x, a=7)
    assert (y.a, y.b, y.d) == (7, [9], 4)


def test_fast_init_when_arguments_wrong_then_same_errors_as_generated() -> None:
    plain, fast = _twin()
    for args, kwargs in [((), {}), ((1, [], "c", [], 5), {}), ((1,), {"e": 1}), ((1,), {"zz": 1})]:
        with pytest.raises(TypeError):
            plain(*args, **kwargs)
        with pytest.raises(TypeError):
            fast(*args, **kwargs)


def test_fast_init_when_not_frozen_slotted_dataclass_then_refused() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, NotFrozen, int):
        with pytest.raises(TypeError, match="fast_init"):
            fast_init(cls)


def test_fast_init_when_init_var_then_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        scale: dataclasses.InitVar[int] = 1

        def __post_init__(self, scale: int) -> None:
            pass

    with pytest.raises(TypeError, match="signature"):
        fast_init(WithInitVar)


def test_domain_values_when_built_then_post_init_checks_still_run() -> None:
    now = datetime(2024, 1, 2, 15, tzinfo=UTC)
    with pytest.raises(ValueError, match="valid ticker"):
        Equity("bad ticker")
    with pytest.raises(ValueError, match="must be positive"):
        Fill("f", "c", "b", Equity("AAPL"), Side.BUY, 0, Decimal(1), Decimal(0), now)
    with pytest.raises(ValueError, match="at least one leg"):
        TradeProposal("p", "s", now, ProposalIntent.OPEN, (), 1, "")
    event = OrderUpdated(ts=now, order=None)  # type: ignore[arg-type]
    assert event.ts == now  # an inherited field is set through the base class's slot
    pos = Position(Equity("AAPL"), 3, Decimal(2))
    assert (pos.realized_pnl, pos.mark, pos.opened_at) == (Decimal(0), None, None)
    check = RiskCheckResult("x", CheckOutcome.PASS, message="m")
    assert check == RiskCheckResult("x", CheckOutcome.PASS, None, None, "m", None)
