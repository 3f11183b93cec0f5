"""Marginal VaR/CVaR and greeks of a proposal, fast enough for every pre-trade check.

The live monitor builds a `MarginalVaR` on its snapshot cadence: the last `lookback` days of
daily log returns of the whole tradable universe (`ScenarioHistory`), the spots and implied
vols of that moment, and the envelope excess of the full snapshot.  A check then needs only
per-instrument "unit" vectors - the P&L of one share / one contract under each historical
day, by full re-pricing (options re-priced at the scenario spot and one day older, like
`engine.risk.repricing`: single names American, cash-settled index options European) - cached
per instrument, plus dollar greeks (American delta and gamma for single names).

    VaR(before) = historical VaR of  sum_positions qty x unit P&L            / equity
    VaR(after)  = historical VaR of (that + sum_legs signed qty x unit P&L)  / equity
    marginal    = VaR(after) - VaR(before)

Reported figures add the snapshot's envelope excess (max over methods minus historical), so
the budget is checked against the same conservative envelope the gauges show.  A missing
history, spot or implied vol raises `MissingRiskInput` (the check fails closed on it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from engine.domain import Equity, Instrument, OptionContract, Portfolio, TradeProposal
from engine.pricing.american_book import AmericanBook, american_implied_vol
from engine.pricing.bsm import black_scholes
from engine.pricing.implied_volatility import implied_vol_scalar
from engine.risk.greek_limits import GreekVector
from engine.risk.portfolio_model import MissingRiskInput
from engine.risk.var import MIN_OBSERVATIONS, InsufficientData, historical_var_cvar

FloatArray = NDArray[np.float64]

__all__ = ["MarginalResult", "MarginalVaR", "ScenarioHistory", "UnitRisk"]

_DAY = 1.0 / 252.0
# Gamma as the P&L of a 1 % move, 1/2 Gamma S^2 (0.01)^2 per unit (see greek_limits).
GAMMA_PNL_DIVISOR = 20_000.0
_PLACEHOLDER_VOL = 0.30  # an option at expiry is worth its intrinsic value at any vol


@dataclass(frozen=True, eq=False)
class ScenarioHistory:
    """Daily log returns of a universe on common dates, most recent last."""

    symbols: tuple[str, ...]
    dates: tuple[date, ...]  # the date of each return (its later close)
    returns: FloatArray  # T x n
    last_close: FloatArray  # n
    excluded: Mapping[str, str] = field(default_factory=dict)  # symbol -> why

    def __post_init__(self) -> None:
        object.__setattr__(self, "_col", {s: i for i, s in enumerate(self.symbols)})

    @property
    def n_obs(self) -> int:
        return int(self.returns.shape[0])

    def column(self, symbol: str) -> int | None:
        col: dict[str, int] = object.__getattribute__(self, "_col")
        return col.get(symbol)

    def matrix(self, symbols: Sequence[str], rows: int | None = None) -> FloatArray:
        """Returns of `symbols` (columns in that order), the last `rows` days."""
        cols = []
        for s in symbols:
            j = self.column(s)
            if j is None:
                why = self.excluded.get(s, "not in the history")
                raise MissingRiskInput(f"no price history for {s} ({why}): risk cannot be computed")
            cols.append(j)
        r = self.returns if rows is None else self.returns[-rows:]
        return np.ascontiguousarray(r[:, cols])

    @classmethod
    def from_closes(cls, closes: Mapping[str, Sequence[tuple[date, float]]]) -> ScenarioHistory:
        """Align daily closes on the dates every usable symbol shares.

        A symbol with a non-finite or non-positive close, or fewer than 31 closes, is
        excluded (and named in `excluded`): bad data is never turned into scenarios.
        """
        excluded: dict[str, str] = {}
        series: dict[str, dict[date, float]] = {}
        for sym, rows in closes.items():
            bad = [(d, c) for d, c in rows if not (math.isfinite(c) and c > 0)]
            if bad:
                excluded[sym] = f"bad close {bad[0][1]!r} on {bad[0][0]}"
                continue
            if len(rows) < MIN_OBSERVATIONS + 1:
                excluded[sym] = f"{len(rows)} closes, at least {MIN_OBSERVATIONS + 1} needed"
                continue
            series[sym] = dict(rows)
        syms = tuple(sorted(series))
        if not syms:
            return cls((), (), np.empty((0, 0)), np.empty(0), excluded)
        common = set.intersection(*(set(series[s]) for s in syms))
        days = sorted(common)
        px = np.array([[series[s][d] for s in syms] for d in days], dtype=np.float64)
        if px.shape[0] < 2:
            return cls(syms, (), np.empty((0, len(syms))), px[-1] if px.size else px, excluded)
        rets = np.log(px[1:] / px[:-1])
        return cls(syms, tuple(days[1:]), rets, px[-1].copy(), excluded)


@dataclass(frozen=True, eq=False)
class UnitRisk:
    """One share / one contract: P&L per historical scenario and dollar greeks."""

    underlying: str
    pnl: FloatArray
    greeks: GreekVector


@dataclass(frozen=True, slots=True)
class MarginalResult:
    confidence: float
    equity: float
    n_obs: int
    var_before: float  # fractions of equity, 1 day, historical + envelope excess
    var_after: float
    cvar_before: float
    cvar_after: float
    greeks_before: GreekVector
    greeks_after: GreekVector
    name: str
    name_before: GreekVector
    name_after: GreekVector

    @property
    def marginal_var(self) -> float:
        return self.var_after - self.var_before

    @property
    def marginal_cvar(self) -> float:
        return self.cvar_after - self.cvar_before


class MarginalVaR:
    """Unit P&L vectors per instrument, cached for the life of one snapshot."""

    def __init__(
        self,
        history: ScenarioHistory,
        *,
        asof: datetime,
        rate: float = 0.0,
        spots: Mapping[str, float] | None = None,
        ivs: Mapping[str, float] | None = None,
        betas: Mapping[str, float] | None = None,
        envelope_excess: Mapping[float, tuple[float, float]] | None = None,
        lookback: int = 252,
    ) -> None:
        if lookback < MIN_OBSERVATIONS:
            raise ValueError(f"lookback={lookback!r} must be >= {MIN_OBSERVATIONS} days")
        self.history = history
        self.asof = asof
        self.today = asof.date()
        self.rate = rate
        self.spots = dict(spots or {})
        self.ivs = dict(ivs or {})
        self.betas = dict(betas or {})
        self.envelope_excess = dict(envelope_excess or {})
        self.lookback = lookback
        self._rows = min(lookback, history.n_obs)
        self._cache: dict[str, UnitRisk] = {}
        # The book rarely changes between proposals: its scenario P&L and greeks are kept
        # for the last positions seen (symbol, quantity), so a check costs the legs only.
        self._book_key: tuple[tuple[str, int], ...] | None = None
        self._book: tuple[FloatArray, GreekVector, dict[str, GreekVector]] | None = None

    @property
    def n_obs(self) -> int:
        return self._rows

    def _returns_of(self, underlying: str) -> FloatArray:
        j = self.history.column(underlying)
        if j is None:
            why = self.history.excluded.get(underlying, "not in the history")
            raise MissingRiskInput(
                f"no price history for {underlying} ({why}): VaR cannot be computed"
            )
        if self._rows < MIN_OBSERVATIONS:
            raise InsufficientData(
                f"{self._rows} days of history, at least {MIN_OBSERVATIONS} are required"
            )
        return np.asarray(self.history.returns[-self._rows :, j], dtype=np.float64)

    def unit(
        self, inst: Instrument, *, spot: float | None = None, price: float | None = None
    ) -> UnitRisk:
        """The unit risk of `inst` (cached by symbol). `spot` is the underlying's price
        (default: the snapshot's), `price` the instrument's mid (implies an option's vol)."""
        hit = self._cache.get(inst.symbol)
        if hit is not None:
            return hit
        und = inst.underlying
        s = spot if spot is not None and spot > 0 else self.spots.get(und)
        if s is None and isinstance(inst, Equity) and price is not None and price > 0:
            s = price
        if s is None or not (math.isfinite(s) and s > 0):
            raise MissingRiskInput(f"no valid spot for {und}: cannot value {inst.symbol}")
        r = self._returns_of(und)
        beta = self.betas.get(inst.symbol, self.betas.get(und, 1.0))
        if isinstance(inst, OptionContract):
            unit = self._option_unit(inst, s, price, r, beta)
        else:
            pnl = s * np.expm1(r)
            unit = UnitRisk(und, pnl, GreekVector(delta=s, beta_delta=beta * s))
        self._cache[inst.symbol] = unit
        return unit

    def _option_unit(
        self, inst: OptionContract, s: float, price: float | None, r: FloatArray, beta: float
    ) -> UnitRisk:
        k = float(inst.strike)
        t = max(inst.dte(self.today), 0) / 365.0
        call = inst.is_call
        iv: float | None = None
        if t <= 0:
            iv = _PLACEHOLDER_VOL
        else:
            # The snapshot's quote vol first (the same vol the snapshot used), else the vol
            # implied by the mid we were given.
            iv = self.ivs.get(inst.symbol)
            if iv is None and price is not None and math.isfinite(price) and price > 0:
                # The vol the same model (American for single names) needs to give the mid.
                if inst.is_european:
                    iv = implied_vol_scalar(price, s, k, t, self.rate, 0.0, call)
                else:
                    iv = american_implied_vol(price, s, k, t, self.rate, 0.0, call)
        if iv is None or not (math.isfinite(iv) and iv > 0):
            raise MissingRiskInput(
                f"option {inst.symbol} cannot be priced: no implied vol from mid {price!r} "
                f"at spot {s:.2f} (fail closed)"
            )
        m = float(inst.multiplier)
        am = not inst.is_european
        now = AmericanBook.prepare(k, t, self.rate, 0.0, iv, call, am)
        base_a, d_am, g_am = now.price_delta_gamma(np.array([s]))
        base = float(base_a[0])
        later = AmericanBook.prepare(k, max(t - _DAY, 0.0), self.rate, 0.0, iv, call, am)
        scen = later.prices((s * np.exp(r))[:, None])[:, 0]
        pnl = (np.asarray(scen, dtype=np.float64) - base) * m
        g = black_scholes(s, k, t, self.rate, 0.0, iv, call)
        delta = float(d_am[0]) * s * m
        greeks = GreekVector(
            delta=delta,
            gamma=float(g_am[0]) * s * s * m / GAMMA_PNL_DIVISOR,
            vega=float(g.vega) * m / 100.0,
            theta=float(g.theta) * m / 365.0,
            beta_delta=beta * delta,
        )
        return UnitRisk(inst.underlying, pnl, greeks)

    def prime(self, portfolio: Portfolio) -> None:
        """Price every held option with a known spot and vol in one vectorised pass (the
        snapshot thread does this, so checks on the event loop only price new legs), then
        the book.  Same numbers as `unit`, one instrument at a time."""
        picked: list[tuple[OptionContract, float, float, int, float]] = []
        for pos in portfolio.positions.values():
            inst = pos.instrument
            if not pos.quantity or not isinstance(inst, OptionContract):
                continue
            if inst.symbol in self._cache:
                continue
            s = self.spots.get(inst.underlying)
            j = self.history.column(inst.underlying)
            t = max(inst.dte(self.today), 0) / 365.0
            iv = _PLACEHOLDER_VOL if t <= 0 else self.ivs.get(inst.symbol)
            if s is None or j is None or iv is None or not (s > 0 and iv > 0):
                continue  # `unit` will price it (or say why it cannot)
            picked.append((inst, s, iv, j, t))
        if picked and self._rows >= MIN_OBSERVATIONS:
            S = np.array([x[1] for x in picked])
            iv_a = np.array([x[2] for x in picked])
            T = np.array([x[4] for x in picked])
            K = np.array([float(x[0].strike) for x in picked])
            call = np.array([x[0].is_call for x in picked])
            am = np.array([not x[0].is_european for x in picked])
            mult = np.array([float(x[0].multiplier) for x in picked])
            R = self.history.returns[-self._rows :][:, [x[3] for x in picked]]
            now = AmericanBook.prepare(K, T, self.rate, 0.0, iv_a, call, am)
            base, d_am, g_am = now.price_delta_gamma(S)
            later = AmericanBook.prepare(
                K, np.maximum(T - _DAY, 0.0), self.rate, 0.0, iv_a, call, am
            )
            scen = later.prices(S * np.exp(R))
            pnl = (np.asarray(scen, dtype=np.float64) - base) * mult
            g = black_scholes(S, K, T, self.rate, 0.0, iv_a, call)
            delta = np.asarray(d_am) * S * mult
            gamma = np.asarray(g_am) * S * S * mult / GAMMA_PNL_DIVISOR
            vega = np.asarray(g.vega) * mult / 100.0
            theta = np.asarray(g.theta) * mult / 365.0
            for i, (inst, *_rest) in enumerate(picked):
                beta = self.betas.get(inst.symbol, self.betas.get(inst.underlying, 1.0))
                self._cache[inst.symbol] = UnitRisk(
                    inst.underlying,
                    np.ascontiguousarray(pnl[:, i]),
                    GreekVector(
                        float(delta[i]),
                        float(gamma[i]),
                        float(vega[i]),
                        float(theta[i]),
                        beta * float(delta[i]),
                    ),
                )
        self.book(portfolio)

    def book(
        self, portfolio: Portfolio, underlying_prices: Mapping[str, float] | None = None
    ) -> tuple[FloatArray, GreekVector, dict[str, GreekVector]]:
        """Scenario P&L and greeks (total, by underlying) of the book as it stands."""
        key = tuple((s, p.quantity) for s, p in portfolio.positions.items() if p.quantity)
        if key == self._book_key and self._book is not None:
            return self._book
        prices = underlying_prices or {}
        pnl = np.zeros(self._rows)
        total = GreekVector()
        by_name: dict[str, GreekVector] = {}
        for pos in portfolio.positions.values():
            if pos.quantity == 0:
                continue
            und = pos.instrument.underlying
            # A position filled since the last marking has no mark yet: its fill price is
            # the freshest price there is.
            price = pos.mark if pos.mark is not None else float(pos.avg_price)
            u = self.unit(pos.instrument, spot=prices.get(und), price=price)
            pnl += pos.quantity * u.pnl
            g = u.greeks.scaled(pos.quantity)
            total = total + g
            by_name[und] = by_name.get(und, GreekVector()) + g
        self._book_key, self._book = key, (pnl, total, by_name)
        return pnl, total, by_name

    def evaluate(
        self,
        portfolio: Portfolio,
        proposal: TradeProposal,
        leg_prices: Mapping[str, float],
        underlying_prices: Mapping[str, float] | None = None,
        confidence: float = 0.99,
    ) -> MarginalResult:
        equity = portfolio.equity
        if not (math.isfinite(equity) and equity > 0):
            raise MissingRiskInput(f"equity {equity!r} must be > 0 to express VaR as a fraction")
        prices = underlying_prices or {}
        before, g_before, names = self.book(portfolio, prices)
        after = before.copy()
        g_after = g_before
        name = proposal.underlying
        n_before = names.get(name, GreekVector())
        n_after = n_before
        for leg in proposal.legs:
            und = leg.instrument.underlying
            u = self.unit(leg.instrument, spot=prices.get(und), price=leg_prices.get(leg.symbol))
            q = leg.side.sign * leg.ratio * proposal.quantity
            after += q * u.pnl
            g = u.greeks.scaled(q)
            g_after = g_after + g
            if und == name:
                n_after = n_after + g
        vb, cb = historical_var_cvar(before / equity, confidence)
        va, ca = historical_var_cvar(after / equity, confidence)
        ex_v, ex_c = self.envelope_excess.get(confidence, (0.0, 0.0))
        return MarginalResult(
            confidence=confidence,
            equity=equity,
            n_obs=self._rows,
            var_before=vb + ex_v,
            var_after=va + ex_v,
            cvar_before=cb + ex_c,
            cvar_after=ca + ex_c,
            greeks_before=g_before,
            greeks_after=g_after,
            name=name,
            name_before=n_before,
            name_after=n_after,
        )
