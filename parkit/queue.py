"""Queue and LifoQueue: the queue.Queue interface over shared storage.

Items sit in a dict keyed by sequence number between a head and a tail
counter, so put and get are O(1).  A blocked get or put sleeps until any
process changes the namespace, then retries.
"""
from __future__ import annotations

import queue as _queue
import time
from typing import Any, Dict, Optional

from .object import UNCHANGED, Object

Empty = _queue.Empty
Full = _queue.Full


class Queue(Object):
    """A FIFO queue: ``Queue("ns/name", maxsize=0)``; *maxsize* counts
    only when the queue is created (0 or less: unbounded)."""

    _container = "dict"
    _dynamic_attributes = False   # hot calls read attributes fast
    _lifo = False

    def __init__(self, path: str, /, maxsize: int = 0, *, create: bool = True,
                 bind: bool = True, versioned: bool = True):
        if not isinstance(maxsize, int):
            raise TypeError(f"maxsize is an int, not {type(maxsize).__name__}")
        self._maxsize_new = maxsize
        super().__init__(path, create=create, bind=bind, versioned=versioned)

    def _initial_entry(self) -> Dict[str, Any]:
        return {"head": 0, "tail": 0, "maxsize": self._maxsize_new, "unfinished": 0}

    @property
    def maxsize(self) -> int:
        """Most items the queue holds (0 or less: unbounded), fixed at creation."""
        return int(self._read(lambda e, d: e["maxsize"]))

    def qsize(self) -> int:
        """Number of items queued."""
        return int(self._read(lambda e, d: e["tail"] - e["head"]))

    def empty(self) -> bool:
        """True if no item is queued (may change at once under other processes)."""
        return self.qsize() == 0

    def full(self) -> bool:
        """True if a bounded queue holds maxsize items."""
        return bool(self._read(lambda e, d: 0 < e["maxsize"] <= e["tail"] - e["head"]))

    def _try_put(self, e: Any, d: Any, item: Any) -> Any:
        tail = e["tail"]
        if 0 < e["maxsize"] <= tail - e["head"]:
            return UNCHANGED
        d[tail] = item
        e["tail"] = tail + 1
        e["unfinished"] += 1
        return None

    def _try_get(self, e: Any, d: Any) -> Any:
        head, tail = e["head"], e["tail"]
        if head == tail:
            return UNCHANGED
        if self._lifo:
            e["tail"] = tail - 1
            return d.pop(tail - 1)
        e["head"] = head + 1
        return d.pop(head)

    def _blocking(self, attempt: Any, block: bool, timeout: Optional[float],
                  failure: type) -> Any:
        if block and timeout is not None and timeout < 0:   # (as queue.Queue)
            raise ValueError("'timeout' must be a non-negative number")
        deadline = None if timeout is None else time.monotonic() + timeout
        h = self._handle
        while True:
            seen = h.changes()
            result = attempt()
            if result is not UNCHANGED:
                return result
            if not block or not h.wait_change(seen, deadline):
                raise failure

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Add *item*; if the queue is full, wait (up to *timeout*) or raise
        queue.Full."""
        self._blocking(lambda: self._write(self._try_put, item), block, timeout, Full)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """Remove and return an item; if empty, wait (up to *timeout*) or
        raise queue.Empty.  Wakes when any process puts."""
        return self._blocking(lambda: self._write(self._try_get), block, timeout, Empty)

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``."""
        self.put(item, block=False)

    def get_nowait(self) -> Any:
        """``get(block=False)``."""
        return self.get(block=False)

    def task_done(self) -> None:
        """Mark one item fetched with get() as processed."""
        def done(e: Any, d: Any) -> None:
            if e["unfinished"] <= 0:
                raise ValueError("task_done() called too many times")
            e["unfinished"] -= 1
        self._write(done)

    def join(self, timeout: Optional[float] = None) -> bool:
        """Block until every item put was marked done (True), or *timeout*
        passes (False)."""
        h = self._handle
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            seen = h.changes()
            if self._read(lambda e, d: e["unfinished"]) == 0:
                return True
            if not h.wait_change(seen, deadline):
                return False


class LifoQueue(Queue):
    """Like Queue, but get() returns the most recently put item."""

    _lifo = True

