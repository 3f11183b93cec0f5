"""`wsb risk var` as a pure function: VaR/CVaR of a price file (shared/data/prices format).

Returns come from `adj_close` of consecutive rows (simple P_t/P_(t-1) - 1 or log), the last
`window` of them up to `end`; VaR/CVaR are positive 1-day fractions of position value, with the
conventions of shared/reference/README.md (exact tail probability, numpy 'linear' historical
quantile, CVaR = mean of returns at or below -VaR).
"""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from engine.risk.var import InsufficientData, var_cvar

FloatArray = NDArray[np.float64]

__all__ = ["DEFAULT_WINDOW", "PriceHistory", "load_price_history", "var_from_csv"]

DEFAULT_WINDOW = 252  # spec §1 lookback
METHODS = ("historical", "normal", "student_t", "cornish_fisher", "monte_carlo", "evt")


class PriceHistory:
    """Dates and adjusted closes of one price file (validated, strictly ascending)."""

    __slots__ = ("adj_close", "dates", "symbol")

    def __init__(self, symbol: str, dates: list[date], adj_close: FloatArray) -> None:
        self.symbol = symbol
        self.dates = dates
        self.adj_close = adj_close

    def returns(self, kind: Literal["simple", "log"] = "simple") -> FloatArray:
        p = self.adj_close
        if kind == "simple":
            return p[1:] / p[:-1] - 1.0
        if kind == "log":
            return np.log(p[1:] / p[:-1])
        raise ValueError(f"returns={kind!r} must be 'simple' or 'log'")


def load_price_history(path: str | Path, column: str = "adj_close") -> PriceHistory:
    """Read a `date,open,high,low,close,adj_close,volume` file; bad rows raise naming the line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"price file {p} does not exist")
    dates: list[date] = []
    closes: list[float] = []
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if (
            reader.fieldnames is None
            or "date" not in reader.fieldnames
            or column not in reader.fieldnames
        ):
            raise ValueError(
                f"{p}: header must contain 'date' and '{column}', got {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            try:
                d = date.fromisoformat(row["date"])
                v = float(row[column])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{p}:{line}: cannot parse date/{column} ({exc})") from None
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"{p}:{line}: {column}={v!r} must be a finite positive price")
            if dates and d <= dates[-1]:
                raise ValueError(f"{p}:{line}: date {d} is not after {dates[-1]} (must ascend)")
            dates.append(d)
            closes.append(v)
    return PriceHistory(p.stem.upper(), dates, np.array(closes, dtype=np.float64))


def var_from_csv(
    path: str | Path,
    confidence: float,
    method: str,
    returns: Literal["simple", "log"] = "simple",
    window: int | None = None,
    end: date | str | None = None,
) -> dict[str, Any]:
    """VaR/CVaR of a long position in the file's instrument.

    `window` = number of most recent returns used (default 252, the spec lookback); `end` the
    last date included (ISO string or date).  Fewer than 30 returns raise `InsufficientData`.
    The dict has var, cvar, method, confidence, returns, horizon_days, n_returns, first/last
    return dates, symbol, and the method's details (fitted df, GPD parameters, fallbacks).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {', '.join(METHODS)}")
    hist = load_price_history(path)
    dates = hist.dates
    px = hist.adj_close
    if end is not None:
        end_d = date.fromisoformat(end) if isinstance(end, str) else end
        cut = int(
            np.searchsorted(
                np.array(dates, dtype="datetime64[D]"), np.datetime64(end_d, "D"), side="right"
            )
        )
        dates, px = dates[:cut], px[:cut]
    r_all = PriceHistory(hist.symbol, dates, px).returns(returns)
    w = DEFAULT_WINDOW if window is None else int(window)
    if w < 1:
        raise ValueError(f"window={window!r} must be a positive number of returns")
    if r_all.size < 1:
        raise InsufficientData(f"{path}: no returns up to {end}")
    r = r_all[-w:]
    ret_dates = dates[1:][-r.size :]
    res = var_cvar(r, confidence, method=method)
    out: dict[str, Any] = {
        "var": res.var,
        "cvar": res.cvar,
        "method": method,
        "confidence": float(confidence),
        "returns": returns,
        "horizon_days": 1,
        "n_returns": int(r.size),
        "first_return_date": ret_dates[0].isoformat(),
        "last_return_date": ret_dates[-1].isoformat(),
        "symbol": hist.symbol,
    }
    out.update({k: v for k, v in res.details.items() if k not in out})
    return out
