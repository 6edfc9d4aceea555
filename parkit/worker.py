"""A worker process of the pool (see parkit.workerpool): ``python -m
parkit.worker STORAGE_PATH EPOCH``.

It takes process paths from the ready queue and runs them, and between
runs keeps the pool healthy: reaps dead workers, starts replacements and
fires due schedules.
"""
from __future__ import annotations

import os
import queue as _queue
import sys
import time
import traceback
from typing import Any, Dict

from . import workerpool
from .context import transaction
from .records import STOP, ProcessStatus, ready_queue
from .scheduler import fire_due
from .storage import set_storage_path
from .tasks import Process, _set_current

HOUSEKEEPING = 0.25


def run(path: str) -> None:
    """Run the process recorded at *path* and record how it ended."""
    pid = str(os.getpid())
    process = Process(path, create=False)
    r = workerpool.registry()
    with transaction(process):
        if process["status"] != ProcessStatus.submitted.value:
            return
        process.update(status=ProcessStatus.running.value, pid=os.getpid(),
                       started=time.time())
        workers = r["workers"]
        if pid in workers:
            workers[pid] = {**workers[pid], "running": path}
            r["workers"] = workers
    _set_current(process)
    outcome: Any
    try:
        fn = process.task.function()
        result = fn(*process["args"], **process["kwargs"])
        outcome = {"status": ProcessStatus.finished.value, "result": result}
    except BaseException as e:  # the task's failure is data, not ours
        outcome = {"status": ProcessStatus.failed.value, "error": f"{type(e).__name__}: {e}",
                   "traceback": traceback.format_exc()}
    finally:
        _set_current(None)
    outcome["finished"] = time.time()
    try:
        _finish(process, r, pid, outcome)
    except TypeError as e:  # the result cannot be stored
        _finish(process, r, pid, {"status": ProcessStatus.failed.value, "finished": time.time(),
                                  "error": f"TypeError: result not storable: {e}"})


def _finish(process: Process, r: Any, pid: str, outcome: Dict[str, Any]) -> None:
    with transaction(process):
        process.update(outcome)
        workers = r["workers"]
        if pid in workers:
            workers[pid] = {**workers[pid], "running": None}
            r["workers"] = workers


def housekeeping(storage: str) -> bool:
    """Reap, replace, fire schedules; False if this worker should exit (it
    was dismissed, or its storage is gone)."""
    if not os.path.isdir(storage):
        return False
    workerpool.ensure_workers()
    fire_due()
    return str(os.getpid()) in workerpool.registry()["workers"]


def register(epoch: int) -> bool:
    """Join the pool, unless killall ran since this worker was asked for."""
    r = workerpool.registry()
    me = os.getpid()
    with transaction(r):
        if r["epoch"] != epoch:
            return False
        workers = r["workers"]
        workers[str(me)] = {"start": workerpool.start_time(me), "running": None}
        r["workers"] = workers
        pending = r["pending"]
        if pending:
            r["pending"] = pending[1:]
    return True


def unregister() -> None:
    r = workerpool.registry()
    with transaction(r):
        workers = r["workers"]
        workers.pop(str(os.getpid()), None)
        r["workers"] = workers


def main(storage: str, epoch: int) -> None:
    set_storage_path(storage)
    if not register(epoch):
        return
    ready = ready_queue()
    last = 0.0
    try:
        while True:
            try:
                item = ready.get(timeout=HOUSEKEEPING)
            except _queue.Empty:
                item = None
            if item == STOP:
                ready.task_done()
                break
            if item is not None:
                try:
                    run(item)
                finally:
                    ready.task_done()
            if time.monotonic() - last >= HOUSEKEEPING:
                last = time.monotonic()
                if not housekeeping(storage):
                    return
    finally:
        unregister()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
