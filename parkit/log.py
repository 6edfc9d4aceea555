"""Log (append-only Sequence) and Array (append-only list with a few list
mutations), shared by every process."""
from __future__ import annotations

import operator
import time
from collections.abc import Sequence
from typing import Any, Iterable, Iterator, List, Optional

import pmemobj

from .object import _RETRY_ERRORS, _SCALARS, DETACHED, Object


def _get(e: Any, d: Any, i: Any) -> Any:
    return d[i]


class Log(Object, Sequence[Any]):
    """An append-only sequence: ``Log("ns/name")``."""

    _container = "list"
    _dynamic_attributes = False   # hot calls read attributes fast

    # append, [i] and len are quick calls (see Object)

    def _resolved(self, entry: Any, data: Any) -> None:
        super()._resolved(entry, data)
        self._push = (
            data.append if not self._versioned or data is DETACHED
            else data._p_counting_append(entry, "version"))

    def append(self, value: Any) -> None:
        """Add *value* at the end."""
        try:
            self._push(value)
            return
        except _RETRY_ERRORS:
            pass
        except pmemobj.PoolFullError as e:
            raise self._full(e) from e
        self._write(lambda e, d: d.append(value))

    def extend(self, values: Iterable[Any]) -> None:
        """Add every item of *values*, atomically."""
        items = list(values)
        self._write(lambda e, d: d.extend(items))

    def __getitem__(self, i: Any) -> Any:
        if type(i) is int:
            try:
                value = self._data[i]
            except _RETRY_ERRORS:
                pass
            else:
                t = type(value)
                if t is int or t is str or t in _SCALARS:
                    return value
        elif not isinstance(i, slice):
            operator.index(i)
        return self._read(_get, i)

    __len__ = Object._data_len

    def __iter__(self) -> Iterator[Any]:
        return iter(self._read(lambda e, d: list(d)))

    def to_list(self) -> List[Any]:
        """A plain list copy, read in one consistent step."""
        return list(self._read(lambda e, d: list(d)))

    def wait(self, length: int, timeout: Optional[float] = None) -> bool:
        """Block until the log holds at least *length* items (True) or
        *timeout* seconds pass (False).  Sleeps; wakes when any process
        appends."""
        h = self._handle
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            seen = h.changes()
            if len(self) >= length:
                return True
            if not h.wait_change(seen, deadline):
                return len(self) >= length

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Log):
            return Object.__eq__(self, other) or self.to_list() == other.to_list()
        if isinstance(other, (list, tuple)):
            return self.to_list() == list(other)
        return NotImplemented

    __hash__ = Object.__hash__


class Array(Log):
    """An append-only list that also allows replacing items, popping the
    last one and clearing: ``Array("ns/name")``."""

    def __setitem__(self, i: Any, value: Any) -> None:
        def assign(e: Any, d: Any) -> None:
            if isinstance(i, slice):
                values = list(value)
                if len(range(*i.indices(len(d)))) != len(values):
                    raise ValueError("an Array slice assignment cannot change its length")
                d[i] = values
            else:
                d[i] = value
        self._write(assign)

    def pop(self) -> Any:
        """Remove and return the last item."""
        return self._write(lambda e, d: d.pop())

    def clear(self) -> None:
        """Remove every item."""
        self._write(lambda e, d: d.clear())

    def index(self, value: Any, start: int = 0, stop: Optional[int] = None) -> int:
        """First index of *value* (in ``start:stop``); ValueError if absent."""
        return int(self._read(lambda e, d: d.index(value, start, *(() if stop is None else (stop,)))))

    def count(self, value: Any) -> int:
        """Number of items equal to *value*."""
        return int(self._read(lambda e, d: d.count(value)))
