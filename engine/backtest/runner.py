"""`run_backtest`: replay history through the live engine path, then measure and check it.

The engine is the one `wsb run` uses (`engine.runtime.engine.Engine`): strategies propose,
`PreTradeRisk` checks, the gate auto-approves, the paper broker fills against the modelled
bid/ask with slippage and commissions, every fill is written to the SQLite store before the
ledger applies it. Only the clock (a `ReplayClock`, never paced), the market (simulator or
history) and two costs a replay does not need differ from a live session: the engine runs in
``replay`` mode (strategies and fills on the market loop's own task; see `Engine`) and the
store commits once every few sessions (`engine.backtest.inline_store`), the same rows
either way.

Daily strategies step one tick per session (`step="day"`: the engine ticks in the session's
last minute with that session's daily bars); intraday ones step every market minute.

After each session the runner records the account at the close: every position is marked at
the session's closing price (equities: the daily bar's close; options: the model's quote at
the close), and each strategy's P&L. At the end the store is verified
(`Store.verify_ledger`), the equity curve is rebuilt independently from the stored fills, and
the analytics are computed (`engine.analytics`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from engine.analytics import attribute_pnl, round_trips, summarize
from engine.backtest.config import BacktestConfig, DataSpec, ordered_unique
from engine.backtest.consistency import check_attribution, check_equity_curve
from engine.backtest.gc_pacing import fewer_collections
from engine.backtest.inline_store import commit_group, open_backtest_store
from engine.backtest.result import BacktestResult, ConsistencyReport, DailyRecord
from engine.backtest.sources import (
    CsvMinuteFeed,
    Source,
    csv_source,
    export_yfinance_csv,
    sim_source,
)
from engine.backtest.strategy_set import build_strategies
from engine.broker import PaperBroker, PaperBrokerConfig
from engine.data.protocol import DataUnavailable
from engine.domain import BadMarketData, Bar, Fill, OptionContract, OrderStatus
from engine.risk.pretrade import PreTradeRisk, RateThrottle, RiskLimits
from engine.runtime.engine import Engine, RunBudget
from engine.runtime.gate import ConfirmationGate, GateMode
from engine.runtime.views import StrategyRunState
from engine.store import Store
from engine.strategies.base import Strategy

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, DailyRecord], None]
"""Called after each session: (sessions done, sessions in total, that session's record)."""

CancelFn = Callable[[], bool]
"""Polled after each session; True stops the run early (the result covers what ran)."""

EQUITY_TOLERANCE = 0.01  # dollars

DAILY_FILLS = (
    "Daily step: strategies decide in each session's last minute on its daily bar, close "
    "included, and their orders trade at that close (market-on-close), paying the modelled "
    "bid/ask around it, slippage and commissions. A limit order left resting trades through "
    "the next session: at the opening quote if the market opens through its limit, else at "
    "its limit if the session's low or high (options re-priced there, at the open and at the "
    "close, the worse of the two) reaches it; unfilled, it is canceled at that close."
)

# A commit costs a WAL append (a checksum and a write) of every page the group dirtied; the
# same table and index pages are dirtied by session after session (random keys spread the
# indexes' inserts over their pages), so larger groups write far fewer pages. Measured on the
# SMA benchmark (2,520 sessions): 16 -> 64 sessions saves 0.049 G instructions, 256 0.069 G.
# A run killed mid-group loses at most these sessions of the file, about a year of daily
# sessions (a backtest that dies is run again; nothing reads the file during a run).
COMMIT_EVERY_SESSIONS = 256


class BacktestCancelled(Exception):
    """Raised when `cancel` asked to stop before any session ran."""


class _RememberingDailyFeed:
    """The source's `daily_bars_at`, remembering the last session served: the runner's
    end-of-session record reads the same bars the engine just stepped on without asking the
    source twice."""

    def __init__(self, daily: Callable[[date], Mapping[str, Bar]]) -> None:
        self._daily = daily
        self._last: tuple[date, Mapping[str, Bar]] | None = None

    def daily_bars_at(self, session: date) -> Mapping[str, Bar]:
        last = self._last
        if last is not None and last[0] == session:
            return last[1]
        bars = self._daily(session)
        self._last = (session, bars)
        return bars


@dataclass
class _Run:
    config: BacktestConfig
    source: Source
    engine: Engine
    store: Store
    step: str
    daily_bars: Callable[[date], Mapping[str, Bar]]


def build_source(
    config: BacktestConfig, strategies: Sequence[Strategy], *, closing_auction: bool = False
) -> Source:
    """The market, clock and calendar `config` replays. `closing_auction`: the market trades
    a session's last minute at its close (the daily step; see `SimulatedMarket`)."""
    data = config.data
    if data.kind == "sim":
        wanted = config.symbols or tuple(sorted({s for st in strategies for s in st.universe()}))
        symbols = ordered_unique([*wanted, config.benchmark, "VIX"])
        return sim_source(
            config.start,
            config.end,
            seed=config.seed,
            symbols=symbols,
            warmup_sessions=config.warmup_sessions,
            closing_auction=closing_auction,
        )
    if data.kind == "csv":
        assert data.directory is not None
        chosen: tuple[str, ...] | None = config.symbols
        if chosen is not None:
            extra = [
                s
                for s in (config.benchmark, "VIX")
                if s not in chosen and (data.directory / f"{s}.csv").exists()
            ]
            chosen = ordered_unique([*chosen, *extra])
        return csv_source(
            data.directory,
            config.start,
            config.end,
            seed=config.seed,
            symbols=chosen,
            closing_auction=closing_auction,
        )
    if data.kind == "yfinance":
        raise ValueError("yfinance data must be exported first: await prepare_data(config)")
    raise ValueError(f"data kind {data.kind!r}: allowed sim, csv, yfinance")


async def prepare_data(
    config: BacktestConfig, *, directory: Path | None = None, source: Any = None
) -> BacktestConfig:
    """A config replayable offline: ``yfinance`` data is fetched (through the yfinance history
    cache) and written as CSV into `directory` (default: a folder per symbol set in the temp
    dir), and the config switched to ``csv:`` that folder. Other configs come back as they are.
    `source` replaces Yahoo (tests)."""
    if config.data.kind != "yfinance":
        return config
    if not config.symbols:
        raise ValueError("--data yfinance needs --symbols (which tickers to download)")
    symbols = ordered_unique([*config.symbols, config.benchmark])
    target = directory or Path(tempfile.gettempdir()) / (
        "wsb-backtest-yf-" + "-".join(sorted(symbols)) + f"-{config.start}-{config.end}"
    )
    await export_yfinance_csv(symbols, config.start, config.end, target, source=source)
    return replace(config, data=DataSpec("csv", target))


def choose_step(config: BacktestConfig, strategies: Sequence[Strategy]) -> str:
    if config.step != "auto":
        return config.step
    intraday = any(type(s).intraday for s in strategies)
    return "minute" if intraday and config.data.kind == "sim" else "day"


async def _build(
    config: BacktestConfig, strategies: Sequence[Strategy], db_path: Path, *, scratch: bool
) -> _Run:
    step = choose_step(config, strategies)
    # A daily step decides on the session's bar, close included, in its last minute, so its
    # orders trade at that close (market-on-close), never at the minute before it.
    source = build_source(config, strategies, closing_auction=step == "day")
    market, clock, cal = source.market, source.clock, source.calendar
    source_daily = getattr(market, "daily_bars_at", None)
    if source_daily is None:
        raise TypeError(f"source {market.name!r} has no daily_bars_at(session)")
    remembering = _RememberingDailyFeed(source_daily)
    feed: Any = remembering if step == "day" else source.feed
    if step == "minute" and not source.minute_capable:
        assert hasattr(market, "intraday_bars_sync")
        feed = CsvMinuteFeed(market)  # type: ignore[arg-type]
    broker = PaperBroker(
        market,
        clock,
        config=PaperBrokerConfig(
            commission_per_contract=config.commission_per_contract,
            commission_per_share=config.commission_per_share,
            equity_slippage_bps=config.equity_slippage_bps,
        ),
        account_id="BACKTEST",
        initial_cash=config.capital,
        calendar=cal,
        session_range_fills=step == "day",
    )
    store = await open_backtest_store(db_path, scratch=scratch)
    limits = RiskLimits()
    # The order-rate limit counts orders per second of market time: wall time would make
    # the result depend on how fast the machine replays.
    throttle = RateThrottle(limits.max_orders_per_second, clock=lambda: clock.now().timestamp())
    engine = Engine(
        market=market,
        feed=feed,
        broker=broker,
        store=store,
        clock=clock,
        calendar=cal,
        strategies=list(strategies),
        risk=PreTradeRisk(limits, throttle),
        gate=ConfirmationGate(GateMode.AUTO, timedelta(minutes=5)),
        mode_label="BACKTEST",
        initial_cash=config.capital,
        # A strategy's wall time must not decide the result on a busy machine.
        strategy_timeout=timedelta(hours=1),
        # Daily steps: one snapshot per session, at its close (the engine forces it there).
        equity_snapshot_every=timedelta(days=7) if step == "day" else timedelta(minutes=30),
        step=step,
        replay=True,
    )
    return _Run(config, source, engine, store, step, remembering.daily_bars_at)


async def _record(run: _Run, session: date) -> tuple[DailyRecord, int]:
    eng = run.engine
    ledger = eng.ledger
    bars = run.daily_bars(session)
    marks: dict[str, float] = {}
    holdings: dict[str, tuple[int, int]] = {}
    marked = ledger.marks
    for sym, pos in list(ledger.positions.items()):
        inst = pos.instrument
        price: float | None = None
        if isinstance(inst, OptionContract):
            try:
                price = (await run.source.market.option_quote(inst)).mid
            except (DataUnavailable, BadMarketData):
                price = None
        else:
            bar = bars.get(sym)
            price = bar.close if bar is not None else None
        if price is None:
            price = pos.mark if pos.mark is not None else float(pos.avg_price)
        # The engine marks a symbol from the next tick on; a position opened today is
        # valued at today's close here so the curve is marked-to-market every day. (Most
        # already carry it: the engine's tick marked them at this bar.)
        if pos.mark != price or marked.get(sym) != price:
            ledger.mark(sym, price)
        marks[sym] = price
        holdings[sym] = (pos.quantity, inst.multiplier)
    port = ledger.portfolio(eng.clock.now())  # reserving ledger.reserved_collateral()
    names = list(eng.manager.slots)
    names += [n for n in ledger.by_strategy if n not in names]
    if "manual" not in names:
        names.append("manual")
    pnl = {n: ledger.realized(n) + ledger.unrealized(n) for n in names}
    bench = bars.get(run.config.benchmark)
    rec = DailyRecord(
        session=session,
        equity=port.equity,
        cash=float(port.cash),
        positions_value=port.positions_value,
        gross_exposure=port.gross_exposure,
        benchmark_close=bench.close if bench is not None else None,
        strategy_pnl=pnl,
        marks=marks,
        holdings=holdings,
    )
    return rec, len(bars)


async def run_backtest(
    config: BacktestConfig,
    *,
    strategies: Sequence[Strategy] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    db_path: Path | None = None,
) -> BacktestResult:
    """Run `config` (or the given strategy objects) and return the measured, checked result.

    The store is a SQLite file at `db_path` (which must not exist yet) or a temporary file
    removed afterwards.
    """
    config = await prepare_data(config)
    strats = (
        list(strategies)
        if strategies is not None
        else build_strategies(config.strategies, config.profile, config.params)
    )
    if db_path is not None:
        if await asyncio.to_thread(db_path.exists):
            raise ValueError(f"--db {db_path} already exists: a backtest needs a new file")
        return await _run(config, strats, db_path, progress, cancel, scratch=False)
    with tempfile.TemporaryDirectory(prefix="wsb-backtest-") as tmp:
        path = Path(tmp) / "backtest.sqlite"
        return await _run(config, strats, path, progress, cancel, scratch=True)


async def _run(
    config: BacktestConfig,
    strategies: list[Strategy],
    db_path: Path,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
    *,
    scratch: bool,
) -> BacktestResult:
    with fewer_collections():  # see gc_pacing: the collector's pace, not what it keeps
        return await _replay(config, strategies, db_path, progress, cancel, scratch=scratch)


async def _replay(
    config: BacktestConfig,
    strategies: list[Strategy],
    db_path: Path,
    progress: ProgressFn | None,
    cancel: CancelFn | None,
    *,
    scratch: bool,
) -> BacktestResult:
    run = await _build(config, strategies, db_path, scratch=scratch)
    eng, store, cal = run.engine, run.store, run.source.calendar
    sessions = run.source.sessions
    daily: list[DailyRecord] = []
    bars_seen = 0
    bench_prev: float | None = None
    try:
        prev = await run.source.market.daily_bars(config.benchmark, sessions[0], 1)
        bench_prev = prev[-1].close if prev else None
    except (DataUnavailable, BadMarketData):
        bench_prev = None
    t0 = time.perf_counter()
    one_session = RunBudget(sessions=1)
    try:
        await eng.start()
        for i, session in enumerate(sessions):
            if cancel is not None and cancel():
                break
            await eng.advance(one_session)
            if eng.clock.now() != cal.session_close(session):
                raise RuntimeError(
                    f"engine clock {eng.clock.now()} is not at the close of {session}: "
                    "the replay and the engine disagree on the session sequence"
                )
            rec, n_bars = await _record(run, session)
            # Every COMMIT_EVERY_SESSIONS sessions' writes become durable together (see
            # inline_store); closing the store commits the rest.
            if (i + 1) % COMMIT_EVERY_SESSIONS == 0:
                commit_group(store)
            bars_seen += n_bars
            daily.append(rec)
            if progress is not None:
                progress(i + 1, len(sessions), rec)
        await eng.stop("backtest finished")
        elapsed = time.perf_counter() - t0
        if not daily:
            raise BacktestCancelled("the backtest was cancelled before its first session")
        fills = await store.load_fills()
        ledger_problems = [str(d) for d in await store.verify_ledger()]
        notes = await _notes(run, fills)
    finally:
        await store.close()
    errors = tuple(
        f"{name}: {slot.error}"
        for name, slot in eng.manager.slots.items()
        if slot.state is StrategyRunState.ERRORED
    )
    result = _assemble(run, daily, fills, ledger_problems, bench_prev, elapsed, bars_seen, errors)
    return replace(result, notes=notes)


async def _notes(run: _Run, fills: Sequence[Fill]) -> tuple[str, ...]:
    """Plain-language warnings about how the run went (not errors)."""
    out: list[str] = []
    if run.step == "day":
        traded = {f.strategy for f in fills}
        idle = [
            name
            for name, slot in run.engine.manager.slots.items()
            if type(slot.strategy).intraday and name not in traded
        ]
        if idle:
            out.append(
                f"{', '.join(idle)} made no trades: they trade during the session (entry "
                "windows, intraday bars) and a daily step looks once, in its last minute, "
                "after their windows close; use --step minute (from CSV data too: minute "
                "paths are built from the daily bars)"
            )
    if run.step == "day" and run.engine.proposals_seen > 2 * max(len(fills), 1):
        orders = await run.store.load_orders(limit=1_000_000)
        expired = sum(1 for o in orders if o.status is OrderStatus.EXPIRED)
        if expired:
            out.append(
                f"{expired} of {len(orders)} orders expired unfilled: with step=day a limit "
                "order gets the closing quote it was placed at and the next session's range, "
                "then it is canceled; use --step minute for strategies that re-price limits "
                "during the day"
            )
    return tuple(out)


def _assemble(
    run: _Run,
    daily: list[DailyRecord],
    fills: Sequence[Fill],
    ledger_problems: list[str],
    bench_prev: float | None,
    elapsed: float,
    bars_seen: int,
    errors: tuple[str, ...],
) -> BacktestResult:
    config, cal = run.config, run.source.calendar
    fill_list = list(fills)
    start_equity = float(config.capital)
    done = [d.session for d in daily]
    closes = [cal.session_close(s) for s in done]
    eq_problems, worst = check_equity_curve(
        daily, fill_list, closes, config.capital, tolerance=EQUITY_TOLERANCE
    )
    attr_problems = check_attribution(daily, start_equity)
    trips = round_trips(fill_list, include_open=True)
    notional = sum(float(f.price) * f.quantity * f.instrument.multiplier for f in fill_list)
    equity = [start_equity, *(d.equity for d in daily)]
    gross = [0.0, *(d.gross_exposure for d in daily)]
    bench_vals = [d.benchmark_close for d in daily]
    benchmark: list[float] | None = None
    if any(v is not None for v in bench_vals):
        first = bench_prev if bench_prev is not None else bench_vals[0]
        benchmark = [float("nan") if v is None else v for v in [first, *bench_vals]]
    summary = summarize(
        equity,
        trips=[t for t in trips if t.closed],
        gross_exposure=gross,
        traded_notional=notional,
        benchmark=benchmark,
    )
    names = sorted({n for d in daily for n in d.strategy_pnl})
    series = {n: [d.strategy_pnl.get(n, 0.0) for d in daily] for n in names}
    attribution = [
        a
        for a in attribute_pnl(series, start_equity)
        if a.strategy in config.strategies or abs(a.pnl) > 0.005
    ]
    return BacktestResult(
        config=config.describe(),
        step=run.step,
        sessions=tuple(done),
        daily=tuple(daily),
        start_equity=start_equity,
        fills=tuple(fill_list),
        trades=tuple(trips),
        summary=summary,
        attribution=tuple(attribution),
        checks=ConsistencyReport(
            ledger=tuple(ledger_problems),
            equity=tuple(eq_problems),
            attribution=tuple(attr_problems),
            max_equity_error=worst,
            tolerance=EQUITY_TOLERANCE,
        ),
        model=f"{run.source.model} {DAILY_FILLS}" if run.step == "day" else run.source.model,
        benchmark=config.benchmark if benchmark is not None else None,
        elapsed_seconds=elapsed,
        bars_processed=bars_seen,
        errors=errors,
    )


def run_backtest_sync(
    config: BacktestConfig,
    *,
    strategies: Sequence[Strategy] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    db_path: Path | None = None,
) -> BacktestResult:
    """`run_backtest` on a fresh event loop (CLI, worker processes, a TUI worker thread)."""
    return asyncio.run(
        run_backtest(
            config, strategies=strategies, progress=progress, cancel=cancel, db_path=db_path
        )
    )
