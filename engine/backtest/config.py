"""`BacktestConfig`: everything that decides a backtest's result, and nothing else.

Two runs with equal configs give the same trades and figures (the simulator and the synthetic
intraday paths are seeded; nothing reads the wall clock). The config is picklable so parameter
sweeps can ship it to worker processes or a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.strategies.base import DEFAULT_PROFILE, PROFILES

STEPS = ("auto", "day", "minute")


@dataclass(frozen=True, slots=True)
class DataSpec:
    """Where bars come from: ``sim`` (the seeded simulator), ``csv:DIR`` (daily price files
    in the shared format) or ``yfinance`` (downloaded once into a CSV cache, then replayed)."""

    kind: str
    directory: Path | None = None

    @classmethod
    def parse(cls, text: str) -> DataSpec:
        t = text.strip()
        if t == "sim":
            return cls("sim")
        if t == "yfinance":
            return cls("yfinance")
        if t.startswith("csv:") and len(t) > 4:
            return cls("csv", Path(t[4:]).expanduser())
        raise ValueError(
            f"--data {text!r}: use 'sim', 'csv:DIR' (a folder of SYMBOL.csv price files) "
            "or 'yfinance'"
        )

    def __str__(self) -> str:
        return f"csv:{self.directory}" if self.kind == "csv" else self.kind


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """One backtest.

    * `strategies`: registry names (``engine.strategies.registry``) or the examples'
      (``sma_cross``); `params` holds per-strategy parameter overrides.
    * `symbols`: the data universe (None = the strategies' universes on the simulator, every
      file for CSV). The benchmark symbol is added when the source has it.
    * `step`: ``day`` (one tick per session at its close), ``minute``, or ``auto`` (minute when
      a strategy reads intraday bars and the source can feed minutes, else day).
    * `warmup_sessions`: history before `start` the strategies may read (simulator only; CSV
      history is whatever the files hold).
    """

    strategies: tuple[str, ...]
    start: date
    end: date
    data: DataSpec = field(default_factory=lambda: DataSpec("sim"))
    symbols: tuple[str, ...] | None = None
    profile: str = DEFAULT_PROFILE
    capital: Decimal = Decimal(100_000)
    seed: int = 7
    step: str = "auto"
    benchmark: str = "SPY"
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    commission_per_contract: Decimal = Decimal("0.65")
    commission_per_share: Decimal = Decimal(0)
    equity_slippage_bps: Decimal = Decimal(2)
    warmup_sessions: int = 300

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ValueError("strategies: name at least one strategy")
        if self.end < self.start:
            raise ValueError(f"end={self.end} is before start={self.start}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile={self.profile!r}: allowed {', '.join(PROFILES)}")
        if self.step not in STEPS:
            raise ValueError(f"step={self.step!r}: allowed {', '.join(STEPS)}")
        if not isinstance(self.capital, Decimal) or not self.capital.is_finite():
            raise TypeError(f"capital={self.capital!r} must be a finite Decimal")
        if self.capital <= 0:
            raise ValueError(f"capital={self.capital} must be > 0")
        if self.seed < 0:
            raise ValueError(f"seed={self.seed} must be >= 0")
        if not 1 <= self.warmup_sessions <= 5000:
            raise ValueError(f"warmup_sessions={self.warmup_sessions}: allowed 1..5000")
        unknown = set(self.params) - set(self.strategies)
        if unknown:
            raise ValueError(
                f"params for {sorted(unknown)}: not among strategies {list(self.strategies)}"
            )

    def with_params(self, strategy: str, params: Mapping[str, Any]) -> BacktestConfig:
        merged = {k: dict(v) for k, v in self.params.items()}
        merged.setdefault(strategy, {}).update(params)
        return replace(self, params=merged)

    def window(self, start: date, end: date) -> BacktestConfig:
        return replace(self, start=start, end=end)

    def describe(self) -> dict[str, Any]:
        return {
            "strategies": list(self.strategies),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "data": str(self.data),
            "symbols": list(self.symbols) if self.symbols is not None else None,
            "profile": self.profile,
            "capital": str(self.capital),
            "seed": self.seed,
            "step": self.step,
            "benchmark": self.benchmark,
            "params": {k: dict(v) for k, v in self.params.items()},
            "commission_per_contract": str(self.commission_per_contract),
            "commission_per_share": str(self.commission_per_share),
            "equity_slippage_bps": str(self.equity_slippage_bps),
        }


def parse_symbols(text: str | None) -> tuple[str, ...] | None:
    if text is None or not text.strip():
        return None
    out = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    return out or None


def ordered_unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
