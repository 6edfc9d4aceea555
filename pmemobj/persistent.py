"""The persistence protocol: what a class implements to live in a pool.

The docstrings here are the specification.  Built-in containers implement
it on top of layouts the C core knows; a user class may implement it
directly, keeping its data in memory it allocates from the
:class:`~pmemobj.memory.MemoryManager`.

A user-defined persistent type works like this::

    class Counter(Persistent):
        def _p_new(self, manager):
            self._p_mm = manager
            # a PObject header followed by 8 bytes of our own
            self._p_oid = manager.new_pobject(type(self), 8)

        def _p_resurrect(self, manager, oid):
            self._p_mm, self._p_oid = manager, oid

        def _p_traverse(self):          # no references to other PObjects
            return ()

        def _p_substructures(self):     # no separate allocations
            return ()

        def _p_deallocate(self):
            pass

Its memory is reached with ``manager.body(self._p_oid)`` (a cffi pointer
just past the header) and changed inside ``manager.transaction()`` after
``manager.snapshot_range(pointer, size)``, so that an abort or a crash
rolls it back.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Iterable, Tuple

if TYPE_CHECKING:
    from .memory import MemoryManager

#: An oid as Python code sees it: ``(pool_uuid_lo, offset)``.
Oid = Tuple[int, int]

#: The null oid.
OID_NULL: Oid = (0, 0)


class Persistent(abc.ABC):
    """Abstract base of every object stored in a pool."""

    __slots__ = ()

    #: The :class:`MemoryManager` of the pool holding the object.
    _p_mm: "MemoryManager"
    #: The oid of the object's PObject: a header (reference count, type
    #: code) followed by the type's own data.
    _p_oid: Oid

    @abc.abstractmethod
    def _p_new(self, manager: "MemoryManager") -> None:
        """Allocate and initialise the object's persistent data in
        *manager*'s pool, and set :attr:`_p_mm` and :attr:`_p_oid`.
        Called inside a transaction, before ``__init__``."""

    @abc.abstractmethod
    def _p_resurrect(self, manager: "MemoryManager", oid: Oid) -> None:
        """Attach this (new, uninitialised) instance to the stored object at
        *oid*: set :attr:`_p_mm` and :attr:`_p_oid` and any volatile state.
        ``__init__`` is not called."""

    @abc.abstractmethod
    def _p_traverse(self) -> Iterable[Oid]:
        """The oids of the PObjects this object holds references to (each
        reference it counted with ``incref``)."""

    @abc.abstractmethod
    def _p_substructures(self) -> Iterable[Oid]:
        """The oids of the other allocations this object owns (not
        PObjects), so that the collector keeps them."""

    @abc.abstractmethod
    def _p_deallocate(self) -> None:
        """Drop every reference (``decref``) and free every substructure.
        Afterwards only the memory at :attr:`_p_oid` is still allocated;
        the memory manager frees that itself."""
