"""Throughput of engine.pricing against a plain NumPy/SciPy reference and py_vollib_vectorized.

Prints ONE JSON line:

* ``greeks_per_s``: price + delta, gamma, vega, theta, rho for N_GREEKS random options;
* ``iv_per_s``: implied vols for N_IV random prices (generated from known vols);
* the same for a plain NumPy/SciPy implementation written below (textbook formulas; a
  vectorised safeguarded Newton for the implied vol) and for ``py_vollib_vectorized`` when it
  imports (price via ``vectorized_black_scholes_merton`` + ``get_all_greeks``; implied vol via
  its Let's-Be-Rational ``vectorized_implied_volatility``), medians of several runs after a
  warm-up (py_vollib_vectorized JIT-compiles on first use; that is excluded);
* implied-vol accuracy (max |vol - true vol| where vega >= 1e-4 S, and failures there);
* ratios against the targets, and whether importing engine.pricing pulled in numba;
* ``american``: American options per second (N_AMERICAN random puts and dividend calls) for
  ``american_price`` (accurate integral equation), the hot-path ``integral_fast`` setting,
  and the book form (`engine.pricing.american_book`: boundary once, then re-priced at 100
  scenario spots per option), with the fast setting's max error against the accurate one;
  the simulator's forms: ``rows_per_s`` (`american_rows`, one spot per option) and the
  process CPU microseconds per pass of 1, 4, 30 and 300 rows for `american_rows` and for
  `american_screened` (premium screened by `premium_bound` at half a cent), and the share
  of the random options that screen skips.

Run: ``.venv/bin/python benchmarks/pricing.py`` (about a minute; optional env BENCH_REPEATS).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.pricing import black_scholes, implied_vol  # noqa: E402

N_GREEKS = 1_000_000
N_IV = 100_000
N_AMERICAN = 20_000
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
SEED = 20240101
Arr = np.ndarray[Any, np.dtype[Any]]


def random_options(n: int, seed: int) -> dict[str, Arr]:
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(np.log(10.0), np.log(500.0), n))
    return {
        "S": S,
        "K": S * np.exp(rng.uniform(np.log(0.7), np.log(1.4), n)),
        "T": rng.uniform(7.0 / 365.0, 2.0, n),
        "r": rng.uniform(0.0, 0.06, n),
        "q": rng.uniform(0.0, 0.04, n),
        "sigma": rng.uniform(0.10, 0.80, n),
        "is_call": rng.random(n) < 0.5,
    }


# ------------------------------------------------------------------ plain NumPy/SciPy reference


def numpy_greeks(
    S: Arr, K: Arr, T: Arr, r: Arr, q: Arr, sigma: Arr, is_call: Arr
) -> tuple[Arr, Arr, Arr, Arr, Arr, Arr]:
    """Textbook closed forms, whole-array operations, scipy.special.ndtr."""
    sqrt_t = np.sqrt(T)
    d1 = (np.log(S / K) + (r - q + 0.5 * sigma**2) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    dq = np.exp(-q * T)
    dr = np.exp(-r * T)
    pdf = np.exp(-0.5 * d1**2) / np.sqrt(2.0 * np.pi)
    w = np.where(is_call, 1.0, -1.0)
    nd1 = ndtr(w * d1)
    nd2 = ndtr(w * d2)
    price = w * (S * dq * nd1 - K * dr * nd2)
    delta = w * dq * nd1
    gamma = dq * pdf / (S * sigma * sqrt_t)
    vega = S * dq * pdf * sqrt_t
    theta = -S * dq * pdf * sigma / (2.0 * sqrt_t) + w * (q * S * dq * nd1 - r * K * dr * nd2)
    rho = w * K * T * dr * nd2
    return price, delta, gamma, vega, theta, rho


def numpy_iv(
    price: Arr, S: Arr, K: Arr, T: Arr, r: Arr, q: Arr, is_call: Arr, iterations: int = 60
) -> Arr:
    """Vectorised Newton on sigma with a bisection safeguard (the usual plain approach)."""
    lo = np.full(price.shape, 1e-6)
    hi = np.full(price.shape, 5.0)
    sig = np.full(price.shape, 0.3)
    for _ in range(iterations):
        p, _, _, vega, _, _ = numpy_greeks(S, K, T, r, q, sig, is_call)
        diff = p - price
        hi = np.where(diff > 0, sig, hi)
        lo = np.where(diff <= 0, sig, lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = sig - diff / vega
        sig = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
        if np.all(np.abs(diff) <= 1e-12 * S):
            break
    return sig


# ------------------------------------------------------------------ timing helpers


def median_rate(fn: Callable[[], object], n: int, repeats: int) -> float:
    fn()  # warm-up (caches, JIT of third-party code)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def iv_accuracy(vol: Arr, true: Arr, meaningful: Arr) -> dict[str, Any]:
    err = np.abs(vol - true)[meaningful]
    bad = ~np.isfinite(err)
    good = err[~bad]
    return {
        "max_abs_err": float(good.max()) if good.size else None,
        "median_abs_err": float(np.median(good)) if good.size else None,
        "failures": int(bad.sum()),
        "rows": int(meaningful.sum()),
    }


def import_check() -> dict[str, Any]:
    code = (
        "import sys, time; t = time.perf_counter(); import engine.pricing; "
        "print(time.perf_counter() - t, 'numba' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {"import_s": round(float(out[0]), 3), "numba_imported": out[1] == "True"}


def cpu_per_call(fn: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Median process CPU seconds per call of `fn` (CPU time: the machine may be shared)."""
    fn()
    times = []
    for _ in range(repeats):
        c0 = time.process_time()
        for _ in range(calls):
            fn()
        times.append((time.process_time() - c0) / calls)
    return statistics.median(times)


def american_bench() -> dict[str, Any]:
    from engine.pricing import american_price
    from engine.pricing.american_book import (
        AmericanBook,
        american_rows,
        american_screened,
        premium_bound,
    )
    from engine.pricing.bsm import bs_price

    rng = np.random.default_rng(17)
    n = N_AMERICAN
    S = np.full(n, 100.0)
    K = S * np.exp(rng.uniform(-0.4, 0.4, n))
    T = np.exp(rng.uniform(np.log(7 / 365), np.log(2.5), n))
    sig = rng.uniform(0.1, 0.9, n)
    r = np.full(n, 0.04)
    q = rng.choice([0.01, 0.03, 0.06], n)
    call = rng.random(n) < 0.5
    accurate = american_price(S, K, T, r, q, sig, call)
    fast = american_price(S, K, T, r, q, sig, call, method="integral_fast")
    euro = bs_price(S, K, T, r, q, sig, call)
    scen = S[None, :] * np.exp(rng.normal(0.0, 0.03, (100, 1)))
    m = 2_000

    def book() -> None:
        AmericanBook.prepare(K[:m], T[:m], r[:m], q[:m], sig[:m], call[:m]).prices(scen[:, :m])

    # The simulator prices chains in many small passes (a session: ~1,300 passes, half of
    # them 1-4 American rows): the per-pass cost is what its CPU overhead is made of.
    def rows(size: int) -> Callable[[], object]:
        sl = slice(0, size)
        args = (S[sl], K[sl], T[sl], r[sl], q[sl], sig[sl], call[sl], euro[sl])
        return lambda: american_rows(*args)

    def screened(size: int) -> Callable[[], object]:
        sl = slice(0, size)
        args = (S[sl], K[sl], T[sl], r[sl], q[sl], sig[sl], call[sl], euro[sl])
        return lambda: american_screened(*args, 0.005)

    bound = premium_bound(S, K, T, r, q, sig, call)
    return {
        "n": n,
        "integral_per_s": round(
            median_rate(lambda: american_price(S, K, T, r, q, sig, call), n, 3)
        ),
        "integral_fast_per_s": round(
            median_rate(
                lambda: american_price(S, K, T, r, q, sig, call, method="integral_fast"), n, 3
            )
        ),
        "book_scenario_prices_per_s": round(median_rate(book, 100 * m, 3)),
        "rows_per_s": round(n / cpu_per_call(rows(n), 1, 3)),
        "rows_cpu_us_per_pass": {
            str(k): round(1e6 * cpu_per_call(rows(k), max(20, 4000 // k)), 1)
            for k in (1, 4, 30, 300)
        },
        "screened_cpu_us_per_pass": {
            str(k): round(1e6 * cpu_per_call(screened(k), max(20, 4000 // k)), 1)
            for k in (1, 4, 30, 300)
        },
        "screen_share_skipped": round(float(np.mean(bound < 0.005)), 3),
        "fast_max_rel_err_vs_integral": float(
            np.max(np.abs(fast - accurate) / np.maximum(accurate, 0.01))
        ),
    }


def main() -> None:
    g = random_options(N_GREEKS, SEED)
    args = (g["S"], g["K"], g["T"], g["r"], g["q"], g["sigma"], g["is_call"])
    ours_greeks = median_rate(lambda: black_scholes(*args), N_GREEKS, REPEATS)
    ref_greeks = median_rate(lambda: numpy_greeks(*args), N_GREEKS, REPEATS)

    o = random_options(N_IV, SEED + 1)
    true_vol = o["sigma"]
    gk = black_scholes(o["S"], o["K"], o["T"], o["r"], o["q"], true_vol, o["is_call"])
    price = gk.price
    meaningful = gk.vega >= 1e-4 * o["S"]
    iv_args = (price, o["S"], o["K"], o["T"], o["r"], o["q"], o["is_call"])
    ours_iv = median_rate(lambda: implied_vol(*iv_args), N_IV, REPEATS)
    ref_iv = median_rate(lambda: numpy_iv(*iv_args), N_IV, max(3, REPEATS // 2))
    acc = {
        "ours": iv_accuracy(implied_vol(*iv_args).vol, true_vol, meaningful),
        "numpy_ref": iv_accuracy(numpy_iv(*iv_args), true_vol, meaningful),
    }
    # Consistency check that the benchmark measures real work: our greeks == reference.
    ref_out = numpy_greeks(*args)
    ours_out = black_scholes(*args)
    agree = max(
        float(np.max(np.abs(a - b) / (1.0 + np.abs(b))))
        for a, b in zip(
            (ours_out.price, ours_out.delta, ours_out.gamma, ours_out.vega, ours_out.theta),
            ref_out[:5],
            strict=True,
        )
    )

    pvv: dict[str, Any]
    try:
        # Imported here: optional, and it pulls in numba (never on engine.pricing's path).
        import py_vollib_vectorized as pv

        flag = np.where(g["is_call"], "c", "p")

        def pvv_greeks() -> None:
            pv.vectorized_black_scholes_merton(
                flag, g["S"], g["K"], g["T"], g["r"], g["sigma"], g["q"], return_as="numpy"
            )
            pv.get_all_greeks(
                flag,
                g["S"],
                g["K"],
                g["T"],
                g["r"],
                g["sigma"],
                g["q"],
                model="black_scholes_merton",
                return_as="dict",
            )

        flag_iv = np.where(o["is_call"], "c", "p")

        def pvv_iv() -> Arr:
            return np.asarray(
                pv.vectorized_implied_volatility(
                    price,
                    o["S"],
                    o["K"],
                    o["T"],
                    o["r"],
                    flag_iv,
                    q=o["q"],
                    model="black_scholes_merton",
                    return_as="numpy",
                    on_error="ignore",
                )
            )

        pvv_greeks_rate = median_rate(pvv_greeks, N_GREEKS, max(3, REPEATS // 2))
        pvv_iv_rate = median_rate(pvv_iv, N_IV, REPEATS)
        acc["py_vollib_vectorized"] = iv_accuracy(pvv_iv(), true_vol, meaningful)
        pvv = {
            "greeks_per_s": round(pvv_greeks_rate),
            "iv_per_s": round(pvv_iv_rate),
            "version": getattr(pv, "__version__", "0.1.1"),
        }
    except Exception as exc:  # any import/runtime failure is reported as null, with why
        pvv = {"greeks_per_s": None, "iv_per_s": None, "reason": f"{type(exc).__name__}: {exc}"}

    greeks_vs_ref = round(ours_greeks / ref_greeks, 2)
    iv_vs_pvv = round(ours_iv / pvv["iv_per_s"], 2) if pvv["iv_per_s"] else None
    ratios: dict[str, float | None] = {
        "greeks_vs_numpy_ref": greeks_vs_ref,
        "iv_vs_numpy_ref": round(ours_iv / ref_iv, 2),
        "greeks_vs_pvv": round(ours_greeks / pvv["greeks_per_s"], 2)
        if pvv["greeks_per_s"]
        else None,
        "iv_vs_pvv": iv_vs_pvv,
    }
    targets: dict[str, bool | None] = {
        "greeks_at_least_numpy_ref": greeks_vs_ref >= 1.0,
        "iv_at_least_1_5x_pvv": None if iv_vs_pvv is None else iv_vs_pvv >= 1.5,
    }
    if "py_vollib_vectorized" in acc:
        ours_err = acc["ours"]["max_abs_err"]
        pvv_err = acc["py_vollib_vectorized"]["max_abs_err"]
        # "Equal" means within 1e-15: both are then limited by the rounding of the input prices.
        targets["iv_accuracy_at_least_pvv"] = (
            ours_err is not None
            and (pvv_err is None or ours_err <= pvv_err + 1e-15)
            and acc["ours"]["failures"] <= acc["py_vollib_vectorized"]["failures"]
        )
    result = {
        "benchmark": "engine.pricing",
        "american": american_bench(),
        "n_greeks": N_GREEKS,
        "n_iv": N_IV,
        "repeats": REPEATS,
        "ours": {"greeks_per_s": round(ours_greeks), "iv_per_s": round(ours_iv)},
        "numpy_ref": {"greeks_per_s": round(ref_greeks), "iv_per_s": round(ref_iv)},
        "py_vollib_vectorized": pvv,
        "ratios": ratios,
        "targets_met": targets,
        "iv_accuracy_vega_ge_1e-4_S": acc,
        "greeks_max_rel_diff_vs_ref": agree,
        **import_check(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
