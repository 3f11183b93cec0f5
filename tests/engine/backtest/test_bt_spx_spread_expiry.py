"""spx_credit_spreads closes its 0DTE spreads before expiry in a minute backtest.

Found in a wsb_2025 minute backtest of 2020 on the simulator: 31 short legs were assigned in
four months and cash fell to about -$150k. On 2020-01-07 the strategy sold a QQQ 382/370 put
spread at 10:00 ET, proposed a profit-taking close at its mid at 10:36 ET; that combo close
was never marketable (a combo at the mid never is, and the long 370 put had no bid, so no
sell of it could fill) and rested all day, and while it rested the structure counted as
pending, so neither the 15:00 ET 0DTE exit nor the 60-minute exit ran. QQQ closed between the
strikes and 400 shares were assigned at $382. (Since options are priced on the path's variance
clock the strategy picks other strikes that day, a 390/400 call spread, and takes its profit
the same way, so the legs are found from the fills rather than named.)
"""

from __future__ import annotations

from datetime import date

from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync
from engine.domain import Side


def test_spx_spreads_when_0dte_profit_close_unfilled_then_still_closed_before_expiry() -> None:
    cfg = BacktestConfig(
        strategies=("spx_credit_spreads",),
        start=date(2020, 1, 7),
        end=date(2020, 1, 7),
        data=DataSpec("sim"),
        step="minute",
        profile="wsb_2025",
        warmup_sessions=40,
    )
    res = run_backtest_sync(cfg)
    qqq = [f for f in res.fills if f.symbol.startswith("QQQ200107")]
    assert qqq, "the scenario needs the 2020-01-07 QQQ 0DTE spread"
    assert [f for f in res.fills if f.liquidity == "assignment"] == []
    assert [f for f in res.fills if f.instrument.symbol == "QQQ"] == []  # no shares delivered
    # The short put was bought back during the session; only the long wing, which nobody
    # bid for, was left to expire worthless.
    opened = [f for f in qqq if f.side is Side.SELL and f.liquidity != "expiry"]
    bought = [f for f in qqq if f.side is Side.BUY]
    assert len(opened) == 1, "one spread: its short leg sold once"
    assert len(bought) == 2, "the long wing bought and the short leg bought back"
    short = [f for f in qqq if f.symbol == opened[0].symbol]
    assert [(f.side, f.liquidity != "expiry") for f in short] == [
        (Side.SELL, True),
        (Side.BUY, True),
    ]
    (wing,) = [f.symbol for f in bought if f.symbol != opened[0].symbol]
    settled = [f for f in qqq if f.liquidity == "expiry"]
    assert [(f.symbol, f.price) for f in settled] == [(wing, 0)]
    assert res.checks.ok
