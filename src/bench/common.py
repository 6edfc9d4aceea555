"""Timing, memory readings and formatting shared by the benchmark modules."""
from __future__ import annotations

import gc
import os
import resource
import time
from typing import Any, Callable, Dict, List, Optional


#: Stop repeating once the repeats so far took this long (slow, syncing
#: systems): the figure is then the best of fewer runs.
BUDGET_S = 4.0


def best_of(run: Callable[[], Any], count: int, repeat: int,
            setup: Optional[Callable[[], Any]] = None) -> Dict[str, Any]:
    """Time *run* (which performs *count* operations) *repeat* times, as
    timeit does: setup untimed before each repeat, garbage collector off
    while timing, and the best (shortest) time kept."""
    times: List[float] = []
    for _ in range(repeat):
        if sum(times) > BUDGET_S:
            break
        if setup is not None:
            setup()
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            run()
            t1 = time.perf_counter()
        finally:
            gc.enable()
        times.append(t1 - t0)
    best = min(times)
    return {"count": count, "repeat": len(times), "best_s": best,
            "ops_per_s": count / best if best > 0 else float("inf"),
            "times_s": times}


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of *fn* takes (for work that cannot be repeated)."""
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def median(xs: List[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def memory() -> Dict[str, int]:
    """Resident memory of this process in KiB: total, anonymous (the Python
    heap) and file-backed (mapped pool/database pages), plus the peak."""
    out = {"rss_kb": 0, "rss_anon_kb": 0, "rss_file_kb": 0}
    names = {"VmRSS:": "rss_kb", "RssAnon:": "rss_anon_kb", "RssFile:": "rss_file_kb"}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = names.get(line.split(None, 1)[0] if line.strip() else "")
                if key:
                    out[key] = int(line.split()[1])
    except OSError:
        pass
    out["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def chunks(seq: List[Any], size: int) -> List[List[Any]]:
    """*seq* cut into lists of *size* items (the last may be shorter)."""
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def fmt_rate(x: Optional[float]) -> str:
    """Operations per second, short: 950, 12.3k, 1.25M."""
    if x is None:
        return "-"
    if x >= 1e9:
        return f"{x / 1e9:.2f}G"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def fmt_ratio(x: Optional[float]) -> str:
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:.0f}x"
    if x >= 10:
        return f"{x:.1f}x"
    if x >= 0.01:
        return f"{x:.2f}x"
    return f"{x:.4f}x"


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    if a is None or b is None or b == 0:
        return None
    return a / b


def env_without_force() -> Dict[str, str]:
    """This environment with no durability mode chosen (pmemobj: msync)."""
    env = dict(os.environ)
    env.pop("PMEM_IS_PMEM_FORCE", None)
    env.pop("PARKIT_DURABILITY", None)
    return env


def mode_env(spec: str) -> Dict[str, str]:
    """The environment of a worker for *spec*: pmemobj-force sets
    PMEM_IS_PMEM_FORCE=1 (libpmem reads it once, at load); parkit picks its
    mode when imported -- force by default, msync with
    PARKIT_DURABILITY=msync -- so parkit specs get only that variable;
    everything else runs with neither."""
    env = env_without_force()
    if spec == "pmemobj-force":
        env["PMEM_IS_PMEM_FORCE"] = "1"
    elif spec.startswith("parkit-msync"):
        env["PARKIT_DURABILITY"] = "msync"
    return env
