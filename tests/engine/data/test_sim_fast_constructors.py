"""The simulator builds chain quotes and intraday bars without the frozen dataclass constructor
when a whole pass is known valid: the objects must equal what the constructor gives, field for
field, and an invalid row must still raise the constructor's own error."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from itertools import repeat

import numpy as np
import pytest

from engine.data import SimulatedMarket
from engine.data.simulator import market as market_mod
from engine.data.simulator import options as options_mod
from engine.data.simulator.intraday import BucketArrays
from engine.data.simulator.options import ExpiryRequest, build_expiries, listed_expiries
from engine.domain import BadMarketData, Bar, BarInterval, OptionQuote

SYMBOLS = ("SPY", "SPX", "NVDA", "AMC", "KO")


def _fields(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))  # type: ignore[arg-type]


def _requests(sim: SimulatedMarket) -> list[ExpiryRequest]:
    out: list[ExpiryRequest] = []
    for sym in SYMBOLS:
        inputs, today = sim._chain_inputs(sym)
        for e in listed_expiries(inputs.style.daily_expiries, today, sim.calendar)[:6]:
            out.append(ExpiryRequest(inputs, e, sim.calendar.session_close(e)))
    return out


def test_chain_quotes_when_built_fast_then_equal_the_dataclass_constructor_field_for_field(
    sim: SimulatedMarket, sim_clock
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=61))
    blocks = build_expiries(_requests(sim))
    n = 0
    for block in blocks:
        for q in block.quotes:
            rebuilt = OptionQuote(*_fields(q))  # type: ignore[arg-type]
            assert type(q) is OptionQuote
            assert q == rebuilt
            assert hash(q) == hash(rebuilt)
            assert [type(v) for v in _fields(q)] == [type(v) for v in _fields(rebuilt)]
            n += 1
    assert n > 500  # calls and puts of several expiries and names


def test_chain_quotes_when_a_row_is_invalid_then_the_constructor_error_is_raised(
    sim: SimulatedMarket, sim_clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_clock.set(sim.start_time + timedelta(minutes=61))
    real = options_mod._tick_ceil

    def unbounded(x: np.ndarray, tick: np.ndarray) -> np.ndarray:
        out = real(x, tick)
        out[len(out) // 2] = np.inf  # one row's ask is not finite
        return out

    monkeypatch.setattr(options_mod, "_tick_ceil", unbounded)
    with pytest.raises(BadMarketData, match="ask=inf must be finite"):
        build_expiries(_requests(sim)[:1])


def test_intraday_bars_when_built_fast_then_equal_the_dataclass_constructor_field_for_field(
    sim: SimulatedMarket, sim_clock
) -> None:
    session = sim.sessions[len(sim.sessions) // 3]
    sim_clock.set(sim.calendar.session_close(session) + timedelta(minutes=1))
    open_, close = sim.calendar.session_open(session), sim.calendar.session_close(session)
    for sym in SYMBOLS:
        for interval in (BarInterval.MINUTE, BarInterval.FIVE_MINUTES, BarInterval.HOUR):
            bars = sim.intraday_bars_sync(sym, interval, open_, close)
            assert bars
            for b in bars:
                rebuilt = Bar(*_fields(b))  # type: ignore[arg-type]
                assert type(b) is Bar
                assert b == rebuilt
                assert hash(b) == hash(rebuilt)


def _buckets(**bad: float) -> BucketArrays:
    cols = {
        "open": np.array([10.0, 10.5]),
        "high": np.array([11.0, 11.0]),
        "low": np.array([9.5, 10.0]),
        "close": np.array([10.5, 10.8]),
        "volume": np.array([100.0, 200.0]),
    }
    for name, value in bad.items():
        cols[name][1] = value
    return BucketArrays(start=np.array([0, 5]), end=np.array([5, 10]), **cols)


@pytest.mark.parametrize(
    "bad", [{}, {"high": 10.6}, {"low": 10.9}, {"volume": -1.0}, {"close": float("nan")}]
)
def test_bar_validity_screen_when_rows_vary_then_agrees_with_the_constructor(
    bad: dict[str, float],
) -> None:
    agg = _buckets(**bad)
    cols = [a.tolist() for a in (agg.open, agg.high, agg.low, agg.close, agg.volume)]
    starts = list(repeat(sim_start := market_mod.sim_start_time(), 2))
    try:
        expected = list(map(Bar, repeat("X"), starts, *cols, repeat(BarInterval.FIVE_MINUTES)))
    except BadMarketData:
        expected = None
    assert market_mod._bars_valid(agg) is (expected is not None)
    if expected is not None:
        fast = market_mod._checked_bars("X", starts, cols, BarInterval.FIVE_MINUTES)
        assert fast == expected
        assert fast[0].start == sim_start
