"""The memoised instrument JSON (store rows) gives exactly what encoding afresh gives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.domain import Equity, OptionContract, OptionRight
from engine.store import rows
from engine.store.codec import CodecError, dumps


def test_instrument_text_when_equal_strikes_print_differently_then_each_keeps_its_text() -> None:
    a = OptionContract("AAPL", date(2026, 1, 16), Decimal("150"), OptionRight.CALL)
    b = OptionContract("AAPL", date(2026, 1, 16), Decimal("150.0"), OptionRight.CALL)
    assert a == b
    assert rows.instrument_text(a) == dumps(a)
    assert rows.instrument_text(b) == dumps(b)
    assert rows.instrument_text(a) == dumps(a)  # a cache hit, still its own text


@pytest.mark.parametrize(
    "inst",
    [
        Equity("SPY"),
        Equity("SPX", is_index=True),
        OptionContract("SPY", date(2026, 3, 20), Decimal("512.5"), OptionRight.PUT),
    ],
)
def test_instrument_text_and_back_when_cached_then_same_as_fresh(
    inst: Equity | OptionContract,
) -> None:
    for _ in range(2):  # miss, then hit
        text = rows.instrument_text(inst)
        assert text == dumps(inst)
        back = rows.instrument_from_text(text, field="t")
        assert back == inst
        assert type(back) is type(inst)
        assert dumps(back) == text


def test_instrument_from_text_when_invalid_then_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(CodecError):
            rows.instrument_from_text("{not json", field="positions[X].instrument")


def test_instrument_caches_when_full_then_reset_and_still_correct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rows, "_CODEC_CACHE_MAX", 3)
    monkeypatch.setattr(rows, "_TEXT_OF", {})
    monkeypatch.setattr(rows, "_INSTRUMENT_OF", {})
    insts = [Equity(s) for s in ("A", "B", "C", "D", "E")]
    for inst in insts:
        assert rows.instrument_from_text(rows.instrument_text(inst), field="t") == inst
        assert len(rows._TEXT_OF) <= 3
        assert len(rows._INSTRUMENT_OF) <= 3
