"""The system namespace ``__parkit__`` and the records of tasks and runs in it.

A task names an importable function (``module:qualname``); a process
record is one run of it: status, arguments, result or error with
traceback, times, worker pid.  Both live in the system namespace, with the
ready queue of submitted runs, so one transaction can move a run through
its states and the queue together.

Statuses go created -> submitted -> running -> finished | failed |
crashed (the worker died while running it).

:class:`TaskRecord` and :class:`ProcessRecord` are those objects as the
worker pool and the scheduler read and write them.  ``parkit.Task`` and
``parkit.Process`` (parkit.tasks) are the same objects with what runs them
added; the records are stored under their type names, so either class
binds the same object.
"""
from __future__ import annotations

import enum
import sys
import time
import uuid as _uuid
from typing import Any, Callable, Dict, Iterable, Optional, Type, TypeVar, cast

from pmemobj import qualname

from .dict import Dict as PDict
from .object import Object
from .queue import Queue
from .storage import _check_components

SYSTEM_NS = "__parkit__"
READY = f"{SYSTEM_NS}/ready"
STOP = "__stop__"

#: The type names the records are stored under: those of parkit.Task and
#: parkit.Process.
TASK_TYPE = "parkit.tasks:Task"
PROCESS_TYPE = "parkit.tasks:Process"


class ProcessStatus(str, enum.Enum):
    created = "created"
    submitted = "submitted"
    running = "running"
    finished = "finished"
    failed = "failed"
    crashed = "crashed"


ENDED = frozenset({ProcessStatus.finished, ProcessStatus.failed, ProcessStatus.crashed})


def ready_queue() -> Queue:
    return Queue(READY)


def task_path(name: str) -> str:
    """The object path of the task called *name*."""
    if not isinstance(name, str):
        raise TypeError(f"a task name is a str, not {type(name).__name__}")
    _check_components(name, "task name")
    if "/" in name:
        raise ValueError(f"invalid task name {name!r}: no '/' allowed")
    return f"{SYSTEM_NS}/task.{name}"


class TaskRecord(Object):
    """A persistent reference to an importable function."""

    module: str = ""
    qualname: str = ""
    sys_path: str = ""

    @classmethod
    def _typename(cls) -> str:
        return TASK_TYPE if cls is TaskRecord else super()._typename()

    @property
    def task_name(self) -> str:
        """The name the task is bound under."""
        return self.name[len("task."):]

    def function(self) -> Callable[..., Any]:
        """Import and return the function."""
        if self.sys_path and self.sys_path not in sys.path:
            sys.path.insert(0, self.sys_path)
        obj = qualname.resolve(f"{self.module}:{self.qualname}")
        if not callable(obj):
            raise TypeError(f"{self.module}:{self.qualname} is not callable")
        return cast(Callable[..., Any], obj)


R = TypeVar("R", bound="ProcessRecord")


class ProcessRecord(PDict):
    """The persistent record of one run of a task (a Dict of its fields)."""

    @classmethod
    def _typename(cls) -> str:
        return PROCESS_TYPE if cls is ProcessRecord else super()._typename()

    @classmethod
    def create(cls: Type[R], task: TaskRecord, args: Iterable[Any] = (),
               kwargs: Optional[Dict[str, Any]] = None) -> R:
        process = cls(f"{SYSTEM_NS}/process.{_uuid.uuid4().hex}")
        process.update(status=ProcessStatus.created.value, task=task.task_name,
                       args=list(args), kwargs=dict(kwargs or {}), created=time.time(),
                       pid=None, result=None, error=None, traceback=None)
        return process

    @property
    def pid(self) -> Optional[int]:
        """Pid of the worker that ran (or runs) it."""
        pid = self.get("pid")
        return None if pid is None else int(pid)

    @property
    def result(self) -> Any:
        """The task's return value once finished (None before)."""
        return self.get("result")

    @property
    def error(self) -> Optional[str]:
        """``"ExceptionType: message"`` of a failed or crashed run."""
        return cast(Optional[str], self.get("error"))

    @property
    def traceback(self) -> Optional[str]:
        """The formatted traceback of a failed run."""
        return cast(Optional[str], self.get("traceback"))
