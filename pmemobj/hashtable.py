"""The hash table the C core keeps: key lookup shared by PersistentDict,
the sets and PersistentObject's attributes.

Keys follow Python's equality (``1``, ``1.0`` and ``True`` are one key) with
hashes that are the same in every process.  str, bytes, None, bools, 64-bit
ints and floats are looked up entirely in C; other keys (tuples, big ints,
frozensets, persistent objects) are found by hash in C and compared in
Python.  For the modules built on it, :data:`get_str` and :data:`set_str`
are the one-call fast paths of str keys, and :func:`deleted` reads a C
delete's status.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, List, Optional, Tuple

from . import _binding as b
from ._binding import check, ffi, lib
from .container import PersistentContainer

# what HashTable._p_entries yields
KEYS, VALUES, ITEMS = 0, 1, 2

#: ``get_str(h, off, data, n)``: the entry under the str key encoded as *data*
get_str = lib.pmo_dict_get_str
#: ``set_str(h, off, data, n, *value)``: set it (PMO_ENEEDCMP: not done)
set_str = lib.pmo_dict_set_str


def deleted(mm: Any, st: int) -> Optional[bool]:
    """What a C delete's status says: deleted, absent (False), or None when
    the key needs Python's comparison (the slow path)."""
    if st == 0 or st == b.EKEY:
        return st == 0
    if st == b.ENEEDCMP:
        return None
    mm.finish_write(st)  # raises, or collects after a successful delete
    return True


class HashTable(PersistentContainer):
    """Key lookup shared by dicts, sets and PersistentObject attributes."""

    __slots__ = ()
    _p_layout = b.L_DICT

    def _p_find_slow(self, key: Any, hash_: Optional[int] = None) -> int:
        """Entry position of *key* found by hash and Python equality, or -1."""
        mm, h, off = self._p_mm, self._p_h, self._p_off
        if hash_ is None:
            hash_ = mm.stable_hash(key)
        cap = 8
        while True:
            buf = ffi.new("int64_t[]", cap)
            n = check(lib.pmo_dict_candidates(h, off, hash_, buf, cap))
            if n <= cap:
                break
            cap = n
        for pos in buf[0:n]:
            stored = self._p_key_at(pos)
            if stored is key or stored == key:
                return int(pos)
        return -1

    def _p_key_at(self, pos: int) -> Any:
        o = lib.pmo_dict_key_at(self._p_h, self._p_off, pos)
        if o.status:
            check(o.status)
        return self._p_mm.value(o)

    def _p_value_at(self, pos: int) -> Any:
        o = lib.pmo_dict_value_at(self._p_h, self._p_off, pos)
        if o.status:
            check(o.status)
        return self._p_mm.value(o)

    def _p_lookup(self, key: Any) -> Tuple[int, Any]:
        """(status, C output) of the fast path; ENEEDCMP when Python must
        compare."""
        if type(key) is str:
            data = key.encode("utf-8", "surrogatepass")
            o = get_str(self._p_h, self._p_off, data, len(data))
            return o.status, o
        k = self._p_mm.encode_key(key)
        if k is None:
            return b.ENEEDCMP, None
        o = lib.pmo_dict_get(self._p_h, self._p_off, *k)
        return o.status, o

    def _p_position(self, key: Any) -> int:
        """Entry position of *key*, or -1."""
        st, o = self._p_lookup(key)
        if st == 0:
            if o.pinned:   # (a container value, handed out: not wanted here)
                lib.pmo_unpin(o.pinned)
            return int(o.pos)
        if st == b.EKEY:
            return -1
        if st != b.ENEEDCMP:
            check(st)
        return self._p_find_slow(key)

    def _p_set(self, key: Any, value: Any) -> None:
        mm = self._p_mm
        v = mm.encode(value)
        if v is not None:
            # one C call: str keys (the common case) with fewer arguments
            if type(key) is str:
                data = key.encode("utf-8", "surrogatepass")
                st = set_str(self._p_h, self._p_off, data, len(data), *v)
            else:
                k = mm.encode_key(key)
                st = b.ENEEDCMP if k is None else \
                    lib.pmo_dict_set(self._p_h, self._p_off, *k, *v)
            if st == 0:
                return
            if st != b.ENEEDCMP:
                mm.finish_write(st)
                return
        # checked before the transaction: an unhashable key or unstorable
        # value is a TypeError that leaves an enclosing transaction usable
        hash_ = mm.stable_hash(key)
        mm.check_storable(key, value)
        with mm.transaction():
            pos = self._p_position(key)
            if pos >= 0:
                mm.finish_write(lib.pmo_dict_set_at(self._p_h, self._p_off, pos,
                                                    *mm.build(value)))
            else:
                mm.finish_write(lib.pmo_dict_insert_new(
                    self._p_h, self._p_off, hash_,
                    *mm.build(key), *mm.build(value)))

    def _p_delete(self, key: Any) -> bool:
        """Delete *key*; False if it was absent."""
        mm = self._p_mm
        k = mm.encode_key(key)
        if k is not None:
            found = deleted(mm, lib.pmo_dict_del(self._p_h, self._p_off, *k))
            if found is not None:
                return found
        with mm.transaction():
            pos = self._p_find_slow(key)
            if pos < 0:
                return False
            mm.finish_write(lib.pmo_dict_del_at(self._p_h, self._p_off, pos))
        return True

    def _p_contains(self, key: Any) -> bool:
        st, o = self._p_lookup(key)
        if st == 0 and o.pinned:   # (a container value, handed out: not wanted here)
            lib.pmo_unpin(o.pinned)
        if st == 0 or st == b.EKEY:
            return st == 0
        if st != b.ENEEDCMP:
            check(st)
        return self._p_find_slow(key) >= 0

    def _p_entries(self, which: int) -> Iterator[Any]:
        """KEYS, VALUES or ITEMS (key, value) in order; RuntimeError if the
        size changes meanwhile, as with dict."""
        h, off, value = self._p_h, self._p_off, self._p_mm.value
        at = lib.pmo_dict_value_at if which == VALUES else lib.pmo_dict_key_at
        items = which == ITEMS
        size = self._p_len()
        pos = 0
        while True:
            if self._p_len() != size:
                raise RuntimeError(f"{self._p_kind} changed size during iteration")
            o = at(h, off, pos)
            if o.status:
                if o.status == b.EINDEX:
                    return
                check(o.status)
            pos = o.pos
            if items:
                yield value(o), self._p_value_at(pos)
            else:
                yield value(o)
            pos += 1

    _p_kind = "dictionary"

    def _p_clear(self) -> None:
        self._p_mm.finish_write(lib.pmo_dict_clear(self._p_h, self._p_off))

    def _p_pop_last(self) -> Tuple[Any, Any]:
        """Remove the newest entry; (key, value)."""
        mm = self._p_mm
        with mm.transaction():
            pos = lib.pmo_dict_last(self._p_h, self._p_off)
            if pos != b.EKEY:
                pos = check(pos)
                item = (self._p_key_at(pos), self._p_value_at(pos))
                mm.finish_write(lib.pmo_dict_del_at(self._p_h, self._p_off, pos))
                return item
        # raised after the block: an enclosing transaction stays usable
        raise KeyError("popitem(): dictionary is empty")

    @staticmethod
    def _p_hashed(keys: Iterable[Any]) -> List[Any]:
        """*keys* as a list, each checked hashable (TypeError otherwise)
        before a transaction begins."""
        keys = list(keys)
        for k in keys:
            hash(k)
        return keys
