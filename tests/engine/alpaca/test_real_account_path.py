"""The real-account engine path end to end: `build_embedded` with broker and data on Alpaca,
pointed at the fake Alpaca on 127.0.0.1 through the WSB_ALPACA_* environment, on a warped wall
clock (a trading Monday, one market minute per real second)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alpaca_fake import KEY_ID, SECRET, FakeAlpaca, FakeTradeStream, position_payload
from real_account_env import LIVE_NUMBER, WarpedWallClock, price, real_config

from engine.domain import (
    Equity,
    OrderLeg,
    OrderStatus,
    ProposalIntent,
    Side,
    TradeProposal,
)
from engine.runtime.config import StrategiesConfig, WsbConfig
from engine.runtime.embedded import Embedded, UnsupportedSetup, build_embedded
from engine.runtime.engine import RunBudget
from engine.strategies.registry import strategy_class


@pytest.fixture
async def built(real_env: FakeAlpaca, tmp_path: Path) -> AsyncIterator[Embedded]:
    emb = await build_embedded(real_config(), db_path=tmp_path / "desk.sqlite", strategies=[])
    yield emb
    await emb.engine.stop()
    await emb.close()


def buy(
    symbol: str, qty: int, limit: Decimal, pid: str, emb: Embedded, strategy: str = "manual"
) -> TradeProposal:
    return TradeProposal(
        proposal_id=pid,
        strategy=strategy,
        created_at=emb.engine.clock.now(),
        intent=ProposalIntent.OPEN,
        legs=(OrderLeg(Equity(symbol), Side.BUY),),
        quantity=qty,
        reason="manual ticket (test)",
        limit_price=limit,
    )


def aapl_limit() -> Decimal:
    return Decimal(str(price("AAPL"))) + Decimal("0.05")


async def wait_for(cond: Any, within: float = 5.0) -> None:
    """Poll `cond` (a fill travels through threads and the poller: no event to wait on)."""
    for _ in range(int(within / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not true within {within}s")


async def trade_one_minute(emb: Embedded) -> None:
    """Start the engine and run one market minute, so the data is fresh for risk."""
    await emb.engine.start()
    await emb.engine.advance(RunBudget(market_minutes=1))
    assert emb.engine.last_data_at is not None


def non_daemon_threads() -> set[threading.Thread]:
    """Threads that would keep the process alive at exit (an unclosed store's SQLite
    worker is one); the event loop's own executor workers are not counted."""
    return {
        t
        for t in threading.enumerate()
        if not t.daemon and t.is_alive() and not t.name.startswith("asyncio_")
    }


async def no_new_threads(before: set[threading.Thread], within: float = 2.0) -> bool:
    """True once every thread started since `before` has ended (a closed store's worker
    ends a moment after `close()` returns; an unclosed one never does)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not non_daemon_threads() <= before:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# -- start-up and reconciliation ------------------------------------------------------------


async def test_start_when_alpaca_holds_position_and_order_unknown_to_store_then_both_reported(
    real_env: FakeAlpaca, tmp_path: Path
) -> None:
    fake = real_env
    fake.positions.append(position_payload("SPY", "5", "480", "500", "us_equity"))
    with fake.lock:
        status, _ = fake._submit(  # placed from Alpaca's dashboard, not by the desk
            {
                "symbol": "AAPL",
                "qty": 3,
                "side": "buy",
                "type": "limit",
                "time_in_force": "day",
                "limit_price": 90,
                "client_order_id": "dashboard-1",
            }
        )
    assert status == 200
    emb = await build_embedded(real_config(), db_path=tmp_path / "d.sqlite", strategies=[])
    try:
        await emb.engine.start()
        lines = "\n".join(emb.engine.log_lines)
        assert "reconcile SPY: store 0, broker 5" in lines
        assert "broker has open order dashboard-1 the store does not" in lines
        events = await emb.store.events_after(0)
        diffs = [e.decode() for e in events if e.kind == "reconciliation_difference"]
        assert [(d.symbol, d.stored_quantity, d.broker_quantity) for d in diffs] == [  # type: ignore[attr-defined]
            ("SPY", 0, 5)
        ]
        started = [e.decode() for e in events if e.kind == "engine_started"]
        assert [(s.mode, s.broker) for s in started] == [("PAPER", "alpaca")]  # type: ignore[attr-defined]
        assert emb.engine.ledger.cash == Decimal(fake.account["cash"])  # the account's cash
    finally:
        await emb.engine.stop()
        await emb.close()
    assert fake.count("POST", "/v2/orders") == 0  # a difference is reported, never "fixed"


async def test_manual_proposal_when_confirmed_then_order_at_alpaca_and_polled_fill_stored(
    built: Embedded, real_env: FakeAlpaca
) -> None:
    fake, emb = real_env, built
    assert emb.engine.mode_label == "PAPER"
    assert emb.engine.gate.mode.value == "confirm"  # a real account waits for a person
    await trade_one_minute(emb)
    limit = aapl_limit()
    sent = await emb.client.submit_proposal(buy("AAPL", 10, limit, "man-1", emb))
    assert (sent.ok, sent.message) == (True, "sent for confirmation")
    assert fake.count("POST", "/v2/orders") == 0  # nothing reaches Alpaca before the y
    done = await emb.client.confirm("man-1")
    assert done.ok, done.message
    [body] = fake.bodies
    assert (body["symbol"], body["qty"], body["side"], body["type"]) == (
        "AAPL",
        10.0,
        "buy",
        "limit",
    )
    assert Decimal(str(body["limit_price"])) == limit
    coid = body["client_order_id"]
    fake.fill(coid, 10, str(limit - Decimal("0.03")))
    await wait_for(lambda: emb.engine.fills_recorded == 1)
    [fill] = await emb.store.load_fills()
    assert (fill.client_order_id, fill.quantity, fill.price) == (coid, 10, limit - Decimal("0.03"))
    assert fill.strategy == "manual"
    assert emb.engine.ledger.positions["AAPL"].quantity == 10
    await emb.engine.advance(RunBudget(market_minutes=1))  # the order refresh sees it done
    [order] = [o for o in await emb.store.load_orders() if o.client_order_id == coid]
    assert order.status is OrderStatus.FILLED
    assert fake.count("POST", "/v2/orders") == 1


async def test_fill_when_stream_up_and_polling_slow_then_stream_delivers_it(
    real_env: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = real_env
    stream = await FakeTradeStream().start()
    monkeypatch.setenv("WSB_ALPACA_STREAM_URL", stream.url)
    # Polling every 5 minutes: only the trade-updates stream can deliver the fill in time.
    cfg = real_config(alpaca={"use_stream": True, "poll_seconds": 300, "reconcile_seconds": 300})
    emb = await build_embedded(cfg, db_path=tmp_path / "s.sqlite", strategies=[])
    try:
        await asyncio.wait_for(stream.listening.wait(), 5)
        await trade_one_minute(emb)
        await emb.client.submit_proposal(buy("AAPL", 4, aapl_limit(), "man-s", emb))
        assert (await emb.client.confirm("man-s")).ok
        coid = fake.bodies[-1]["client_order_id"]
        polls_before = fake.count("GET", "/v2/orders")
        stream.push(fake.fill(coid, 4, str(aapl_limit())))
        await wait_for(lambda: emb.engine.fills_recorded == 1)
        assert fake.count("GET", "/v2/orders") == polls_before  # not a poll: the stream
        [fill] = await emb.store.load_fills()
        assert (fill.client_order_id, fill.quantity) == (coid, 4)
    finally:
        await emb.engine.stop()
        await emb.close()
        await stream.stop()


async def test_restart_when_order_filled_while_desk_down_then_reported_and_fill_recorded_once(
    real_env: FakeAlpaca, tmp_path: Path
) -> None:
    fake = real_env
    db = tmp_path / "restart.sqlite"
    emb = await build_embedded(real_config(), db_path=db, strategies=[])
    await trade_one_minute(emb)
    await emb.client.submit_proposal(buy("AAPL", 6, aapl_limit(), "man-r", emb))
    assert (await emb.client.confirm("man-r")).ok
    coid = fake.bodies[-1]["client_order_id"]
    await emb.engine.stop()
    await emb.close()

    fake.fill(coid, 6, str(aapl_limit()))  # executed at Alpaca while the desk is down

    emb = await build_embedded(real_config(), db_path=db, strategies=[])
    try:
        lines = "\n".join(emb.engine.log_lines)
        assert f"reconcile order {coid} (AAPL): store new, Alpaca filled" in lines
        await emb.engine.start()
        await wait_for(lambda: emb.engine.fills_recorded == 1)
        [fill] = await emb.store.load_fills()
        assert (fill.client_order_id, fill.quantity) == (coid, 6)
        assert emb.engine.ledger.positions["AAPL"].quantity == 6
        assert coid not in emb.engine.open_orders
    finally:
        await emb.engine.stop()
        await emb.close()
    assert fake.count("POST", "/v2/orders") == 1  # the restart asked, it never resubmitted


# -- the live gate on the real path -----------------------------------------------------------


@pytest.mark.parametrize("live", [False, True])
async def test_live_when_suffix_confirmed_then_conservative_limits_bind_an_aggressive_profile(
    real_env: FakeAlpaca, tmp_path: Path, live: bool
) -> None:
    fake = real_env
    if live:
        fake.account["account_number"] = LIVE_NUMBER
    # The dip bot on the wsb_2025 profile may hold 30 % of equity in one position.
    dip_bot = strategy_class("wsb_dip_bot").from_profile("wsb_2025")
    emb = await build_embedded(
        real_config(),
        db_path=tmp_path / "live.sqlite",
        strategies=[dip_bot],
        live=live,
        confirm_live="4635" if live else None,
    )
    try:
        await emb.client.pause_strategy("wsb_dip_bot")  # only the proposal below trades
        assert emb.engine.mode_label == ("LIVE" if live else "PAPER")
        limits = emb.engine.risk.limits
        assert (limits.max_position_pct, limits.max_total_risk_pct) == (
            (0.05, 0.10) if live else (None, None)
        )
        logged = any("risk.max_position_pct = 0.05" in x for x in emb.engine.log_lines)
        assert logged is live
        await trade_one_minute(emb)
        limit = aapl_limit()
        # ~$9,800 of AAPL on a $100,000 account: inside the profile's 30 %, over 5 % live.
        qty = int(Decimal("0.098") * Decimal(fake.account["cash"]) / limit)
        big = await emb.client.submit_proposal(buy("AAPL", qty, limit, "big", emb, "wsb_dip_bot"))
        if live:
            assert not big.ok
            assert "position_size" in big.message
            assert "5% of equity" in big.message
        else:
            assert big.ok, big.message
        small = await emb.client.submit_proposal(
            buy("AAPL", 10, limit, "small", emb, "wsb_dip_bot")
        )
        assert small.ok, small.message
    finally:
        await emb.engine.stop()
        await emb.close()
    assert fake.count("POST", "/v2/orders") == 0  # both wait for a person's y


async def test_live_when_limits_set_explicitly_then_kept_and_reported(
    real_env: FakeAlpaca, tmp_path: Path
) -> None:
    real_env.account["account_number"] = LIVE_NUMBER
    cfg = real_config(risk={"max_position_pct": 0.2})
    emb = await build_embedded(
        cfg, db_path=tmp_path / "l.sqlite", strategies=[], live=True, confirm_live="4635"
    )
    try:
        limits = emb.engine.risk.limits
        assert (limits.max_position_pct, limits.max_total_risk_pct) == (0.2, 0.10)
        assert any("max_position_pct = 0.2 set explicitly" in x for x in emb.engine.log_lines)
        await trade_one_minute(emb)
        limit = aapl_limit()
        qty = int(Decimal("0.098") * Decimal(real_env.account["cash"]) / limit)
        ok = await emb.client.submit_proposal(buy("AAPL", qty, limit, "big", emb))
        assert ok.ok, ok.message
    finally:
        await emb.engine.stop()
        await emb.close()


@pytest.mark.parametrize(
    ("number", "suffix", "expected"),
    [
        (LIVE_NUMBER, None, "--confirm-live SUFFIX"),
        (LIVE_NUMBER, "1234", "does not match"),
        ("PA3XYZ9876", "9876", "PAPER account"),
    ],
)
async def test_live_when_gate_refuses_then_clear_error_and_nothing_left_open(
    real_env: FakeAlpaca, tmp_path: Path, number: str, suffix: str | None, expected: str
) -> None:
    real_env.account["account_number"] = number
    before = non_daemon_threads()
    tasks_before = asyncio.all_tasks()
    with pytest.raises(UnsupportedSetup, match=expected.replace("-", r"\-")):
        await build_embedded(
            real_config(),
            db_path=tmp_path / "x.sqlite",
            strategies=[],
            live=True,
            confirm_live=suffix,
        )
    assert not (tmp_path / "x.sqlite").exists()  # refused before the store was opened
    assert await no_new_threads(before)
    assert asyncio.all_tasks() <= tasks_before | {asyncio.current_task()}
    assert real_env.count("POST", "/v2/orders") == 0


# -- failures: clear errors, nothing left running ---------------------------------------------


async def test_build_when_keys_missing_then_error_names_both_variables(
    real_env: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_SECRET_KEY")
    with pytest.raises(UnsupportedSetup) as info:
        await build_embedded(real_config(), db_path=tmp_path / "k.sqlite", strategies=[])
    assert "ALPACA_API_KEY" in str(info.value)
    assert "ALPACA_SECRET_KEY" in str(info.value)
    assert real_env.log == []  # nothing was asked of Alpaca without keys


async def test_build_when_keys_refused_then_error_says_so_without_the_secret(
    real_env: FakeAlpaca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "wrong-secret-value-0123456789"
    monkeypatch.setenv("ALPACA_SECRET_KEY", wrong)
    before = non_daemon_threads()
    with pytest.raises(UnsupportedSetup) as info:
        await build_embedded(real_config(), db_path=tmp_path / "k.sqlite", strategies=[])
    msg = str(info.value)
    assert "refused the API keys" in msg
    assert "HTTP 401" in msg
    assert wrong not in msg
    assert KEY_ID not in msg
    assert await no_new_threads(before)


async def test_build_when_strategies_fail_after_store_opened_then_store_and_broker_closed(
    real_env: FakeAlpaca, tmp_path: Path
) -> None:
    # Built without load_config, so nothing validated the strategy name before the build.
    base = real_config()
    cfg = base.model_copy(update={"strategies": StrategiesConfig(enabled=["no_such_strategy"])})
    before = non_daemon_threads()
    tasks_before = asyncio.all_tasks()
    with pytest.raises(LookupError, match="no_such_strategy"):
        await build_embedded(cfg, db_path=tmp_path / "f.sqlite")
    assert (tmp_path / "f.sqlite").exists()  # the store had been opened...
    assert await no_new_threads(before)  # ...and its SQLite thread is gone again
    await asyncio.sleep(0.1)
    assert asyncio.all_tasks() <= tasks_before | {asyncio.current_task()}  # no poller left
    polls = real_env.count("GET", "/v2/orders")
    await asyncio.sleep(0.3)  # the order poller (every 0.05 s) is really stopped
    assert real_env.count("GET", "/v2/orders") == polls


async def test_sim_build_when_strategies_fail_after_store_opened_then_store_closed(
    tmp_path: Path,
) -> None:
    cfg = WsbConfig(strategies=StrategiesConfig(enabled=["no_such_strategy"]))
    before = non_daemon_threads()
    with pytest.raises(LookupError, match="no_such_strategy"):
        await build_embedded(cfg, db_path=tmp_path / "sim.sqlite")
    assert (tmp_path / "sim.sqlite").exists()
    assert await no_new_threads(before)


# -- secrets ----------------------------------------------------------------------------------


async def test_real_path_when_server_echoes_secret_then_no_log_line_or_stored_byte_holds_it(
    real_env: FakeAlpaca, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = real_env
    fake.echo_secret_in_errors = True
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "secret.sqlite"
    emb = await build_embedded(real_config(), db_path=db, strategies=[])
    try:
        await trade_one_minute(emb)
        # Alpaca's buying power drops below the order's cost after the desk read the
        # account: risk passes, Alpaca answers 403 and (here) echoes the secret back.
        fake.cash = Decimal(500)
        await emb.client.submit_proposal(buy("AAPL", 10, aapl_limit(), "too-big", emb))
        result = await emb.client.confirm("too-big")
        assert not result.ok
        assert "insufficient buying power" in result.message
        assert SECRET not in result.message
        lines = list(emb.engine.log_lines)
    finally:
        await emb.engine.stop()
        await emb.close()
    assert any("insufficient buying power" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(lines)
    stored = stored_bytes(db)
    for value in (SECRET, KEY_ID):
        assert value not in logged
        assert value.encode() not in stored


def stored_bytes(db: Path) -> bytes:
    """The database file and its write-ahead log, as written to disk."""
    wal = Path(str(db) + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_clock_when_real_path_built_then_wall_paced_and_feed_refreshed_each_minute(
    built: Embedded, real_env: FakeAlpaca
) -> None:
    emb = built
    clock = emb.engine.clock
    assert isinstance(clock, WarpedWallClock)  # the real path's clock class, warped here
    await emb.engine.start()
    start = clock.now()
    bars_before = real_env.count("GET", "/v2/stocks/bars")
    await emb.engine.advance(RunBudget(market_minutes=2))
    assert real_env.count("GET", "/v2/stocks/bars") - bars_before == 2  # one batch per minute
    assert clock.now() >= start.replace(second=0, microsecond=0) + timedelta(minutes=2)
    assert clock.now() <= clock.wall() + timedelta(seconds=1)  # never ahead of the wall
    assert emb.engine.ticks == 2


@pytest.mark.parametrize("how", ["flag", "config"])
async def test_sim_build_when_live_asked_then_refused_not_silently_simulated(
    tmp_path: Path, how: str
) -> None:
    cfg = WsbConfig()
    if how == "config":
        cfg = cfg.model_copy(update={"engine": cfg.engine.model_copy(update={"mode": "live"})})
    with pytest.raises(UnsupportedSetup, match=r"needs broker\.kind = 'alpaca'"):
        await build_embedded(cfg, db_path=tmp_path / "sim.sqlite", live=how == "flag")
    assert not (tmp_path / "sim.sqlite").exists()
