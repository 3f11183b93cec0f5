"""The CSV replay's batch capabilities (`prefetch_chains`, `option_quotes`) give exactly what
one-at-a-time reads give, in fewer pricing passes; a backtest is the same with or without them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import engine.backtest.sources as sources
from engine.backtest.config import BacktestConfig, DataSpec
from engine.backtest.runner import run_backtest_sync
from engine.backtest.sources import HistoricalMarket
from engine.data import CsvReplayMarket, DataUnavailable, default_calendar
from engine.data import chain_reads as chain_reads_module
from engine.data.batch_quotes import option_quotes
from engine.data.chain_reads import ChainRead
from engine.data.simulator import options as sim_options
from engine.data.simulator.options import ChainCache
from engine.domain import OptionChain, OptionContract, OptionQuote, OptionRight

CAL = default_calendar()
DAY = date(2015, 6, 10)
SYMBOLS = ["SPY", "AAPL", "QQQ", "MSFT", "JPM", "NVDA", "VIX"]
STALE = "NVDA"  # its file ends on 2014-12-31: quoted at that close
CALL, PUT = OptionRight.CALL, OptionRight.PUT


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Vectorised pricing passes (`build_expiries` calls) since the fixture was set up."""
    count = [0]
    real = sim_options.build_expiries

    def counting(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_options, "build_expiries", counting)
    return count


# A mid-session minute, and the daily step's tick (its last minute, traded at the close).
INSTANTS = {
    "mid_session": (CAL.session_open(DAY) + timedelta(minutes=90), False),
    "daily_step": (CAL.session_close(DAY) - timedelta(seconds=1), True),
}
MARKETS: dict[str, type[CsvReplayMarket]] = {"csv": CsvReplayMarket, "historical": HistoricalMarket}


@pytest.fixture(params=list(INSTANTS))
def instant(request: pytest.FixtureRequest) -> tuple[datetime, bool]:
    return INSTANTS[request.param]


@pytest.fixture(params=list(MARKETS))
def make_market(
    request: pytest.FixtureRequest,
    prices_dir: Path,
    make_clock: type,
    instant: tuple[datetime, bool],
) -> Callable[[], CsvReplayMarket]:
    """Fresh markets (nothing priced) on one clock set to `instant`."""
    now, closing_auction = instant
    clock = make_clock(now)
    cls = MARKETS[request.param]

    def make() -> CsvReplayMarket:
        return cls(prices_dir, clock, symbols=SYMBOLS, closing_auction=closing_auction)

    return make


def _reads(market: CsvReplayMarket) -> list[ChainRead]:
    today = DAY
    jpm = market.latest_quote_sync("JPM").last
    spy = market.latest_quote_sync("SPY").last
    return [
        ChainRead("SPY", today, today + timedelta(days=30)),
        ChainRead("AAPL", today + timedelta(days=20), today + timedelta(days=80), CALL),
        ChainRead("QQQ", today, today + timedelta(days=45), PUT),
        ChainRead("MSFT", today + timedelta(days=200), today + timedelta(days=800), CALL),
        ChainRead("JPM", today, today + timedelta(days=60), None, (0.9 * jpm, 1.1 * jpm)),
        # Overlaps the first read: cut from its chain, not priced again.
        ChainRead("SPY", today, today + timedelta(days=30), PUT, (0.97 * spy, 1.0 * spy)),
        ChainRead("AAPL", today + timedelta(days=20), today + timedelta(days=80), CALL),
        ChainRead("VIX", today, today + timedelta(days=30)),  # no options listed
        ChainRead("ZZZ", today, today + timedelta(days=30)),  # no such file
    ]


def _read(market: CsvReplayMarket, r: ChainRead) -> OptionChain | str:
    try:
        return market.option_chain_sync(
            r.underlying, r.min_expiry, r.max_expiry, r.right, r.strikes
        )
    except DataUnavailable as exc:
        return f"DataUnavailable: {exc}"


async def test_prefetch_chains_when_reads_announced_then_same_chains_in_one_pass(
    make_market: Callable[[], CsvReplayMarket], passes: list[int]
) -> None:
    plain, fetched = make_market(), make_market()
    reads = _reads(plain)

    passes[0] = 0
    want = [_read(plain, r) for r in reads]
    plain_passes = passes[0]

    passes[0] = 0
    await chain_reads_module.prefetch_chains(fetched, reads)
    prefetch_passes = passes[0]
    got = [_read(fetched, r) for r in reads]
    assert passes[0] == prefetch_passes, "every read was served from the prefetched pass"

    assert got == want  # same quotes, float for float; the same errors
    assert all(isinstance(c, OptionChain) and c.quotes for c in want[:7])
    assert [type(c) for c in want[7:]] == [str, str]
    assert {q.contract.right for q in want[1].quotes} == {CALL}  # type: ignore[union-attr]
    assert {q.contract.right for q in want[2].quotes} == {PUT}  # type: ignore[union-attr]
    assert prefetch_passes == 1
    assert plain_passes > prefetch_passes
    # Single quotes agree with the chains they come from, on either market.
    for chain in want[:5]:
        assert isinstance(chain, OptionChain)
        q = chain.quotes[len(chain.quotes) // 2]
        assert fetched.option_quote_sync(q.contract) == q == plain.option_quote_sync(q.contract)


async def test_prefetch_chains_when_nothing_servable_then_no_pass_and_reads_still_raise(
    make_market: Callable[[], CsvReplayMarket], passes: list[int]
) -> None:
    market = make_market()
    reads = [ChainRead("VIX", DAY, DAY + timedelta(days=9)), ChainRead("ZZZ", DAY, DAY)]
    passes[0] = 0
    await market.prefetch_chains(reads)
    await market.prefetch_chains([])
    assert passes[0] == 0
    for r in reads:
        with pytest.raises(DataUnavailable):
            market.option_chain_sync(r.underlying, r.min_expiry, r.max_expiry)


async def test_prefetch_chains_when_a_name_lags_the_others_then_same_chains(
    make_market: Callable[[], CsvReplayMarket], passes: list[int]
) -> None:
    """A name whose file has ended is priced at its last close, another instant than the
    rest: it is left to its own read, and the others' prefetched chains survive announcing
    it; no read changes."""
    plain, fetched = make_market(), make_market()
    stale = ChainRead(STALE, DAY, DAY + timedelta(days=700), OptionRight.PUT)
    reads = [*_reads(plain)[:5], stale]
    want = [_read(plain, r) for r in [*reads, reads[0]]]
    passes[0] = 0
    await fetched.prefetch_chains(reads)
    got = [_read(fetched, r) for r in reads[:5]]
    assert passes[0] == 1
    got += [_read(fetched, stale), _read(fetched, reads[0])]
    assert got == want
    lagging = want[5]
    assert isinstance(lagging, OptionChain)
    assert lagging.quotes
    assert lagging.ts == CAL.session_close(date(2014, 12, 31))
    assert lagging.ts < want[0].ts  # type: ignore[union-attr]


def _book(market: CsvReplayMarket) -> list[OptionContract]:
    """Held contracts: calls and puts of several names and expiries, plus ones that cannot be
    quoted (expired, an unlisted expiry, no options listed, no such file)."""
    picks: list[OptionContract] = []
    for sym in ("SPY", "AAPL", "JPM", "MSFT"):
        chain = market.option_chain_sync(sym, DAY, DAY + timedelta(days=400))
        for expiry in (chain.expiries[0], chain.expiries[len(chain.expiries) // 2]):
            rows = chain.for_expiry(expiry)
            picks += [rows[0].contract, rows[len(rows) // 2].contract, rows[-1].contract]
    listed = set(market.option_chain_sync("AAPL", DAY, DAY + timedelta(days=60)).expiries)
    unlisted = next(d for d in (DAY + timedelta(days=k) for k in range(1, 60)) if d not in listed)
    strike = picks[3].strike
    return [
        *picks,
        OptionContract("AAPL", DAY - timedelta(days=12), strike, CALL),  # expired
        OptionContract("AAPL", unlisted, strike, PUT),
        OptionContract("VIX", DAY + timedelta(days=7), Decimal(15), CALL),
        OptionContract("ZZZ", DAY + timedelta(days=7), Decimal(15), CALL),
    ]


def _singles(market: CsvReplayMarket, book: list[OptionContract]) -> dict[Any, OptionQuote]:
    out: dict[Any, OptionQuote] = {}
    for c in book:
        try:
            out[c] = market.option_quote_sync(c)
        except DataUnavailable:
            continue
    return out


async def test_option_quotes_when_book_marked_in_a_batch_then_equals_single_quotes(
    make_market: Callable[[], CsvReplayMarket], passes: list[int]
) -> None:
    book = _book(make_market())
    one_by_one, batched, helper = make_market(), make_market(), make_market()

    passes[0] = 0
    want = _singles(one_by_one, book)
    single_passes = passes[0]
    passes[0] = 0
    got = batched.option_quotes_sync(book)
    batch_passes = passes[0]

    assert len(want) == len(book) - 4  # the four unquotable contracts are left out
    assert got == want
    assert list(got) == list(want)
    assert await option_quotes(helper, book) == want  # the engine's path (`_mark_options`)
    assert batch_passes == 1
    assert single_passes > batch_passes
    # Later reads at the same instant hand out the very quotes of the batch.
    for c, q in got.items():
        assert batched.option_quote_sync(c) is q
        assert batched.option_chain_sync(c.underlying, c.expiry, c.expiry).find(c) == q


async def test_option_quotes_when_nothing_quotable_then_empty_without_a_pass(
    make_market: Callable[[], CsvReplayMarket], passes: list[int]
) -> None:
    market = make_market()
    dead = _book(make_market())[-4:]
    passes[0] = 0
    assert await market.option_quotes(dead) == {}
    assert market.option_quotes_sync([]) == {}
    assert passes[0] == 0


class _Plain(HistoricalMarket):
    """The replay as a feed without the batch capabilities (and with the chain cache it had
    before them: single quotes priced per underlying)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chains = ChainCache(self.calendar)

    @property
    def prefetch_chains(self) -> Any:  # type: ignore[override]
        REFUSED["prefetch_chains"] += 1
        raise AttributeError("prefetch_chains")

    @property
    def option_quotes(self) -> Any:  # type: ignore[override]
        REFUSED["option_quotes"] += 1
        raise AttributeError("option_quotes")


REFUSED: Counter[str] = Counter()
USED: Counter[str] = Counter()


class _Counting(HistoricalMarket):
    """The replay as the runner builds it, counting uses of the batch capabilities."""

    async def prefetch_chains(self, reads: Any) -> None:
        USED["prefetch_chains"] += 1
        await super().prefetch_chains(reads)

    async def option_quotes(self, contracts: Any) -> dict[OptionContract, OptionQuote]:
        USED["option_quotes"] += 1
        return await super().option_quotes(contracts)


def test_csv_backtest_when_batch_capabilities_hidden_then_same_fingerprint(
    prices_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = BacktestConfig(
        strategies=("debit_spreads", "leaps_tracker", "earnings_protection"),
        start=date(2018, 10, 1),
        end=date(2018, 11, 30),
        data=DataSpec("csv", prices_dir),
        step="day",
    )
    results = {}
    for name, cls in (("plain", _Plain), ("batched", _Counting)):
        monkeypatch.setattr(sources, "HistoricalMarket", cls)  # what csv_source builds
        USED.clear()
        REFUSED.clear()
        results[name] = run_backtest_sync(cfg)
        if name == "plain":
            # The engine and the strategies asked for the capabilities and went without.
            assert REFUSED["prefetch_chains"] > 0
            assert REFUSED["option_quotes"] > 0
            assert not USED
    plain, batched = results["plain"], results["batched"]
    assert USED["prefetch_chains"] > 0
    assert USED["option_quotes"] > 0
    assert not REFUSED
    traded = Counter(f.strategy for f in plain.fills if len(f.symbol) > 6)
    assert set(traded) == {"debit_spreads", "leaps_tracker", "earnings_protection"}
    assert batched.fingerprint() == plain.fingerprint()
    assert batched.summary == plain.summary
