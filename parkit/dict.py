"""Dict: a persistent MutableMapping shared by every process."""
from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Iterator, Tuple
from typing import Dict as DictType

import pmemobj

from .object import _MISSING, _RETRY, _RETRY_ERRORS, _SCALARS, DETACHED, Object


def _get(e: Any, d: Any, key: Any) -> Any:
    return d.get(key, _MISSING)


def _set(e: Any, d: Any, key: Any, value: Any) -> None:
    d[key] = value


def _delete(e: Any, d: Any, key: Any) -> bool:
    if key not in d:
        return False
    del d[key]
    return True


class Dict(Object, MutableMapping[Any, Any]):
    """A dictionary stored at a path: ``Dict("ns/name")``.  Each call is
    atomic; group calls with ``parkit.transaction(d)``."""

    _container = "dict"
    _dynamic_attributes = False   # hot calls read attributes fast

    # [], []=, del, in, len and get are quick calls (see Object): one
    # pmemobj call on the resolved container, which joins the thread's
    # transaction if one runs.

    def _resolved(self, entry: Any, data: Any) -> None:
        # the writers of the fast path, bound once: counting versions or not
        super()._resolved(entry, data)
        if not self._versioned or data is DETACHED:
            self._store, self._remove = data._p_set, data._p_delete
        else:
            self._store, self._remove = data._p_counting(entry, "version")

    def __getitem__(self, key: Any) -> Any:
        try:
            value = self._data[key]
        except _RETRY_ERRORS:
            pass
        else:
            t = type(value)   # int and str first: a set lookup costs 10% of a get
            if t is int or t is str or t in _SCALARS:
                return value
            # a container: copied out below, held, in one consistent step
            # (or returned live in a zero-copy context)
        value = self._read(_get, key)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            self._store(key, value)
            return
        except _RETRY_ERRORS:
            pass
        except pmemobj.PoolFullError as e:
            raise self._full(e) from e
        self._write(_set, key, value)

    def __delitem__(self, key: Any) -> None:
        try:
            found = self._remove(key)
        except _RETRY_ERRORS:
            found = _RETRY
        except pmemobj.PoolFullError as e:   # freeing needs log space
            raise self._full(e) from e
        if found is _RETRY:   # (outside the except: no chained traceback)
            found = self._write(_delete, key)
        if not found:
            raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        try:
            return key in self._data
        except _RETRY_ERRORS:
            pass
        return bool(self._read(lambda e, d: key in d))

    __len__ = Object._data_len

    def __iter__(self) -> Iterator[Any]:
        # a consistent list of the keys at this moment
        return iter(self._read(lambda e, d: list(d)))

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` if present, else *default*."""
        value = self._quick_get(self._data, key, _get)
        return default if value is _MISSING else value

    def items(self) -> Any:
        """The (key, value) pairs, read in one consistent step."""
        return self._read(lambda e, d: list(d.items()))

    def values(self) -> Any:
        """The values, read in one consistent step."""
        return self._read(lambda e, d: list(d.values()))

    def keys(self) -> Any:
        """The keys, read in one consistent step."""
        return self._read(lambda e, d: list(d))

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove *key* and return its value (or *default*, if given, when absent)."""
        value = self._write(lambda e, d: d.pop(key, _MISSING))
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return value

    def popitem(self) -> Tuple[Any, Any]:
        """Remove and return the newest (key, value) pair; KeyError if empty."""
        key, value = self._write(lambda e, d: d.popitem())
        return key, value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``self[key]``, first setting it to *default* if absent (atomically)."""
        return self._write(lambda e, d: d.setdefault(key, default))

    def update(self, other: Any = (), /, **kw: Any) -> None:
        """Update from a mapping or pairs, then *kw*, in one transaction."""
        self._write(lambda e, d: d.update(other, **kw))

    def clear(self) -> None:
        """Remove every entry."""
        self._write(lambda e, d: d.clear())

    def to_dict(self) -> DictType[Any, Any]:
        """A plain dict copy, read in one consistent step."""
        return dict(self._read(lambda e, d: dict(d.items())))

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Dict):
            return Object.__eq__(self, other) or self.to_dict() == other.to_dict()
        if isinstance(other, MutableMapping) or isinstance(other, dict):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = Object.__hash__
