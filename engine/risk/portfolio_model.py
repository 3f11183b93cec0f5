"""The frozen portfolio model the risk maths works on.

`RiskPosition` is one holding with everything risk needs to re-price it (spot, strike, expiry,
implied vol, beta, strategy, sector, spread).  `RiskPortfolio` holds the positions plus cash and
the risk-free rate, and builds once the column arrays (`PortfolioArrays`) the vectorised code
reads: nothing in the measurement code loops over positions in Python.

Units: `spot`, `strike`, `mark` per unit of underlying (currency); `quantity` in contracts or
shares (negative = short); `multiplier` 100 for standard options, 1 for shares; `expiry_years`
ACT/365 calendar years (the pricing package's convention); `iv` annualised decimal; `spread`
the full bid/ask spread as a fraction of mid (0.001 = 10 bps).

Exercise style: options on stocks and ETFs are American (valued with the early-exercise
premium, `engine.pricing.american_book`); cash-settled index options (SPX, XSP, NDX, RUT,
VIX: `engine.domain.instruments.CASH_SETTLED_INDEXES`) are European (Black-Scholes-Merton).
`RiskPosition.american` overrides the rule for one position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from engine.domain.instruments import CASH_SETTLED_INDEXES
from engine.pricing.american_book import option_prices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

__all__ = [
    "AssetClass",
    "MissingRiskInput",
    "PortfolioArrays",
    "PositionKind",
    "RiskPortfolio",
    "RiskPosition",
    "asset_class_of",
    "from_domain",
]


class MissingRiskInput(ValueError):
    """A position cannot be valued (no spot, no implied vol, ...): risk fails closed on it."""


class PositionKind(StrEnum):
    EQUITY = "equity"
    OPTION = "option"


class AssetClass(StrEnum):
    EQUITY = "equity"
    CRYPTO = "crypto"
    FOREX = "forex"
    COMMODITY = "commodity"
    BOND = "bond"


_COMMODITY = frozenset({"GOLD", "SILVER", "OIL", "GLD", "SLV", "USO"})
_BOND = frozenset({"TLT", "AGG", "BND", "LQD"})


def asset_class_of(symbol: str) -> AssetClass:
    """Spec §9 mapping, with crypto pairs tested before the FX rule (the proposed fix)."""
    s = symbol.upper()
    if "BTC" in s or "ETH" in s:
        return AssetClass.CRYPTO
    if any(c in s for c in ("USD", "EUR", "GBP")):
        return AssetClass.FOREX
    if s in _COMMODITY:
        return AssetClass.COMMODITY
    if s in _BOND:
        return AssetClass.BOND
    return AssetClass.EQUITY


def _check(cond: bool, what: str, value: object, allowed: str) -> None:
    if not cond:
        raise ValueError(f"{what}={value!r} is invalid: must be {allowed}")


@dataclass(frozen=True, slots=True)
class RiskPosition:
    """One holding as risk sees it.  `american` None: American unless the underlying is a
    cash-settled index (see the module docstring)."""

    symbol: str
    underlying: str
    quantity: float
    spot: float
    kind: PositionKind = PositionKind.EQUITY
    multiplier: float = 1.0
    strike: float = math.nan
    expiry_years: float = math.nan
    is_call: bool = True
    iv: float = math.nan
    dividend_yield: float = 0.0
    strategy: str = "other"
    sector: str = "unknown"
    style: str = "blend"
    asset_class: AssetClass = AssetClass.EQUITY
    beta: float = 1.0
    spread: float | None = None
    mark: float | None = None
    american: bool | None = None

    def __post_init__(self) -> None:
        if self.american is None:
            style = self.is_option and self.underlying.upper() not in CASH_SETTLED_INDEXES
            object.__setattr__(self, "american", style)
        where = f"position {self.symbol}"
        _check(bool(self.symbol), f"{where}: symbol", self.symbol, "non-empty")
        _check(math.isfinite(self.quantity), f"{where}: quantity", self.quantity, "finite")
        _check(
            math.isfinite(self.spot) and self.spot > 0, f"{where}: spot", self.spot, "finite > 0"
        )
        _check(
            math.isfinite(self.multiplier) and self.multiplier > 0,
            f"{where}: multiplier",
            self.multiplier,
            "finite > 0",
        )
        _check(math.isfinite(self.beta), f"{where}: beta", self.beta, "finite")
        _check(
            math.isfinite(self.dividend_yield),
            f"{where}: dividend_yield",
            self.dividend_yield,
            "finite",
        )
        if self.spread is not None:
            _check(
                math.isfinite(self.spread) and self.spread >= 0,
                f"{where}: spread",
                self.spread,
                "finite >= 0 (fraction of mid)",
            )
        if self.mark is not None:
            _check(
                math.isfinite(self.mark) and self.mark >= 0,
                f"{where}: mark",
                self.mark,
                "finite >= 0",
            )
        if self.kind is PositionKind.OPTION:
            _check(
                math.isfinite(self.strike) and self.strike > 0,
                f"{where}: strike",
                self.strike,
                "finite > 0",
            )
            _check(
                math.isfinite(self.expiry_years) and self.expiry_years >= 0,
                f"{where}: expiry_years",
                self.expiry_years,
                "finite >= 0",
            )
            _check(
                math.isfinite(self.iv) and self.iv > 0,
                f"{where}: iv",
                self.iv,
                "finite > 0 (an option without implied vol cannot be re-priced)",
            )

    @property
    def is_option(self) -> bool:
        return self.kind is PositionKind.OPTION


@dataclass(frozen=True, eq=False)
class PortfolioArrays:
    """Column view of a portfolio (length n = positions); built once per `RiskPortfolio`."""

    underlyings: tuple[str, ...]
    und_idx: IntArray
    units: FloatArray  # quantity x multiplier (signed)
    spot: FloatArray
    is_option: BoolArray
    strike: FloatArray
    expiry: FloatArray
    is_call: BoolArray
    iv: FloatArray
    div: FloatArray
    beta: FloatArray
    american: BoolArray  # options valued with early exercise (single names)
    price: FloatArray  # per unit: spot for equities, model value for options
    value: FloatArray  # units x price
    rate: float

    @property
    def n(self) -> int:
        return int(self.units.shape[0])

    @property
    def option_idx(self) -> IntArray:
        return np.flatnonzero(self.is_option)


def _build_arrays(positions: tuple[RiskPosition, ...], rate: float) -> PortfolioArrays:
    unds: dict[str, int] = {}
    idx = np.array([unds.setdefault(p.underlying, len(unds)) for p in positions], dtype=np.intp)
    f = np.float64

    def col(get: Callable[[RiskPosition], float]) -> FloatArray:
        return np.fromiter((get(p) for p in positions), dtype=f, count=len(positions))

    units = col(lambda p: p.quantity * p.multiplier)
    spot = col(lambda p: p.spot)
    is_opt = np.fromiter((p.is_option for p in positions), dtype=np.bool_, count=len(positions))
    strike = np.where(is_opt, col(lambda p: p.strike), np.nan)
    expiry = np.where(is_opt, col(lambda p: p.expiry_years), np.nan)
    is_call = np.fromiter((p.is_call for p in positions), dtype=np.bool_, count=len(positions))
    iv = np.where(is_opt, col(lambda p: p.iv), np.nan)
    div = col(lambda p: p.dividend_yield)
    beta = col(lambda p: p.beta)
    american = np.fromiter(
        (bool(p.american) for p in positions), dtype=np.bool_, count=len(positions)
    )
    # Options are valued at the model price even when a mark exists: re-priced scenarios then
    # differ from the base only by the shock, never by a mark-vs-model basis.
    price = spot.copy()
    if is_opt.any():
        o = np.flatnonzero(is_opt)
        price[o] = option_prices(
            spot[o], strike[o], expiry[o], rate, div[o], iv[o], is_call[o], american[o]
        )
    return PortfolioArrays(
        underlyings=tuple(unds),
        und_idx=idx,
        units=units,
        spot=spot,
        is_option=is_opt,
        strike=strike,
        expiry=expiry,
        is_call=is_call,
        iv=iv,
        div=div,
        beta=beta,
        american=american,
        price=price,
        value=units * price,
        rate=rate,
    )


@dataclass(frozen=True, slots=True)
class RiskPortfolio:
    """Positions, cash and the flat risk-free rate (continuous, per year) used for re-pricing."""

    positions: tuple[RiskPosition, ...]
    cash: float = 0.0
    rate: float = 0.0
    arrays: PortfolioArrays = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(math.isfinite(self.cash), "portfolio: cash", self.cash, "finite")
        _check(math.isfinite(self.rate), "portfolio: rate", self.rate, "finite")
        object.__setattr__(self, "positions", tuple(self.positions))
        spots: dict[str, float] = {}
        for p in self.positions:
            prev = spots.setdefault(p.underlying, p.spot)
            if prev != p.spot:
                raise ValueError(
                    f"underlying {p.underlying}: positions disagree on spot ({prev} vs {p.spot}); "
                    "one spot per underlying is allowed"
                )
        object.__setattr__(self, "arrays", _build_arrays(self.positions, self.rate))

    @property
    def positions_value(self) -> float:
        return float(self.arrays.value.sum())

    @property
    def value(self) -> float:
        """Net liquidation value (cash + positions): the base VaR fractions refer to."""
        return self.cash + self.positions_value

    @property
    def gross_exposure(self) -> float:
        return float(np.abs(self.arrays.value).sum())

    @property
    def underlyings(self) -> tuple[str, ...]:
        return self.arrays.underlyings

    def underlying_spots(self) -> FloatArray:
        """Spot per underlying, in `underlyings` order."""
        a = self.arrays
        out = np.empty(len(a.underlyings))
        out[a.und_idx] = a.spot
        return out


def from_domain(
    portfolio: object,
    spots: Mapping[str, float],
    *,
    today: date,
    ivs: Mapping[str, float] | None = None,
    rate: float = 0.0,
    strategies: Mapping[str, str] | None = None,
    sectors: Mapping[str, str] | None = None,
    betas: Mapping[str, float] | None = None,
    spreads: Mapping[str, float] | None = None,
) -> RiskPortfolio:
    """Build a `RiskPortfolio` from an `engine.domain.Portfolio` and current marks.

    `spots` maps underlying symbols to spot prices; `ivs` maps option symbols (compact OCC) to
    implied vols; `strategies`, `betas`, `spreads` are keyed by position symbol, `sectors` by
    underlying.  A missing spot or implied vol raises `MissingRiskInput` (fail closed).
    """
    from engine.domain import OptionContract, Portfolio

    if not isinstance(portfolio, Portfolio):
        raise TypeError(f"portfolio must be engine.domain.Portfolio, got {type(portfolio)!r}")
    ivs = ivs or {}
    strategies = strategies or {}
    sectors = sectors or {}
    betas = betas or {}
    spreads = spreads or {}
    out: list[RiskPosition] = []
    for pos in portfolio.positions.values():
        if pos.quantity == 0:
            continue
        inst = pos.instrument
        und = inst.underlying
        spot = spots.get(und)
        if spot is None or not math.isfinite(spot) or spot <= 0:
            raise MissingRiskInput(
                f"no valid spot for {und} (got {spot!r}): cannot value {pos.symbol}"
            )
        common = {
            "symbol": pos.symbol,
            "underlying": und,
            "quantity": float(pos.quantity),
            "spot": float(spot),
            "multiplier": float(inst.multiplier),
            "strategy": strategies.get(pos.symbol, "other"),
            "sector": sectors.get(und, "unknown"),
            "beta": float(betas.get(pos.symbol, betas.get(und, 1.0))),
            "spread": spreads.get(pos.symbol),
            "asset_class": asset_class_of(und),
            "mark": pos.mark,
        }
        if isinstance(inst, OptionContract):
            iv = ivs.get(pos.symbol)
            if iv is None or not math.isfinite(iv) or iv <= 0:
                raise MissingRiskInput(
                    f"no valid implied vol for {pos.symbol} (got {iv!r}): option cannot be priced"
                )
            out.append(
                RiskPosition(
                    kind=PositionKind.OPTION,
                    strike=float(inst.strike),
                    expiry_years=max(inst.dte(today), 0) / 365.0,
                    is_call=inst.is_call,
                    iv=float(iv),
                    american=not inst.is_european,
                    **common,  # type: ignore[arg-type]
                )
            )
        else:
            out.append(RiskPosition(**common))  # type: ignore[arg-type]
    return RiskPortfolio(tuple(out), cash=float(portfolio.cash), rate=rate)
