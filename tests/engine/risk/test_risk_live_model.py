"""The live pieces under the pre-trade checks: scenario history, marginal VaR, open risk,
greek limits, the day-trade and order-rate logs, the live snapshot and its report."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pytest

from engine.domain import (
    Equity,
    Fill,
    OptionContract,
    OptionRight,
    OrderLeg,
    OrderType,
    Portfolio,
    Position,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.risk import InsufficientData, MissingRiskInput, RiskPortfolio, RiskPosition
from engine.risk.greek_limits import GreekLimits, GreekVector, greek_breaches
from engine.risk.greeks import portfolio_greeks
from engine.risk.live import LiveRiskInputs, compute_live_risk
from engine.risk.marginal import MarginalVaR, ScenarioHistory
from engine.risk.open_risk import book_open_risk
from engine.risk.pdt import DayTradeLog
from engine.risk.portfolio_model import PositionKind
from engine.risk.rate_limits import OrderRateLog
from engine.risk.repricing import scenario_pnl
from engine.risk.snapshot import risk_snapshot

NOW = datetime(2026, 1, 6, 15, 0, tzinfo=UTC)
EXP = date(2026, 2, 20)


def _closes(
    symbols: dict[str, float], n: int = 300, seed: int = 3
) -> dict[str, list[tuple[date, float]]]:
    rng = np.random.default_rng(seed)
    days = [date(2024, 10, 1) + timedelta(days=i) for i in range(n + 1)]
    out = {}
    for s, vol in symbols.items():
        px = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(rng.normal(0, vol, n))]))
        out[s] = list(zip(days, px.tolist(), strict=True))
    return out


def _pos(inst: object, qty: int, avg: float, mark: float | None = None) -> Position:
    return Position(inst, qty, Decimal(str(avg)), mark=avg if mark is None else mark)  # type: ignore[arg-type]


def _port(cash: float, *ps: Position) -> Portfolio:
    return Portfolio(
        ts=NOW, cash=Decimal(str(cash)), positions=MappingProxyType({p.symbol: p for p in ps})
    )


# -- scenario history -------------------------------------------------------------------------


def test_history_when_a_symbol_has_bad_or_short_data_then_excluded_and_named() -> None:
    closes = _closes({"AAA": 0.01, "BBB": 0.02})
    closes["BAD"] = [
        (d, (float("nan") if i == 5 else 10.0)) for i, (d, _) in enumerate(closes["AAA"])
    ]
    closes["NEW"] = closes["AAA"][-10:]
    h = ScenarioHistory.from_closes(closes)
    assert h.symbols == ("AAA", "BBB")
    assert "bad close" in h.excluded["BAD"]
    assert "10 closes" in h.excluded["NEW"]
    assert h.n_obs == 300
    px = np.array([c for _, c in closes["BBB"]])
    assert h.returns[:, h.column("BBB")] == pytest.approx(np.diff(np.log(px)))
    with pytest.raises(MissingRiskInput, match="NEW"):
        h.matrix(["NEW"])


# -- marginal VaR -----------------------------------------------------------------------------


def test_marginal_when_book_of_stock_and_option_then_unit_pnl_equals_full_repricing() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015}))
    spot = float(h.last_close[0])
    call = OptionContract("AAA", EXP, Decimal(str(round(spot))), OptionRight.CALL)
    model = MarginalVaR(h, asof=NOW, rate=0.04, spots={"AAA": spot}, ivs={call.symbol: 0.3})
    port = _port(50_000.0, _pos(Equity("AAA"), 100, spot), _pos(call, -3, 4.0))
    pnl, greeks, by_name = model.book(port)
    rp = RiskPortfolio(
        (
            RiskPosition("AAA", "AAA", 100, spot),
            RiskPosition(call.symbol, "AAA", -3, spot, PositionKind.OPTION, 100.0,
                         float(call.strike), call.dte(NOW.date()) / 365.0, True, 0.3),
        ),
        cash=50_000.0,
        rate=0.04,
    )  # fmt: skip
    want = scenario_pnl(rp, h.returns[-252:], method="exact")
    assert pnl == pytest.approx(want, rel=1e-10, abs=1e-8)
    g = portfolio_greeks(rp).total
    assert greeks.delta == pytest.approx(g.delta)
    assert greeks.vega == pytest.approx(g.vega)
    assert greeks.theta == pytest.approx(g.theta)
    assert greeks.gamma == pytest.approx(g.gamma / 200.0)  # 1 % move P&L units
    assert by_name["AAA"] == greeks


def test_marginal_when_primed_in_one_pass_then_same_units_as_one_at_a_time() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015, "BBB": 0.02}))
    spots = {s: float(h.last_close[i]) for i, s in enumerate(h.symbols)}
    opts = [
        OptionContract("AAA", EXP, Decimal(100), OptionRight.CALL),
        OptionContract("BBB", EXP + timedelta(days=30), Decimal(95), OptionRight.PUT),
        OptionContract("AAA", NOW.date(), Decimal(90), OptionRight.CALL),  # expires today
    ]
    ivs = {opts[0].symbol: 0.3, opts[1].symbol: 0.45}
    port = _port(10_000.0, *(_pos(o, 2 - 3 * i, 3.0) for i, o in enumerate(opts)))
    one = MarginalVaR(h, asof=NOW, rate=0.04, spots=spots, ivs=ivs, betas={"BBB": 1.4})
    batch = MarginalVaR(h, asof=NOW, rate=0.04, spots=spots, ivs=ivs, betas={"BBB": 1.4})
    batch.prime(port)
    for o in opts:
        a, b = one.unit(o), batch.unit(o)
        assert b.pnl == pytest.approx(a.pnl, rel=1e-12, abs=1e-9)
        assert b.greeks.delta == pytest.approx(a.greeks.delta)
        assert b.greeks.gamma == pytest.approx(a.greeks.gamma)
        assert b.greeks.beta_delta == pytest.approx(a.greeks.beta_delta)
    assert batch.book(port)[0] == pytest.approx(one.book(port)[0])


def test_marginal_when_proposal_adds_then_after_is_before_plus_legs() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015, "BBB": 0.03}))
    spots = {s: float(h.last_close[h.column(s)]) for s in ("AAA", "BBB")}  # type: ignore[index]
    model = MarginalVaR(h, asof=NOW, spots=spots)
    port = _port(80_000.0, _pos(Equity("AAA"), 100, spots["AAA"]))
    p = TradeProposal("p1", "s", NOW, ProposalIntent.OPEN, (OrderLeg(Equity("BBB"), Side.BUY),), 50,
                      "t", OrderType.MARKET)  # fmt: skip
    res = model.evaluate(port, p, {"BBB": spots["BBB"]})
    eq = port.equity
    r = h.returns[-252:]
    before = 100 * spots["AAA"] * np.expm1(r[:, h.column("AAA")]) / eq
    after = before + 50 * spots["BBB"] * np.expm1(r[:, h.column("BBB")]) / eq
    assert res.var_before == pytest.approx(-np.quantile(before, 0.01))
    assert res.var_after == pytest.approx(-np.quantile(after, 0.01))
    assert res.marginal_var == pytest.approx(res.var_after - res.var_before)
    assert res.greeks_after.delta == pytest.approx(100 * spots["AAA"] + 50 * spots["BBB"])
    assert res.name == "BBB"
    assert res.name_before == GreekVector()


def test_marginal_when_envelope_excess_given_then_added_to_both_sides() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015}))
    s = float(h.last_close[0])
    plain = MarginalVaR(h, asof=NOW, spots={"AAA": s})
    padded = MarginalVaR(h, asof=NOW, spots={"AAA": s}, envelope_excess={0.99: (0.01, 0.02)})
    port = _port(50_000.0, _pos(Equity("AAA"), 100, s))
    p = TradeProposal("p", "s", NOW, ProposalIntent.OPEN, (OrderLeg(Equity("AAA"), Side.BUY),), 10,
                      "t", OrderType.MARKET)  # fmt: skip
    a, b = plain.evaluate(port, p, {"AAA": s}), padded.evaluate(port, p, {"AAA": s})
    assert b.var_after == pytest.approx(a.var_after + 0.01)
    assert b.cvar_before == pytest.approx(a.cvar_before + 0.02)
    assert b.marginal_var == pytest.approx(a.marginal_var)


def test_marginal_when_history_too_short_then_insufficient_data() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.01}, n=31))
    short = ScenarioHistory(h.symbols, h.dates[-20:], h.returns[-20:], h.last_close)
    model = MarginalVaR(short, asof=NOW, spots={"AAA": 100.0})
    with pytest.raises(InsufficientData):
        model.unit(Equity("AAA"))


# -- open risk --------------------------------------------------------------------------------


def _opt(right: OptionRight, strike: float, expiry: date = EXP, und: str = "IWM") -> OptionContract:
    return OptionContract(und, expiry, Decimal(str(strike)), right)


def test_open_risk_when_credit_put_spread_then_width_less_credit() -> None:
    short, long_ = _opt(OptionRight.PUT, 213), _opt(OptionRight.PUT, 204)
    r = book_open_risk([_pos(short, -5, 0.5), _pos(long_, 5, 0.15)])
    assert r == pytest.approx(9 * 500 - (0.5 - 0.15) * 500)


def test_open_risk_when_debit_call_spread_then_its_value() -> None:
    long_, short = _opt(OptionRight.CALL, 200), _opt(OptionRight.CALL, 220)
    assert book_open_risk([_pos(long_, 5, 5.4), _pos(short, -5, 0.38)]) == pytest.approx(
        (5.4 - 0.38) * 500
    )


def test_open_risk_when_uncovered_put_and_covered_call_then_strike_and_shares() -> None:
    put = _opt(OptionRight.PUT, 100, und="AAPL")
    assert book_open_risk([_pos(put, -2, 3.0)]) == pytest.approx(2 * (10_000 - 300))
    call = _opt(OptionRight.CALL, 220, und="AAPL")
    shares = _pos(Equity("AAPL"), 100, 200.0)
    assert book_open_risk([shares, _pos(call, -1, 2.0)]) == pytest.approx(20_000.0)
    # A longer-dated long put does hedge a nearer short put; a shorter one does not.
    near = _opt(OptionRight.PUT, 95, EXP - timedelta(days=30), und="AAPL")
    assert book_open_risk([_pos(put, -1, 3.0), _pos(near, 1, 1.0)]) == pytest.approx(
        10_000 - 300 + 100
    )


def test_open_risk_when_excluded_symbol_then_left_out() -> None:
    spy = _pos(Equity("SPY"), 100, 500.0)
    assert book_open_risk([spy], exclude=frozenset({"SPY"})) == 0.0


# -- greek limits -----------------------------------------------------------------------------


def test_greek_limits_when_equity_is_20k_then_a_fifth_of_the_spec_dollars() -> None:
    gl = GreekLimits()
    assert gl.per_name(20_000.0).theta == pytest.approx(-20.0)
    assert gl.portfolio(20_000.0).delta == pytest.approx(200_000.0)
    assert GreekLimits(scale_with_equity=False).per_name(20_000.0).theta == -100.0
    with pytest.raises(ValueError, match="name_theta"):
        GreekLimits(name_theta=100.0)


def test_greek_breaches_when_over_but_improving_then_not_a_breach() -> None:
    lim = GreekVector(100.0, 10.0, 50.0, -10.0, 200.0)
    worse, _ = greek_breaches("x", GreekVector(delta=90.0), GreekVector(delta=120.0), lim)
    assert [b.greek for b in worse] == ["delta"]
    better, _ = greek_breaches("x", GreekVector(delta=150.0), GreekVector(delta=120.0), lim)
    assert better == []
    decay, _ = greek_breaches("x", GreekVector(theta=-5.0), GreekVector(theta=-12.0), lim)
    assert [b.greek for b in decay] == ["theta"]


# -- day trades and order rates ---------------------------------------------------------------


def _fill(coid: str, side: Side, qty: int, at: datetime, sym: str = "AAPL") -> Fill:
    return Fill(
        f"f-{coid}-{at.isoformat()}",
        coid,
        "b",
        Equity(sym),
        side,
        qty,
        Decimal(100),
        Decimal(0),
        at,
    )


def test_day_trades_when_opened_and_closed_same_day_then_counted_once_per_order() -> None:
    log = DayTradeLog()
    log.on_fill(_fill("o1", Side.BUY, 10, NOW))
    assert log.on_fill(_fill("c1", Side.SELL, 4, NOW + timedelta(minutes=5)))
    assert not log.on_fill(_fill("c1", Side.SELL, 6, NOW + timedelta(minutes=5, seconds=1)))
    assert log.count(NOW.date()) == 1
    # Opened yesterday, closed today: not a day trade.
    log.on_fill(_fill("o2", Side.BUY, 5, NOW - timedelta(days=1), "MSFT"))
    assert not log.on_fill(_fill("c2", Side.SELL, 5, NOW, "MSFT"))
    # Five business days later (Tue -> next Tue) it has left the window.
    assert log.count(NOW.date() + timedelta(days=7)) == 0
    assert log.count(NOW.date() + timedelta(days=6)) == 1  # Monday: 4 business days on
    restored = DayTradeLog()
    restored.load_json(json.loads(json.dumps(log.to_json())))
    assert restored.count(NOW.date()) == 1


def test_order_rate_log_when_window_slides_then_counts_drop() -> None:
    log = OrderRateLog()
    log.record("AAPL", NOW)
    log.record("SPY", NOW + timedelta(seconds=30))
    assert log.counts("AAPL", NOW + timedelta(seconds=59)) == (2, 1)
    assert log.counts("AAPL", NOW + timedelta(seconds=60)) == (1, 0)


# -- the live snapshot ------------------------------------------------------------------------


def _live_inputs(port: Portfolio, **kw: object) -> LiveRiskInputs:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015, "BBB": 0.025}, n=520))
    spots = {s: float(h.last_close[h.column(s)]) for s in h.symbols}  # type: ignore[index]
    base: dict[str, object] = {
        "ts": NOW,
        "portfolio": port,
        "history": h,
        "spots": spots,
        "rate": 0.04,
    }
    base.update(kw)
    return LiveRiskInputs(**base)  # type: ignore[arg-type]


def test_live_risk_when_book_then_report_matches_the_snapshot_and_model_is_ready() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.015, "BBB": 0.025}, n=520))
    s_a = float(h.last_close[h.column("AAA")])  # type: ignore[index]
    call = OptionContract("BBB", EXP, Decimal(100), OptionRight.CALL)
    port = _port(60_000.0, _pos(Equity("AAA"), 200, s_a), _pos(call, 4, 6.0))
    inp = _live_inputs(port, ivs={call.symbol: 0.4}, sectors={"AAA": "tech"}, garch=False)
    res = compute_live_risk(inp)
    rep = res.report
    assert rep.positions == 2
    assert rep.observations == 252
    assert rep.backtest is not None
    assert rep.backtest.observations == 250
    assert len(rep.stress) == 6
    assert {g.key for g in rep.greeks_by_underlying} == {"AAA", "BBB"}
    assert {g.key for g in rep.greeks_by_expiry} == {"stock", EXP.isoformat()}
    var99 = rep.var_at(0.99)
    assert var99 is not None
    assert var99 > 0
    assert rep.var_dollars(0.99) == pytest.approx(var99 * rep.value)
    assert any(m.method == "historical" and m.confidence == 0.99 for m in rep.methods)
    # The marginal model prices the same book to the same historical VaR.
    p = TradeProposal("p", "s", NOW, ProposalIntent.OPEN, (OrderLeg(Equity("AAA"), Side.BUY),), 1,
                      "t", OrderType.MARKET)  # fmt: skip
    m = res.model.evaluate(port, p, {"AAA": s_a})
    hist99 = next(x.var for x in rep.methods if x.method == "historical" and x.confidence == 0.99)
    assert m.var_before == pytest.approx(var99, rel=0.05)  # marks vs model value differ a little
    assert m.var_before >= hist99 * 0.95
    details = rep.to_details()
    json.dumps(details)  # storable as JSON
    assert details["exceptions_250"] == rep.backtest.exceptions
    assert details["alpha"] == 0.99


def test_live_risk_when_monte_carlo_asked_then_it_joins_the_report() -> None:
    port = _port(60_000.0, _pos(Equity("AAA"), 200, 100.0))
    h_spot = _live_inputs(port).spots
    port = _port(60_000.0, _pos(Equity("AAA"), 200, h_spot["AAA"]))
    rep = compute_live_risk(_live_inputs(port, monte_carlo_paths=5_000, garch=False)).report
    assert rep.monte_carlo
    assert {m.method for m in rep.methods} >= {"monte_carlo", "historical"}


def test_live_risk_when_no_positions_then_zero_risk_and_a_model() -> None:
    res = compute_live_risk(_live_inputs(_port(100_000.0)))
    assert res.report.var == (0.0, 0.0)
    assert res.report.positions == 0
    assert res.model.unit(Equity("AAA")).pnl.size == 252


def test_live_risk_when_option_has_no_implied_vol_then_fail_closed() -> None:
    call = OptionContract("BBB", EXP, Decimal(100), OptionRight.CALL)
    with pytest.raises(MissingRiskInput, match="implied vol"):
        compute_live_risk(_live_inputs(_port(60_000.0, _pos(call, 4, 6.0))))


def test_live_risk_when_option_expires_today_then_valued_at_intrinsic_without_a_vol() -> None:
    call = OptionContract("BBB", NOW.date(), Decimal(90), OptionRight.CALL)
    rep = compute_live_risk(_live_inputs(_port(60_000.0, _pos(call, 1, 10.0)), garch=False)).report
    assert rep.positions == 1
    assert math.isfinite(rep.value)


def test_live_risk_when_history_has_29_days_then_refused() -> None:
    h = ScenarioHistory.from_closes(_closes({"AAA": 0.01}, n=40))
    short = ScenarioHistory(h.symbols, h.dates[-29:], h.returns[-29:], h.last_close)
    with pytest.raises(InsufficientData):
        compute_live_risk(LiveRiskInputs(NOW, _port(1e5), short, {"AAA": 100.0}))


# -- envelope validity (snapshot) -------------------------------------------------------------


def test_envelope_when_long_premium_book_then_broken_parametric_fits_are_left_out() -> None:
    # Long near-expiry calls: losses bounded by the premium, a long right tail.
    rng = np.random.default_rng(2)
    hist = rng.standard_t(4, (300, 1)) * 0.02
    pos = (
        RiskPosition("C", "AAA", 20, 100.0, PositionKind.OPTION, 100.0, 108.0, 5 / 365, True, 0.4),
    )
    rp = RiskPortfolio(pos, cash=100_000.0)
    snap = risk_snapshot(rp, hist, garch=False)
    worst = float(-snap.returns.min())
    assert snap.var[0.99] <= 2.0 * worst  # never more than the book has ever lost, twice over
    assert snap.var[0.99] >= snap.methods["historical"][0.99].var
    excluded = {k for k in snap.errors if k.endswith("_envelope")}
    assert excluded, snap.errors
