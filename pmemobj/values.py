"""Values in and out of the pool: Python values as the C core takes and gives them.

Values cross into C as five fields ``(kind, i, f, data, n)``: immediates
(None, bools, 64-bit ints, floats) travel in ``kind``/``i``/``f``; str,
bytes, big ints, complex numbers and pickles travel as bytes that the C core
copies into a new object; existing persistent objects travel as a
reference.  Tuples, frozensets and plain lists, dicts and sets are built
object by object inside a transaction first (:meth:`Values.build`).  Keys
add a sixth field, their stable hash (:meth:`Values.stable_hash`).  Values
come out of C as a ``pmo_out`` struct that :meth:`Values.value` reads.
"""
from __future__ import annotations

import io
import pickle
import struct
from typing import Any, Callable, Dict, Optional, Tuple

from . import _binding as b
from ._binding import check, ffi, lib
from .errors import CorruptPoolError
from .persistent import Persistent
from .typetable import CONVERSIONS

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
EMPTY_IN = (b.K_EMPTY, 0, 0.0, _NULL, 0)

#: Stable hashes for values whose Python hash is per-process or absent.
NONE_HASH = 0x5EED_0000_0000_0001
OTHER_HASH = 0x5EED_0000_0000_0002
NAN_HASH = 0


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


class Values:
    """The value conversions of a :class:`MemoryManager`, which derives
    from this class rather than holding an instance: the container modules
    call these methods once per operation (``mm.encode(v)``,
    ``mm.value(o)``), and a method found on the class costs less than one
    bound to an attribute.  Everything but :meth:`stable_hash` and
    :meth:`persist_via_pickle` is for the container modules.

    The manager provides :attr:`handle`, :meth:`finish_write`,
    :meth:`transaction` and :meth:`wrapper`."""

    __slots__ = ("_pickled", "_unpickle_allowed")

    handle: Any

    def __init__(self) -> None:
        self._pickled: Dict[type, None] = {}
        self._unpickle_allowed: Dict[Tuple[str, str], type] = {}

    def finish_write(self, st: int) -> None:
        raise NotImplementedError   # MemoryManager's

    def transaction(self) -> Any:
        raise NotImplementedError   # MemoryManager's

    def wrapper(self, off: int, code: int) -> Any:
        raise NotImplementedError   # MemoryManager's

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
            return (b.K_REF, self.own_off(v), 0.0, _NULL, 0)
        if t in self._pickled:
            data = pickle.dumps(v, protocol=5)
            return (b.K_NEW_PICKLE, 0, 0.0, data, len(data))
        if t is tuple or t is frozenset or t in CONVERSIONS:
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

    def own_off(self, obj: Any) -> int:
        """The offset of the persistent *obj*, which must be of this pool."""
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
            cls: Any = CONVERSIONS[t]
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
            return _signed(_mix(self.own_off(v)))
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

    # -- pickling ----------------------------------------------------------------------

    def persist_via_pickle(self, *types: type) -> None:
        """Store instances of *types* (immutable, non-container types) as
        pickles, and allow loading them back."""
        for t in types:
            if not isinstance(t, type):
                raise TypeError(f"persist_via_pickle() takes types, not {t!r}")
            self._pickled[t] = None
            self._unpickle_allowed[(t.__module__, t.__qualname__)] = t
