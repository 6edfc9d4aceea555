"""The memory manager: values in and out of the pool, objects, transactions.

Values cross into C as five fields ``(kind, i, f, data, n)``: immediates
(None, bools, 64-bit ints, floats) travel in ``kind``/``i``/``f``; str,
bytes, big ints, complex numbers and pickles travel as bytes that the C core
copies into a new object; existing persistent objects travel as a
reference.  Tuples, frozensets and plain lists, dicts and sets are built
object by object inside a transaction first (:meth:`MemoryManager._build`).
"""
from __future__ import annotations

import io
import logging
import pickle
import struct
import threading
import weakref
from typing import Any, Callable, Dict, List, Literal, Optional, Set, Tuple, Type

from . import _binding as b
from ._binding import check, ffi, lib
from .errors import CorruptPoolError, PoolClosedError, PoolFullError
from . import qualname
from .persistent import OID_NULL, Oid, Persistent

log = logging.getLogger("pmemobj")

POBJECT_TYPE_NUM = b.TN_POBJECT
#: libpmemobj type numbers from here up are free for users' substructures.
FIRST_USER_TYPE_NUM = b.TN_USER

_INT_MIN = -(1 << 63)
_INT_MAX = (1 << 63) - 1
_M64 = (1 << 64) - 1
_NULL = ffi.NULL
_unpack = ffi.unpack
_K_INT, _K_REF, _K_FLOAT = b.K_INT, b.K_REF, b.K_FLOAT
_K_NONE, _K_BOOL, _K_EMPTY = b.K_NONE, b.K_BOOL, b.K_EMPTY
_T_STR = b.T_STR
_L_BLOB = b.L_BLOB

_NONE_IN = (b.K_NONE, 0, 0.0, _NULL, 0)
_TRUE_IN = (b.K_BOOL, 1, 0.0, _NULL, 0)
_FALSE_IN = (b.K_BOOL, 0, 0.0, _NULL, 0)
_EMPTY_IN = (b.K_EMPTY, 0, 0.0, _NULL, 0)

#: Stable hashes for values whose Python hash is per-process or absent.
NONE_HASH = 0x5EED_0000_0000_0001
OTHER_HASH = 0x5EED_0000_0000_0002
NAN_HASH = 0

# Built-in persistent classes by type code, filled in by their modules.
_BUILTIN_CLASSES: Dict[int, type] = {}
_BUILTIN_CODES: Dict[type, int] = {}
# Plain containers converted on store: list -> PersistentList, ...
_CONVERSIONS: Dict[type, type] = {}


def register_builtin(code: int, cls: type, converts: Optional[type] = None) -> None:
    """Declare *cls* as the persistent class stored under type *code*."""
    _BUILTIN_CLASSES[code] = cls
    _BUILTIN_CODES[cls] = code
    if converts is not None:
        _CONVERSIONS[converts] = cls


def _signed(x: int) -> int:
    x &= _M64
    return x - (1 << 64) if x >> 63 else x


def _mix(x: int) -> int:
    x = (x ^ (x >> 31)) * 0x7FB5D329728EA185 & _M64
    x = (x ^ (x >> 27)) * 0x81DADEF4BC2DD44D & _M64
    return x ^ (x >> 33)


def _int_bytes(v: int) -> bytes:
    return v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)


class _Unpickler(pickle.Unpickler):
    """Unpickles only the classes nominated with ``persist_via_pickle``."""

    def __init__(self, data: bytes, allowed: Dict[Tuple[str, str], type]):
        super().__init__(io.BytesIO(data))
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        cls = self._allowed.get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(
                f"{module}.{name} is stored pickled but was not nominated with "
                f"persist_via_pickle(); refusing to load it"
            )
        return cls


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


class _Watch(weakref.ref[Any]):
    """A weak reference that knows the offset of what it watches."""

    __slots__ = ("off",)
    off: int

    def __new__(cls, obj: Any, callback: Callable[..., Any], off: int) -> "_Watch":
        ref = super().__new__(cls, obj, callback)
        ref.off = off
        return ref

    def __init__(self, obj: Any, callback: Callable[..., Any], off: int):
        pass   # all done in __new__ (ref's own __init__ takes two arguments)


class MemoryManager:
    """Manages the memory of one :class:`PersistentObjectPool`.

    Do not instantiate it: use the pool's ``mm`` attribute.  Every method
    is atomic: if the process dies in the middle, the pool reopens as if
    the call had completed or had never started.  Inside a
    :meth:`transaction` calls join it instead."""

    def __init__(self, pool: Any, handle: Any):
        self._pool = pool
        self.handle = handle
        self.uuid = int(lib.pmo_uuid_lo(handle))
        self._objects: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
        self._pickled: Dict[type, None] = {}
        self._unpickle_allowed: Dict[Tuple[str, str], type] = {}
        self._codes: Dict[type, int] = {}
        self._classes: Dict[int, type] = {}
        self._type_paths: Optional[List[str]] = None
        self._lock = threading.RLock()
        self._collecting = False
        # zero-count table entries looked at (see _collect), and the Python
        # objects holding them, watched
        self._zct_seen = self._zct_full = 0
        self._zct_dropped = False
        self._zct_watch: Dict[int, _Watch] = {}
        self._zct_pinned: Set[int] = set()   # entries refused as pinned

    # -- the end of a write ------------------------------------------------

    def finish_write(self, st: int) -> None:
        """After a C call that writes: raise for a failure status (see
        :func:`check`); when the write committed and left objects waiting
        in the zero-count table (PMO_COLLECT), run the collector, unless a
        transaction still runs (its outermost commit reports it again)."""
        if st == b.COLLECT:
            if not lib.pmo_tx_active(self.handle):
                self._collect()
        elif st:
            check(st)

    # -- transactions ---------------------------------------------------------

    def transaction(self) -> Transaction:
        """A context manager running its block as one transaction."""
        return Transaction(self)

    @property
    def in_transaction(self) -> bool:
        """True inside a transaction of this pool in this thread."""
        return bool(lib.pmo_tx_active(self.handle))

    # -- values in ------------------------------------------------------------------

    def encode(self, v: Any) -> Optional[Tuple[Any, ...]]:
        """The C input for *v*, or None if *v* must be built in a
        transaction first (tuples, frozensets, plain containers)."""
        t = type(v)
        if t is str:
            data = v.encode("utf-8", "surrogatepass")
            return (b.K_NEW_STR, 0, 0.0, data, len(data))
        if t is int:
            if _INT_MIN <= v <= _INT_MAX:
                return (b.K_INT, v, 0.0, _NULL, 0)
            data = _int_bytes(v)
            return (b.K_NEW_BIGINT, 0, 0.0, data, len(data))
        if t is float:
            return (b.K_FLOAT, 0, v, _NULL, 0)
        if v is None:
            return _NONE_IN
        if t is bool:
            return _TRUE_IN if v else _FALSE_IN
        if t is bytes:
            return (b.K_NEW_BYTES, 0, 0.0, v, len(v))
        if t is complex:
            data = struct.pack("<dd", v.real, v.imag)
            return (b.K_NEW_COMPLEX, 0, 0.0, data, 16)
        if isinstance(v, Persistent):
            return (b.K_REF, self._own_off(v), 0.0, _NULL, 0)
        if t in self._pickled:
            data = pickle.dumps(v, protocol=5)
            return (b.K_NEW_PICKLE, 0, 0.0, data, len(data))
        if t is tuple or t is frozenset or t in _CONVERSIONS:
            return None
        raise TypeError(
            f"cannot persist an object of type {t.__qualname__!r}: store a "
            f"supported type or nominate it with persist_via_pickle()"
        )

    def check_storable(self, *values: Any) -> None:
        """Raise the TypeError (or ValueError) that storing *values* would,
        before a transaction begins: an operation that fails on its input
        must leave an enclosing transaction usable and change nothing."""
        for v in values:
            t = type(v)
            if t is tuple or t is list or t is frozenset or t is set:
                self.check_storable(*v)
            elif t is dict:
                for k, x in v.items():
                    self.check_storable(k, x)
            else:
                self.encode(v)

    def _own_off(self, obj: Any) -> int:
        mm = getattr(obj, "_p_mm", None)
        if mm is not self:
            raise ValueError(
                f"{type(obj).__qualname__} object belongs to another pool "
                f"(or to none); copy it instead of storing it here"
            )
        return int(obj._p_oid[1])

    def build(self, v: Any) -> Tuple[Any, ...]:
        """The C input for any persistable *v*, creating what it needs.
        Must run inside a transaction."""
        enc = self.encode(v)
        if enc is not None:
            return enc
        t = type(v)
        if t is tuple:
            off = self.new_tuple(b.T_TUPLE, v, 0)
        elif t is frozenset:
            off = self.new_tuple(b.T_FROZENSET, tuple(v), 0)
        else:
            cls: Any = _CONVERSIONS[t]
            obj = cls.__new__(cls)
            obj._p_new(self)
            obj.__init__(v)
            off = obj._p_oid[1]
        return (b.K_REF, off, 0.0, _NULL, 0)

    def new_tuple(self, code: int, items: Tuple[Any, ...], hash_: int) -> int:
        """A tuple-layout object holding *items*, count zero."""
        h = self.handle
        off = check(lib.pmo_tuple_new(h, code, len(items), hash_))
        for i, x in enumerate(items):
            self.finish_write(lib.pmo_tuple_init(h, off, i, *self.build(x)))
        return off

    def store(self, fn: Callable[..., int], value: Any, *prefix: Any) -> None:
        """Call ``fn(handle, *prefix, *C input of value)``, building the value
        inside a transaction when it needs to be built."""
        enc = self.encode(value)
        if enc is not None:
            self.finish_write(fn(self.handle, *prefix, *enc))
            return
        self.check_storable(value)
        with self.transaction():
            self.finish_write(fn(self.handle, *prefix, *self.build(value)))

    # -- keys and stable hashes -------------------------------------------------------

    def encode_key(self, k: Any) -> Optional[Tuple[Any, ...]]:
        """C key input (with hash) for keys C compares itself, else None."""
        t = type(k)
        if t is str:
            data = k.encode("utf-8", "surrogatepass")
            return (b.K_NEW_STR, 0, 0.0, data, len(data), 0)
        if t is int:
            if _INT_MIN <= k <= _INT_MAX:
                return (b.K_INT, k, 0.0, _NULL, 0, hash(k))
            return None
        if t is float:
            return (b.K_FLOAT, 0, k, _NULL, 0, hash(k) if k == k else NAN_HASH)
        if k is None:
            return (b.K_NONE, 0, 0.0, _NULL, 0, NONE_HASH)
        if t is bool:
            return (b.K_BOOL, int(k), 0.0, _NULL, 0, hash(k))
        if t is bytes:
            return (b.K_NEW_BYTES, 0, 0.0, k, len(k), 0)
        return None

    def stable_hash(self, v: Any) -> int:
        """A hash of *v* that is equal for equal keys and the same in every
        process (str and bytes hashes of Python are randomized).  Raises
        TypeError for unhashable values, as ``hash`` does."""
        t = type(v)
        if t is str:
            data = v.encode("utf-8", "surrogatepass")
            return int(lib.pmo_hash_bytes(b.K_NEW_STR, data, len(data)))
        if t is bytes:
            return int(lib.pmo_hash_bytes(b.K_NEW_BYTES, v, len(v)))
        if t is int or t is bool or t is complex:
            return hash(v)
        if t is float:
            return hash(v) if v == v else NAN_HASH
        if v is None:
            return NONE_HASH
        if t is tuple or getattr(t, "_p_hash_as", None) is tuple:
            acc = 0x27D4EB2F165667C5 ^ len(v)
            for x in v:
                acc = _mix(acc ^ (self.stable_hash(x) & _M64))
            return _signed(acc)
        if t is frozenset or getattr(t, "_p_hash_as", None) is frozenset:
            acc = 0
            for x in v:
                acc = (acc + _mix(self.stable_hash(x) & _M64)) & _M64
            return _signed(_mix(acc ^ len(v) ^ 0x3C6EF372FE94F82B))
        hash(v)  # TypeError for unhashable values, like dict does
        if isinstance(v, Persistent) and getattr(t, "__hash__") is object.__hash__:
            return _signed(_mix(self._own_off(v)))
        return OTHER_HASH

    # -- values out -----------------------------------------------------------------------

    def value(self, o: Any) -> Any:
        """The Python value of a C output (checked first)."""
        # (module constants, and each field read once: a field of a cffi
        # struct costs about 25 ns, a third of reading a short str)
        k = o.kind
        if k == _K_INT:
            return o.i
        if k == _K_REF:
            t = o.type
            if t == _T_STR:
                return _unpack(o.ptr, o.len).decode("utf-8", "surrogatepass")
            return self._ref_value(o, t)
        if k == _K_FLOAT:
            return o.f
        if k == _K_NONE or k == _K_EMPTY:
            return None
        if k == _K_BOOL:
            return o.i != 0
        raise CorruptPoolError(f"slot of unknown kind {k}")

    def _ref_value(self, o: Any, t: int) -> Any:
        if o.layout == _L_BLOB:   # bytes that came out as a copy
            if t == b.T_BYTES:
                return ffi.unpack(o.ptr, o.len)
            if t == b.T_BIGINT:
                return int.from_bytes(ffi.unpack(o.ptr, o.len), "little", signed=True)
            if t == b.T_COMPLEX:
                real, imag = struct.unpack("<dd", ffi.unpack(o.ptr, 16))
                return complex(real, imag)
            if t == b.T_PICKLE:
                return _Unpickler(ffi.unpack(o.ptr, o.len), self._unpickle_allowed).load()
        # an object the C core pinned for this thread until it is held here
        # (another thread may drop its last stored reference meanwhile)
        try:
            if t >= b.T_FIRST_CONTAINER:
                return self.wrapper(o.i, t)
            if t == b.T_TUPLE:
                return self._tuple_items(o.i)
            if t == b.T_FROZENSET:
                return frozenset(self._tuple_items(o.i))
            if t == b.T_BOX:
                return self._tuple_items(o.i)[0]
            raise CorruptPoolError(f"object at offset {o.i} has unknown type {t}")
        finally:
            lib.pmo_unpin(o.pinned)

    def _tuple_items(self, off: int) -> Tuple[Any, ...]:
        h, n = self.handle, check(lib.pmo_len(self.handle, off))
        out = []
        for i in range(n):
            o = lib.pmo_tuple_get(h, off, i)
            if o.status:
                check(o.status)
            out.append(self.value(o))
        return tuple(out)

    def wrapper(self, off: int, code: int) -> Any:
        """The one live Python object for the container at *off*."""
        obj = self._objects.get(off)
        if obj is None:
            cls: Any = self._class_for(code)
            obj = cls.__new__(cls)
            self._objects[off] = obj   # held before its class reads anything
            try:
                obj._p_resurrect(self, (self.uuid, off))
            except BaseException:
                self._objects.pop(off, None)
                raise
        return obj

    # -- type codes of classes ----------------------------------------------------------

    def _paths(self) -> List[str]:
        if self._type_paths is None:
            table = check(lib.pmo_type_table(self.handle))
            n = check(lib.pmo_len(self.handle, table))
            paths = []
            for i in range(n):
                o = lib.pmo_list_get(self.handle, table, i)
                if o.status:
                    check(o.status)
                paths.append(self.value(o))
            self._type_paths = paths
        return self._type_paths

    def type_code(self, cls: type) -> int:
        """The type code stored in headers of *cls* objects; a class seen
        for the first time is added to the pool's type table."""
        known = _BUILTIN_CODES.get(cls) or self._codes.get(cls)
        if known:
            return known
        path = qualname.name_of(cls)
        if "<locals>" in path:
            raise TypeError(f"{path} is defined inside a function; persistent "
                            f"classes must be importable by module and name")
        with self._lock:
            paths = self._paths()
            if path not in paths:
                table = check(lib.pmo_type_table(self.handle))
                data = path.encode()
                self.finish_write(lib.pmo_list_append(self.handle, table, b.K_NEW_STR, 0,
                                                      0.0, data, len(data)))
                paths.append(path)
            code = b.T_FIRST_USER + paths.index(path)
        self._codes[cls] = code
        self._classes[code] = cls
        return code

    _get_type_code = type_code  # the name pynvm's protocol used

    def type_name(self, code: int) -> str:
        """A readable name for a type code (for inspection tools)."""
        names = {b.T_STR: "str", b.T_BYTES: "bytes", b.T_BIGINT: "int", b.T_COMPLEX: "complex",
                 b.T_PICKLE: "pickle", b.T_TUPLE: "tuple", b.T_FROZENSET: "frozenset",
                 b.T_BOX: "box"}
        if code in names:
            return names[code]
        cls = _BUILTIN_CLASSES.get(code)
        if cls is not None:
            return cls.__name__
        index = code - b.T_FIRST_USER
        paths = self._paths()
        return paths[index] if 0 <= index < len(paths) else f"unknown type {code}"


    def _class_for(self, code: int) -> type:
        cls = _BUILTIN_CLASSES.get(code) or self._classes.get(code)
        if cls is not None:
            return cls
        paths = self._paths()
        index = code - b.T_FIRST_USER
        if not 0 <= index < len(paths):
            raise CorruptPoolError(f"type code {code} is not in the type table")
        obj = qualname.resolve(paths[index])
        if not (isinstance(obj, type) and issubclass(obj, Persistent)):
            raise TypeError(f"{paths[index]} is not a Persistent class")
        self._classes[code] = obj
        self._codes[obj] = code
        return obj

    # -- pickling ----------------------------------------------------------------------

    def persist_via_pickle(self, *types: type) -> None:
        """Store instances of *types* (immutable, non-container types) as
        pickles, and allow loading them back."""
        for t in types:
            if not isinstance(t, type):
                raise TypeError(f"persist_via_pickle() takes types, not {t!r}")
            self._pickled[t] = None
            self._unpickle_allowed[(t.__module__, t.__qualname__)] = t

    # -- the public API (pynvm's MemoryManager) ----------------------------------------------

    def oid_off(self, oid: Any) -> int:
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
                self._release(off)

    def xdecref(self, oid: Oid) -> None:
        """:meth:`decref` unless *oid* is the null oid."""
        if self.oid_off(oid):
            self.decref(oid)

    def persist(self, obj: Any) -> Oid:
        """The oid of *obj*'s representation in the pool, created if needed
        (with a reference count of zero: ``incref`` it when storing it)."""
        if isinstance(obj, Persistent):
            return self.oid(self._own_off(obj))
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

    # -- releasing garbage ---------------------------------------------------------------

    def _release(self, off: int) -> None:
        """Free the zero-count object at *off* (inside a transaction)."""
        st = lib.pmo_release(self.handle, off)
        if st == b.EOPAQUE:
            o = lib.pmo_ref(self.handle, off)
            if o.status:
                check(o.status)
            try:
                obj = self.wrapper(off, o.type)
            finally:   # (before the free: no pin names freed memory)
                lib.pmo_unpin(o.pinned)
            obj._p_deallocate()
            self.finish_write(lib.pmo_free(self.handle, off))
            self._objects.pop(off, None)
        else:
            self.finish_write(st)

    def _collect(self, keep_live: bool = True) -> None:
        """Free objects whose count dropped to zero, unless (keep_live) a
        Python object still refers to them.  Each runs in a transaction of
        its own after the operation that dropped it has committed: a pool
        too full to free something right now loses nothing, the object
        waits in the zero-count table for a later try."""
        h = self.handle
        if self._collecting:
            return  # the running collection picks up what this one would
        self._collecting = True
        # this thread is past any value it was handed: a pin still standing
        # was left by an exception between a C call and its unpin
        lib.pmo_unpin_all()
        try:
            while True:
                n = check(lib.pmo_zct_read(h, 0, _NULL, 0))
                # The first _zct_seen entries were held by Python when last
                # looked at: look at the new ones only, unless one of those
                # Python objects has gone since, or the table doubled since
                # the last full look (stored objects leave stale entries).
                # A call then costs O(1) on average, not a pass over every
                # unstored object Python holds.
                full = not keep_live or self._zct_dropped or n > 2 * self._zct_full + 64
                if full:
                    self._zct_dropped = False
                    self._zct_seen = 0
                # (entries removed since: the table is shorter, and what
                # takes their places is looked at again)
                start = self._zct_seen = min(self._zct_seen, n)
                if start == n and not self._zct_pinned:
                    return
                buf = ffi.new("uint64_t[]", n - start)
                got = check(lib.pmo_zct_read(h, start, buf, n - start))
                end = max(start, min(n, got))
                progress = False
                # with the entries another thread was handed when last tried
                for off in set(buf[0:end - start]) | self._zct_pinned:
                    self._zct_pinned.discard(off)
                    obj = self._objects.get(off) if keep_live else None
                    if obj is not None:
                        if off not in self._zct_watch:
                            self._zct_watch[off] = _Watch(obj, self._zct_gone, off)
                        continue
                    with self.transaction():
                        # still waiting (and only then safe to read)?
                        removed = check(lib.pmo_zct_remove(h, off))
                        if removed and check(lib.pmo_refcount(h, off)) == 0:
                            if keep_live and self._objects.get(off) is not None:
                                # a reader made its object since the look above
                                self.finish_write(lib.pmo_zct_push(h, off))
                            else:
                                self._release(off)
                    if removed:
                        progress = True
                    elif check(lib.pmo_is_pinned(h, off)):
                        self._zct_pinned.add(off)   # handed to a reader: later
                if not progress:
                    self._zct_seen = end
                    if start == 0:
                        self._zct_full = end
                    return
        except PoolFullError as e:
            log.warning("pool %s: garbage waits for room to be freed (%s)",
                        self._pool.filename, e)
        except PoolClosedError:
            pass  # another thread closed the pool; the garbage waits in the table
        finally:
            self._collecting = False

    def _zct_gone(self, ref: "_Watch") -> None:
        """A Python object holding a zero-count table entry went away: the
        next collection looks at the whole table again."""
        self._zct_dropped = True
        if self._zct_watch.get(ref.off) is ref:
            del self._zct_watch[ref.off]

    def _mark(self, checking: bool) -> None:
        """Mark from the root, from live Python objects and the zero-count
        table (when checking: objects waiting there are not leaks), and
        through Python-defined types."""
        h = self.handle
        check(lib.pmo_gc_begin(h))
        try:
            for off in list(self._objects.keys()):
                check(lib.pmo_gc_mark(h, off, b.MARK_HELD))
            if checking:
                check(lib.pmo_gc_mark_zct(h))
            while True:
                off = check(lib.pmo_gc_next_opaque(h))
                if off == 0:
                    break
                o = lib.pmo_ref(h, off)
                if o.status:
                    check(o.status)
                try:
                    obj = self.wrapper(off, o.type)
                finally:
                    lib.pmo_unpin(o.pinned)
                for oid in obj._p_traverse():
                    check(lib.pmo_gc_mark(h, self.oid_off(oid), b.MARK_STORED))
                for oid in obj._p_substructures():
                    check(lib.pmo_gc_mark(h, self.oid_off(oid), b.MARK_SUBSTRUCTURE))
        except BaseException:
            lib.pmo_gc_end(h)
            raise

    def _gc(self) -> Dict[str, int]:
        stats = ffi.new("uint64_t[4]")
        # held, not one transaction: the sweep commits as it goes (a full
        # pool has no room to log a big one), and no other thread may
        # change what was marked in between
        lib.pmo_unpin_all()   # (see _collect)
        with self._pool.hold():
            try:
                self._mark(checking=False)
                check(lib.pmo_gc_sweep(self.handle, stats))
            finally:
                self._zct_seen = self._zct_full = 0   # the sweep rewrote the table
                self._zct_pinned.clear()
        return {"objects": stats[0], "freed": stats[1],
                "freed_substructures": stats[2], "refcounts_fixed": stats[3]}

    def _check_pool(self) -> Dict[str, int]:
        stats = ffi.new("uint64_t[4]")
        with self.transaction():
            self._mark(checking=True)
            check(lib.pmo_check(self.handle, stats))
        return {"objects": stats[0], "unreachable": stats[1],
                "refcount_mismatches": stats[2], "dangling": stats[3]}

