"""TUI benchmark: first paint, sustained update rate with loop lag, peak memory, soak.

Every phase runs the real desk in its own process attached to a pseudo-terminal (160x48),
so terminal output is produced and drained as in a person's terminal:

1. first paint: from spawning `wsb` (embedded engine) to the dashboard's frame appearing
   (`first_paint_chrome_s`; the engine is still warming up behind it) and to the dashboard
   with engine data (equity figure, `first_paint_s`). `*_cpu_s`: the CPU seconds the process
   had used at those moments, which a busy shared machine does not inflate.
2. updates: 500 positions re-marked 4 times a second through the real event path (fake
   client, coalescing buffer, Desk, changed-cell table updates); reports updates applied
   per second, cells changed per second, frames written per second, event-loop lag p50/p99,
   the UI thread's own CPU time per lag interval (`loop_busy_*`: the blocking work itself,
   which a loaded machine does not inflate) and per second, and peak RSS.
3. soak: the embedded engine at max speed for N trading days with the desk attached; RSS
   after the first day and at the end.

Prints one JSON line.  `python benchmarks/tui.py [--soak-days 20] [--update-seconds 10]
[--update-sort pnl] [--only updates]` (`--only` repeatable: paint, updates, ui-soak, soak).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import pty
import re
import resource
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COLS, ROWS = 160, 48
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _trimmed_rss_mb() -> float:
    """RSS after handing freed heap back to the OS: memory actually retained, without the
    allocator's free lists (glibc keeps freed memory around; that is not a leak)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_mb()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- parent side
def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) a process has used so far. On a shared
    machine wall time to first paint mostly measures the neighbours; this does not."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn_in_pty(
    argv: list[str],
    env: dict[str, str],
    until: re.Pattern[bytes] | None,
    limit: float,
    first: re.Pattern[bytes] | None = None,
    cpu: dict[str, float | None] | None = None,
) -> tuple[float | None, int, bytes, float | None]:
    """Run argv on a pty; return (seconds until `until` appeared, exit code, tail of output,
    seconds until `first` appeared). With `cpu`, also the process's CPU seconds at those
    moments (keys "first", "until")."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    seen: float | None = None
    first_seen: float | None = None
    buf = b""
    deadline = started + limit
    try:
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                buf = (buf + chunk)[-400_000:]
                if first is not None and first_seen is None and first.search(ANSI.sub(b"", buf)):
                    first_seen = time.perf_counter() - started
                    if cpu is not None:
                        cpu["first"] = _cpu_s(proc.pid)
                if until is not None and seen is None and until.search(ANSI.sub(b"", buf)):
                    seen = time.perf_counter() - started
                    if cpu is not None:
                        cpu["until"] = _cpu_s(proc.pid)
                    if proc.poll() is None:
                        proc.terminate()
            if proc.poll() is not None and not ready:
                break
        if proc.poll() is None:
            proc.terminate()
        code = proc.wait(timeout=30)
    finally:
        with contextlib.suppress(OSError):
            os.close(master)
    return seen, code, buf[-2000:], first_seen


def first_paint(tmp: Path) -> dict[str, Any]:
    env = {**os.environ, "TERM": "xterm-256color", "WSB_CONFIG_DIR": str(tmp / "config")}
    wsb = ROOT / ".venv" / "bin" / "wsb"
    argv = (
        [str(wsb)]
        if wsb.exists()
        else [sys.executable, "-c", "from wsb_tui.cli import main; main()"]
    )
    argv += ["--db", str(tmp / "paint.db"), "--seed", "7"]
    cpu: dict[str, float | None] = {}
    seen, _, tail, chrome = spawn_in_pty(
        argv, env, re.compile(rb"equity \$\d"), 60, first=re.compile(rb"Strategies"), cpu=cpu
    )
    if seen is None:
        return {
            "first_paint_s": None,
            "first_paint_error": ANSI.sub(b"", tail).decode(errors="replace")[-300:],
        }
    # chrome: the dashboard's frame drawn; first_paint: drawn with the engine's numbers in it
    return {
        "first_paint_chrome_s": round(chrome, 3) if chrome else None,
        "first_paint_s": round(seen, 3),
        "first_paint_chrome_cpu_s": _round(cpu.get("first")),
        "first_paint_cpu_s": _round(cpu.get("until")),
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def first_paint_ui_only(tmp: Path) -> dict[str, Any]:
    """The desk alone on the in-memory test client: what the UI itself costs to start."""
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "WSB_CONFIG_DIR": str(tmp / "config"),
        "PYTHONPATH": str(ROOT),
    }
    code = (
        "import sys; sys.path.insert(0, 'tests/wsb_tui');"
        "from fake_client import FakeEngineClient; from wsb_tui.app import run_tui;"
        "run_tui(FakeEngineClient(pending=0))"
    )
    seen, _, _, _ = spawn_in_pty([sys.executable, "-c", code], env, re.compile(rb"equity \$\d"), 30)
    return {"first_paint_ui_only_s": round(seen, 3) if seen else None}


def child(mode: str, tmp: Path, extra: list[str], limit: float) -> dict[str, Any]:
    out = tmp / f"{mode}.json"
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "WSB_CONFIG_DIR": str(tmp / "config"),
        "PYTHONPATH": str(ROOT),
    }
    argv = [sys.executable, __file__, "--child", mode, "--out", str(out), *extra]
    _, code, tail, _ = spawn_in_pty(argv, env, None, limit)
    if not out.exists():
        return {
            f"{mode}_error": f"exit {code}: " + ANSI.sub(b"", tail).decode(errors="replace")[-400:]
        }
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- child side
async def _lag_probe(
    samples: list[float], stop: asyncio.Event, every: float = 0.01, busy: list[float] | None = None
) -> None:
    """Wall lag of a 10 ms sleep; with `busy`, also the UI thread's own CPU time in each
    interval: the work that held the loop, which neighbours on a shared machine do not
    inflate (they stretch the wall lag of the same work instead)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        c = time.thread_time()
        await asyncio.sleep(every)
        samples.append(max(0.0, loop.time() - t - every))
        if busy is not None:
            busy.append(time.thread_time() - c)


def child_updates(out: Path, seconds: float, sort: str = "") -> None:
    sys.path.insert(0, str(ROOT / "tests" / "wsb_tui"))
    from fake_client import FakeEngineClient  # the seeded test double: a 500-position book

    from engine.domain import PortfolioSnapshot
    from widgets.positions import PositionsTable
    from wsb_tui.app import WsbApp
    from wsb_tui.settings import Settings

    fake = FakeEngineClient(n_positions=500, pending=0)
    app = WsbApp(fake, settings_path=out.parent / "config" / "settings.json")
    app.settings = Settings(auto_open_confirm=False, refresh_seconds=1.0)
    stats = {"updates": 0, "cells": 0, "frames": 0, "pushed": 0}
    original_show = PositionsTable.show

    def counting_show(self: PositionsTable, *a: Any, **k: Any) -> Any:
        s = original_show(self, *a, **k)
        stats["updates"] += 1
        stats["cells"] += s.updated
        return s

    PositionsTable.show = counting_show  # type: ignore[method-assign]
    original_display = WsbApp._display

    def counting_display(self: WsbApp, screen: Any, renderable: Any) -> None:
        if renderable is not None:
            stats["frames"] += 1
        original_display(self, screen, renderable)

    WsbApp._display = counting_display  # type: ignore[method-assign]
    lags: list[float] = []
    busy: list[float] = []
    result: dict[str, Any] = {}

    async def drive() -> None:
        await app.wait_ready(30)
        if sort:  # ordered by a moving column: re-sorts (throttled) on top of the re-marks
            app.screen.query_one(PositionsTable).sort_by(sort, reverse=True)
        await asyncio.sleep(0.5)
        stop = asyncio.Event()
        probe = asyncio.create_task(_lag_probe(lags, stop, busy=busy))
        base = dict(fake.positions)
        rss0 = _rss_mb()
        u0, c0, f0 = stats["updates"], stats["cells"], stats["frames"]
        start = time.perf_counter()
        tick = 0
        while time.perf_counter() - start < seconds:
            tick += 1
            bump = 1 + 0.002 * ((tick % 7) - 3)
            for sym, p in base.items():
                fake.positions[sym] = p.with_mark(round((p.mark or float(p.avg_price)) * bump, 2))
            fake.now = fake.now.__class__.fromtimestamp(
                fake.now.timestamp() + 0.25, fake.now.tzinfo
            )
            fake.push(PortfolioSnapshot(fake.now, fake.portfolio()))
            stats["pushed"] += 1
            await asyncio.sleep(max(0.0, start + tick * 0.25 - time.perf_counter()))
        elapsed = time.perf_counter() - start
        await asyncio.sleep(0.3)
        stop.set()
        await probe
        lag_ms = sorted(x * 1000 for x in lags)
        busy_ms = sorted(x * 1000 for x in busy)
        result.update(
            positions=500,
            remarks_per_s=round(stats["pushed"] / elapsed, 2),
            updates_applied_per_s=round((stats["updates"] - u0) / elapsed, 2),
            cells_changed_per_s=round((stats["cells"] - c0) / elapsed, 1),
            frames_per_s=round((stats["frames"] - f0) / elapsed, 1),
            loop_lag_p50_ms=round(statistics.median(lag_ms), 2),
            loop_lag_p99_ms=round(lag_ms[int(0.99 * (len(lag_ms) - 1))], 2),
            loop_lag_max_ms=round(lag_ms[-1], 2),
            loop_busy_p99_ms=round(busy_ms[int(0.99 * (len(busy_ms) - 1))], 2),
            loop_busy_max_ms=round(busy_ms[-1], 2),
            ui_cpu_ms_per_s=round(1000 * sum(busy) / elapsed, 1),
            update_rss_start_mb=round(rss0, 1),
            update_rss_end_mb=round(_rss_mb(), 1),
            update_peak_rss_mb=round(_peak_mb(), 1),
        )
        await app.shutdown()

    async def main() -> None:
        task = asyncio.create_task(drive())
        await app.run_async()
        await task

    asyncio.run(main())
    out.write_text(json.dumps(result))


def _save(out: Path, result: dict[str, Any]) -> None:
    out.write_text(json.dumps(result))


def _type_counts() -> dict[str, int]:
    import gc
    from collections import Counter

    gc.collect()
    return dict(
        Counter(
            f"{getattr(type(o), '__module__', '?')}.{getattr(type(o), '__qualname__', '?')}"
            for o in gc.get_objects()
        )
    )


def _growth(before: dict[str, int], after: dict[str, int], top: int = 8) -> dict[str, int]:
    diff = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return dict(sorted(((k, v) for k, v in diff.items() if v > 0), key=lambda kv: -kv[1])[:top])


WARM_DAYS = 5  # by then every bounded history (proposals, orders, log) is full


async def _run_days(emb: Any, days: int) -> tuple[list[float], list[dict[str, int]]]:
    """Advance day by day; RSS after each day, object counts after day 1, WARM_DAYS, last."""
    from engine.runtime.engine import RunBudget

    rss: list[float] = []
    types: list[dict[str, int]] = []
    for day in range(1, days + 1):
        await emb.engine.advance(RunBudget(sessions=1))
        rss.append(_trimmed_rss_mb())
        if day in (1, min(WARM_DAYS, days), days) and len(types) < 3:
            types.append(_type_counts())
    return rss, types


def _soak_summary(prefix: str, rss: list[float], types: list[dict[str, int]]) -> dict[str, Any]:
    warm = rss[min(WARM_DAYS, len(rss)) - 1]
    return {
        f"{prefix}_rss_by_day_mb": [round(x, 1) for x in rss],
        f"{prefix}_growth_from_day1_pct": round(100 * (rss[-1] - rss[0]) / rss[0], 1),
        f"{prefix}_growth_from_day{WARM_DAYS}_pct": round(100 * (rss[-1] - warm) / warm, 1),
        f"{prefix}_object_growth_after_day{WARM_DAYS}": _growth(types[1], types[-1])
        if len(types) > 2
        else {},
    }


def child_ui_soak(out: Path, minutes: int) -> None:
    """The desk alone under a trading day's churn, many times over: one portfolio update and
    one log line per simulated minute (60 positions), through the real event path. With the
    engine out of the picture, any growth here is the UI's."""
    sys.path.insert(0, str(ROOT / "tests" / "wsb_tui"))
    from fake_client import FakeEngineClient

    from engine.domain import LogLine, PortfolioSnapshot
    from wsb_tui.app import WsbApp
    from wsb_tui.settings import Settings

    fake = FakeEngineClient(n_positions=60, pending=0)
    app = WsbApp(fake, settings_path=out.parent / "config" / "settings.json")
    app.settings = Settings(auto_open_confirm=False, refresh_seconds=1.0)
    result: dict[str, Any] = {"ui_soak_minutes": minutes}

    async def drive() -> None:
        import gc

        await app.wait_ready(30)
        base = dict(fake.positions)
        samples: list[float] = []
        objects: list[int] = []
        for minute in range(1, minutes + 1):
            bump = 1 + 0.0001 * (minute % 997)
            for sym, p in base.items():
                fake.positions[sym] = p.with_mark(round((p.mark or 1.0) * bump, 2))
            fake.now = fake.now.fromtimestamp(fake.now.timestamp() + 60, fake.now.tzinfo)
            fake.push(PortfolioSnapshot(fake.now, fake.portfolio()))
            fake.push(LogLine(fake.now, "info", f"minute {minute}: scan done, {minute * 7} checks"))
            await asyncio.sleep(0.002)
            if minute % (minutes // 4) == 0:
                samples.append(_trimmed_rss_mb())
                objects.append(len(gc.get_objects()))
        result.update(
            ui_soak_rss_quarters_mb=[round(x, 1) for x in samples],
            ui_soak_growth_q1_to_end_pct=round(100 * (samples[-1] - samples[0]) / samples[0], 1),
            ui_soak_objects_quarters=objects,
        )
        _save(out, result)
        await app.shutdown()

    async def main() -> None:
        task = asyncio.create_task(drive())
        await app.run_async()
        await task

    asyncio.run(main())


def child_soak_engine_only(out: Path, days: int) -> None:
    """The same soak without the desk: how much of the growth is the engine's own."""
    from engine.runtime.config import WsbConfig
    from engine.runtime.embedded import build_embedded

    result: dict[str, Any] = {"soak_days": days}
    cfg = WsbConfig.model_validate({"engine": {"gate": "auto"}})

    async def main() -> None:
        emb = await build_embedded(
            cfg, db_path=out.parent / "soak-engine.db", headless=True, speed=None
        )
        await emb.engine.start()
        rss, types = await _run_days(emb, days)
        result.update(_soak_summary("engine_only", rss, types))
        _save(out, result)
        await emb.engine.stop("soak over")
        with contextlib.suppress(Exception):
            await emb.close()

    asyncio.run(main())


def child_soak(out: Path, days: int) -> None:
    from engine.runtime.config import WsbConfig
    from engine.runtime.embedded import build_embedded
    from wsb_tui.app import WsbApp
    from wsb_tui.settings import Settings

    result: dict[str, Any] = {"soak_days": days}
    cfg = WsbConfig.model_validate({"engine": {"gate": "auto"}})

    async def main() -> None:
        emb = await build_embedded(cfg, db_path=out.parent / "soak.db", headless=False, speed=None)
        app = WsbApp(emb.client, settings_path=out.parent / "config" / "settings.json")
        app.settings = Settings(auto_open_confirm=False, refresh_seconds=1.0)

        async def drive() -> None:
            await emb.engine.start()
            await app.wait_ready(60)
            start = time.perf_counter()
            rss, types = await _run_days(emb, days)
            await asyncio.sleep(1.0)
            result.update(_soak_summary("soak", rss, types))
            result.update(
                soak_wall_s=round(time.perf_counter() - start, 1),
                soak_peak_rss_mb=round(_peak_mb(), 1),
                soak_events_seen=app.desk.events_seen,
                soak_desk_sizes={
                    "orders": len(app.desk.orders),
                    "fills": len(app.desk.fills),
                    "proposals": len(app.desk.proposals),
                    "log": len(app.desk.log_history),
                },
            )
            _save(out, result)
            await emb.engine.stop("soak over")
            await app.shutdown()

        task = asyncio.create_task(drive())
        await app.run_async()
        await task
        with contextlib.suppress(Exception):  # the measurement is written already
            await emb.close()

    asyncio.run(main())


# --------------------------------------------------------------------------- entry
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soak-days", type=int, default=20)
    ap.add_argument("--update-seconds", type=float, default=10.0)
    ap.add_argument(
        "--update-sort", default="", help="sort the positions by this column (e.g. pnl) first"
    )
    ap.add_argument("--skip-soak", action="store_true")
    ap.add_argument("--child", choices=("updates", "soak", "soak-engine", "ui-soak"))
    ap.add_argument("--ui-soak-minutes", type=int, default=7800, help="20 days x 390 minutes")
    ap.add_argument("--engine-baseline", action="store_true", help="also soak the engine alone")
    ap.add_argument(
        "--only",
        action="append",
        choices=("paint", "updates", "ui-soak", "soak"),
        help="run only these phases (repeatable); default: all",
    )
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    phases = set(args.only or ("paint", "updates", "ui-soak", "soak"))
    if args.child is not None:
        runs = {
            "updates": lambda: child_updates(args.out, args.update_seconds, args.update_sort),
            "soak": lambda: child_soak(args.out, args.soak_days),
            "soak-engine": lambda: child_soak_engine_only(args.out, args.soak_days),
            "ui-soak": lambda: child_ui_soak(args.out, args.ui_soak_minutes),
        }
        code = 0
        try:
            runs[args.child]()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            # A stray non-daemon thread (e.g. a database worker) must not keep a finished
            # measurement process alive.
            os._exit(code)
    result: dict[str, Any] = {
        "benchmark": "tui",
        "terminal": f"{COLS}x{ROWS}",
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="wsb-bench-") as d:
        tmp = Path(d)
        (tmp / "config").mkdir()
        if "paint" in phases:
            result.update(first_paint(tmp))
            result.update(first_paint_ui_only(tmp))
        if "updates" in phases:
            result.update(
                child(
                    "updates",
                    tmp,
                    [
                        "--update-seconds",
                        str(args.update_seconds),
                        *(["--update-sort", args.update_sort] if args.update_sort else []),
                    ],
                    args.update_seconds + 90,
                )
            )
        if "ui-soak" in phases:
            result.update(
                child("ui-soak", tmp, ["--ui-soak-minutes", str(args.ui_soak_minutes)], 1800)
            )
        if "soak" in phases and not args.skip_soak:
            result.update(child("soak", tmp, ["--soak-days", str(args.soak_days)], 3600))
            if args.engine_baseline:
                result.update(child("soak-engine", tmp, ["--soak-days", str(args.soak_days)], 3600))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
