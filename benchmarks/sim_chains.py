"""Simulator option chains: CPU of building them with American pricing vs European-only.

The workload is real: one simulated session (seed 7, 390 minutes, the default universe) is
run through the full engine with every registry strategy, and every pricing pass the
simulator makes (`engine.data.simulator.options.build_expiries`: the chains, the batched
single quotes of held and watched contracts) is recorded.  Those passes are then replayed,
alternating the two modes, BENCH_REPEATS times each (default 5):

* ``american``: as the simulator prices them (single names American through
  `engine.pricing.american_book`, SPX European);
* ``european``: the same requests with every style marked European (Black-Scholes-Merton
  only: what chains cost before American pricing).

Each replay interns contracts into a fresh table, as a fresh session does.  Reported: median
process CPU seconds per simulated session for both, ``ratio`` (american / european) and
``overhead_pct``, ``paired_ratio`` (median over the repeats of each American replay over the
European one run right after it), ``american_pricer_cpu_s_per_session`` (CPU inside the
American pricing calls of `build_expiries`, timed around them: less noisy than the difference
of two totals) and ``pricer_pct_of_european``, pass and row counts.  ``--engine`` also runs the whole engine session
(strategies, broker, store) in both modes and reports its CPU per session and ratio.

Process CPU time (``time.process_time``), medians: the machine may be shared, and wall time
there measures the neighbours.  Prints ONE JSON line.
Run: ``.venv/bin/python benchmarks/sim_chains.py [--repeat N] [--engine]`` (~1 minute).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import engine.data.simulator.options as chains  # noqa: E402
from engine.data.simulator.options import ExpiryRequest, OptionStyle  # noqa: E402

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
Pass = list[ExpiryRequest]


@contextmanager
def _patched(name: str, value: Callable[..., Any]) -> Iterator[None]:
    old = getattr(chains, name)
    setattr(chains, name, value)
    try:
        yield
    finally:
        setattr(chains, name, old)


def _european_constants() -> Callable[[OptionStyle, int], Any]:
    base = chains._style_constants

    def constants(style: OptionStyle, seed: int) -> Any:
        return base(dataclasses.replace(style, european=True), seed)

    return constants


def _engine_session(european: bool) -> tuple[float, list[Pass]]:
    """CPU seconds of one engine session (all strategies) and the pricing passes it made."""
    import engine_throughput

    from engine.strategies.registry import available

    passes: list[Pass] = []
    build = chains.build_expiries

    def recording(requests: Sequence[ExpiryRequest], contracts: Any = None) -> Any:
        passes.append(list(requests))
        return build(requests, contracts)

    with (
        tempfile.TemporaryDirectory(prefix="wsb-bench-") as tmp,
        _patched("build_expiries", recording),
    ):
        if european:
            with _patched("_style_constants", _european_constants()):
                run = asyncio.run(
                    engine_throughput.one_run(list(available()), None, 1, Path(tmp) / "e.db")
                )
        else:
            run = asyncio.run(
                engine_throughput.one_run(list(available()), None, 1, Path(tmp) / "a.db")
            )
    return float(run["cpu_s"]), passes


def _as_european(passes: list[Pass]) -> list[Pass]:
    styles: dict[OptionStyle, OptionStyle] = {}
    out: list[Pass] = []
    for p in passes:
        reqs = []
        for r in p:
            style = r.inputs.style
            if style not in styles:
                styles[style] = dataclasses.replace(style, european=True)
            inputs = dataclasses.replace(r.inputs, style=styles[style])
            reqs.append(dataclasses.replace(r, inputs=inputs))
        out.append(reqs)
    return out


# The American pricing entry points the chains module calls (whichever it has): their own
# CPU is the American overhead with less of the machine's noise than a difference of totals.
_PRICERS = ("american_screened", "american_rows", "premium_bound")


def _replay(passes: list[Pass]) -> tuple[float, float]:
    """(CPU seconds of the replay, of which inside the American pricer)."""
    contracts: chains.Contracts = {}
    inside = [0.0]

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            c0 = time.process_time()
            try:
                return fn(*args)
            finally:
                inside[0] += time.process_time() - c0

        return call

    old = {n: getattr(chains, n) for n in _PRICERS if hasattr(chains, n)}
    for n, fn in old.items():
        setattr(chains, n, timed(fn))
    try:
        c0 = time.process_time()
        for p in passes:
            chains.build_expiries(p, contracts)
        total = time.process_time() - c0
    finally:
        for n, fn in old.items():
            setattr(chains, n, fn)
    return total, inside[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=REPEATS, help="replays per mode (median)")
    ap.add_argument("--engine", action="store_true", help="also time whole engine sessions")
    args = ap.parse_args()

    engine_cpu, passes = _engine_session(european=False)
    euro_passes = _as_european(passes)
    _replay(passes)  # warm-up: lru caches (listed expiries, style constants, symbol keys)
    _replay(euro_passes)
    am_runs: list[float] = []
    eu_runs: list[float] = []
    pricer_runs: list[float] = []
    for _ in range(max(1, args.repeat)):
        total, inside = _replay(passes)
        am_runs.append(total)
        pricer_runs.append(inside)
        eu_runs.append(_replay(euro_passes)[0])
    am, eu = statistics.median(am_runs), statistics.median(eu_runs)
    # Each American replay next to its European one: the pair shares the machine's load.
    paired = statistics.median(a / e for a, e in zip(am_runs, eu_runs, strict=True))
    rows = sum(2 * (r.strikes.size if r.strikes is not None else 0) for p in passes for r in p)
    out: dict[str, Any] = {
        "benchmark": "sim_chains",
        "sessions": 1,
        "passes": len(passes),
        "requests": sum(len(p) for p in passes),
        "explicit_strike_rows": rows,
        "american_cpu_s_per_session": round(am, 4),
        "european_cpu_s_per_session": round(eu, 4),
        "ratio": round(am / eu, 3),
        "overhead_pct": round(100.0 * (am / eu - 1.0), 1),
        "paired_ratio": round(paired, 3),
        "american_pricer_cpu_s_per_session": round(statistics.median(pricer_runs), 4),
        "pricer_pct_of_european": round(100.0 * statistics.median(pricer_runs) / eu, 1),
        "american_runs": [round(x, 4) for x in am_runs],
        "european_runs": [round(x, 4) for x in eu_runs],
        "repeat": len(am_runs),
        "note": "process CPU time, medians; machine possibly shared (noisy)",
    }
    if args.engine:
        eng_am: list[float] = [engine_cpu]
        eng_eu: list[float] = []
        for _ in range(max(1, args.repeat) - 1):
            eng_eu.append(_engine_session(european=True)[0])
            eng_am.append(_engine_session(european=False)[0])
        eng_eu.append(_engine_session(european=True)[0])
        a, e = statistics.median(eng_am), statistics.median(eng_eu)
        out["engine"] = {
            "american_cpu_s_per_session": round(a, 3),
            "european_cpu_s_per_session": round(e, 3),
            "ratio": round(a / e, 3),
            "overhead_pct": round(100.0 * (a / e - 1.0), 1),
        }
    out["python"] = platform.python_version()
    out["cpus"] = os.cpu_count()
    print(json.dumps(out, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
