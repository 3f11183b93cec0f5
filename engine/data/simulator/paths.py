"""Daily OHLCV paths for the whole universe, generated up front and vectorised.

Model (log returns, per session t, per symbol i):

* the market's implied volatility ``v`` (log of the 30-day IV, the VIX/100) mean-reverts to the
  level of the current regime, with its own noise, and jumps up when the market falls
  (leverage effect); the market's realised volatility for a session is the previous close's
  implied volatility less a variance premium (``VRP``), so volatility clusters;
* market return = regime drift + diffusion + Poisson jumps (more frequent in high-vol/crisis);
* name return = beta x market + sector loading x sector factor + idiosyncratic noise, with
  sector and idiosyncratic volatility scaled up when the market's volatility is up, plus small
  idiosyncratic jumps and the earnings-day surprise;
* leveraged ETFs return 3x the underlying's daily simple return (less fees); SPX is SPY times a
  constant; VIX is 100 x the market's implied vol.

Each session's return is split into an overnight gap (all jumps, including earnings, plus a
share of the diffusion) and an intraday part; high and low add a random excursion beyond the
open/close. Prices are rounded to cents; the close before the start session equals the
symbol's base price, so "today" looks like the table in universe.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from engine.data.simulator.earnings import EarningsSchedule
from engine.data.simulator.regimes import (
    IV_TARGET,
    JUMPS_PER_YEAR,
    MARKET_DRIFT,
    REALISED_FLOOR,
    Regime,
    regime_path,
)
from engine.data.simulator.seeding import derived_rng
from engine.data.simulator.universe import SECTOR_VOLS, Kind, SymbolSpec

TRADING_DAYS = 252.0
VRP = 1.15  # implied / realised volatility ratio (variance risk premium)
SIGMA_CALM = IV_TARGET[0] / VRP
OVERNIGHT_SHARE = 0.25  # share of a session's diffusive variance that arrives overnight
_KAPPA = 0.12  # daily mean reversion of log implied vol
_VOL_OF_VOL = 0.05  # daily sd of log implied vol
_LEVERAGE = 5.0  # log-IV change per unit of market log return (IV up when the market falls)
_LEV_FEE = 0.0095 / TRADING_DAYS
_MIN_PRICE = 0.01


@dataclass(frozen=True, slots=True, eq=False)
class DailyPaths:
    """Arrays are (sessions, symbols) unless noted; row t is session `sessions[t]`.

    `next_vol[t, i]` is the model's annualised volatility of symbol i for the session after t
    (known at t's close); `realised20[t, i]` the trailing 20-session realised volatility at t's
    close; `base_iv[t, i]` the ATM implied volatility at t's close before earnings effects.
    """

    symbols: tuple[str, ...]
    sessions: tuple[date, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    regime: np.ndarray  # (sessions,) int8, Regime values
    market_iv: np.ndarray  # (sessions,) market 30-day implied vol at each close
    next_vol: np.ndarray
    realised20: np.ndarray
    base_iv: np.ndarray
    long_run_iv: np.ndarray  # (symbols,)
    daily_sigma: np.ndarray  # (sessions, symbols) diffusive daily sd of each session

    def column(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def rows(self, lo: int, hi: int) -> DailyPaths:
        """Sessions [lo, hi) only (views of the same arrays)."""
        return DailyPaths(
            symbols=self.symbols,
            sessions=self.sessions[lo:hi],
            open=self.open[lo:hi],
            high=self.high[lo:hi],
            low=self.low[lo:hi],
            close=self.close[lo:hi],
            volume=self.volume[lo:hi],
            regime=self.regime[lo:hi],
            market_iv=self.market_iv[lo:hi],
            next_vol=self.next_vol[lo:hi],
            realised20=self.realised20[lo:hi],
            base_iv=self.base_iv[lo:hi],
            long_run_iv=self.long_run_iv,
            daily_sigma=self.daily_sigma[lo:hi],
        )


def generate_paths(
    specs: Sequence[SymbolSpec],
    sessions: Sequence[date],
    anchor: int,
    seed: int,
    earnings: EarningsSchedule,
) -> DailyPaths:
    """Paths for `specs` over `sessions`; prices are anchored so close[anchor - 1] = base price."""
    n, k = len(sessions), len(specs)
    if not 1 <= anchor < n:
        raise ValueError(f"anchor {anchor} must be in [1, {n - 1}]")
    main = np.random.Generator(np.random.PCG64(seed))
    regime = regime_path(main.random(n))
    z_m = main.standard_normal(n)
    z_v = main.standard_normal(n)
    jump_u = main.random(n)
    jump_size = main.normal(-0.02, 0.025, n)

    # Market: sequential because today's volatility is yesterday's implied vol.
    jump_p = 1.0 - np.exp(-JUMPS_PER_YEAR[regime] / TRADING_DAYS)
    market_jump = np.where(jump_u < jump_p, jump_size, 0.0)
    sigma_m = np.empty(n)
    r_m_diff = np.empty(n)
    log_iv = np.empty(n)
    lo_v, hi_v = math.log(0.08), math.log(1.5)
    v = math.log(IV_TARGET[0])
    drift = MARKET_DRIFT[regime].tolist()
    target = np.log(IV_TARGET[regime]).tolist()
    zm, zv, jm = z_m.tolist(), z_v.tolist(), market_jump.tolist()
    floor = REALISED_FLOOR[regime].tolist()
    for t in range(n):
        # A crisis is violent from its first day, before implied vol has caught up.
        s = max(math.exp(v) / VRP, floor[t])
        rd = (drift[t] - 0.5 * s * s) / TRADING_DAYS + s / math.sqrt(TRADING_DAYS) * zm[t]
        sigma_m[t] = s
        r_m_diff[t] = rd
        v = v + _KAPPA * (target[t] - v) + _VOL_OF_VOL * zv[t] - _LEVERAGE * (rd + jm[t])
        v = min(hi_v, max(lo_v, v))
        log_iv[t] = v
    mult = sigma_m / SIGMA_CALM

    # Sector factors, one stream per sector name.
    sectors = sorted({s.sector for s in specs})
    sec_z = np.column_stack(
        [derived_rng(seed, "sector", name).standard_normal(n) for name in sectors]
    )
    sec_col = np.array([sectors.index(s.sector) for s in specs])
    sec_vol = np.array([SECTOR_VOLS.get(s.sector, 0.10) for s in specs])

    # Per-symbol streams (a symbol's draws do not depend on the rest of the universe).
    eps = np.empty((n, k))
    eta = np.empty((n, k))
    rng_hl = np.empty((2, n, k))
    vol_z = np.empty((n, k))
    idio_u = np.empty((n, k))
    idio_z = np.empty((n, k))
    earn_z = np.empty((n, k))
    for i, spec in enumerate(specs):
        g = derived_rng(seed, spec.symbol, "daily")
        eps[:, i] = g.standard_normal(n)
        eta[:, i] = g.standard_normal(n)
        rng_hl[:, :, i] = np.abs(g.standard_normal((2, n)))
        vol_z[:, i] = g.standard_normal(n)
        idio_u[:, i] = g.random(n)
        idio_z[:, i] = g.standard_normal(n)
        earn_z[:, i] = g.standard_normal(n)

    beta = np.array([s.beta for s in specs])
    load = np.array([s.sector_loading for s in specs])
    idio = np.array([s.idio_vol for s in specs])
    col = {s.symbol: i for i, s in enumerate(specs)}

    m = mult[:, None]
    sec_sd = load * sec_vol * m**0.8  # annual
    idio_sd = idio * m**0.6
    sqrt_td = math.sqrt(TRADING_DAYS)
    diff = (
        beta * r_m_diff[:, None]
        + sec_sd * sec_z[:, sec_col] / sqrt_td
        + idio_sd * eps / sqrt_td
        - 0.5 * (sec_sd**2 + idio_sd**2) / TRADING_DAYS
    )
    sigma_d = np.sqrt((beta * sigma_m[:, None]) ** 2 + sec_sd**2 + idio_sd**2) / sqrt_td
    earn_move = np.array([s.earnings_move for s in specs])
    idio_jump = np.where(idio_u < 2.0 / TRADING_DAYS * m, 0.5 * earn_move * idio_z, 0.0)
    earn_jump = np.zeros((n, k))
    earn_day = np.zeros((n, k), dtype=bool)
    for ev, t_idx, sd in zip(
        earnings.events, earnings.reaction_index, earnings.move_sd, strict=True
    ):
        j = col.get(ev.symbol)
        if j is not None and t_idx >= 0:
            earn_jump[t_idx, j] = sd * earn_z[t_idx, j]
            earn_day[t_idx, j] = True
    jumps = beta * market_jump[:, None] + idio_jump + earn_jump
    ret = diff + jumps
    w = OVERNIGHT_SHARE
    gap = jumps + w * diff + math.sqrt(w * (1 - w)) * sigma_d * eta

    # Derived symbols, in spec order (underlyings come first).
    vix_cols: list[int] = []
    scaled_cols: list[tuple[int, int, float]] = []
    for i, spec in enumerate(specs):
        if spec.levered is not None:
            u, lev = col[spec.levered[0]], spec.levered[1]
            ret[:, i] = np.log1p(np.maximum(lev * np.expm1(ret[:, u]) - _LEV_FEE, -0.95))
            gap[:, i] = np.log1p(np.maximum(lev * np.expm1(gap[:, u]), -0.95))
            sigma_d[:, i] = lev * sigma_d[:, u]
            diff[:, i] = ret[:, i]
        elif spec.scaled is not None:
            scaled_cols.append((i, col[spec.scaled[0]], spec.scaled[1]))
        elif spec.symbol == "VIX":
            vix_cols.append(i)

    log_close = np.cumsum(ret, axis=0)
    log_close -= log_close[anchor - 1]
    log_close += np.log(np.array([s.price for s in specs]))
    for i in vix_cols:
        log_close[:, i] = math.log(100.0) + log_iv
        r_vix = np.diff(log_close[:, i], prepend=log_close[0, i])
        gap[:, i] = 0.35 * r_vix + 0.015 * eta[:, i]
        ret[:, i] = r_vix
        sigma_d[:, i] = 0.05
    log_open = log_close - (ret - gap)
    close = np.exp(log_close)
    open_ = np.exp(log_open)
    intraday_sd = sigma_d * math.sqrt(1 - w)
    high = np.maximum(open_, close) * np.exp(0.6 * intraday_sd * rng_hl[0])
    low = np.minimum(open_, close) * np.exp(-0.6 * intraday_sd * rng_hl[1])
    open_, high, low, close = (
        np.maximum(np.round(a, 2), _MIN_PRICE) for a in (open_, high, low, close)
    )

    adv = np.array([s.adv for s in specs])
    z_abs = np.abs(diff) / np.maximum(sigma_d, 1e-9)
    volume = adv * np.exp(0.3 * vol_z - 0.045) * (0.6 + 0.4 * z_abs**1.5) * np.sqrt(m)
    volume = np.rint(np.where(earn_day, 3.0 * volume, volume))
    volume = np.where(adv > 0, np.maximum(volume, 100.0), 0.0)

    for i, u, ratio in scaled_cols:
        for arr in (open_, high, low, close):
            arr[:, i] = np.maximum(np.round(arr[:, u] * ratio, 2), _MIN_PRICE)
        volume[:, i] = volume[:, u]
        sigma_d[:, i] = sigma_d[:, u]

    # Volatility the option surface starts from, as known at each close.
    iv_next = np.exp(log_iv)
    m_next = (iv_next / VRP / SIGMA_CALM)[:, None]
    next_vol = np.sqrt(
        (beta * (iv_next / VRP)[:, None]) ** 2
        + (load * sec_vol * m_next**0.8) ** 2
        + (idio * m_next**0.6) ** 2
    )
    long_run = np.sqrt(beta**2 * SIGMA_CALM**2 + (load * sec_vol) ** 2 + idio**2) * VRP * 1.1
    for i, spec in enumerate(specs):
        if spec.levered is not None:
            u, lev = col[spec.levered[0]], spec.levered[1]
            next_vol[:, i] = lev * next_vol[:, u]
            long_run[i] = lev * long_run[u]
        elif spec.scaled is not None:
            next_vol[:, i] = next_vol[:, col[spec.scaled[0]]]
            long_run[i] = long_run[col[spec.scaled[0]]]
        elif spec.symbol == "VIX":
            next_vol[:, i] = 0.9
            long_run[i] = 0.9
    realised = realised_vol(close, 20)
    realised = np.where(np.isfinite(realised), realised, next_vol)
    blended = 0.75 * next_vol + 0.25 * np.clip(realised, 0.5 * next_vol, 2.0 * next_vol)
    base_iv = np.clip(VRP * blended, 0.05, 3.0)
    for i, spec in enumerate(specs):
        if spec.kind is Kind.INDEX and spec.scaled is None:
            base_iv[:, i] = next_vol[:, i]

    return DailyPaths(
        symbols=tuple(s.symbol for s in specs),
        sessions=tuple(sessions),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        regime=regime,
        market_iv=iv_next,
        next_vol=next_vol,
        realised20=realised,
        base_iv=base_iv,
        long_run_iv=np.clip(long_run, 0.05, 3.0),
        daily_sigma=sigma_d,
    )


def realised_vol(close: np.ndarray, window: int) -> np.ndarray:
    """Annualised trailing `window`-session volatility of log returns (NaN until enough data)."""
    r = np.diff(np.log(close), axis=0, prepend=np.log(close[:1]))
    c1 = np.cumsum(r, axis=0)
    c2 = np.cumsum(r * r, axis=0)
    out = np.full(close.shape, np.nan)
    if close.shape[0] <= window:
        return out
    s1 = c1[window:] - c1[:-window]
    s2 = c2[window:] - c2[:-window]
    var = np.maximum(s2 / window - (s1 / window) ** 2, 0.0) * window / (window - 1)
    out[window:] = np.sqrt(var * TRADING_DAYS)
    return out


def regime_of(paths: DailyPaths, t: int) -> Regime:
    return Regime(int(paths.regime[t]))
