"""The JSON codec: every domain type round-trips exactly; bad data fails with a clear path."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.domain import (
    Bar,
    BarInterval,
    BarsReceived,
    CheckOutcome,
    DataRejected,
    EarningsEvent,
    EarningsTiming,
    EngineEvent,
    EngineStarted,
    EngineStopped,
    Equity,
    ExitReason,
    Fill,
    LogLine,
    OptionChain,
    OptionContract,
    OptionQuote,
    OptionRight,
    Order,
    OrderFilled,
    OrderLeg,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Portfolio,
    PortfolioSnapshot,
    Position,
    PositionEffect,
    ProposalCreated,
    ProposalDecided,
    ProposalIntent,
    ProposalState,
    ProposalStateChanged,
    Quote,
    ReconciliationDifference,
    RiskCheckResult,
    RiskDecision,
    Side,
    StrategyStatusChanged,
    TimeInForce,
    TradeProposal,
)
from engine.domain.instruments import Instrument
from engine.store import (
    CodecError,
    dumps,
    event_from_json,
    event_to_json,
    from_jsonable,
    to_jsonable,
)
from engine.store.codec import event_class, loads

# ----------------------------------------------------------------------------- strategies

tickers = st.from_regex(r"[A-Z]{1,5}", fullmatch=True)
aware = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(1990, 1, 2),
    max_value=datetime(2089, 12, 31),
    timezones=st.sampled_from([timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))]),
)
money = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=10**9)
price = st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**6)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
positive = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)
names = st.text(min_size=1, max_size=12)

equities = st.builds(Equity, tickers, st.booleans())
options = st.builds(
    OptionContract,
    underlying=tickers,
    expiry=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    strike=st.integers(1, 99_999_999).map(lambda k: Decimal(k) / 1000),
    right=st.sampled_from(OptionRight),
    multiplier=st.sampled_from([100, 100, 10, 1000]),
)
instruments: st.SearchStrategy[Instrument] = equities | options


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    lo = draw(positive)
    hi = lo + draw(st.floats(0, 100))
    o, c = draw(st.floats(lo, hi)), draw(st.floats(lo, hi))
    return Bar(
        draw(tickers),
        draw(aware),
        o,
        hi,
        lo,
        c,
        draw(st.floats(0, 1e9)),
        draw(st.sampled_from(BarInterval)),
    )


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    bid = draw(positive)
    return Quote(
        draw(tickers),
        draw(aware),
        bid,
        bid + draw(st.floats(0, 5)),
        draw(positive),
        draw(st.floats(0, 1e4)),
    )


@st.composite
def option_quotes(draw: st.DrawFn) -> OptionQuote:
    bid = draw(st.floats(0, 100))
    greek = st.none() | finite
    return OptionQuote(
        draw(options),
        draw(aware),
        bid,
        bid + draw(st.floats(0.01, 5)),
        draw(st.floats(0, 100)),
        draw(st.integers(0, 10**6)),
        draw(st.integers(0, 10**6)),
        draw(greek),
        draw(greek),
        draw(greek),
        draw(greek),
        draw(greek),
        draw(st.integers(0, 100)),
        draw(st.integers(0, 100)),
    )


chains = st.builds(
    OptionChain, tickers, aware, positive, st.lists(option_quotes(), max_size=3).map(tuple)
)
legs = st.builds(
    OrderLeg, instruments, st.sampled_from(Side), st.integers(1, 3), st.sampled_from(PositionEffect)
)


@st.composite
def requests(draw: st.DrawFn) -> OrderRequest:
    otype = draw(st.sampled_from(OrderType))
    return OrderRequest(
        client_order_id=draw(names),
        legs=tuple(draw(st.lists(legs, min_size=1, max_size=4))),
        quantity=draw(st.integers(1, 1000)),
        order_type=otype,
        limit_price=draw(money) if otype is OrderType.LIMIT else None,
        time_in_force=draw(st.sampled_from(TimeInForce)),
        strategy=draw(st.none() | names),
        proposal_id=draw(st.none() | names),
    )


orders = st.builds(
    Order,
    requests(),
    names,
    st.sampled_from(OrderStatus),
    aware,
    aware,
    st.integers(0, 1000),
    st.none() | money,
    st.none() | st.text(max_size=30),
)
fills = st.builds(
    Fill,
    names,
    names,
    names,
    instruments,
    st.sampled_from(Side),
    st.integers(1, 10**6),
    price,
    money,
    aware,
    st.integers(0, 3),
    st.none() | names,
    st.sampled_from(["taker", "maker"]),
)
positions = st.builds(
    Position,
    instruments,
    st.integers(-(10**6), 10**6),
    price,
    money,
    st.none() | finite,
    st.none() | aware,
)


@st.composite
def portfolios(draw: st.DrawFn) -> Portfolio:
    held = draw(st.lists(positions, max_size=4))
    return Portfolio(
        draw(aware),
        draw(money),
        MappingProxyType({p.symbol: p for p in held}),
        draw(money),
        draw(st.none() | money),
        draw(st.none() | money),
    )


@st.composite
def proposals(draw: st.DrawFn) -> TradeProposal:
    intent = draw(st.sampled_from(ProposalIntent))
    effect = PositionEffect.CLOSE if intent is ProposalIntent.CLOSE else None
    leg_list = [
        OrderLeg(leg.instrument, leg.side, leg.ratio, effect or leg.effect)
        for leg in draw(st.lists(legs, min_size=1, max_size=4))
    ]
    otype = draw(st.sampled_from(OrderType))
    return TradeProposal(
        proposal_id=draw(names),
        strategy=draw(names),
        created_at=draw(aware),
        intent=intent,
        legs=tuple(leg_list),
        quantity=draw(st.integers(1, 100)),
        reason=draw(names),
        order_type=otype,
        limit_price=draw(money) if otype is OrderType.LIMIT else draw(st.none() | money),
        time_in_force=draw(st.sampled_from(TimeInForce)),
        max_loss=draw(st.none() | money),
        max_profit=draw(st.none() | money),
        breakevens=tuple(draw(st.lists(finite, max_size=2))),
        confidence=draw(finite),
        expires_at=draw(st.none() | aware),
        exit_reason=draw(st.none() | st.sampled_from(ExitReason)),
        meta=MappingProxyType(
            draw(st.dictionaries(names, finite | st.text(max_size=8), max_size=3))
        ),
    )


checks = st.builds(
    RiskCheckResult,
    names,
    st.sampled_from(CheckOutcome),
    st.none() | finite,
    st.none() | finite,
    st.text(max_size=20),
    st.none() | st.integers(0, 100),
)
decisions = st.builds(
    RiskDecision,
    names,
    st.booleans(),
    st.integers(0, 100),
    st.lists(checks, max_size=4).map(tuple),
    aware,
    st.text(max_size=20),
)
earnings = st.builds(EarningsEvent, tickers, st.dates(), st.sampled_from(EarningsTiming))

events: st.SearchStrategy[EngineEvent] = st.one_of(
    st.builds(EngineStarted, aware, names, names, names),
    st.builds(EngineStopped, aware, names),
    st.builds(BarsReceived, aware, st.lists(bars(), max_size=3).map(tuple)),
    st.builds(ProposalCreated, aware, proposals()),
    st.builds(ProposalDecided, aware, proposals(), decisions),
    st.builds(
        ProposalStateChanged,
        aware,
        names,
        st.sampled_from(ProposalState),
        st.text(max_size=9),
        names,
    ),
    st.builds(OrderUpdated, aware, orders),
    st.builds(OrderFilled, aware, fills, positions),
    st.builds(PortfolioSnapshot, aware, portfolios()),
    st.builds(StrategyStatusChanged, aware, names, names, st.text(max_size=9)),
    st.builds(ReconciliationDifference, aware, tickers, st.integers(), st.integers(), names),
    st.builds(DataRejected, aware, names, names),
    st.builds(LogLine, aware, names, st.text(max_size=40)),
)


def _strict_json(text: str) -> Any:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


def _round_trip(value: object) -> object:
    text = dumps(value)
    return from_jsonable(type(value), _strict_json(text))


# ----------------------------------------------------------------------------- round trips

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    st.one_of(
        equities,
        options,
        bars(),
        quotes(),
        option_quotes(),
        chains,
        legs,
        requests(),
        orders,
        fills,
        positions,
        portfolios(),
        proposals(),
        checks,
        decisions,
        earnings,
    )
)
def test_round_trip_when_any_domain_value_then_equal_after_decode(value: object) -> None:
    assert _round_trip(value) == value


@FAST
@given(events)
def test_event_round_trip_when_any_event_then_kind_first_and_decoded_to_same_class(
    event: EngineEvent,
) -> None:
    payload = event_to_json(event)
    assert next(iter(payload)) == "kind"
    assert payload["kind"] == event.kind
    decoded = event_from_json(_strict_json(json.dumps(payload)))
    assert type(decoded) is type(event)
    assert decoded == event


@FAST
@given(instruments)
def test_instrument_when_decoded_through_the_union_then_same_type_and_fields(
    inst: Instrument,
) -> None:
    back = from_jsonable(Instrument, json.loads(dumps(inst)))
    assert type(back) is type(inst)
    assert back == inst
    assert back.multiplier == inst.multiplier


# ----------------------------------------------------------------------------- encoding rules


def test_decimal_when_encoded_then_exact_string_keeping_trailing_zeros() -> None:
    assert to_jsonable(Decimal("1.10")) == "1.10"
    assert from_jsonable(Decimal, "1.10").as_tuple() == Decimal("1.10").as_tuple()
    assert from_jsonable(Decimal, "1E+2") == Decimal(100)
    with pytest.raises(CodecError, match=r"Decimal=0\.1: expected a decimal as a string"):
        from_jsonable(Decimal, 0.1)


def test_datetime_when_encoded_then_fixed_width_utc_and_naive_refused() -> None:
    ny = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert to_jsonable(ny) == "2024-03-01T14:30:00.000000+00:00"
    back = from_jsonable(datetime, to_jsonable(ny))
    assert back == ny
    assert back.tzinfo is UTC
    with pytest.raises(CodecError, match="naive"):
        to_jsonable(datetime(2024, 3, 1, 9, 30))
    with pytest.raises(CodecError, match="no UTC offset"):
        from_jsonable(datetime, "2024-03-01T09:30:00")


def test_instrument_when_symbol_round_trips_then_encoded_as_occ_symbol_else_as_object() -> None:
    put = OptionContract("AAPL", date(2024, 1, 19), Decimal("190"), OptionRight.PUT)
    assert to_jsonable(put) == "AAPL240119P00190000"
    assert to_jsonable(Equity("SPX", is_index=True)) == "SPX"
    adjusted = OptionContract(
        "AAPL", date(2024, 1, 19), Decimal("190"), OptionRight.PUT, multiplier=10
    )
    assert to_jsonable(adjusted) == {
        "type": "option",
        "underlying": "AAPL",
        "expiry": "2024-01-19",
        "strike": "190",
        "right": "P",
        "multiplier": 10,
    }
    assert from_jsonable(OptionContract, to_jsonable(adjusted)).multiplier == 10
    assert to_jsonable(Equity("SPX", is_index=False)) == {
        "type": "equity",
        "symbol": "SPX",
        "is_index": False,
    }


def test_nonfinite_floats_when_encoded_then_strict_json_and_back() -> None:
    pos = Position(Equity("SPY"), 1, Decimal(1), mark=math.inf)
    text = dumps([math.nan, -math.inf, pos])
    assert "NaN" in text
    assert _strict_json(text)[2]["mark"] == "Infinity"
    assert from_jsonable(Position, _strict_json(dumps(pos))).mark == math.inf
    assert math.isnan(from_jsonable(float, "NaN"))
    # A string field keeps the literal text "NaN".
    assert from_jsonable(str | float, "NaN") == "NaN"


def test_mapping_fields_when_decoded_then_read_only() -> None:
    port = Portfolio(datetime(2024, 1, 2, tzinfo=UTC), Decimal(5))
    back = from_jsonable(Portfolio, to_jsonable(port))
    assert isinstance(back.positions, MappingProxyType)


# ----------------------------------------------------------------------------- errors


def test_decode_when_nested_value_has_wrong_type_then_error_names_the_path() -> None:
    fill = Fill(
        "f",
        "c",
        "b",
        Equity("SPY"),
        Side.BUY,
        1,
        Decimal(1),
        Decimal(0),
        datetime(2024, 1, 2, tzinfo=UTC),
    )
    event = OrderFilled(fill.ts, fill, Position(fill.instrument, 1, Decimal(1)))
    data = event_to_json(event)
    data["fill"]["side"] = "hold"  # type: ignore[index]
    with pytest.raises(
        CodecError, match=r"OrderFilled\.fill\.side='hold': expected one of \['buy', 'sell'\]"
    ):
        event_from_json(data)
    data = event_to_json(event)
    data["fill"]["quantity"] = 0  # type: ignore[index]
    with pytest.raises(
        CodecError, match=r"OrderFilled\.fill: Fill refused the value: fill quantity 0"
    ):
        event_from_json(data)
    data = event_to_json(event)
    data["fill"]["instrument"] = "not a symbol!"  # type: ignore[index]
    with pytest.raises(CodecError, match=r"OrderFilled\.fill\.instrument='not a symbol!'"):
        event_from_json(data)


def test_decode_when_unknown_field_or_kind_then_refused() -> None:
    with pytest.raises(CodecError, match=r"unknown field\(s\) \['colour'\] for Equity"):
        from_jsonable(Equity, {"type": "equity", "symbol": "SPY", "colour": "red"})
    log = event_to_json(LogLine(datetime(2024, 1, 2, tzinfo=UTC), "info", "x"))
    with pytest.raises(CodecError, match="unknown field"):
        from_jsonable(EngineStopped, log)  # a log line's kind is not EngineStopped's
    with pytest.raises(
        CodecError, match=r"event kind 'nope' is unknown; known kinds: \[.*'order_filled'"
    ):
        event_from_json({"kind": "nope", "ts": "2024-01-02T00:00:00+00:00"})
    with pytest.raises(CodecError, match="missing"):
        from_jsonable(Equity, {"type": "equity"})
    with pytest.raises(CodecError, match="not valid JSON"):
        loads(Equity, "{")


def test_event_class_when_kind_known_then_the_live_class_not_its_pre_slots_copy() -> None:
    # @dataclass(slots=True) leaves an older class object among __subclasses__().
    assert event_class("log") is LogLine
    assert event_class("order_filled") is OrderFilled
