"""The simulated universe: every symbol the strategies watch, with its sector, beta, base price,
volatility, liquidity and option-listing style.

Base prices are levels at the default simulation start (early 2026, roughly where the names
traded in late 2025); volatilities are annualised, decimal. The default universe is the union
of every strategy watchlist in the spec (shared/spec/strategies.md), plus SPX and VIX.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    INDEX = "index"  # SPX, VIX: not tradable, no volume of their own
    INDEX_ETF = "index_etf"
    SECTOR_ETF = "sector_etf"
    LEVERAGED_ETF = "leveraged_etf"
    STOCK = "stock"


class DailyExpiries(StrEnum):
    """Short-dated listing style on top of weeklies and monthlies."""

    NONE = "none"
    EVERY_SESSION = "every_session"  # SPY, QQQ, SPX: 0DTE every day
    MON_WED_FRI = "mon_wed_fri"  # IWM


class TickRule(StrEnum):
    PENNY_ALL = "penny_all"  # 0.01 at every premium (SPY, QQQ, IWM)
    PENNY = "penny"  # 0.01 under $3, 0.05 from $3
    INDEX = "index"  # 0.05 under $3, 0.10 from $3 (SPX)


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """How one symbol moves and trades.

    `beta` loads on the market factor, `sector_loading` on its sector factor, `idio_vol` is the
    annual idiosyncratic volatility. `levered` = (underlying, factor) for leveraged ETFs whose
    daily simple return is factor x the underlying's; `scaled` = (underlying, ratio) for an index
    that is another symbol's path times a constant (SPX = SPY x ~10). `adv` is the average daily
    share volume; `liquidity` in (0, 1] scales option open interest and tightens spreads.
    """

    symbol: str
    kind: Kind
    sector: str
    price: float
    beta: float = 1.0
    sector_loading: float = 1.0
    idio_vol: float = 0.25
    adv: float = 5e6
    liquidity: float = 0.5
    div_yield: float = 0.0
    levered: tuple[str, float] | None = None
    scaled: tuple[str, float] | None = None
    daily_expiries: DailyExpiries = DailyExpiries.NONE
    tick_rule: TickRule = TickRule.PENNY
    strike_increment: float | None = None  # None: by price level
    has_options: bool = True

    @property
    def is_index(self) -> bool:
        return self.kind is Kind.INDEX

    @property
    def has_earnings(self) -> bool:
        return self.kind is Kind.STOCK

    @property
    def european(self) -> bool:
        """Cash-settled index options are European; everything else listed is American."""
        return self.kind is Kind.INDEX

    @property
    def earnings_move(self) -> float:
        """Standard deviation of the earnings-day log move (about 0.18 x idiosyncratic vol)."""
        return min(0.15, max(0.025, 0.18 * self.idio_vol + 0.005))


# Annual volatility of each sector factor in the calm regime.
SECTOR_VOLS: dict[str, float] = {
    "broad": 0.0,
    "tech": 0.10,
    "semis": 0.20,
    "comm": 0.12,
    "discretionary": 0.12,
    "staples": 0.08,
    "fin": 0.12,
    "energy": 0.20,
    "health": 0.10,
    "biotech": 0.22,
    "materials": 0.10,
    "telecom": 0.10,
    "travel": 0.20,
    "software": 0.15,
    "crypto": 0.45,
    "ev": 0.35,
    "auto": 0.15,
    "meme": 0.35,
    "smallcap": 0.08,
    "growth": 0.18,
    "other": 0.10,
}


def _stock(
    symbol: str,
    sector: str,
    price: float,
    beta: float,
    idio: float,
    adv_m: float,
    liquidity: float = 0.5,
    div: float = 0.0,
) -> SymbolSpec:
    return SymbolSpec(
        symbol,
        Kind.STOCK,
        sector,
        price,
        beta=beta,
        idio_vol=idio,
        adv=adv_m * 1e6,
        liquidity=liquidity,
        div_yield=div,
    )


def _etf(
    symbol: str,
    sector: str,
    price: float,
    beta: float,
    loading: float,
    idio: float,
    adv_m: float,
    liquidity: float,
    div: float = 0.0,
    kind: Kind = Kind.SECTOR_ETF,
    daily: DailyExpiries = DailyExpiries.NONE,
    tick: TickRule = TickRule.PENNY,
    inc: float | None = None,
) -> SymbolSpec:
    return SymbolSpec(
        symbol,
        kind,
        sector,
        price,
        beta=beta,
        sector_loading=loading,
        idio_vol=idio,
        adv=adv_m * 1e6,
        liquidity=liquidity,
        div_yield=div,
        daily_expiries=daily,
        tick_rule=tick,
        strike_increment=inc,
    )


_IDX = Kind.INDEX_ETF
_SPECS: tuple[SymbolSpec, ...] = (
    # Broad index ETFs: $1 strikes, the most liquid options in the market.
    _etf(
        "SPY",
        "broad",
        590.0,
        1.0,
        0.0,
        0.01,
        70,
        1.0,
        0.012,
        _IDX,
        DailyExpiries.EVERY_SESSION,
        TickRule.PENNY_ALL,
        1.0,
    ),
    _etf(
        "QQQ",
        "tech",
        520.0,
        1.15,
        0.45,
        0.02,
        45,
        1.0,
        0.006,
        _IDX,
        DailyExpiries.EVERY_SESSION,
        TickRule.PENNY_ALL,
        1.0,
    ),
    _etf(
        "IWM",
        "smallcap",
        225.0,
        1.15,
        0.6,
        0.02,
        30,
        0.9,
        0.012,
        _IDX,
        DailyExpiries.MON_WED_FRI,
        TickRule.PENNY_ALL,
        1.0,
    ),
    _etf("DIA", "broad", 430.0, 0.92, 0.0, 0.03, 3, 0.5, 0.016, _IDX, inc=1.0),
    _etf("VTI", "broad", 295.0, 1.02, 0.0, 0.012, 4, 0.4, 0.013, _IDX, inc=1.0),
    # SPX: SPY's path times a constant, cash-settled European options, 5-point strikes.
    SymbolSpec(
        "SPX",
        Kind.INDEX,
        "broad",
        5930.0,
        scaled=("SPY", 5930.0 / 590.0),
        adv=70e6,
        liquidity=1.0,
        div_yield=0.012,
        daily_expiries=DailyExpiries.EVERY_SESSION,
        tick_rule=TickRule.INDEX,
        strike_increment=5.0,
    ),
    # VIX: derived from the market's implied-vol state (paths.py), no options served.
    SymbolSpec(
        "VIX", Kind.INDEX, "broad", 15.0, beta=0.0, idio_vol=0.0, adv=0.0, has_options=False
    ),
    # Sector and thematic ETFs.
    _etf("XLF", "fin", 50.0, 1.05, 0.8, 0.03, 40, 0.6),
    _etf("XLE", "energy", 90.0, 0.8, 0.9, 0.04, 15, 0.5),
    _etf("XLK", "tech", 240.0, 1.15, 0.7, 0.03, 6, 0.5),
    _etf("XBI", "biotech", 95.0, 1.1, 0.9, 0.06, 9, 0.4),
    _etf("ARKK", "growth", 60.0, 1.5, 0.9, 0.10, 12, 0.4),
    _etf("SMH", "semis", 250.0, 1.3, 0.9, 0.04, 7, 0.5),
    _etf("SOXX", "semis", 230.0, 1.3, 0.95, 0.04, 4, 0.4),
    # Leveraged ETFs: 3x the daily simple return of the underlying.
    SymbolSpec(
        "TQQQ", Kind.LEVERAGED_ETF, "tech", 80.0, levered=("QQQ", 3.0), adv=60e6, liquidity=0.7
    ),
    SymbolSpec(
        "SOXL", Kind.LEVERAGED_ETF, "semis", 28.0, levered=("SOXX", 3.0), adv=70e6, liquidity=0.6
    ),
    SymbolSpec(
        "SPXL", Kind.LEVERAGED_ETF, "broad", 170.0, levered=("SPY", 3.0), adv=4e6, liquidity=0.4
    ),
    # Mega caps and large caps.
    _stock("AAPL", "tech", 230.0, 1.1, 0.20, 50, 0.95, 0.005),
    _stock("MSFT", "tech", 440.0, 1.0, 0.18, 20, 0.9, 0.007),
    _stock("GOOGL", "comm", 190.0, 1.1, 0.24, 25, 0.85),
    _stock("META", "comm", 600.0, 1.25, 0.30, 15, 0.85),
    _stock("NVDA", "semis", 140.0, 1.7, 0.40, 250, 1.0),
    _stock("AMD", "semis", 130.0, 1.6, 0.42, 40, 0.85),
    _stock("AVGO", "semis", 230.0, 1.4, 0.35, 25, 0.7, 0.01),
    _stock("TSLA", "ev", 400.0, 1.8, 0.55, 90, 1.0),
    _stock("AMZN", "discretionary", 220.0, 1.2, 0.26, 40, 0.9),
    _stock("NFLX", "comm", 900.0, 1.2, 0.32, 4, 0.6),
    _stock("CRM", "software", 330.0, 1.15, 0.28, 6, 0.5),
    _stock("COST", "staples", 950.0, 0.8, 0.18, 2, 0.4, 0.005),
    _stock("ADBE", "software", 450.0, 1.1, 0.28, 3, 0.5),
    _stock("V", "fin", 310.0, 0.9, 0.16, 7, 0.5, 0.007),
    _stock("MA", "fin", 520.0, 0.95, 0.17, 3, 0.4, 0.005),
    _stock("LIN", "materials", 440.0, 0.85, 0.16, 2, 0.3, 0.012),
    _stock("ORCL", "software", 170.0, 1.2, 0.30, 10, 0.5, 0.01),
    _stock("QCOM", "semis", 160.0, 1.3, 0.30, 8, 0.5, 0.02),
    _stock("TXN", "semis", 190.0, 1.1, 0.24, 6, 0.4, 0.028),
    _stock("INTC", "semis", 22.0, 1.2, 0.45, 60, 0.7),
    _stock("JPM", "fin", 240.0, 1.1, 0.20, 9, 0.6, 0.02),
    _stock("BAC", "fin", 45.0, 1.2, 0.22, 35, 0.6, 0.023),
    _stock("PYPL", "fin", 85.0, 1.2, 0.32, 12, 0.5),
    _stock("SQ", "fin", 90.0, 1.5, 0.45, 8, 0.5),
    _stock("SOFI", "fin", 14.0, 1.8, 0.55, 40, 0.6),
    _stock("DIS", "comm", 112.0, 1.0, 0.24, 9, 0.5, 0.008),
    _stock("ROKU", "comm", 75.0, 1.6, 0.50, 4, 0.4),
    _stock("WMT", "staples", 90.0, 0.6, 0.16, 15, 0.5, 0.01),
    _stock("KO", "staples", 70.0, 0.55, 0.13, 14, 0.5, 0.03),
    _stock("HD", "discretionary", 390.0, 0.95, 0.20, 4, 0.4, 0.023),
    _stock("UBER", "discretionary", 75.0, 1.3, 0.35, 20, 0.5),
    _stock("T", "telecom", 23.0, 0.6, 0.18, 35, 0.5, 0.05),
    _stock("PFE", "health", 27.0, 0.6, 0.22, 40, 0.5, 0.06),
    _stock("F", "auto", 11.0, 1.1, 0.28, 50, 0.6, 0.05),
    _stock("GM", "auto", 55.0, 1.1, 0.30, 12, 0.5, 0.01),
    _stock("CCL", "travel", 25.0, 1.6, 0.40, 25, 0.5),
    _stock("AAL", "travel", 16.0, 1.5, 0.40, 30, 0.5),
    # Software, cloud and cyber security.
    _stock("SNOW", "software", 170.0, 1.5, 0.50, 6, 0.4),
    _stock("ZM", "software", 80.0, 1.0, 0.35, 3, 0.3),
    _stock("SHOP", "software", 110.0, 1.6, 0.48, 9, 0.5),
    _stock("TWLO", "software", 110.0, 1.4, 0.45, 3, 0.3),
    _stock("PLTR", "software", 75.0, 2.0, 0.60, 70, 0.9),
    _stock("DDOG", "software", 140.0, 1.4, 0.42, 4, 0.35),
    _stock("NET", "software", 110.0, 1.5, 0.48, 4, 0.35),
    _stock("OKTA", "software", 80.0, 1.2, 0.40, 3, 0.3),
    _stock("CRWD", "software", 350.0, 1.3, 0.40, 4, 0.45),
    _stock("ZS", "software", 200.0, 1.2, 0.40, 2, 0.3),
    _stock("PANW", "software", 185.0, 1.1, 0.30, 5, 0.4),
    _stock("S", "software", 20.0, 1.3, 0.45, 6, 0.3),
    _stock("FTNT", "software", 95.0, 1.1, 0.32, 5, 0.35),
    _stock("SMCI", "semis", 35.0, 2.0, 0.80, 30, 0.6),
    _stock("ARM", "semis", 140.0, 1.8, 0.60, 6, 0.5),
    # EVs.
    _stock("RIVN", "ev", 13.0, 1.6, 0.60, 30, 0.5),
    _stock("LCID", "ev", 22.0, 1.5, 0.60, 10, 0.3),
    _stock("NIO", "ev", 5.0, 1.5, 0.65, 50, 0.5),
    _stock("XPEV", "ev", 20.0, 1.6, 0.65, 10, 0.3),
    # Crypto-linked and meme names.
    _stock("COIN", "crypto", 270.0, 2.2, 0.60, 10, 0.7),
    _stock("MSTR", "crypto", 330.0, 2.5, 0.75, 15, 0.7),
    _stock("HOOD", "crypto", 40.0, 2.0, 0.65, 25, 0.6),
    _stock("GME", "meme", 27.0, 1.3, 0.60, 6, 0.6),
    _stock("AMC", "meme", 4.0, 1.4, 0.65, 15, 0.5),
)

KNOWN_SPECS: dict[str, SymbolSpec] = {s.symbol: s for s in _SPECS}

DEFAULT_UNIVERSE: tuple[str, ...] = tuple(s.symbol for s in _SPECS)


def default_spec(symbol: str) -> SymbolSpec:
    """A plausible, deterministic spec for a ticker outside the table (hash-derived, not random)."""
    h = hashlib.blake2b(symbol.encode(), digest_size=8).digest()
    price = 10.0 + (h[0] * 256 + h[1]) / 65535.0 * 290.0
    beta = 0.7 + h[2] / 255.0 * 1.0
    idio = 0.20 + h[3] / 255.0 * 0.35
    return _stock(symbol, "other", round(price, 2), round(beta, 2), round(idio, 3), 5, 0.3)


def spec_for(symbol: str) -> SymbolSpec:
    return KNOWN_SPECS.get(symbol) or default_spec(symbol)


def resolve_universe(symbols: Iterable[str] | None) -> list[SymbolSpec]:
    """Specs for `symbols` (default universe when None) plus the symbols they derive from,
    ordered so that every underlying precedes the symbols derived from it."""
    wanted = list(DEFAULT_UNIVERSE if symbols is None else symbols)
    if not wanted:
        raise ValueError("universe must name at least one symbol")
    seen: dict[str, SymbolSpec] = {}

    def add(sym: str) -> None:
        if sym in seen:
            return
        spec = spec_for(sym)
        for dep in (spec.levered, spec.scaled):
            if dep is not None:
                add(dep[0])
        if sym in ("SPX", "VIX"):
            add("SPY")
        seen[sym] = spec

    for sym in wanted:
        add(sym)
    return list(seen.values())


def sector_names(specs: Sequence[SymbolSpec]) -> list[str]:
    return sorted({s.sector for s in specs})
