"""PersistentTuple: an immutable sequence stored in the pool.

Plain tuples are stored natively and come back as tuples; a
PersistentTuple is for when one tuple should be one shared persistent
object.  It equals, hashes and orders like the tuple of its items.
"""
from __future__ import annotations

import operator
import reprlib
import sys
from collections.abc import Sequence
from typing import Any, Callable, Iterable, Iterator, Tuple

from . import _binding as b
from ._binding import check, lib
from .container import PersistentContainer, require_pool
from .typetable import register_builtin


class PersistentTuple(PersistentContainer, Sequence[Any]):
    """A persistent ``tuple``: ``pool.new(PersistentTuple, iterable)``."""

    __slots__ = ()
    _p_type = b.T_PTUPLE
    _p_layout = b.L_TUPLE
    _p_hash_as = tuple

    def _p_new(self, manager: Any) -> None:
        # the size is known only in __init__, which allocates the object
        self._p_mm = manager

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        require_pool(self)
        if getattr(self, "_p_off", None) is not None:
            raise TypeError("PersistentTuple is immutable")
        mm = self._p_mm
        with mm.transaction():
            off = mm.new_tuple(b.T_PTUPLE, tuple(iterable), 0)
        self._p_attach(mm, off)

    def __len__(self) -> int:
        return self._p_len()

    def _get(self, i: int) -> Any:
        try:
            o = lib.pmo_tuple_get(self._p_h, self._p_off, i)
        except OverflowError:
            raise IndexError("cannot fit 'int' into an index-sized integer") from None
        if o.status:
            if o.status == b.EINDEX:
                raise IndexError("tuple index out of range")
            check(o.status)
        return self._p_mm.value(o)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self._get(k) for k in range(*i.indices(len(self))))
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"tuple indices must be integers or slices, not "
                            f"{type(i).__name__}") from None
        return self._get(i)

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self._get(i)

    def _plain(self) -> Tuple[Any, ...]:
        return tuple(self)

    def __contains__(self, x: Any) -> bool:
        return any(v is x or v == x for v in self)

    def index(self, x: Any, start: int = 0, stop: int = sys.maxsize) -> int:
        """First index of *x* in ``self[start:stop]``; ValueError if absent."""
        for i in range(*slice(start, stop).indices(len(self))):
            v = self._get(i)
            if v is x or v == x:
                return i
        raise ValueError("tuple.index(x): x not in tuple")

    def count(self, x: Any) -> int:
        """Number of items equal to *x*."""
        return sum(1 for v in self if v is x or v == x)

    def __hash__(self) -> int:
        return hash(self._plain())

    def _cmp(self, other: Any, op: Callable[[Any, Any], bool]) -> Any:
        if isinstance(other, (tuple, PersistentTuple)):
            return op(self._plain(), tuple(other))
        return NotImplemented

    def __eq__(self, o: Any) -> Any: return True if o is self else self._cmp(o, operator.eq)

    def __ne__(self, o: Any) -> Any:
        r = self.__eq__(o)
        return r if r is NotImplemented else not r

    def __lt__(self, o: Any) -> Any: return self._cmp(o, operator.lt)
    def __le__(self, o: Any) -> Any: return self._cmp(o, operator.le)
    def __gt__(self, o: Any) -> Any: return self._cmp(o, operator.gt)
    def __ge__(self, o: Any) -> Any: return self._cmp(o, operator.ge)

    def __add__(self, other: Any) -> Any:
        if isinstance(other, (tuple, PersistentTuple)):
            return self._plain() + tuple(other)
        return NotImplemented

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, tuple):
            return other + self._plain()
        return NotImplemented

    def __mul__(self, n: Any) -> Any:
        try:
            return self._plain() * operator.index(n)
        except TypeError:
            return NotImplemented

    __rmul__ = __mul__

    @reprlib.recursive_repr("(...)")
    def __repr__(self) -> str:
        return repr(self._plain())


register_builtin(b.T_PTUPLE, PersistentTuple)
