"""Same inputs, same trades and figures; a different seed, a different market."""

from __future__ import annotations

from datetime import date

from bt_helpers import sma_csv, sma_sim

from engine.backtest.runner import run_backtest_sync


async def test_sim_backtest_when_run_twice_then_identical_trades_and_figures():
    from engine.backtest.runner import run_backtest

    a = await run_backtest(sma_sim())
    b = await run_backtest(sma_sim())
    assert len(a.fills) > 4, "the fast SMA must trade for this test to mean anything"
    assert a.fingerprint() == b.fingerprint()
    assert [f.fill_id for f in a.fills] == [f.fill_id for f in b.fills]
    assert [(f.price, f.quantity, f.ts) for f in a.fills] == [
        (f.price, f.quantity, f.ts) for f in b.fills
    ]
    assert a.summary == b.summary
    assert a.equity_curve == b.equity_curve


async def test_sim_backtest_when_seed_changes_then_market_and_trades_differ():
    from engine.backtest.runner import run_backtest

    a = await run_backtest(sma_sim(seed=7))
    b = await run_backtest(sma_sim(seed=8))
    assert a.fingerprint() != b.fingerprint()
    assert a.equity_curve != b.equity_curve


def test_csv_backtest_when_run_twice_then_identical(prices_dir):
    cfg = sma_csv(prices_dir, date(2019, 1, 2), date(2019, 4, 30))
    a = run_backtest_sync(cfg)
    b = run_backtest_sync(cfg)
    assert a.fills, "expected crossovers in four months of four symbols"
    assert a.fingerprint() == b.fingerprint()
    assert a.summary == b.summary


async def test_result_repr_when_many_fills_then_a_one_line_summary():
    # asyncio.run builds the main task's repr (its result included) when it restores the
    # SIGINT handler; a generated repr of every fill and day cost ~4% of a long backtest.
    from engine.backtest.runner import run_backtest

    res = await run_backtest(sma_sim())
    text = repr(res)
    assert len(res.fills) > 4
    assert f"fills={len(res.fills)}" in text
    assert f"sessions={len(res.sessions)}" in text
    assert "\n" not in text
    assert len(text) < 300


def test_sim_backtest_when_windows_overlap_then_same_market_on_shared_dates():
    # One market per seed: a longer run, a later start or a walk-forward fold sees the same
    # prices on the dates they share (before, each window drew and anchored its own paths).
    from engine.backtest.sources import sim_source

    syms = ["SPY", "AAPL", "TSLA", "VIX"]
    long = sim_source(date(2020, 1, 2), date(2020, 12, 31), seed=7, symbols=syms,
                      warmup_sessions=300).market  # fmt: skip
    late = sim_source(date(2020, 6, 1), date(2020, 8, 31), seed=7, symbols=syms[::-1],
                      warmup_sessions=20).market  # fmt: skip
    other = sim_source(date(2020, 6, 1), date(2020, 8, 31), seed=8, symbols=syms,
                       warmup_sessions=20).market  # fmt: skip
    shared = [d for d in late.sessions if d in set(long.sessions)]
    assert len(shared) > 60
    for sym in syms:
        a, b = long.paths.column(sym), late.paths.column(sym)
        ia = [long.sessions.index(d) for d in shared]
        ib = [late.sessions.index(d) for d in shared]
        for field in ("open", "high", "low", "close", "volume", "base_iv"):
            assert (getattr(long.paths, field)[ia, a] == getattr(late.paths, field)[ib, b]).all()
    assert (long.paths.market_iv[ia] == late.paths.market_iv[ib]).all()
    c = other.paths.column("SPY")
    assert (other.paths.close[ib, c] != late.paths.close[ib, late.paths.column("SPY")]).any()
