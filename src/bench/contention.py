"""Many processes, one parkit.Dict: what sharing a namespace costs.

N fresh interpreters (``sys.executable -c CHILD``, so nothing is inherited
from the driver) each add 1 to one value of one ``parkit.Dict`` K times,
one ``parkit.transaction`` per increment.  Every child binds the Dict,
says "ready" and waits; the driver starts them together, and each reports
when it started and ended and how often it took the namespace over.

libpmemobj lets one process open a pool, so the processes take turns: the
owner hands the pool over at a transaction boundary once it held it for a
time slice (a close), and the next owner opens it.  The children count and
time those opens and closes, and the time spent blocked waiting for the
namespace, by wrapping three private methods of parkit (``Handle._open_pool``,
``Handle._close``, ``NamespaceLock.acquire``); if those names change the
counts are reported as missing rather than failing.

After the run one more child reads the value: it must be N * K (no
increment lost, none applied twice), otherwise the row carries an error.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import Any, Dict, List

#: The object every child increments.
PATH = "contention/counter"

CHILD = r'''
import json, os, sys, time
import parkit
from parkit import lock, namespace

storage, path, task, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
parkit.set_storage_path(storage)

stats = {"opens": 0, "open_s": 0.0, "closes": 0, "close_s": 0.0, "waits": 0, "wait_s": 0.0}


def timing(cls, name, what):
    """Count and time calls of cls.name in stats[what + "s"], stats[what + "_s"]."""
    original = getattr(cls, name, None)
    if original is None:
        return False

    def timed(*args, **kw):
        t0 = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            stats[what + "_s"] += time.perf_counter() - t0
            stats[what + "s"] += 1
    setattr(cls, name, timed)
    return True


instrumented = all([timing(namespace.Handle, "_open_pool", "open"),
                    timing(namespace.Handle, "_close", "close"),
                    timing(lock.NamespaceLock, "acquire", "wait")])
d = parkit.Dict(path)
if task == "read":
    print(json.dumps({"value": d.get("n", 0)}), flush=True)
    sys.exit(0)

print("ready", flush=True)
sys.stdin.readline()                      # the start signal
for key in stats:
    stats[key] = 0
start = time.monotonic()
for _ in range(count):
    with parkit.transaction(d):
        d["n"] = d.get("n", 0) + 1
end = time.monotonic()
print(json.dumps(dict(stats, pid=os.getpid(), start=start, end=end, instrumented=instrumented,
                      slice_s=getattr(namespace, "SLICE", None))), flush=True)
'''


def _spawn(storage: str, task: str, count: int, env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, storage, PATH, task, str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
                            text=True, env=env)


def _last_json(out: str) -> Dict[str, Any]:
    lines = out.strip().splitlines()
    if not lines:
        raise RuntimeError("a child printed nothing")
    result: Dict[str, Any] = json.loads(lines[-1])
    return result


def run(procs: int, count: int, storage: str, env: Dict[str, str],
        timeout: float) -> Dict[str, Any]:
    """*procs* processes, *count* increments each, under a fresh *storage*
    path; one row of figures (with "error" if the final count is wrong)."""
    os.makedirs(storage, exist_ok=True)
    children: List[subprocess.Popen] = []

    def kill_all() -> None:
        for c in children:
            if c.poll() is None:
                c.kill()

    watchdog = threading.Timer(timeout, kill_all)
    watchdog.start()
    try:
        for _ in range(procs):
            children.append(_spawn(storage, "inc", count, env))
        for c in children:
            assert c.stdout is not None
            line = c.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"child {c.pid} did not start (said {line!r})")
        for c in children:                # start them as close together as we can
            assert c.stdin is not None
            c.stdin.write("go\n")
            c.stdin.flush()
        reports = []
        for c in children:
            out, _ = c.communicate()
            if c.returncode != 0:
                raise RuntimeError(f"child {c.pid} exited with status {c.returncode}")
            reports.append(_last_json(out))
        reader = _spawn(storage, "read", 0, env)
        out, _ = reader.communicate()
        if reader.returncode != 0:
            raise RuntimeError(f"the reading child exited with status {reader.returncode}")
        final = _last_json(out)["value"]
    finally:
        watchdog.cancel()
        kill_all()
        for c in children:
            c.wait()
    return _row(procs, count, final, reports)


def _row(procs: int, count: int, final: int, reports: List[Dict[str, Any]]) -> Dict[str, Any]:
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    own = [r["end"] - r["start"] for r in reports]
    row: Dict[str, Any] = {
        "procs": procs, "increments_each": count, "expected": procs * count,
        "final": final, "wall_s": wall,
        "total_per_s": procs * count / wall if wall > 0 else None,
        "per_proc_per_s": sum(count / t for t in own if t > 0) / procs,
        "per_proc": reports, "slice_s": reports[0].get("slice_s"),
    }
    if all(r["instrumented"] for r in reports):
        opens = sum(r["opens"] for r in reports)
        closes = sum(r["closes"] for r in reports)
        row.update(
            handoffs=opens,
            handoffs_per_proc=opens / procs,
            open_ms=1e3 * sum(r["open_s"] for r in reports) / opens if opens else None,
            close_ms=1e3 * sum(r["close_s"] for r in reports) / closes if closes else None,
            # shares of each process's own running time, averaged over processes
            handoff_share=sum((r["open_s"] + r["close_s"]) / t
                              for r, t in zip(reports, own) if t > 0) / procs,
            wait_share=sum(r["wait_s"] / t for r, t in zip(reports, own) if t > 0) / procs,
        )
    if final != procs * count:
        row["error"] = (f"parkit contention with {procs} processes: final count {final} != "
                        f"{procs} x {count} = {procs * count} (lost or doubled increments)")
    return row
