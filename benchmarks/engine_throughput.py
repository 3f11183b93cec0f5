"""Engine throughput: bars per second through the whole path, in replay at max speed.

Every simulated minute goes through the full path: the simulator's minute bars, every due
strategy, pre-trade risk, the confirmation gate (auto), the paper broker and the SQLite store.
Each run builds a fresh embedded engine (`engine.runtime.embedded.build_embedded`) on its own
database, starts it, and times only `engine.advance(RunBudget(sessions=N))` (market
generation, restore and shutdown are reported separately as `setup_s`).

Cases:

* ``index_baseline``: the index baseline strategy alone on a small universe (SPY, VTI, QQQ,
  IWM, DIA; `symbols` says how many the market actually serves);
* ``all_strategies``: every available strategy on the default universe for 2 sessions.

Prints ONE JSON line: per case the medians over the runs of ``ticks_per_s`` (simulated minutes
per second), ``bars_per_s`` (= symbols x ticks/s), ``elapsed_s``, the process CPU time
``cpu_s`` and ``ticks_per_cpu_s`` (steadier than wall time on a busy machine), plus
``proposals`` and ``fills`` (identical on every run: the market is seeded; a mismatch is
reported as ``deterministic: false``).

Run: ``.venv/bin/python benchmarks/engine_throughput.py [--repeat N] [--sessions N]
[--case NAME]`` (about 30 s at the defaults on a laptop core).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.runtime import embedded  # noqa: E402
from engine.runtime.config import WsbConfig  # noqa: E402
from engine.runtime.embedded import build_embedded  # noqa: E402
from engine.runtime.engine import RunBudget  # noqa: E402
from engine.strategies.registry import available, strategy_class  # noqa: E402

SMALL_UNIVERSE = ("SPY", "VTI", "QQQ", "IWM", "DIA")
SEED = 7


async def one_run(
    strategy_names: Sequence[str], universe: Sequence[str] | None, sessions: int, db: Path
) -> dict[str, Any]:
    t_setup = time.perf_counter()
    cfg = WsbConfig()
    strategies = [strategy_class(n).from_profile() for n in strategy_names]
    # build_embedded takes `universe` but (so far) does not hand it to the simulator; supply
    # it to the simulator's constructor here so the small-universe case is small either way
    # (an explicit argument from build_embedded would take precedence).
    names = vars(embedded)
    market_cls = names["SimulatedMarket"]
    if universe is not None:
        names["SimulatedMarket"] = functools.partial(market_cls, universe=universe)
    try:
        emb = await build_embedded(
            cfg, db_path=db, headless=True, speed=None, universe=universe, strategies=strategies
        )
    finally:
        names["SimulatedMarket"] = market_cls
    eng = emb.engine
    try:
        await eng.start()
        setup = time.perf_counter() - t_setup
        t0, c0 = time.perf_counter(), time.process_time()
        await eng.advance(RunBudget(sessions=sessions))
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        t_stop = time.perf_counter()
        await eng.stop("benchmark done")
        setup += time.perf_counter() - t_stop
    finally:
        await emb.close()
    n_symbols = len(eng.market.symbols()) if hasattr(eng.market, "symbols") else 0
    return {
        "elapsed_s": elapsed,
        "cpu_s": cpu,
        "setup_s": setup,
        "ticks": eng.ticks,
        "symbols": n_symbols,
        "proposals": eng.proposals_seen,
        "fills": eng.fills_recorded,
    }


def run_case(
    name: str,
    strategy_names: Sequence[str],
    universe: Sequence[str] | None,
    sessions: int,
    repeat: int,
) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="wsb-bench-") as tmp:
            runs.append(
                asyncio.run(one_run(strategy_names, universe, sessions, Path(tmp) / f"r{i}.db"))
            )
        print(f"  {name} run {i + 1}/{repeat}: {runs[-1]['elapsed_s']:.2f} s", file=sys.stderr)
    ticks = runs[0]["ticks"]
    symbols = runs[0]["symbols"]
    elapsed = statistics.median(r["elapsed_s"] for r in runs)
    cpu = statistics.median(r["cpu_s"] for r in runs)
    outcome = {(r["ticks"], r["proposals"], r["fills"]) for r in runs}
    return {
        "strategies": len(strategy_names),
        "symbols": symbols,
        "sessions": sessions,
        "ticks": ticks,
        "elapsed_s": round(elapsed, 3),
        "elapsed_s_runs": [round(r["elapsed_s"], 3) for r in runs],
        "setup_s": round(statistics.median(r["setup_s"] for r in runs), 3),
        "ticks_per_s": round(ticks / elapsed, 1),
        "bars_per_s": round(symbols * ticks / elapsed, 1),
        # CPU time of this process: the same figure on a machine shared with other work.
        "cpu_s": round(cpu, 3),
        "ticks_per_cpu_s": round(ticks / cpu, 1),
        "proposals": runs[0]["proposals"],
        "fills": runs[0]["fills"],
        "deterministic": len(outcome) == 1,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    ap.add_argument("--sessions", type=int, default=2, help="simulated trading days per run")
    ap.add_argument(
        "--case",
        choices=("index_baseline", "all_strategies", "both"),
        default="both",
    )
    args = ap.parse_args()
    if args.repeat < 1 or args.sessions < 1:
        ap.error("--repeat and --sessions must be >= 1")
    out: dict[str, Any] = {
        "benchmark": "engine_throughput",
        "python": platform.python_version(),
        "seed": SEED,
        "repeat": args.repeat,
    }
    if args.case in ("index_baseline", "both"):
        out["index_baseline"] = run_case(
            "index_baseline", ["index_baseline"], SMALL_UNIVERSE, args.sessions, args.repeat
        )
    if args.case in ("all_strategies", "both"):
        out["all_strategies"] = run_case(
            "all_strategies", list(available()), None, args.sessions, args.repeat
        )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
