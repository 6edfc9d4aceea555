"""The base of the built-in persistent containers.

Their data lives in layouts the C core knows (list, dict, tuple), so
traversal, deallocation and garbage collection happen in C; these methods
are there so that the :class:`Persistent` protocol holds for them too.
"""
from __future__ import annotations

from typing import Any, List

from . import _binding as b
from ._binding import check, ffi, lib
from .persistent import Oid, Persistent


class PersistentContainer(Persistent):
    """Shared plumbing: the pool handle and offset, protocol methods."""

    __slots__ = ("_p_mm", "_p_oid", "_p_h", "_p_off", "__weakref__")

    #: type code and layout of the stored object
    _p_type: int = 0
    _p_layout: int = 0

    def _p_attach(self, mm: Any, off: int) -> None:
        self._p_mm = mm
        self._p_h = mm.handle
        self._p_off = off
        self._p_oid = (mm.uuid, off)

    def _p_new(self, manager: Any) -> None:
        off = check(lib.pmo_new_object(
            manager.handle, self._p_type_code(manager), self._p_layout, 0))
        self._p_attach(manager, off)

    def _p_type_code(self, manager: Any) -> int:
        return self._p_type

    def _p_resurrect(self, manager: Any, oid: Oid) -> None:
        self._p_attach(manager, oid[1])

    def _p_children(self, which: int) -> List[Oid]:
        """The references (b.CHILDREN_REFERENCES) or the substructures
        (b.CHILDREN_SUBSTRUCTURES) of the container."""
        h, off, mm = self._p_h, self._p_off, self._p_mm
        n = check(lib.pmo_children(h, off, which, ffi.NULL, 0))
        buf = ffi.new("uint64_t[]", max(n, 1))
        n = check(lib.pmo_children(h, off, which, buf, n))
        return [mm.oid(x) for x in buf[0:n]]

    def _p_traverse(self) -> List[Oid]:
        """Oids of the PObjects this container references."""
        return self._p_children(b.CHILDREN_REFERENCES)

    def _p_substructures(self) -> List[Oid]:
        """Oids of the container's own arrays and tables."""
        return self._p_children(b.CHILDREN_SUBSTRUCTURES)

    def _p_deallocate(self) -> None:
        """Drop every reference and free the arrays, leaving it empty."""
        self._p_mm.finish_write(lib.pmo_deallocate(self._p_h, self._p_off))

    def _p_len(self) -> int:
        n = lib.pmo_len(self._p_h, self._p_off)
        if n < 0:
            check(n)
        return int(n)

    def __reduce__(self) -> Any:
        raise TypeError(
            f"cannot pickle a {type(self).__qualname__}; convert it to a "
            f"built-in type first")


def require_pool(obj: Any) -> None:
    """Refuse instances made by calling the class instead of pool.new()."""
    try:
        obj._p_mm
    except AttributeError:
        raise TypeError(
            f"{type(obj).__qualname__} objects live in a pool: create them "
            f"with pool.new({type(obj).__qualname__}, ...)") from None
