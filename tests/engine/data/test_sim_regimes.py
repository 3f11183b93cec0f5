"""Regimes, correlation, leverage, VIX and earnings moves in the generated paths."""

from __future__ import annotations

import numpy as np

from engine.data import Regime, SimulatedMarket


def _returns(sim: SimulatedMarket, sym: str) -> np.ndarray:
    c = sim.paths.close[:, sim.paths.column(sym)]
    out: np.ndarray = np.diff(np.log(c))
    return out


def test_paths_when_crisis_then_realised_vol_and_vix_higher_than_calm(sim: SimulatedMarket) -> None:
    regime = sim.paths.regime[1:]
    spy = _returns(sim, "SPY")
    calm = spy[regime == Regime.CALM].std() * np.sqrt(252)
    crisis = spy[regime == Regime.CRISIS].std() * np.sqrt(252)
    assert (regime == Regime.CRISIS).sum() >= 5
    assert crisis > 1.8 * calm
    vix = sim.paths.close[1:, sim.paths.column("VIX")]
    assert vix[regime == Regime.CRISIS].mean() > vix[regime == Regime.CALM].mean() + 5


def test_paths_when_high_beta_names_then_positively_correlated_with_market(
    sim: SimulatedMarket,
) -> None:
    spy = _returns(sim, "SPY")
    for sym in ("NVDA", "TSLA", "AMD", "QQQ", "COIN"):
        assert np.corrcoef(_returns(sim, sym), spy)[0, 1] > 0.25, sym
    beta_nvda = np.polyfit(spy, _returns(sim, "NVDA"), 1)[0]
    beta_ko = np.polyfit(spy, _returns(sim, "KO"), 1)[0]
    assert beta_nvda > 1.2 > 0.9 > beta_ko


def test_paths_when_leveraged_or_scaled_then_track_underlying(sim: SimulatedMarket) -> None:
    def simple(sym: str) -> np.ndarray:
        c = sim.paths.close[:, sim.paths.column(sym)]
        out: np.ndarray = c[1:] / c[:-1] - 1
        return out

    slope = np.polyfit(simple("QQQ"), simple("TQQQ"), 1)[0]
    assert 2.8 < slope < 3.2
    ratio = (
        sim.paths.close[:, sim.paths.column("SPX")] / sim.paths.close[:, sim.paths.column("SPY")]
    )
    assert np.all(np.abs(ratio - 5930 / 590) < 0.01)


def test_regime_and_vix_when_read_then_match_quotes(sim: SimulatedMarket, sim_clock) -> None:
    from datetime import timedelta

    sim_clock.set(sim.start_time + timedelta(minutes=30))
    assert sim.regime_at() in set(Regime)
    assert sim.vix_at() == sim.latest_quote_sync("VIX").last
    assert 5 < sim.vix_at() < 100


def test_paths_when_earnings_reaction_day_then_larger_gaps(sim: SimulatedMarket) -> None:
    p = sim.paths
    gaps_event, gaps_other = [], []
    reaction = {}
    for ev in sim.earnings_events(sim.sessions[1], sim.sessions[-2]):
        d = ev.date if ev.timing.value == "bmo" else sim.calendar.next_session(ev.date)
        reaction.setdefault(ev.symbol, set()).add(sim.sessions.index(d))
    for sym in ("AAPL", "NVDA", "META", "NFLX", "CRM", "PLTR"):
        j = p.column(sym)
        gap = np.abs(np.log(p.open[1:, j] / p.close[:-1, j]))
        days = reaction[sym]
        for t in range(1, len(sim.sessions)):
            (gaps_event if t in days else gaps_other).append(gap[t - 1])
    assert np.mean(gaps_event) > 3 * np.mean(gaps_other)
