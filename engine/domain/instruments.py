"""Tradable instruments: equities, index underlyings and listed option contracts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from engine.domain.fast_init import fast_init

# Cash-settled, European-style index products. Everything else listed in the US is
# American-style and physically settled.
CASH_SETTLED_INDEXES: frozenset[str] = frozenset({"SPX", "SPXW", "XSP", "NDX", "RUT", "VIX"})


# Broad-market index ETFs (spec risk §4 integration limits): the index sleeve's holdings.
BROAD_INDEX_ETFS: frozenset[str] = frozenset({"SPY", "VTI", "QQQ", "IWM", "DIA", "VOO", "VTEB"})


class OptionRight(StrEnum):
    CALL = "C"
    PUT = "P"


@fast_init
@dataclass(frozen=True, slots=True)
class Equity:
    """A stock, ETF or index underlying. `is_index` marks non-tradable indexes like SPX."""

    symbol: str
    is_index: bool = False
    multiplier: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if not self.symbol or not _TICKER.fullmatch(self.symbol):
            raise ValueError(f"symbol {self.symbol!r} is not a valid ticker (1-6 of A-Z, . or -)")

    @property
    def underlying(self) -> str:
        return self.symbol

    @property
    def is_option(self) -> bool:
        return False


_TICKER = re.compile(r"[A-Z][A-Z.\-]{0,5}")
# OCC: root (1-6 chars), YYMMDD, C/P, strike x 1000 as 8 digits. Padded form uses spaces.
_OCC = re.compile(r"(?P<root>[A-Z][A-Z0-9.]{0,5})\s*(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})")


@fast_init
@dataclass(frozen=True, slots=True)
class OptionContract:
    """A listed option. Strike is exact (`Decimal`); the multiplier is 100 for standard contracts."""

    underlying: str
    expiry: date
    strike: Decimal
    right: OptionRight
    multiplier: int = 100

    def __post_init__(self) -> None:
        if not _TICKER.fullmatch(self.underlying):
            raise ValueError(f"underlying {self.underlying!r} is not a valid ticker")
        if self.strike <= 0:
            raise ValueError(f"strike {self.strike} must be positive")
        if self.strike * 1000 != (self.strike * 1000).to_integral_value():
            raise ValueError(f"strike {self.strike} has more than 3 decimals (OCC limit)")
        if self.multiplier <= 0:
            raise ValueError(f"multiplier {self.multiplier} must be positive")

    @property
    def symbol(self) -> str:
        """Compact OCC symbol (no padding), the form Alpaca uses: ``AAPL240119C00190000``."""
        # Risk checks, margin and the ledger key positions by symbol and ask for it many
        # times per decision; formatting it each time was a few percent of a backtest.
        got = _SYMBOLS.get(self)
        if got is None:
            if len(_SYMBOLS) >= _SYMBOLS_MAX:
                _SYMBOLS.clear()
            got = _SYMBOLS[self] = self._occ(pad=False)
        return got

    @property
    def occ_symbol(self) -> str:
        """Padded 21-character OCC symbol: ``AAPL  240119C00190000``."""
        return self._occ(pad=True)

    def _occ(self, *, pad: bool) -> str:
        root = self.underlying.ljust(6) if pad else self.underlying
        strike = int(self.strike * 1000)
        e = self.expiry  # %y%m%d without strftime's cost
        return f"{root}{e.year % 100:02d}{e.month:02d}{e.day:02d}{self.right.value}{strike:08d}"

    @classmethod
    def from_symbol(cls, symbol: str) -> OptionContract:
        """Parse a padded or compact OCC symbol."""
        m = _OCC.fullmatch(symbol.strip())
        if m is None:
            raise ValueError(
                f"{symbol!r} is not an OCC option symbol (ROOT YYMMDD C|P STRIKE*1000)"
            )
        ymd = m["ymd"]
        expiry = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
        strike = (Decimal(int(m["strike"])) / 1000).normalize()
        return cls(m["root"], expiry, strike, OptionRight(m["right"]))

    @property
    def is_call(self) -> bool:
        return self.right is OptionRight.CALL

    @property
    def is_option(self) -> bool:
        return True

    @property
    def is_european(self) -> bool:
        return self.underlying in CASH_SETTLED_INDEXES

    def dte(self, today: date) -> int:
        """Calendar days to expiry (the spec's DTE)."""
        return (self.expiry - today).days

    def describe(self) -> str:
        """Human form for tables: ``NVDA 250117C145``."""
        strike = f"{self.strike.normalize():f}"
        return f"{self.underlying} {self.expiry:%y%m%d}{self.right.value}{strike}"


# OptionContract -> its compact symbol (bounded: cleared when full, rebuilt on demand).
_SYMBOLS: dict[OptionContract, str] = {}
_SYMBOLS_MAX = 4096


Instrument = Equity | OptionContract


def is_occ_symbol(symbol: str) -> bool:
    return _OCC.fullmatch(symbol.strip()) is not None


def instrument_from_symbol(
    symbol: str, *, index_symbols: frozenset[str] = frozenset()
) -> Instrument:
    """Equity ticker or OCC option symbol to an instrument."""
    if is_occ_symbol(symbol):
        return OptionContract.from_symbol(symbol)
    return Equity(symbol, is_index=symbol in index_symbols or symbol in CASH_SETTLED_INDEXES)
