"""PersistentList: a list whose items live in the pool.

Each mutation is one transaction (or joins the running one): after a crash
the list is as before or as after it, never in between.  Operations that
make a new list (``+``, ``*``, slicing, ``copy``) return a plain ``list``.
"""
from __future__ import annotations

import operator
import reprlib
import sys
from collections.abc import MutableSequence
from typing import Any, Callable, Iterable, Iterator, List, Optional

from . import _binding as b
from ._binding import check, ffi, lib
from .container import PersistentContainer, require_pool
from .typetable import register_builtin

_K_INT = b.K_INT


class PersistentList(PersistentContainer, MutableSequence[Any]):
    """A persistent ``list``.  Create it with ``pool.new(PersistentList,
    iterable)``, or store a plain list in a persistent container."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
    _p_type = b.T_LIST
    _p_layout = b.L_LIST

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        require_pool(self)
        if iterable:
            self.extend(iterable)

    # -- reading ---------------------------------------------------------

    def __len__(self) -> int:
        return self._p_len()

    def _get(self, i: int) -> Any:
        try:
            o = lib.pmo_list_get(self._p_h, self._p_off, i)
        except OverflowError:
            raise IndexError("cannot fit 'int' into an index-sized integer") from None
        if o.status:
            if o.status == b.EINDEX:
                raise IndexError("list index out of range")
            check(o.status)
        return self._p_mm.value(o)

    def __getitem__(self, i: Any) -> Any:
        if type(i) is int:
            try:
                o = lib.pmo_list_get(self._p_h, self._p_off, i)
            except OverflowError:
                return self._get(i)
            if o.status == 0:
                return o.i if o.kind == _K_INT else self._p_mm.value(o)
            return self._get(i)
        if isinstance(i, slice):
            return [self._get(k) for k in range(*i.indices(len(self)))]
        return self._get(self._index(i))

    @staticmethod
    def _index(i: Any, overflow: type = IndexError) -> int:
        """*i* as an index; an int beyond 64 bits raises *overflow*, as list
        does (IndexError for items, OverflowError for insert and pop)."""
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"list indices must be integers or slices, not "
                            f"{type(i).__name__}") from None
        if -sys.maxsize - 1 <= i <= sys.maxsize:
            return int(i)
        if overflow is IndexError:
            raise IndexError("cannot fit 'int' into an index-sized integer")
        raise OverflowError("Python int too large to convert to C ssize_t")

    def __iter__(self) -> Iterator[Any]:
        h, off, value = self._p_h, self._p_off, self._p_mm.value
        i = 0
        while True:
            o = lib.pmo_list_get(h, off, i)
            if o.status:
                if o.status == b.EINDEX:
                    return
                check(o.status)
            yield o.i if o.kind == _K_INT else value(o)
            i += 1

    def __reversed__(self) -> Iterator[Any]:
        i = len(self) - 1
        while i >= 0:
            try:
                yield self._get(i)
            except IndexError:
                return
            i = min(i - 1, len(self) - 1)

    def __contains__(self, x: Any) -> bool:
        return any(v is x or v == x for v in self)

    def index(self, x: Any, start: int = 0, stop: int = sys.maxsize) -> int:
        """First index of *x* in ``self[start:stop]``; ValueError if absent."""
        n = len(self)
        for i in range(*slice(start, stop).indices(n)):
            v = self._get(i)
            if v is x or v == x:
                return i
        raise ValueError(f"{x!r} is not in list")

    def count(self, x: Any) -> int:
        """Number of items equal to *x*."""
        return sum(1 for v in self if v is x or v == x)

    def copy(self) -> List[Any]:
        """A shallow copy, as a plain list."""
        return list(self)

    # -- writing ------------------------------------------------------------

    def append(self, value: Any) -> None:
        """Add *value* at the end."""
        mm = self._p_mm
        enc = mm.encode(value)
        if enc is None:
            mm.store(lib.pmo_list_append, value, self._p_off)
            return
        st = lib.pmo_list_append(self._p_h, self._p_off, *enc)
        if st:
            mm.finish_write(st)

    def _p_counting_append(self, counter: Any, counter_key: str) -> Callable[[Any], None]:
        """Versioned appends: a function ``append(value)`` that also counts
        each append in the int ``counter[counter_key]`` (a PersistentDict),
        as one atomic step: one C call for simple values."""
        h, off, mm = self._p_h, self._p_off, self._p_mm
        c = counter._p_counter(counter_key)
        append = lib.pmo_list_append_counted

        def append_counted(value: Any) -> None:
            enc = mm.encode(value)
            if enc is not None:
                st = append(h, off, *enc, c)
                if st:
                    mm.finish_write(st)
                return
            mm.check_storable(value)
            with mm.transaction():
                self.append(value)
                counter.increment(counter_key)

        return append_counted

    def insert(self, i: int, value: Any) -> None:
        """Insert *value* before index *i* (clamped like ``list.insert``)."""
        self._p_mm.store(lib.pmo_list_insert, value, self._p_off,
                          self._index(i, OverflowError))

    def extend(self, iterable: Iterable[Any]) -> None:
        """Append every item of *iterable*, all in one transaction."""
        items = list(iterable)
        mm = self._p_mm
        mm.check_storable(*items)
        with mm.transaction():
            mm.finish_write(lib.pmo_list_reserve(self._p_h, self._p_off, len(self) + len(items)))
            for v in items:
                self.append(v)

    def __setitem__(self, i: Any, value: Any) -> None:
        if isinstance(i, slice):
            self._set_slice(i, value)
            return
        i = self._index(i)
        mm = self._p_mm
        enc = mm.encode(value)
        if enc is None:
            mm.check_storable(value)
            with mm.transaction():
                st = lib.pmo_list_set(self._p_h, self._p_off, i, *mm.build(value))
        else:
            st = lib.pmo_list_set(self._p_h, self._p_off, i, *enc)
        if st == b.EINDEX:
            raise IndexError("list assignment index out of range")
        mm.finish_write(st)

    def _set_slice(self, s: slice, value: Any) -> None:
        try:
            items = list(value)
        except TypeError:
            raise TypeError("can only assign an iterable") from None
        mm = self._p_mm
        mm.check_storable(*items)
        with mm.transaction():
            start, stop, step = s.indices(len(self))
            if step == 1:
                stop = max(start, stop)
                self._delete(start, stop)
                mm.finish_write(lib.pmo_list_reserve(self._p_h, self._p_off,
                                               len(self) + len(items)))
                for k, v in enumerate(items):
                    self.insert(start + k, v)
                return
            targets = range(start, stop, step)
            if len(targets) == len(items):
                for k, v in zip(targets, items):
                    self[k] = v
                return
        raise ValueError(f"attempt to assign sequence of size {len(items)} to "
                         f"extended slice of size {len(targets)}")

    def _delete(self, start: int, stop: int) -> None:
        self._p_mm.finish_write(lib.pmo_list_delete(self._p_h, self._p_off, start, stop))

    def __delitem__(self, i: Any) -> None:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                self._delete(start, max(start, stop))
                return
            with self._p_mm.transaction():
                for k in sorted(range(start, stop, step), reverse=True):
                    self._delete(k, k + 1)
            return
        i = self._index(i)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("list assignment index out of range")
        self._delete(i, i + 1)

    def pop(self, i: int = -1) -> Any:
        """Remove and return the item at *i* (default last)."""
        i = self._index(i, OverflowError)
        # errors are raised after the block, so that they leave an
        # enclosing transaction usable, as in remove()
        with self._p_mm.transaction():
            n = len(self)
            k = i + n if i < 0 else i
            if 0 <= k < n:
                value = self._get(k)
                self._delete(k, k + 1)
                return value
        raise IndexError("pop from empty list" if n == 0 else "pop index out of range")

    def remove(self, x: Any) -> None:
        """Remove the first item equal to *x*; ValueError if absent."""
        with self._p_mm.transaction():
            for i, v in enumerate(self):
                if v is x or v == x:
                    self._delete(i, i + 1)
                    return
        raise ValueError("list.remove(x): x not in list")

    def clear(self) -> None:
        """Remove every item."""
        self._delete(0, len(self))

    def _permute(self, order: List[int]) -> None:
        n = len(order)
        perm = ffi.new("int64_t[]", max(n, 1))
        perm[0:n] = order
        self._p_mm.finish_write(lib.pmo_list_permute(self._p_h, self._p_off, perm, n))

    def reverse(self) -> None:
        """Reverse in place (no item is copied or re-counted)."""
        self._permute(list(range(len(self) - 1, -1, -1)))

    def sort(self, *, key: Optional[Callable[[Any], Any]] = None,
             reverse: bool = False) -> None:
        """Sort in place, stably, as ``list.sort``."""
        with self._p_mm.transaction():
            values = list(self)
            try:
                keys = values if key is None else [key(v) for v in values]
                order = sorted(range(len(values)), key=keys.__getitem__, reverse=reverse)
            except Exception as e:
                error = e
            else:
                self._permute(order)
                return
        # raised after the block (nothing was written): an enclosing
        # transaction stays usable
        raise error

    # -- operators ----------------------------------------------------------------

    def __iadd__(self, other: Iterable[Any]) -> "PersistentList":  # type: ignore[misc]
        self.extend(other)
        return self

    def __add__(self, other: Any) -> List[Any]:
        if isinstance(other, (list, PersistentList)):
            return list(self) + list(other)
        return NotImplemented

    def __radd__(self, other: Any) -> List[Any]:
        if isinstance(other, list):
            return other + list(self)
        return NotImplemented

    def __mul__(self, n: Any) -> List[Any]:
        try:
            return list(self) * operator.index(n)
        except TypeError:
            return NotImplemented

    __rmul__ = __mul__

    def __imul__(self, n: Any) -> "PersistentList":
        try:
            n = operator.index(n)
        except TypeError:
            return NotImplemented
        with self._p_mm.transaction():
            if n <= 0:
                self.clear()
            else:
                self.extend(list(self) * (n - 1))
        return self

    def _cmp(self, other: Any, op: Callable[[Any, Any], bool]) -> Any:
        if isinstance(other, (list, PersistentList)):
            return op(list(self), list(other))
        return NotImplemented

    def __eq__(self, other: Any) -> Any:
        if other is self:
            return True
        return self._cmp(other, operator.eq)

    def __ne__(self, other: Any) -> Any:
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __lt__(self, other: Any) -> Any:
        return self._cmp(other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return self._cmp(other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return self._cmp(other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return self._cmp(other, operator.ge)

    @reprlib.recursive_repr("[...]")
    def __repr__(self) -> str:
        return "[" + ", ".join(repr(v) for v in self) + "]"


register_builtin(b.T_LIST, PersistentList, converts=list)
