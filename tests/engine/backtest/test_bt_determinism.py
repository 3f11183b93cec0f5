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
