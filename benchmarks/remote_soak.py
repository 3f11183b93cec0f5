"""Soak: the engine at max simulated speed while remote desks attach and detach in a loop.

    .venv/bin/python benchmarks/remote_soak.py --days 2 --clients 3

The engine (simulator + paper broker + SQLite, every strategy unless --strategies) runs N
sessions as fast as the CPU allows, served on a real Unix socket. K client loops each attach a
`RemoteEngineClient`, read the event stream for a random moment, sometimes ask for a snapshot
or abort the connection without a goodbye, and attach again. Prints one JSON line:
events/s published and delivered, the event loop's lag p50/p99/max (a 10 ms ticker: how long
the engine, the server and the clients keep the loop busy), and RSS after the first session vs
at the end (memory must stay flat while clients come and go): raw VmRSS, and "trimmed" RSS
(after a full collection and `malloc_trim`, i.e. memory actually retained rather than the
allocator's free lists), with the growth in percent and the peak. The lag samples that overlap
a trimmed measurement are left out. `--freeze` calls `gc.freeze()` once the market is built.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.runtime.control.harness import serve_embedded  # noqa: E402
from engine.runtime.engine import RunBudget  # noqa: E402
from engine.strategies.registry import strategy_class  # noqa: E402
from wsb_tui.remote import Endpoint, RemoteEngineClient  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def trimmed_rss_mb() -> float:
    """RSS after a full collection and handing freed heap back to the OS."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def growth(first: float, last: float) -> float:
    return round(100 * (last - first) / first, 1)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def soak(
    days: int, clients: int, strategies: list[str] | None, seed: int, freeze: bool = False
) -> dict:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="wsbsoak-", dir="/tmp"))
    strats = (
        [strategy_class(n).from_profile("research_2024") for n in strategies]
        if strategies
        else None
    )
    stats = {"attaches": 0, "aborts": 0, "snapshots": 0, "delivered": 0, "errors": 0}
    lags: list[float] = []
    rss: list[tuple[int, float]] = []
    trimmed: list[float] = []
    measures = 0  # trimmed measurements so far (they block the loop: not engine lag)
    try:
        async with serve_embedded(
            tmp, strategies=strats, gate="auto", sections={"data": {"seed": seed}}
        ) as served:
            eng = served.engine
            if freeze:
                gc.collect()
                gc.freeze()
            done = asyncio.Event()

            async def ticker() -> None:
                loop = asyncio.get_running_loop()
                while not done.is_set():
                    t0, m0 = loop.time(), measures
                    await asyncio.sleep(0.01)
                    if measures == m0:
                        lags.append((loop.time() - t0 - 0.01) * 1000)

            async def sampler() -> None:
                nonlocal measures
                last_session = None
                while not done.is_set():
                    if eng._session != last_session:
                        last_session = eng._session
                        rss.append((len(rss), rss_mb()))
                        trimmed.append(trimmed_rss_mb())
                        measures += 1
                    await asyncio.sleep(0.05)

            async def desk(n: int) -> None:
                while not done.is_set():
                    c = RemoteEngineClient(
                        Endpoint(socket_path=served.socket_path),
                        client_name=f"soak{n}",
                        reconnect=False,
                        heartbeat_s=0,
                    )
                    try:
                        await c.connect()
                    except Exception:
                        stats["errors"] += 1
                        await asyncio.sleep(0.1)
                        continue
                    stats["attaches"] += 1
                    stay = rng.uniform(0.2, 1.5)

                    async def read(client: RemoteEngineClient = c) -> None:
                        async for _ev in client.events():
                            stats["delivered"] += 1

                    reader = asyncio.create_task(read())
                    await asyncio.sleep(stay)
                    if rng.random() < 0.5:
                        try:
                            await c.snapshot()
                            stats["snapshots"] += 1
                        except Exception:
                            stats["errors"] += 1
                    if rng.random() < 0.3 and c._conn is not None:
                        c._conn.abort()  # vanish without a goodbye
                        stats["aborts"] += 1
                    await c.close()
                    await asyncio.wait_for(reader, 5)

            tasks = [asyncio.create_task(ticker()), asyncio.create_task(sampler())]
            tasks += [asyncio.create_task(desk(i)) for i in range(clients)]
            published0 = eng.bus.published
            t0 = time.perf_counter()
            await eng.advance(RunBudget(sessions=days))
            wall = time.perf_counter() - t0
            done.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            rss.append((len(rss), rss_mb()))
            trimmed.append(trimmed_rss_mb())
            published = eng.bus.published - published0
            connections = served.server.connections_total
            still = served.server.client_count
            fills = eng.fills_recorded
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    first = rss[1][1] if len(rss) > 2 else rss[0][1]  # after the first session: warmed up
    first_trimmed = trimmed[1] if len(trimmed) > 2 else trimmed[0]
    return {
        "benchmark": "remote_soak",
        "days": days,
        "clients": clients,
        "strategies": strategies or "all",
        "wall_s": round(wall, 2),
        "events_published": published,
        "events_per_s": round(published / wall, 1),
        "events_delivered": stats["delivered"],
        "delivered_per_s": round(stats["delivered"] / wall, 1),
        "fills": fills,
        "attaches": stats["attaches"],
        "aborts": stats["aborts"],
        "snapshots": stats["snapshots"],
        "client_errors": stats["errors"],
        "connections_total": connections,
        "clients_left_attached": still,
        "loop_lag_ms_p50": round(pct(lags, 0.50), 2),
        "loop_lag_ms_p99": round(pct(lags, 0.99), 2),
        "loop_lag_ms_max": round(max(lags) if lags else 0.0, 2),
        "freeze": freeze,
        "rss_mb_first": round(first, 1),
        "rss_mb_last": round(rss[-1][1], 1),
        "rss_growth_pct": growth(first, rss[-1][1]),
        "rss_mb_peak": round(peak_mb(), 1),
        "rss_mb_per_session": [round(r, 1) for _, r in rss],
        "rss_trimmed_mb_first": round(first_trimmed, 1),
        "rss_trimmed_mb_last": round(trimmed[-1], 1),
        "rss_trimmed_growth_pct": growth(first_trimmed, trimmed[-1]),
        "rss_trimmed_mb_per_session": [round(r, 1) for r in trimmed],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=2, help="simulated trading sessions")
    ap.add_argument("--clients", type=int, default=3, help="concurrent attach/detach loops")
    ap.add_argument("--strategies", default="", help="comma list (default: all ten)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--freeze", action="store_true", help="gc.freeze() after the market is built")
    a = ap.parse_args()
    if a.days < 1 or a.clients < 0:
        ap.error("--days must be >= 1 and --clients >= 0")
    names = [s.strip() for s in a.strategies.split(",") if s.strip()] or None
    print(json.dumps(asyncio.run(soak(a.days, a.clients, names, a.seed, a.freeze))))


if __name__ == "__main__":
    main()
