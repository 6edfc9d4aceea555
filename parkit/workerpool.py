"""The worker pool: the daemon processes that run submitted tasks, kept
at its size through a registry (each runs parkit/worker.py).

Workers are started detached (double fork, new session), so they outlive
the interpreter that started them; they register in the system namespace
with their pid and kernel start time, which tells a live worker from a
reused pid.  Any process that notices a dead worker removes it, marks the
process it was running as crashed, and starts a replacement.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

from .context import transaction
from .dict import Dict as PDict
from .records import STOP, SYSTEM_NS, ProcessRecord, ProcessStatus, ready_queue
from .storage import get_storage_path

REGISTRY = f"{SYSTEM_NS}/pool"
#: A worker asked for but not registered after this long is presumed lost.
SPAWN_GRACE = 20.0


def registry() -> PDict:
    r = PDict(REGISTRY)
    if "epoch" not in r:
        with transaction(r):
            r.setdefault("size", os.cpu_count() or 1)
            r.setdefault("workers", {})
            r.setdefault("pending", [])
            r.setdefault("epoch", 0)  # bumped by killall: older spawns give up
    return r


def start_time(pid: int) -> Optional[int]:
    """The kernel start time of *pid*, or None if it does not run."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None  # a zombie has finished
    return int(fields[19])


def alive(pid: int, started: int) -> bool:
    return start_time(pid) == started


def _live_workers(workers: Dict[str, Any]) -> Dict[str, Any]:
    return {pid: info for pid, info in workers.items() if alive(int(pid), info["start"])}


def reap() -> int:
    """Forget dead workers and mark what they ran as crashed; returns the
    number of live workers."""
    r = registry()
    with transaction(r):
        workers = r["workers"]
        live = _live_workers(workers)
        for pid, info in workers.items():
            if pid in live or not info.get("running"):
                continue
            try:
                p = ProcessRecord(info["running"], create=False)
                if p["status"] == ProcessStatus.running.value:
                    p.update(status=ProcessStatus.crashed.value, finished=time.time(),
                             error=f"worker {pid} died while running the task")
            except Exception:
                pass
        if len(live) != len(workers):
            r["workers"] = live
    return len(live)


def _spawn(storage: str, epoch: int) -> None:
    """Start one detached worker of pool *epoch*."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    log = os.path.join(storage, "parkit-workers.log")
    launcher = ("import subprocess, sys\n"
                "log = open(sys.argv[1], 'ab')\n"
                "subprocess.Popen(sys.argv[2:], start_new_session=True, close_fds=True,"
                " stdin=subprocess.DEVNULL, stdout=log, stderr=log)\n")
    subprocess.run([sys.executable, "-c", launcher, log, sys.executable, "-m",
                    "parkit.worker", storage, str(epoch)], env=env, check=True)


def ensure_workers() -> None:
    """Start workers until the pool has its size (counting recent starts)."""
    reap()
    r = registry()
    now = time.time()
    with transaction(r):
        pending = [t for t in r["pending"] if now - t < SPAWN_GRACE]
        need = r["size"] - len(r["workers"]) - len(pending)
        if need > 0:
            pending += [now] * need
        r["pending"] = pending
        epoch = r["epoch"]
    storage = get_storage_path()
    for _ in range(max(need, 0)):
        _spawn(storage, epoch)


def get_pool_size() -> int:
    """How many worker processes the pool keeps."""
    return int(registry()["size"])


def set_pool_size(size: int) -> None:
    """Resize the pool now: start workers, or ask idle ones to stop."""
    if not isinstance(size, int) or size < 0:
        raise ValueError("the pool size is an int >= 0")
    live = reap()
    r = registry()
    queue = ready_queue()
    with transaction(r):
        r["size"] = size
        for _ in range(live - size):
            queue.put(STOP)
    if size > live:
        ensure_workers()


def killall(timeout: float = 5.0) -> None:
    """Stop every worker (SIGTERM, then SIGKILL after *timeout*); what they
    were running is marked crashed.  The pool restarts on the next submit."""
    r = registry()
    with transaction(r):
        workers = dict(r["workers"])
        r["workers"] = {}
        r["pending"] = []
        r["epoch"] += 1
    live = _live_workers(workers)
    for pid in live:
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _live_workers(live):
        time.sleep(0.01)
    for pid in _live_workers(live):
        os.kill(int(pid), signal.SIGKILL)
    while _live_workers(live):
        time.sleep(0.01)
    # the dead workers' runs: put them back so reap can mark them
    with transaction(r):
        r["workers"] = {**dict(r["workers"]), **workers}
    reap()
    _drop_stop_tokens()


def _drop_stop_tokens() -> None:
    queue = ready_queue()
    with transaction(queue):
        items: List[Any] = []
        while not queue.empty():
            item = queue.get_nowait()
            if item != STOP:
                items.append(item)
        for item in items:
            queue.put(item)
        for _ in items:
            queue.task_done()


def workers() -> List[int]:
    """Pids of the live workers."""
    reap()
    return sorted(int(p) for p in registry()["workers"])
