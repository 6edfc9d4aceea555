"""Schedulers: when to run a task again.

A schedule (task, arguments, scheduler state, runs so far, next time) is
stored in the system namespace; idle pool workers fire the due ones, each
exactly once, inside a transaction.
"""
from __future__ import annotations

import datetime
import enum
import math
import time
import uuid as _uuid
from typing import Any, Dict, Optional, Tuple

from pmemobj import qualname

from .context import transaction
from .dict import Dict as PDict
from .records import SYSTEM_NS, ProcessRecord, TaskRecord, ready_queue, task_path
from .workerpool import ensure_workers

SCHEDULES = f"{SYSTEM_NS}/schedules"


class Frequency(enum.Enum):
    """Units of a Periodic period, in seconds."""

    Second = 1
    Minute = 60
    Hour = 3600
    Day = 86400
    Week = 604800


class Scheduler:
    """Base class of schedulers.  Subclasses implement :meth:`next_run` and
    :meth:`state` (keyword arguments that rebuild an equal scheduler)."""

    def next_run(self, after: float, count: int) -> Optional[float]:
        """Time (epoch seconds) of the run after *after*, given *count* runs
        so far; None when there are no more runs."""
        raise NotImplementedError

    def state(self) -> Dict[str, Any]:
        """Keyword arguments that rebuild an equal scheduler (stored with the schedule)."""
        raise NotImplementedError

    def first_run(self) -> Optional[float]:
        """Time of the first run (epoch seconds), or None for none."""
        return self.next_run(time.time(), 0)


class Periodic(Scheduler):
    """Runs a task every *period* *frequency* units from *start* (default
    now), at most *max_times* times (default forever)."""

    def __init__(self, frequency: Frequency = Frequency.Second, period: float = 1,
                 start: Optional[datetime.datetime] = None, max_times: Optional[int] = None):
        if isinstance(frequency, str):
            frequency = Frequency[frequency]
        if period <= 0:
            raise ValueError("period must be positive")
        if max_times is not None and max_times < 0:
            raise ValueError("max_times must be >= 0")
        self.frequency = frequency
        self.period = period
        self.start = start or datetime.datetime.now(datetime.timezone.utc)
        self.max_times = max_times

    @property
    def interval(self) -> float:
        """Seconds between runs."""
        return self.frequency.value * self.period

    def next_run(self, after: float, count: int) -> Optional[float]:
        """The first start + k * interval after *after*; None after
        max_times runs."""
        if self.max_times is not None and count >= self.max_times:
            return None
        start = self.start.timestamp()
        if after < start:
            return start
        steps = math.floor((after - start) / self.interval) + 1
        return start + steps * self.interval

    def first_run(self) -> Optional[float]:
        """The start time, or now if it has passed (None for max_times=0)."""
        if self.max_times == 0:
            return None
        start = self.start.timestamp()
        return max(start, time.time())

    def state(self) -> Dict[str, Any]:
        """Frequency, period, start and max_times, for from_state()."""
        return {"frequency": self.frequency.name, "period": self.period,
                "start": self.start.timestamp(), "max_times": self.max_times}

    @classmethod
    def from_state(cls, state: Dict[str, Any]) -> "Periodic":
        """The Periodic that state() described."""
        start = datetime.datetime.fromtimestamp(state["start"], datetime.timezone.utc)
        return cls(Frequency[state["frequency"]], state["period"], start, state["max_times"])


def _rebuild(path: str, state: Dict[str, Any]) -> Scheduler:
    cls = qualname.resolve(path)
    if hasattr(cls, "from_state"):
        return cls.from_state(state)  # type: ignore[no-any-return]
    return cls(**state)  # type: ignore[no-any-return]


def add_schedule(task: TaskRecord, scheduler: Scheduler, args: Tuple[Any, ...],
                 kwargs: Dict[str, Any]) -> str:
    if not isinstance(scheduler, Scheduler):
        raise TypeError("a schedule needs a Scheduler")
    sid = _uuid.uuid4().hex
    schedules = PDict(SCHEDULES)
    cls = type(scheduler)
    schedules[sid] = {"task": task.task_name, "args": list(args), "kwargs": dict(kwargs),
                      "scheduler": qualname.name_of(cls),
                      "state": scheduler.state(), "count": 0, "next": scheduler.first_run()}
    ensure_workers()
    return sid


def cancel_schedule(sid: str) -> bool:
    """Stop a schedule; False if it had ended already."""
    return PDict(SCHEDULES).pop(sid, None) is not None


def fire_due(now: Optional[float] = None) -> int:
    """Submit every due run; returns how many."""
    schedules = PDict(SCHEDULES)
    now = time.time() if now is None else now
    fired = 0
    queue = ready_queue()
    with transaction(schedules):
        for sid, entry in schedules.items():
            if entry["next"] is None:
                del schedules[sid]
                continue
            if entry["next"] > now:
                continue
            task = TaskRecord(task_path(entry["task"]), create=False)
            process = ProcessRecord.create(task, entry["args"], entry["kwargs"])
            process.update(status="submitted", submitted=now, schedule=sid)
            queue.put(process.path)
            count = entry["count"] + 1
            nxt = _rebuild(entry["scheduler"], entry["state"]).next_run(now, count)
            if nxt is None:
                del schedules[sid]
            else:
                schedules[sid] = {**entry, "count": count, "next": nxt}
            fired += 1
    return fired
