"""Tasks and processes: the task API.

:class:`Task` and :class:`Process` are the task and process records of
parkit.records with what runs them: submitting a run to the worker pool,
scheduling it, waiting for it, reading its status (a run whose worker died
reads as crashed).  Tasks are made from importable functions
(:func:`create_task`, :func:`bind_symbol`) and found by name
(:func:`bind_task`); :func:`processes` lists the runs.
"""
from __future__ import annotations

import enum
import importlib
import os
import sys
import threading
import time
from typing import Any, Callable, FrozenSet, Iterator, Optional, Union, cast

from .context import transaction
from .errors import ObjectNotFoundError
from .listing import objects as _objects
from .records import (
    ENDED,
    SYSTEM_NS,
    ProcessRecord,
    ProcessStatus,
    TaskRecord,
    ready_queue,
    task_path,
)
from .scheduler import add_schedule
from .waiting import wait_until
from .workerpool import ensure_workers, reap


class Task(TaskRecord):
    """A persistent reference to an importable function.  Calling it (or
    :meth:`submit`) runs it in the process pool and returns its Process."""

    def submit(self, *args: Any, **kwargs: Any) -> "Process":
        """Run the task with these arguments in the pool."""
        process = Process.create(self, args, kwargs)
        process.start()
        return process

    __call__ = submit

    def schedule(self, scheduler: Any, *args: Any, **kwargs: Any) -> str:
        """Run the task whenever *scheduler* says; returns the schedule id."""
        return add_schedule(self, scheduler, args, kwargs)


def _import_root(module: str) -> str:
    """The sys.path entry *module* was imported from, so workers find it."""
    mod = sys.modules.get(module)
    path: Optional[str] = getattr(mod, "__file__", None)
    if not path:
        return ""
    root = os.path.dirname(os.path.abspath(path))
    for _ in range(module.count(".")):
        root = os.path.dirname(root)
    return root


def bind_symbol(module: str, symbol: str, name: Optional[str] = None) -> Task:
    """Bind the function *symbol* of *module* to a task (named *name*,
    default the symbol) and return it."""
    if module == "__main__":
        raise ValueError("tasks must live in an importable module, not __main__")
    importlib.import_module(module)
    task = Task(task_path(name or symbol.rsplit(".", 1)[-1]))
    with transaction(task):
        task.module = module
        task.qualname = symbol
        task.sys_path = _import_root(module)
    return task


def create_task(fn: Callable[..., Any], name: Optional[str] = None) -> Task:
    """Make a persistent task of the importable function *fn*."""
    if not callable(fn) or "<" in getattr(fn, "__qualname__", "<"):
        raise ValueError("a task is a module-level function (not a lambda or a "
                         "nested function), so that workers can import it")
    return bind_symbol(fn.__module__, fn.__qualname__, name)


def bind_task(name: str) -> Task:
    """The task called *name*; ObjectNotFoundError if there is none."""
    return Task(task_path(name), create=False)


class Process(ProcessRecord):
    """The persistent record of one run of a task (a Dict of its fields)."""

    @property
    def status(self) -> ProcessStatus:
        """Where the run is; a running process whose worker died reads as crashed."""
        status = ProcessStatus(self["status"])
        if status is ProcessStatus.running:
            reap()
            status = ProcessStatus(self["status"])
        return status

    @property
    def task(self) -> Task:
        """The task this process runs."""
        return bind_task(self["task"])

    @property
    def exitcode(self) -> Optional[int]:
        """0 finished, 1 failed, -9 crashed, None while not ended."""
        return {ProcessStatus.finished: 0, ProcessStatus.failed: 1,
                ProcessStatus.crashed: -9}.get(self.status)

    @property
    def ended(self) -> bool:
        """True once finished, failed or crashed."""
        return self.status in ENDED

    def start(self) -> None:
        """Submit the process to the pool (starting the pool if needed)."""
        queue = ready_queue()
        with transaction(queue):
            if self["status"] != ProcessStatus.created.value:
                raise RuntimeError(f"process {self.name} was started already")
            self["status"] = ProcessStatus.submitted.value
            self["submitted"] = time.time()
            queue.put(self.path)
        ensure_workers()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the process ended (True) or *timeout* passed."""
        return wait_until(lambda: self.ended, timeout)

    def join(self, timeout: Optional[float] = None) -> None:
        """Block until the process ended or *timeout* passed."""
        self.wait(timeout)


_local = threading.local()


def current() -> Optional[Process]:
    """Inside a running task: its Process; elsewhere None."""
    return cast(Optional[Process], getattr(_local, "process", None))


def _set_current(process: Optional[Process]) -> None:
    _local.process = process


def _status_set(status_filter: Any) -> Optional[FrozenSet[str]]:
    if status_filter is None:
        return None
    if isinstance(status_filter, (str, ProcessStatus)):
        status_filter = [status_filter]
    return frozenset(ProcessStatus(s).value for s in status_filter)


def processes(status_filter: Any = None) -> Iterator[Process]:
    """Process records, optionally only those with the given status(es)."""
    wanted = _status_set(status_filter)
    for path, desc in list(_objects(SYSTEM_NS)):
        if not desc["name"].startswith("process."):
            continue
        try:
            process = Process(path, create=False)
            if wanted is None or process.status.value in wanted:
                yield process
        except ObjectNotFoundError:
            continue


def clean(status_filter: Any = None) -> int:
    """Drop ended process records (of the given statuses); returns how many."""
    wanted = _status_set(status_filter)
    dropped = 0
    for process in processes():
        status = process.status
        if status in ENDED and (wanted is None or status.value in wanted):
            process.drop()
            dropped += 1
    return dropped


class ProcessPriority(enum.Enum):
    """Scheduling priority of a process, as nice values."""

    High = -5
    Normal = 0
    Low = 10


def set_process_priority(priority: Union[ProcessPriority, str],
                         pid: Optional[int] = None) -> None:
    """Set the nice value of process *pid* (default: this process).
    Raising priority above Normal needs privileges."""
    if isinstance(priority, str):
        priority = ProcessPriority[priority]
    if not isinstance(priority, ProcessPriority):
        raise TypeError("priority is a ProcessPriority")
    os.setpriority(os.PRIO_PROCESS, pid or 0, priority.value)

