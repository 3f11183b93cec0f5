from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.domain import Equity, Fill, Side
from widgets.blotter import BlotterFilter
from widgets.format import bar_text, compact_money, money, pct, sparkline_text


@pytest.mark.parametrize(
    ("value", "kw", "text"),
    [
        (1204.55, {"signed": True}, "+$1,204.55"),
        (-210, {}, "-$210.00"),
        (Decimal("61220"), {"cents": False}, "$61,220"),
        (None, {}, "—"),
        (float("nan"), {}, "—"),
        (-0.001, {}, "$0.00"),
    ],
)
def test_money_when_formatted_then_sign_and_grouping(
    value: object, kw: dict[str, bool], text: str
) -> None:
    assert money(value, **kw) == text  # type: ignore[arg-type]


def test_compact_when_scaled_then_k_and_m() -> None:
    assert [compact_money(v) for v in (41200, 1200, 3_400_000, -210)] == [
        "$41k",
        "$1.2k",
        "$3.4M",
        "-$210",
    ]
    assert pct(0.0119) == "+1.19%"


def test_sparkline_when_rising_then_blocks_rise_and_width_kept() -> None:
    s = sparkline_text([1, 2, 3, 4, 5, 6, 7, 8], width=8)
    assert s[0] == "▁"
    assert s[-1] == "█"
    assert len(s) == 8
    assert sparkline_text([], 5) == "     "
    assert bar_text(0.63, 10) == ("██████", "░░░░")
    assert bar_text(7.0, 4) == ("████", "")


def test_blotter_filter_when_text_given_then_matches_symbol_or_strategy_case_insensitive() -> None:
    f = Fill(
        "f1",
        "c1",
        "b1",
        Equity("SPY"),
        Side.BUY,
        10,
        Decimal(1),
        Decimal(0),
        datetime(2025, 1, 2, tzinfo=UTC),
        strategy="index_baseline",
    )
    assert BlotterFilter("spy").matches_fill(f)
    assert BlotterFilter("INDEX").matches_fill(f)
    assert not BlotterFilter("qqq").matches_fill(f)
    with pytest.raises(ValueError, match="status filter 'done'"):
        BlotterFilter(status="done")
