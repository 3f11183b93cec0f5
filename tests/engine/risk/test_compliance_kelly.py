"""Kelly sizing (spec §4 'Kelly') and its testable example."""

from __future__ import annotations

import pytest

from engine.risk.kelly import kelly_contracts, kelly_fraction


def test_kelly_fraction_when_spec_defaults_then_048_and_quarter_012() -> None:
    f = kelly_fraction(0.60, 1.50, 0.45)
    assert f == pytest.approx(0.48)
    size = kelly_contracts(equity=100_000, contract_cost=500)
    assert size.kelly_used == pytest.approx(0.12)


def test_kelly_when_negative_edge_then_zero_contracts() -> None:
    assert kelly_fraction(0.20, 1.0, 1.0) == 0.0
    size = kelly_contracts(
        equity=100_000, contract_cost=500, win_prob=0.2, avg_win=1.0, avg_loss=1.0
    )
    assert size.kelly == 0
    assert size.contracts == 0


def test_kelly_when_spec_example_iv_25pct_then_fixed_20_kelly_24_conf_20_iv_20_gives_20() -> None:
    s = kelly_contracts(equity=100_000, contract_cost=500, confidence=1.0, iv=0.25, tier="moderate")
    assert (s.fixed, s.kelly, s.confidence, s.iv_adjusted) == (20, 24, 20, 20)
    assert s.before_vix == 20
    assert s.contracts == 20


def test_kelly_when_spec_example_iv_30pct_then_iv_adjusted_16_gives_16() -> None:
    s = kelly_contracts(equity=100_000, contract_cost=500, confidence=1.0, iv=0.30, tier="moderate")
    assert s.iv_adjusted == 16
    assert s.before_vix == 16


def test_kelly_when_vix_extreme_then_quartered_after_the_minimum() -> None:
    s = kelly_contracts(equity=100_000, contract_cost=500, iv=0.25, vix_multiplier=0.25)
    assert (s.before_vix, s.contracts) == (20, 5)


def test_kelly_when_low_confidence_then_confidence_size_binds() -> None:
    s = kelly_contracts(equity=100_000, contract_cost=500, confidence=0.5)
    assert s.confidence == 10
    assert s.contracts == 10


def test_kelly_when_aggressive_tier_and_huge_edge_then_capped_at_15pct_of_equity() -> None:
    s = kelly_contracts(
        equity=100_000,
        contract_cost=500,
        win_prob=0.95,
        avg_win=5.0,
        avg_loss=0.2,
        tier="aggressive",
        kelly_multiplier=0.5,
    )
    assert s.cap == 30
    assert s.kelly > 30
    assert s.contracts == 30


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"equity": 0}, "equity"),
        ({"contract_cost": -1}, "contract_cost"),
        ({"tier": "yolo"}, "tier"),
        ({"kelly_multiplier": 0.75}, "kelly_multiplier"),
        ({"iv": 0.0}, "iv"),
        ({"win_prob": 1.2}, "win_prob"),
    ],
)
def test_kelly_when_input_bad_then_error_names_field(kw: dict[str, float], field: str) -> None:
    args: dict = {"equity": 100_000, "contract_cost": 500, **kw}
    with pytest.raises(ValueError, match=field):
        kelly_contracts(**args)
