"""Wheel (spec §4): scenarios, near misses, exits, the CSP -> stock -> CC state machine."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from strat_fixtures import (
    alternating_closes,
    bs_chain,
    context,
    daily_bars,
    et,
    fresh_bar,
    market,
    option_quote,
    position,
    replace_rows,
    sessions_before,
    spot_quote,
)

from engine.data.memory import InMemoryMarketData
from engine.domain import (
    EarningsEvent,
    Equity,
    ExitReason,
    Fill,
    OptionChain,
    OptionContract,
    OptionRight,
    PositionEffect,
    ProposalIntent,
    Side,
)
from engine.strategies.wheel import (
    Phase,
    Wheel,
    WheelParams,
    annualized_yield,
    reference_call_strike,
)

SYM = "XYZ"
TODAY = date(2025, 3, 12)
NOW = et(TODAY, 11)
EXPIRIES = [TODAY + timedelta(days=d) for d in (21, 35, 49)]


def rank_closes(rank: float) -> list[float]:
    """273 closes whose current 20-day realised vol sits at `rank` % of its one-year range:
    alternating log returns of 0.5% (low), 2.5% (high), then 0.5% + rank% × 2%."""
    mid = 0.005 + rank / 100.0 * 0.02
    closes = alternating_closes(100.0, [0.005] * 100 + [0.025] * 100 + [mid] * 72)
    return [c * 100.0 / closes[-1] for c in closes]


def setup(
    rank: float = 60.0, spot: float = 100.0, chain: OptionChain | None = None, now: datetime = NOW
) -> InMemoryMarketData:
    _, data = market(now)
    closes = rank_closes(rank)
    data.add_daily_bars(daily_bars(SYM, closes, sessions_before(TODAY, len(closes))))
    data.set_quote(spot_quote(SYM, now, spot))
    data.set_chain(chain or bs_chain(SYM, now, spot, EXPIRIES, range(80, 116)))
    return data


def strat(profile: str | None = None, **kw: object) -> Wheel:
    over = {"watchlist": (SYM,), **kw}
    if profile:
        return Wheel.from_profile(profile, over)
    return Wheel(WheelParams(**over))  # type: ignore[arg-type]


async def scan(s: Wheel, data: InMemoryMarketData, **ctx_kw: object):
    return await s.on_bar(context(NOW, data, **ctx_kw), {SYM: fresh_bar(SYM, NOW, 100.0)})  # type: ignore[arg-type]


def opens(props: list) -> list:
    return [p for p in props if p.intent is ProposalIntent.OPEN]


def closes_of(props: list) -> list:
    return [p for p in props if p.intent is ProposalIntent.CLOSE]


# -- pure rules (scenarios 4 and 5) --------------------------------------------------------


def test_annualized_yield_when_150_on_100_at_30_dte_then_1825pct() -> None:
    assert annualized_yield(1.50, 100.0, 30) == pytest.approx(18.25)


def test_reference_call_strike_when_assigned_100_spot_95_then_105() -> None:
    assert reference_call_strike(100.0, 95.0) == 105.0
    assert reference_call_strike(100.0, 110.0) == 113.0  # 1.03 × 110 = 113.3 -> 113


# -- scenario 1: IV rank -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "trades"), [(None, False), ("research_2024", False), ("wsb_2025", True)]
)
async def test_entry_when_iv_rank_45_then_skipped_eng_r24_candidate_w25(
    profile: str | None, trades: bool
) -> None:
    s = strat(profile)
    props = await scan(s, setup(rank=45.0))
    assert bool(opens(props)) is trades
    if trades:
        assert props[0].meta["iv_rank"] == pytest.approx(45.0, abs=1.0)
        assert "IV rank 45 >= 25" in props[0].reason
    else:
        assert "IV rank 45 < 50" in (s.last_skip_reason or "")


async def test_entry_when_eng_rank_55_then_sell_one_put_best_yield_in_delta_band() -> None:
    chain = bs_chain(SYM, NOW, 100.0, EXPIRIES, range(80, 116))
    props = await scan(strat(), setup(rank=55.0, chain=chain))
    assert len(props) == 1
    p = props[0]
    c = p.legs[0].instrument
    assert isinstance(c, OptionContract)
    assert p.legs[0].side is Side.SELL
    assert c.right is OptionRight.PUT
    assert p.quantity == 1
    assert c.expiry == EXPIRIES[1]  # the only expiry in 30-45 DTE
    eligible = [
        q for q in chain.for_expiry(EXPIRIES[1], OptionRight.PUT)
        if 0.15 <= abs(q.delta or 0) <= 0.30 and q.mid * 100 >= 50
    ]  # fmt: skip
    best = max(eligible, key=lambda q: annualized_yield(q.mid, float(q.contract.strike), 35))
    assert c == best.contract
    assert 0.15 <= abs(best.delta or 0) <= 0.30
    credit = p.limit_price
    assert credit is not None
    assert p.max_loss == (c.strike - credit) * 100
    assert p.max_profit == credit * 100
    assert "yield" in p.reason
    assert "IV rank 55" in p.reason


async def test_entry_when_no_put_in_delta_band_then_skip() -> None:
    chain = bs_chain(SYM, NOW, 100.0, EXPIRIES, [70, 100])  # 70P |Δ| ~0.0, 100P ~0.45
    s = strat()
    assert await scan(s, setup(rank=60, chain=chain)) == []
    assert "no put with |delta| 0.15-0.30" in (s.last_skip_reason or "")


async def test_entry_when_illiquid_puts_then_skip() -> None:
    chain = bs_chain(SYM, NOW, 100.0, EXPIRIES, range(80, 116), volume=40)
    s = strat()
    assert await scan(s, setup(rank=60, chain=chain)) == []


async def test_entry_when_collateral_exceeds_buying_power_then_skip() -> None:
    s = strat()
    assert await scan(s, setup(rank=60), equity=5_000.0) == []
    assert "collateral" in (s.last_skip_reason or "")


async def test_entry_when_r24_and_earnings_inside_window_then_skip() -> None:
    data = setup(rank=60)
    s = strat("research_2024")
    assert opens(await scan(s, data))  # control: trades without earnings
    data.add_earnings([EarningsEvent(SYM, TODAY + timedelta(days=10))])
    s2 = strat("research_2024")
    assert await scan(s2, data) == []
    assert "outside earnings" in (s2.last_skip_reason or "")


async def test_entry_when_stale_bar_or_short_history_then_no_put() -> None:
    s = strat()
    data = setup(rank=60)
    assert (
        await s.on_bar(context(NOW, data), {SYM: fresh_bar(SYM, NOW - timedelta(hours=2), 100.0)})
        == []
    )
    assert "stale bar" in (s.last_skip_reason or "")
    _, short = market(NOW)
    short.add_daily_bars(daily_bars(SYM, rank_closes(60)[-30:], sessions_before(TODAY, 30)))
    short.set_quote(spot_quote(SYM, NOW, 100.0))
    assert await scan(s, short) == []
    assert "need 60" in (s.last_skip_reason or "")


async def test_entry_when_max_positions_reached_then_no_new_put() -> None:
    other = OptionContract("ABC", EXPIRIES[1], Decimal(50), OptionRight.PUT)
    s = strat(max_positions=1)
    props = await scan(s, setup(rank=60), positions=[position(other, -1, 1.0, opened_at=NOW)])
    assert opens(props) == []


# -- exits on short options (scenarios 2 and 3) --------------------------------------------

PUT35 = OptionContract(SYM, TODAY + timedelta(days=35), Decimal(95), OptionRight.PUT)


async def put_exit(
    mark: float, *, dte: int = 35, profile: str | None = None, credit: float = 2.00
) -> list:
    c = OptionContract(SYM, TODAY + timedelta(days=dte), Decimal(95), OptionRight.PUT)
    _, data = market(NOW)
    data.set_quote(spot_quote(SYM, NOW, 100.0))
    q = option_quote(
        SYM, c.expiry, 95, OptionRight.PUT, NOW, round(mark - 0.02, 2), round(mark + 0.02, 2)
    )
    data.set_chain(OptionChain(SYM, NOW, 100.0, (q,)))
    s = strat(profile)
    props = await s.on_bar(
        context(NOW, data, positions=[position(c, -1, credit, opened_at=NOW)]), {}
    )
    return closes_of(props)


def assert_buy_to_close(props: list, reason: ExitReason) -> None:
    assert len(props) == 1
    assert props[0].exit_reason is reason
    assert props[0].legs[0].side is Side.BUY
    assert props[0].legs[0].effect is PositionEffect.CLOSE
    assert props[0].quantity == 1


async def test_exit_when_put_sold_2_mark_145_then_eng_takes_profit_r24_holds_until_1() -> None:
    eng = await put_exit(1.45)
    assert_buy_to_close(eng, ExitReason.TAKE_PROFIT)
    assert "gain 27.5%" in eng[0].reason
    assert eng[0].limit_price == Decimal("1.45")
    assert await put_exit(1.51) == []  # 24.5%
    assert await put_exit(1.45, profile="research_2024") == []
    assert await put_exit(1.01, profile="research_2024") == []
    assert_buy_to_close(await put_exit(1.00, profile="research_2024"), ExitReason.TAKE_PROFIT)


async def test_exit_when_csp_at_6_dte_with_eng_buffer_7_then_buy_to_close() -> None:
    props = await put_exit(1.90, dte=6)
    assert_buy_to_close(props, ExitReason.EXPIRY)
    assert "6 DTE <= buffer 7" in props[0].reason
    assert_buy_to_close(await put_exit(1.90, dte=7), ExitReason.EXPIRY)
    assert await put_exit(1.90, dte=8) == []
    assert await put_exit(1.90, dte=6, profile="wsb_2025") == []  # W25 buffer is 2 days
    assert_buy_to_close(await put_exit(1.90, dte=2, profile="wsb_2025"), ExitReason.EXPIRY)


async def test_exit_when_r24_csp_at_21_dte_then_roll_instead_of_buffer() -> None:
    props = await put_exit(1.90, dte=21, profile="research_2024")
    assert_buy_to_close(props, ExitReason.ROLL)
    assert await put_exit(1.90, dte=22, profile="research_2024") == []


async def test_exit_when_put_loss_reaches_2x_credit_then_stop() -> None:
    assert_buy_to_close(await put_exit(6.00), ExitReason.STOP)
    assert await put_exit(5.90) == []


# -- the state machine ---------------------------------------------------------------------

STOCK = Equity(SYM)


def cc_chain(spot: float) -> OptionChain:
    return bs_chain(SYM, NOW, spot, EXPIRIES, range(85, 121))


async def test_cycle_when_put_then_assigned_then_covered_call_at_or_above_basis() -> None:
    s = strat()
    data = setup(rank=60, spot=95.0, chain=cc_chain(95.0))
    await scan(s, data, positions=[position(PUT35, -1, 2.00, opened_at=NOW)])
    assert s.cycles[SYM].phase is Phase.PUT
    assert s.cycles[SYM].premiums == pytest.approx(200.0)

    props = await scan(s, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    assert s.cycles[SYM].phase is Phase.STOCK
    assert s.cycles[SYM].cost_basis == 100.0
    assert len(props) == 1
    p = props[0]
    c = p.legs[0].instrument
    assert isinstance(c, OptionContract)
    assert p.legs[0].side is Side.SELL
    assert c.right is OptionRight.CALL
    assert p.quantity == 1
    assert c.strike >= Decimal(100)  # Eng: >= max(cost 100, 95 × 1.01)
    assert "assigned 100 sh at 100.00" in p.reason
    q = data.option_quote_sync(c)
    assert 0.15 <= abs(q.delta or 0) <= 0.30


async def test_cycle_when_reference_rule_then_call_strike_105_near_30_dte() -> None:
    s = strat(cc_strike_rule="reference")
    data = setup(rank=60, spot=95.0, chain=cc_chain(95.0))
    await scan(s, data, positions=[position(PUT35, -1, 2.00, opened_at=NOW)])
    props = await scan(s, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    c = props[0].legs[0].instrument
    assert isinstance(c, OptionContract)
    assert c.strike == Decimal(105)
    assert c.expiry == EXPIRIES[1]  # 35 DTE is the listed expiry nearest 30


async def test_cycle_when_r24_then_covered_call_nearest_delta_020() -> None:
    s = strat("research_2024")
    data = setup(rank=60, spot=95.0, chain=cc_chain(95.0))
    props = await scan(s, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    c = props[0].legs[0].instrument
    assert isinstance(c, OptionContract)
    calls = [
        q for q in cc_chain(95.0).for_expiry(EXPIRIES[1], OptionRight.CALL)
        if q.contract.strike >= 100 and 0.15 <= abs(q.delta or 0) <= 0.30
    ]  # fmt: skip
    best = min(calls, key=lambda q: abs(abs(q.delta or 0) - 0.20))
    assert c == best.contract


async def test_cycle_survives_restart_then_call_expired_sells_next_then_called_away_restarts() -> (
    None
):
    s = strat()
    data = setup(rank=60, spot=95.0, chain=cc_chain(95.0))
    await scan(s, data, positions=[position(PUT35, -1, 2.00, opened_at=NOW)])
    await scan(s, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    saved = s.state()

    assert json.loads(json.dumps(saved)) == saved  # the manager persists it as JSON
    s2 = strat()
    s2.restore(json.loads(json.dumps(saved)))
    assert s2.state() == saved
    call = OptionContract(SYM, EXPIRIES[1], Decimal(101), OptionRight.CALL)
    held = [position(STOCK, 100, 100.0, opened_at=NOW), position(call, -1, 1.50, opened_at=NOW)]
    mark_chain = replace_rows(
        cc_chain(95.0), [option_quote(SYM, EXPIRIES[1], 101, OptionRight.CALL, NOW, 1.48, 1.52)]
    )
    data.set_chain(mark_chain)
    assert await scan(s2, data, positions=held) == []  # covered, nothing to do
    assert s2.cycles[SYM].premiums == pytest.approx(350.0)
    assert "assigned" in s2.cycles[SYM].events[0]

    # the call expired worthless: shares remain -> sell the next call
    props = await scan(s2, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    assert len(props) == 1
    assert props[0].legs[0].instrument.right is OptionRight.CALL  # type: ignore[union-attr]

    # called away: no shares, no call -> cycle ends and a new put is sold at once
    props = await scan(s2, setup(rank=60), positions=[])
    assert SYM not in s2.cycles
    assert s2.completed_cycles == 1
    assert len(props) == 1
    assert props[0].legs[0].instrument.right is OptionRight.PUT  # type: ignore[union-attr]


async def test_cycle_when_put_expires_otm_then_restart_with_new_put() -> None:
    s = strat()
    data = setup(rank=60)
    await scan(s, data, positions=[position(PUT35, -1, 2.00, opened_at=NOW)])
    props = await scan(s, data, positions=[])
    assert s.completed_cycles == 1
    assert opens(props)[0].legs[0].instrument.right is OptionRight.PUT  # type: ignore[union-attr]


async def test_on_fill_when_call_bought_back_then_cycle_premium_reduced() -> None:
    s = strat()
    data = setup(rank=60, spot=95.0, chain=cc_chain(95.0))
    await scan(s, data, positions=[position(STOCK, 100, 100.0, opened_at=NOW)])
    call = OptionContract(SYM, EXPIRIES[1], Decimal(101), OptionRight.CALL)
    fill = Fill("f1", "c1", "b1", call, Side.BUY, 1, Decimal("0.40"), Decimal("0.65"), NOW)
    before = s.cycles[SYM].premiums
    await s.on_fill(context(NOW, data), fill)
    assert s.cycles[SYM].premiums == pytest.approx(before - 40.0)


@pytest.mark.parametrize(("spot", "stops"), [(45.0, True), (50.0, False)])
async def test_cycle_stop_when_cycle_pnl_below_minus_50pct_of_strike_x100(
    spot: float, stops: bool
) -> None:
    s = strat()
    s.restore(
        {
            "cycles": {
                SYM: {
                    "symbol": SYM, "phase": "stock", "started": "2025-02-01", "put_strike": 100.0,
                    "cost_basis": 100.0, "shares": 100, "premiums": 200.0, "seen_options": [], "events": [],
                }
            }
        }
    )  # fmt: skip
    call = OptionContract(SYM, EXPIRIES[1], Decimal(60), OptionRight.CALL)
    chain = OptionChain(
        SYM, NOW, spot, (option_quote(SYM, EXPIRIES[1], 60, OptionRight.CALL, NOW, 0.44, 0.46),)
    )
    data = setup(rank=60, spot=spot, chain=chain)
    held = [position(STOCK, 100, 100.0, opened_at=NOW), position(call, -1, 0.50, opened_at=NOW)]
    props = closes_of(await scan(s, data, positions=held))
    if not stops:
        assert props == []  # -5,000 + 250 premiums - 45 call = -4,795 > -5,000
        return
    assert [p.exit_reason for p in props] == [ExitReason.STOP, ExitReason.STOP]
    assert props[0].legs[0].instrument == call
    assert props[0].legs[0].side is Side.BUY
    assert props[1].legs[0].instrument == STOCK
    assert props[1].legs[0].side is Side.SELL
    assert props[1].quantity == 100
    assert "cycle P&L -5,295" in props[1].reason  # -5,500 + 250 - 45
    assert "premiums 250" in props[1].reason


def test_profiles_and_validation() -> None:
    w = Wheel.from_profile("wsb_2025")
    assert isinstance(w.params, WheelParams)
    assert (w.params.min_dte, w.params.max_dte, w.params.min_delta, w.params.max_delta) == (
        14,
        28,
        0.25,
        0.45,
    )
    assert w.universe() == frozenset(
        {
            "NVDA",
            "TSLA",
            "SMCI",
            "ARM",
            "AAPL",
            "MSFT",
            "GOOGL",
            "AMZN",
            "META",
            "COIN",
            "MSTR",
            "PLTR",
            "AMD",
            "GME",
            "AMC",
        }
    )
    assert Wheel.from_profile("research_2024").universe() == frozenset(
        {"SPY", "QQQ", "AAPL", "MSFT", "GOOGL", "AMZN"}
    )
    from engine.strategies.base import ParameterError

    with pytest.raises(ParameterError, match="min_delta"):
        Wheel.from_profile("research_2024", {"min_delta": 0.5})
