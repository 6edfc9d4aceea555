"""The memory manager: one pool's objects, transactions and raw memory.

Three parts of it live in modules of their own: value conversion
(:mod:`pmemobj.values`, its base class, whose methods the container
modules call on every operation), the type table
(:mod:`pmemobj.typetable`) and the collector (:mod:`pmemobj.collector`),
which it holds.  Its own are the transactions, the one live Python object
per stored object, and the public API of pynvm's MemoryManager (raw
allocations, reference counts, oids).
"""
from __future__ import annotations

import weakref
from typing import Any, Literal, Optional, Type

from . import _binding as b
from ._binding import check, ffi, lib
from .collector import Collector
from .persistent import OID_NULL, Oid, Persistent
from .typetable import TypeTable
from .values import Values

POBJECT_TYPE_NUM = b.TN_POBJECT
#: libpmemobj type numbers from here up are free for users' substructures.
FIRST_USER_TYPE_NUM = b.TN_USER

_NULL = ffi.NULL


class Transaction:
    """Context manager for one (possibly nested) transaction.

    Normal exit commits; an exception rolls back every change made to
    persistent objects since the outermost transaction began, and a crash
    inside it leaves the pool as it was before.  A failure inside an inner
    transaction aborts the outer ones too."""

    __slots__ = ("_mm",)

    def __init__(self, mm: "MemoryManager"):
        self._mm = mm

    def __enter__(self) -> "Transaction":
        st = lib.pmo_tx_begin(self._mm.handle)
        if st:
            check(st)
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> "Literal[False]":
        h = self._mm.handle
        if et is not None:
            lib.pmo_tx_abort(h)
            return False
        self._mm.finish_write(lib.pmo_tx_commit(h))  # collects after the outermost
        return False


class MemoryManager(Values):
    """Manages the memory of one :class:`PersistentObjectPool`.

    Do not instantiate it: use the pool's ``mm`` attribute.  Every method
    is atomic: if the process dies in the middle, the pool reopens as if
    the call had completed or had never started.  Inside a
    :meth:`transaction` calls join it instead.

    Besides its public API it has an interface internal to pmemobj, for the
    container modules and pool.py (names without a leading underscore,
    documented as "for the container modules"): the attributes
    :attr:`handle`, :attr:`uuid`, :attr:`types` and :attr:`collector`; the
    value conversions of its base :class:`~pmemobj.values.Values`
    (``encode``, ``encode_key``, ``value``, ``build``, ``store``,
    ``check_storable``, ``new_tuple``, ``own_off``); and :meth:`finish_write`,
    :meth:`wrapper`, :meth:`type_code`, :meth:`oid` and :meth:`oid_off`."""

    def __init__(self, pool: Any, handle: Any):
        super().__init__()
        #: For the container modules: the C core's handle of the pool, the
        #: first argument of every call.
        self.handle = handle
        #: For the container modules: the pool's uuid_lo, the first half of
        #: its oids.
        self.uuid = int(lib.pmo_uuid_lo(handle))
        # the one live Python object of each stored object Python holds
        self._objects: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
        #: For pool.py and the container modules: the pool's type table.
        self.types = TypeTable(self)
        #: For pool.py: the pool's collector.
        self.collector = Collector(self, pool, self._objects)

    # -- for the container modules: the end of a write -------------------------

    def finish_write(self, st: int) -> None:
        """After a C call that writes: raise for a failure status (see
        :func:`~pmemobj._binding.check`); when the write committed and left
        objects waiting in the zero-count table (PMO_COLLECT), run the
        collector, unless a transaction still runs (its outermost commit
        reports it again)."""
        if st == b.COLLECT:
            if not lib.pmo_tx_active(self.handle):
                self.collector.collect()
        elif st:
            check(st)

    # -- for the container modules: objects -----------------------------------

    def wrapper(self, off: int, code: int) -> Any:
        """The one live Python object for the stored object at *off* of type
        *code* (a container or a user class)."""
        obj = self._objects.get(off)
        if obj is None:
            cls: Any = self.types.class_of(code)
            obj = cls.__new__(cls)
            self._objects[off] = obj   # held before its class reads anything
            try:
                obj._p_resurrect(self, (self.uuid, off))
            except BaseException:
                self._objects.pop(off, None)
                raise
        return obj

    def type_code(self, cls: type) -> int:
        """The type code stored in headers of *cls* objects; a class seen
        for the first time is added to the pool's type table."""
        return self.types.code_of(cls)

    _get_type_code = type_code  # the name pynvm's protocol used

    # -- transactions ---------------------------------------------------------

    def transaction(self) -> Transaction:
        """A context manager running its block as one transaction."""
        return Transaction(self)

    @property
    def in_transaction(self) -> bool:
        """True inside a transaction of this pool in this thread."""
        return bool(lib.pmo_tx_active(self.handle))

    # -- the public API (pynvm's MemoryManager) ----------------------------------------------

    def oid_off(self, oid: Any) -> int:
        """The offset of *oid*, which must be of this pool (or null)."""
        if isinstance(oid, tuple) and len(oid) == 2:
            uuid, off = oid
        elif hasattr(oid, "off") and hasattr(oid, "pool_uuid_lo"):
            uuid, off = oid.pool_uuid_lo, oid.off
        else:
            raise TypeError(f"an oid is a (pool_uuid_lo, offset) tuple, not {oid!r}")
        if off != 0 and uuid != self.uuid:
            raise ValueError("oid belongs to another pool")
        return int(off)

    def otuple(self, oid: Any) -> Oid:
        """*oid* as a ``(pool_uuid_lo, offset)`` tuple."""
        off = self.oid_off(oid)
        return (self.uuid, off) if off else OID_NULL

    def oid(self, off: int) -> Oid:
        """The oid of offset *off* in this pool (the null oid for 0)."""
        return (self.uuid, off) if off else OID_NULL

    def alloc(self, size: int, type_num: int = POBJECT_TYPE_NUM) -> Oid:
        """Allocate *size* bytes inside the running transaction (an abort
        frees them).  Raises TransactionError outside a transaction."""
        return self.oid(check(lib.pmo_alloc(self.handle, size, type_num, 0)))

    def zalloc(self, size: int, type_num: int = POBJECT_TYPE_NUM) -> Oid:
        """Like :meth:`alloc`, with the memory zeroed."""
        return self.oid(check(lib.pmo_alloc(self.handle, size, type_num, 1)))

    def free(self, oid: Oid) -> None:
        """Free the memory at *oid* when the running transaction commits."""
        self.finish_write(lib.pmo_free(self.handle, self.oid_off(oid)))

    def realloc(self, oid: Oid, size: int, type_num: Optional[int] = None) -> Oid:
        """Move *oid*'s memory to a new allocation of *size* bytes (copied,
        truncated or extended) inside the running transaction."""
        return self._realloc(oid, size, type_num, 0)

    def zrealloc(self, oid: Oid, size: int, type_num: Optional[int] = None) -> Oid:
        """Like :meth:`realloc`, zero-filling any growth."""
        return self._realloc(oid, size, type_num, 1)

    def _realloc(self, oid: Oid, size: int, type_num: Optional[int], zero: int) -> Oid:
        off = self.oid_off(oid)
        if type_num is not None:
            have = check(lib.pmo_type_num(self.handle, off))
            if have != type_num:
                raise TypeError(f"oid has type number {have}, not {type_num}")
        return self.oid(check(lib.pmo_realloc(self.handle, off, size, zero)))

    def incref(self, oid: Oid) -> None:
        """Count one more reference to the PObject at *oid*."""
        self.finish_write(lib.pmo_incref(self.handle, self.oid_off(oid)))

    def decref(self, oid: Oid) -> None:
        """Count one reference less; at zero, deallocate and free it."""
        off = self.oid_off(oid)
        with self.transaction():
            if check(lib.pmo_decref(self.handle, off)) == 0:
                self.collector.release(off)

    def xdecref(self, oid: Oid) -> None:
        """:meth:`decref` unless *oid* is the null oid."""
        if self.oid_off(oid):
            self.decref(oid)

    def persist(self, obj: Any) -> Oid:
        """The oid of *obj*'s representation in the pool, created if needed
        (with a reference count of zero: ``incref`` it when storing it)."""
        if isinstance(obj, Persistent):
            return self.oid(self.own_off(obj))
        with self.transaction():
            kind, i, f, data, n = self.build(obj)
            off = check(lib.pmo_new_value(self.handle, kind, i, f, data, n))
        return self.oid(off)

    def resurrect(self, oid: Oid) -> Any:
        """The Python object for the PObject at *oid*."""
        o = lib.pmo_ref(self.handle, self.oid_off(oid))
        if o.status:
            check(o.status)
        return self.value(o)

    def direct(self, oid: Oid) -> Any:
        """A cffi ``void *`` to the memory at *oid* (valid while the pool
        is open and the memory allocated)."""
        p = lib.pmo_direct(self.handle, self.oid_off(oid))
        if p == _NULL:
            check(lib.PMO_EINVAL if lib.pmo_is_open(self.handle) else lib.PMO_ECLOSED)  # raises
        return p

    def body(self, oid: Oid) -> Any:
        """A cffi ``char *`` just past the PObject header at *oid*."""
        return ffi.cast("char *", self.direct(oid)) + b.HEADER_SIZE

    def snapshot_range(self, ptr: Any, size: int) -> None:
        """Save *size* bytes at *ptr* so that an abort or crash restores
        them; call before changing them inside a transaction."""
        check(lib.pmo_snapshot(self.handle, ptr, size))

    def new_pobject(self, cls: type, size: int) -> Oid:
        """Allocate a zeroed PObject for an instance of the user class *cls*
        (header plus *size* bytes), reference count zero."""
        code = self.type_code(cls)
        return self.oid(check(
            lib.pmo_new_object(self.handle, code, b.L_OPAQUE, size)))

    def new(self, typ: Type[Any], /, *args: Any, **kw: Any) -> Any:
        """Create an instance of the Persistent class *typ* in the pool and
        run its ``__init__(*args, **kw)``, all in one transaction.  It stays
        alive while Python holds it; store it to keep it."""
        if not (isinstance(typ, type) and issubclass(typ, Persistent)):
            raise TypeError(f"{typ!r} does not implement the Persistent protocol")
        obj: Any = typ.__new__(typ)
        off = None
        try:
            with self.transaction():
                obj._p_new(self)
                obj.__init__(*args, **kw)
                off = obj._p_oid[1]
                # cached before commit, so the commit's collection keeps it
                self._objects[off] = obj
                self.finish_write(lib.pmo_zct_push(self.handle, off))
        except BaseException:
            if off is not None:
                self._objects.pop(off, None)
            raise
        return obj
