"""The paper broker's cached book (holdings and reserve) and its on_market short cut never
change an answer: the cache follows every fill and restore, and skipping on_market's order
and expiry steps with no open order and no option held leaves the broker exactly as running
them would."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from paper_desk import AAPL, CLOSE_TS, OPEN_TS, Desk, make_desk, order, put

from engine.broker import PaperBrokerConfig
from engine.broker.margin import collateral_requirement
from engine.domain import Instrument, OptionContract, Side, TimeInForce

D = Decimal
NO_FEES = PaperBrokerConfig(
    equity_slippage_bps=D(0), option_slippage_spread_fraction=D(0), commission_per_contract=D(0)
)


def _fresh(desk: Desk) -> tuple[dict[Instrument, int], Decimal]:
    held = {p.instrument: p.quantity for p in desk.broker._positions.values() if p.quantity}
    return held, collateral_requirement(held, allow_naked=True).total


def _cached(desk: Desk) -> tuple[dict[Instrument, int], Decimal]:
    return dict(desk.broker._held_now()), desk.broker._position_collateral().total


async def test_held_cache_when_fills_and_restore_change_the_book_then_matches_fresh() -> None:
    desk = make_desk(cash="100000", config=NO_FEES)
    p = put("150")
    desk.quote("AAPL", 160.0, 160.1)
    desk.option(p, 2.0, 2.1)
    assert _cached(desk) == _fresh(desk) == ({}, D(0))
    await desk.broker.submit(order((p, Side.SELL), qty=2, key="a"))  # cash-secured puts
    assert _cached(desk) == _fresh(desk)
    assert _cached(desk)[1] == D(30_000)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="b"))
    assert _cached(desk) == _fresh(desk)
    await desk.broker.submit(order((p, Side.BUY), qty=1, key="c"))
    assert _cached(desk) == _fresh(desk)
    assert _cached(desk)[1] == D(15_000)
    positions = list(desk.broker._positions.values())
    desk.broker.restore(D(50_000), positions[:1])
    assert _cached(desk) == _fresh(desk)
    assert len(_cached(desk)[0]) == 1
    # A mark changes neither the holdings nor the reserve.
    await desk.broker.account()
    assert _cached(desk) == _fresh(desk)


def _state(desk: Desk) -> tuple[object, ...]:
    b = desk.broker
    return (
        b.cash,
        sorted((s, p.quantity, p.avg_price) for s, p in b._positions.items()),
        sorted((c, o.status, o.filled_quantity, o.reject_reason) for c, o in b._orders.items()),
        list(b._open),
        b._last_closed_session,
    )


async def _script(desk: Desk) -> list[tuple[object, ...]]:
    """A stock book across two sessions: a fill, a resting DAY limit that expires at the close,
    ticks with nothing open, the next session's open."""
    seen = []
    desk.quote("AAPL", 160.0, 160.1)
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="m"))
    await desk.advance(OPEN_TS + timedelta(minutes=5))
    seen.append(_state(desk))
    await desk.broker.submit(order((AAPL, Side.BUY), qty=5, limit="150", key="l"))
    for minutes in (10, 20):
        await desk.advance(OPEN_TS + timedelta(minutes=minutes))
        seen.append(_state(desk))
    for when in (CLOSE_TS + timedelta(minutes=1), CLOSE_TS + timedelta(hours=20)):
        await desk.advance(when)
        seen.append(_state(desk))
    return seen


async def test_on_market_when_nothing_open_and_no_options_then_same_as_running_every_step() -> None:
    fast = make_desk(config=NO_FEES)
    full = make_desk(config=NO_FEES)
    full.broker._holds_options = lambda: True  # type: ignore[method-assign]
    fast_states = await _script(fast)
    assert fast_states == await _script(full)
    # The DAY limit order expired at the close, and the closed session was noted, on both.
    assert fast_states[-2][3] == []
    assert fast_states[-1][4] is not None
    assert fast_states[-1][4] != fast_states[0][4]


async def test_on_market_when_an_option_is_held_then_expiry_still_settles() -> None:
    desk = make_desk(config=NO_FEES)
    p = put("150")
    desk.quote("AAPL", 160.0, 160.1)
    desk.option(p, 2.0, 2.1)
    await desk.broker.submit(order((p, Side.BUY), qty=1, tif=TimeInForce.DAY))
    assert desk.broker._holds_options()
    desk.daily_close("AAPL", CLOSE_TS.date(), 170.0)
    await desk.advance(CLOSE_TS + timedelta(minutes=1))
    assert await desk.broker.positions() == []  # expired worthless, out of the book


def _holds_options_fresh(desk: Desk) -> bool:
    return any(isinstance(i, OptionContract) for i in desk.broker._holder_instruments.values())


async def test_holds_options_when_options_bought_and_closed_then_matches_fresh() -> None:
    desk = make_desk(cash="100000", config=NO_FEES)
    p = put("150")
    desk.quote("AAPL", 160.0, 160.1)
    desk.option(p, 2.0, 2.1)
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is False
    await desk.broker.submit(order((AAPL, Side.BUY), qty=10, key="s"))
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is False
    await desk.broker.submit(order((p, Side.BUY), qty=2, key="b"))
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is True
    await desk.broker.submit(order((p, Side.SELL), qty=1, key="s1"))
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is True
    await desk.broker.submit(order((p, Side.SELL), qty=1, key="s2"))  # flat in the option
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is False
    await desk.broker.submit(order((p, Side.BUY), qty=1, key="b2"))
    desk.broker.restore(D(50_000), [])
    assert desk.broker._holds_options() is _holds_options_fresh(desk) is False


async def test_latest_closed_session_when_asked_through_two_days_then_matches_calendar() -> None:
    desk = make_desk(config=NO_FEES)
    cal = desk.broker._calendar

    def fresh(now: datetime) -> date:
        session = cal.session_on_or_before(now.date())
        return cal.previous_session(session) if cal.session_close(session) > now else session

    for when in (
        OPEN_TS,
        CLOSE_TS - timedelta(seconds=1),
        CLOSE_TS,
        CLOSE_TS + timedelta(hours=5),
        OPEN_TS + timedelta(days=1),
        OPEN_TS,  # back to a day asked before
        CLOSE_TS + timedelta(days=3),  # a weekend
    ):
        assert desk.broker._latest_closed_session(when) == fresh(when)
