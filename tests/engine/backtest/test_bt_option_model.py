"""Options on historical underlyings: the earnings premium of the CSV option model."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from engine.backtest.sources import HistoricalMarket, infer_earnings
from engine.data.calendar import default_calendar
from engine.domain import OptionRight
from engine.runtime.clock import ReplayClock


def test_infer_earnings_when_gap_recurs_each_quarter_then_found_with_causal_sd():
    cal = default_calendar()
    days = cal.sessions(date(2015, 1, 2), date(2017, 12, 29))
    rng = np.random.default_rng(2)
    gap = rng.normal(0, 0.002, len(days))
    intraday = rng.normal(0, 0.01, len(days))
    reaction_days = []
    for k, d in enumerate(days):
        quarter_start = date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
        if k and (d - quarter_start).days >= 25 and (days[k - 1] - quarter_start).days < 25:
            gap[k] = 0.05 if len(reaction_days) % 2 == 0 else -0.03
            reaction_days.append(d)
    opens = np.empty(len(days))
    closes = np.empty(len(days))
    prev = 100.0
    for k in range(len(days)):
        opens[k] = prev * np.exp(gap[k])
        closes[k] = prev = opens[k] * np.exp(intraday[k])
    opens_at = [cal.session_open(d) for d in days]
    got = infer_earnings(days, opens, closes, opens_at)
    assert [r.day for r in got] == reaction_days
    assert got[0].move_sd == pytest.approx(0.04)  # nothing seen yet
    assert got[1].move_sd == pytest.approx(0.05)  # only the first event


def test_iv_when_expiry_spans_inferred_earnings_then_premium_then_crush(prices_dir):
    clock = ReplayClock(datetime(2019, 7, 1, 14, 30, tzinfo=UTC))
    market = HistoricalMarket(prices_dir, clock, symbols=["AAPL"])
    events = asyncio.run(market.earnings_calendar(date(2019, 7, 1), date(2019, 8, 31)))
    assert [e.date for e in events] == [
        date(2019, 7, 31)
    ]  # Apple reported 2019-07-30 after the close
    cal = market.calendar

    def atm_iv(expiry: date) -> float:
        chain = market.option_chain_sync("AAPL", expiry, expiry)
        calls = [q for q in chain.quotes if q.contract.right is OptionRight.CALL]
        return min(calls, key=lambda q: abs(float(q.contract.strike) - chain.spot)).iv

    clock.jump_to(cal.session_close(date(2019, 7, 25)) - timedelta(hours=1))
    before, spanning = atm_iv(date(2019, 7, 26)), atm_iv(date(2019, 8, 2))
    assert spanning > before * 1.3
    clock.jump_to(cal.session_close(date(2019, 8, 1)) - timedelta(hours=1))
    after = atm_iv(date(2019, 8, 2))
    assert after < spanning * 0.8
