"""PersistentDict: an insertion-ordered dict whose entries live in the pool.

Keys follow Python's equality (``1``, ``1.0`` and ``True`` are one key) with
hashes that are the same in every process.  str, bytes, None, bools, 64-bit
ints and floats are looked up entirely in C; other keys (tuples, big ints,
frozensets, persistent objects) are found by hash in C and compared in
Python.  Each mutation is one transaction or joins the running one.
"""
from __future__ import annotations

import reprlib
from collections.abc import ItemsView, KeysView, Mapping, MutableMapping, ValuesView
from typing import Any, Callable, Dict, Iterable, Iterator, Tuple

from . import _binding as b
from ._binding import check, ffi, lib
from .container import require_pool
from .hashtable import ITEMS, KEYS, HashTable, deleted, get_str
from .typetable import register_builtin

_MISSING = object()

_K_INT = b.K_INT
_set_str_counted = lib.pmo_dict_set_str_counted
_del_counted = lib.pmo_dict_del_counted


class _KeysView(KeysView[Any]):
    def __repr__(self) -> str:
        return f"dict_keys({list(self)!r})"

    def __reversed__(self) -> Iterator[Any]:
        return iter(reversed(list(self)))


class _ValuesView(ValuesView[Any]):
    def __repr__(self) -> str:
        return f"dict_values({list(self)!r})"

    def __reversed__(self) -> Iterator[Any]:
        return iter(reversed(list(self)))


class _ItemsView(ItemsView[Any, Any]):
    def __repr__(self) -> str:
        return f"dict_items({list(self)!r})"

    def __reversed__(self) -> Iterator[Any]:
        return iter(reversed(list(self)))


class PersistentDict(HashTable, MutableMapping[Any, Any]):
    """A persistent ``dict``.  Create it with ``pool.new(PersistentDict,
    ...)`` (same arguments as ``dict``), or store a plain dict in a
    persistent container.  Operations that make a new mapping (``copy``,
    ``|``, ``fromkeys``) return a plain ``dict``."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
    _p_type = b.T_DICT

    def __init__(self, /, *args: Any, **kw: Any) -> None:
        require_pool(self)
        if len(args) > 1:
            raise TypeError(f"dict expected at most 1 argument, got {len(args)}")
        if args or kw:
            self.update(*args, **kw)

    def __len__(self) -> int:
        return self._p_len()

    def __getitem__(self, key: Any) -> Any:
        if type(key) is str:
            data = key.encode("utf-8", "surrogatepass")
            o = get_str(self._p_h, self._p_off, data, len(data))
        else:
            k = self._p_mm.encode_key(key)
            o = None if k is None else lib.pmo_dict_get(self._p_h, self._p_off, *k)
        if o is not None:
            st = o.status
            if st == 0:
                return o.i if o.kind == _K_INT else self._p_mm.value(o)
            if st == b.EKEY:
                return self.__missing__(key)
            if st != b.ENEEDCMP:
                check(st)
        pos = self._p_find_slow(key)
        if pos < 0:
            return self.__missing__(key)
        return self._p_value_at(pos)

    def __missing__(self, key: Any) -> Any:
        raise KeyError(key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._p_set(key, value)

    def __delitem__(self, key: Any) -> None:
        if not self._p_delete(key):
            raise KeyError(key)

    def __contains__(self, key: Any) -> bool:
        return self._p_contains(key)

    def __iter__(self) -> Iterator[Any]:
        return self._p_entries(KEYS)

    def __reversed__(self) -> Iterator[Any]:
        return iter(reversed(list(self._p_entries(KEYS))))

    def keys(self) -> KeysView[Any]:
        """A view of the keys (supports set operations)."""
        return _KeysView(self)

    def values(self) -> ValuesView[Any]:
        """A view of the values."""
        return _ValuesView(self)

    def items(self) -> ItemsView[Any, Any]:
        """A view of the (key, value) pairs."""
        return _ItemsView(self)

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` if present, else *default*."""
        st, o = self._p_lookup(key)
        if st == 0:
            return o.i if o.kind == _K_INT else self._p_mm.value(o)
        if st == b.EKEY:
            return default
        if st != b.ENEEDCMP:
            check(st)
        pos = self._p_find_slow(key)
        return default if pos < 0 else self._p_value_at(pos)

    def _p_counting(self, counter: "PersistentDict", counter_key: str
                    ) -> Tuple[Callable[[Any, Any], None], Callable[[Any], bool]]:
        """Versioned writes: functions ``set(key, value)`` and ``delete(key)
        -> found`` that also count each change in the int
        ``counter[counter_key]`` (a version number readers compare), as one
        atomic step: one C call for simple keys and values.  Bound once, so
        that a caller writing often pays the setup once."""
        h, off, mm = self._p_h, self._p_off, self._p_mm
        c = counter._p_counter(counter_key)

        def set_counted(key: Any, value: Any) -> None:
            if type(key) is str:
                v = mm.encode(value)
                if v is not None:
                    data = key.encode("utf-8", "surrogatepass")
                    st = _set_str_counted(h, off, data, len(data), *v, c)
                    if st != b.ENEEDCMP:
                        if st:
                            mm.finish_write(st)
                        return
            mm.check_storable(key, value)
            with mm.transaction():
                self[key] = value
                counter.increment(counter_key)

        def delete_counted(key: Any) -> bool:
            k = mm.encode_key(key)
            if k is not None:
                found = deleted(mm, _del_counted(h, off, *k, c))
                if found is not None:
                    return found
            with mm.transaction():
                if not self._p_delete(key):
                    return False
                counter.increment(counter_key)
            return True

        return set_counted, delete_counted

    def _p_counter(self, key: str) -> Any:
        """The C core's handle on the int under str *key*, which the
        ``*_counted`` calls add to (freed with the last function using it)."""
        data = key.encode("utf-8", "surrogatepass")
        c = lib.pmo_counter_new(self._p_off, data, len(data))
        if c == ffi.NULL:
            raise MemoryError("cannot allocate a counter")
        return ffi.gc(c, lib.pmo_counter_free)

    def increment(self, key: Any, delta: int = 1) -> int:
        """Add *delta* to the int stored under *key* and return the sum, as
        one atomic step (an extension of dict, for counters).  KeyError if
        the key is absent; TypeError if its value is not an int."""
        if type(key) is str and type(delta) is int and -(1 << 62) < delta < (1 << 62):
            data = key.encode("utf-8", "surrogatepass")
            o = lib.pmo_dict_add_int(self._p_h, self._p_off, data, len(data), delta)
            if o.status >= 0:
                self._p_mm.finish_write(o.status)
                return int(o.i)
            if o.status not in (b.EKEY, b.EINVAL):
                check(o.status)
        with self._p_mm.transaction():
            value = self[key]
            if type(value) is not int:
                raise TypeError(f"cannot increment a {type(value).__name__}")
            self[key] = value = value + delta
        return value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """``self[key]``, first setting it to *default* if absent."""
        hash(key)  # TypeError before the transaction
        with self._p_mm.transaction():
            pos = self._p_position(key)
            if pos < 0:
                self._p_set(key, default)
                # the stored value: a plain list default is now a PersistentList
                pos = self._p_position(key)
            return self._p_value_at(pos)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        """Remove *key* and return its value (or *default* if absent)."""
        mm = self._p_mm
        hash(key)  # TypeError before the transaction
        with mm.transaction():
            pos = self._p_position(key)
            if pos >= 0:
                value = self._p_value_at(pos)
                mm.finish_write(lib.pmo_dict_del_at(self._p_h, self._p_off, pos))
                return value
        # raised after the block: an enclosing transaction stays usable
        if default is _MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> Tuple[Any, Any]:
        """Remove and return the last inserted (key, value) pair."""
        return self._p_pop_last()

    def clear(self) -> None:
        """Remove every entry."""
        self._p_clear()

    def update(self, other: Any = (), /, **kw: Any) -> None:
        """Update from a mapping or (key, value) pairs, then from *kw*, all
        in one transaction.  Bad input raises before anything changes."""
        if isinstance(other, Mapping) or hasattr(other, "keys"):
            keys = self._p_hashed(other.keys())
            pairs = [(k, other[k]) for k in keys]
        else:
            pairs = []
            for i, pair in enumerate(other):
                try:
                    k, v = pair
                except (TypeError, ValueError):
                    try:
                        n = len(pair)
                    except TypeError:
                        raise TypeError(
                            f"cannot convert dictionary update sequence "
                            f"element #{i} to a sequence") from None
                    raise ValueError(
                        f"dictionary update sequence element #{i} has "
                        f"length {n}; 2 is required") from None
                hash(k)
                pairs.append((k, v))
        self._p_mm.check_storable(*pairs, *kw.items())
        with self._p_mm.transaction():
            for k, v in pairs:
                self._p_set(k, v)
            for k, v in kw.items():
                self._p_set(k, v)

    def copy(self) -> Dict[Any, Any]:
        """A shallow copy, as a plain dict."""
        return dict(self._p_entries(ITEMS))

    @classmethod
    def fromkeys(cls, iterable: Iterable[Any], value: Any = None) -> Dict[Any, Any]:
        """A plain dict with keys from *iterable*, each set to *value*
        (persistent dicts are made by a pool: ``pool.new``)."""
        return dict.fromkeys(iterable, value)

    def __or__(self, other: Any) -> Any:
        if not isinstance(other, (dict, PersistentDict)):
            return NotImplemented
        d = self.copy()
        d.update(other.items())
        return d

    def __ror__(self, other: Any) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        d = dict(other)
        d.update(self._p_entries(ITEMS))
        return d

    def __ior__(self, other: Any) -> "PersistentDict":
        self.update(other)
        return self

    def __eq__(self, other: Any) -> Any:
        if other is self:
            return True
        if isinstance(other, Mapping):
            return self.copy() == dict(other.items())
        return NotImplemented

    def __ne__(self, other: Any) -> Any:
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    @reprlib.recursive_repr("{...}")
    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self._p_entries(ITEMS)) + "}"


register_builtin(b.T_DICT, PersistentDict, converts=dict)
