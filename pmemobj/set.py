"""PersistentSet and PersistentFrozenSet: sets whose members live in the pool.

They are hash tables with no values, sharing the dict's key handling.
Operations that make a new set (``|``, ``&``, ``-``, ``^``, ``union``,
``copy`` ...) return a plain ``set`` or ``frozenset``.
"""
from __future__ import annotations

import reprlib
from collections.abc import MutableSet, Set
from typing import Any, Iterable, Iterator

from . import _binding as b
from ._binding import lib
from .container import require_pool
from .hashtable import KEYS, HashTable
from .typetable import register_builtin
from .values import EMPTY_IN


def _as_key(x: Any) -> Any:
    """A set looked up as a member is the frozenset of its items, as
    ``set.__contains__``, ``remove`` and ``discard`` do."""
    return frozenset(x) if type(x) is set or isinstance(x, PersistentSet) else x


class _SetBase(HashTable):
    __slots__ = ()
    _p_kind = "Set"
    _p_builtin: type = frozenset

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        require_pool(self)
        with self._p_mm.transaction():
            for x in iterable:
                self._add(x)

    def _add(self, x: Any) -> None:
        mm = self._p_mm
        k = mm.encode_key(x)
        if k is not None:
            st = lib.pmo_dict_set(self._p_h, self._p_off, *k, *EMPTY_IN)
            if st != b.ENEEDCMP:
                mm.finish_write(st)
                return
        # checked before the transaction: an unhashable or unstorable member
        # is a TypeError that leaves an enclosing transaction usable
        hash_ = mm.stable_hash(x)
        mm.check_storable(x)
        with mm.transaction():
            if (self._p_find_slow(x, hash_) if k is None else self._p_position(x)) < 0:
                mm.finish_write(lib.pmo_dict_insert_new(
                    self._p_h, self._p_off, hash_, *mm.build(x), *EMPTY_IN))

    def __len__(self) -> int:
        return self._p_len()

    def __iter__(self) -> Iterator[Any]:
        return self._p_entries(KEYS)

    def __contains__(self, x: Any) -> bool:
        return self._p_contains(_as_key(x))

    def _plain(self) -> Any:
        return self._p_builtin(self._p_entries(KEYS))

    def copy(self) -> Any:
        """A shallow copy, as a plain set or frozenset."""
        return self._plain()

    def union(self, *others: Iterable[Any]) -> Any:
        return self._plain().union(*others)

    def intersection(self, *others: Iterable[Any]) -> Any:
        return self._plain().intersection(*others)

    def difference(self, *others: Iterable[Any]) -> Any:
        return self._plain().difference(*others)

    def symmetric_difference(self, other: Iterable[Any]) -> Any:
        return self._plain().symmetric_difference(other)

    def issubset(self, other: Iterable[Any]) -> bool:
        return bool(self._plain().issubset(other))

    def issuperset(self, other: Iterable[Any]) -> bool:
        return all(x in self for x in other)

    def isdisjoint(self, other: Iterable[Any]) -> bool:
        return not any(x in self for x in other)

    @staticmethod
    def _setlike(other: Any) -> bool:
        return isinstance(other, (set, frozenset, _SetBase))

    def _binop(self, other: Any, op: str) -> Any:
        if not self._setlike(other):
            return NotImplemented
        return getattr(self._plain(), op)(other if isinstance(other, (set, frozenset))
                                          else frozenset(other))

    def __or__(self, o: Any) -> Any: return self._binop(o, "__or__")
    def __and__(self, o: Any) -> Any: return self._binop(o, "__and__")
    def __sub__(self, o: Any) -> Any: return self._binop(o, "__sub__")
    def __xor__(self, o: Any) -> Any: return self._binop(o, "__xor__")

    def __ror__(self, o: Any) -> Any:
        return NotImplemented if not self._setlike(o) else type(o)(o) | self._plain()

    def __rand__(self, o: Any) -> Any:
        return NotImplemented if not self._setlike(o) else type(o)(o) & self._plain()

    def __rsub__(self, o: Any) -> Any:
        return NotImplemented if not self._setlike(o) else type(o)(o) - self._plain()

    def __rxor__(self, o: Any) -> Any:
        return NotImplemented if not self._setlike(o) else type(o)(o) ^ self._plain()

    def _cmp(self, other: Any, op: str) -> Any:
        if not self._setlike(other):
            return NotImplemented
        return getattr(frozenset(self._p_entries(KEYS)), op)(frozenset(other))

    def __eq__(self, o: Any) -> Any: return True if o is self else self._cmp(o, "__eq__")

    def __ne__(self, o: Any) -> Any:
        r = self.__eq__(o)
        return r if r is NotImplemented else not r

    def __le__(self, o: Any) -> Any: return self._cmp(o, "__le__")
    def __lt__(self, o: Any) -> Any: return self._cmp(o, "__lt__")
    def __ge__(self, o: Any) -> Any: return self._cmp(o, "__ge__")
    def __gt__(self, o: Any) -> Any: return self._cmp(o, "__gt__")


class PersistentSet(_SetBase, MutableSet[Any]):
    """A persistent ``set``: ``pool.new(PersistentSet, iterable)``, or store
    a plain set in a persistent container."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]
    _p_type = b.T_SET
    _p_builtin = set

    def add(self, x: Any) -> None:
        """Add *x*."""
        self._add(x)

    def discard(self, x: Any) -> None:
        """Remove *x* if present."""
        self._p_delete(_as_key(x))

    def remove(self, x: Any) -> None:
        """Remove *x*; KeyError if absent."""
        if not self._p_delete(_as_key(x)):
            raise KeyError(x)

    def pop(self) -> Any:
        """Remove and return an arbitrary member; KeyError if empty."""
        try:
            return self._p_pop_last()[0]
        except KeyError:
            raise KeyError("pop from an empty set") from None

    def clear(self) -> None:
        """Remove every member."""
        self._p_clear()

    def update(self, *others: Iterable[Any]) -> None:
        """Add the members of every iterable in *others*."""
        members = self._p_hashed(x for other in others for x in other)
        self._p_mm.check_storable(*members)
        with self._p_mm.transaction():
            for x in members:
                self._add(x)

    def intersection_update(self, *others: Iterable[Any]) -> None:
        """Keep only members found in every one of *others*."""
        keep = self._plain().intersection(*others)
        self._replace(keep)

    def difference_update(self, *others: Iterable[Any]) -> None:
        """Remove members found in any of *others*."""
        members = self._p_hashed(x for other in others for x in other)
        with self._p_mm.transaction():
            for x in members:
                self._p_delete(x)

    def symmetric_difference_update(self, other: Iterable[Any]) -> None:
        """Keep members in exactly one of self and *other*."""
        self._replace(self._plain().symmetric_difference(other))

    def _replace(self, members: Any) -> None:
        with self._p_mm.transaction():
            for x in [x for x in self._p_entries(KEYS) if x not in members]:
                self._p_delete(x)
            for x in members:
                self._add(x)

    def __ior__(self, o: Any) -> Any:
        if not self._setlike(o):
            return NotImplemented
        self.update(o)
        return self

    def __iand__(self, o: Any) -> Any:
        if not self._setlike(o):
            return NotImplemented
        self.intersection_update(o)
        return self

    def __isub__(self, o: Any) -> Any:
        if not self._setlike(o):
            return NotImplemented
        self.difference_update(o)
        return self

    def __ixor__(self, o: Any) -> Any:
        if not self._setlike(o):
            return NotImplemented
        self.symmetric_difference_update(o)
        return self

    @reprlib.recursive_repr("{...}")
    def __repr__(self) -> str:
        members = list(self._p_entries(KEYS))
        return "{" + ", ".join(map(repr, members)) + "}" if members else "set()"


class PersistentFrozenSet(_SetBase, Set[Any]):
    """A persistent ``frozenset``, filled once by ``pool.new(
    PersistentFrozenSet, iterable)``; hashable and equal to the frozenset
    of the same members."""

    __slots__ = ()
    _p_type = b.T_PFROZENSET
    _p_hash_as = frozenset

    def __init__(self, iterable: Iterable[Any] = ()) -> None:
        require_pool(self)
        if self._p_len():
            raise TypeError("PersistentFrozenSet is immutable")
        super().__init__(iterable)

    def __hash__(self) -> int:
        return hash(frozenset(self._p_entries(KEYS)))

    def __repr__(self) -> str:
        members = list(self._p_entries(KEYS))
        return f"frozenset({{{', '.join(map(repr, members))}}})" if members else "frozenset()"


register_builtin(b.T_SET, PersistentSet, converts=set)
register_builtin(b.T_PFROZENSET, PersistentFrozenSet)
