"""The collector: frees the objects no reference is left to.

Reference counts change in the same transaction as the writes that change
references.  An object whose count drops to zero waits in the pool's
zero-count table until :meth:`Collector.collect` frees it, after the write
has committed, unless Python still holds it.  :meth:`Collector.gc` marks
from the root and sweeps the whole pool (after an unclean shutdown, or
when asked); :meth:`Collector.check_pool` verifies without changing.
"""
from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, Set

from . import _binding as b
from ._binding import check, ffi, lib
from .errors import PoolClosedError, PoolFullError

if TYPE_CHECKING:
    from .memory import MemoryManager

log = logging.getLogger("pmemobj")
_NULL = ffi.NULL


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


class Collector:
    """Garbage collection for one pool's :class:`MemoryManager`."""

    def __init__(self, mm: "MemoryManager", pool: Any,
                 objects: "weakref.WeakValueDictionary[int, Any]"):
        self._mm = mm
        self._pool = pool
        self._h = mm.handle
        self._objects = objects   # the manager's live objects, by offset
        self._collecting = False
        # zero-count table entries looked at (see collect), and the Python
        # objects holding them, watched
        self._zct_seen = self._zct_full = 0
        self._zct_dropped = False
        self._zct_watch: Dict[int, _Watch] = {}
        self._zct_pinned: Set[int] = set()   # entries refused as pinned

    def release(self, off: int) -> None:
        """Free the zero-count object at *off* (inside a transaction)."""
        st = lib.pmo_release(self._h, off)
        if st == b.EOPAQUE:
            o = lib.pmo_ref(self._h, off)
            if o.status:
                check(o.status)
            try:
                obj = self._mm.wrapper(off, o.type)
            finally:   # (before the free: no pin names freed memory)
                lib.pmo_unpin(o.pinned)
            obj._p_deallocate()
            self._mm.finish_write(lib.pmo_free(self._h, off))
            self._objects.pop(off, None)
        else:
            self._mm.finish_write(st)

    def collect(self, keep_live: bool = True) -> None:
        """Free objects whose count dropped to zero, unless (keep_live) a
        Python object still refers to them.  Each runs in a transaction of
        its own after the operation that dropped it has committed: a pool
        too full to free something right now loses nothing, the object
        waits in the zero-count table for a later try."""
        h = self._h
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
                    with self._mm.transaction():
                        # still waiting (and only then safe to read)?
                        removed = check(lib.pmo_zct_remove(h, off))
                        if removed and check(lib.pmo_refcount(h, off)) == 0:
                            if keep_live and self._objects.get(off) is not None:
                                # a reader made its object since the look above
                                self._mm.finish_write(lib.pmo_zct_push(h, off))
                            else:
                                self.release(off)
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
        h = self._h
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
                    obj = self._mm.wrapper(off, o.type)
                finally:
                    lib.pmo_unpin(o.pinned)
                for oid in obj._p_traverse():
                    check(lib.pmo_gc_mark(h, self._mm.oid_off(oid), b.MARK_STORED))
                for oid in obj._p_substructures():
                    check(lib.pmo_gc_mark(h, self._mm.oid_off(oid), b.MARK_SUBSTRUCTURE))
        except BaseException:
            lib.pmo_gc_end(h)
            raise

    def gc(self) -> Dict[str, int]:
        stats = ffi.new("uint64_t[4]")
        # held, not one transaction: the sweep commits as it goes (a full
        # pool has no room to log a big one), and no other thread may
        # change what was marked in between
        lib.pmo_unpin_all()   # (see _collect)
        with self._pool.hold():
            try:
                self._mark(checking=False)
                check(lib.pmo_gc_sweep(self._h, stats))
            finally:
                self._zct_seen = self._zct_full = 0   # the sweep rewrote the table
                self._zct_pinned.clear()
        return {"objects": stats[0], "freed": stats[1],
                "freed_substructures": stats[2], "refcounts_fixed": stats[3]}

    def check_pool(self) -> Dict[str, int]:
        stats = ffi.new("uint64_t[4]")
        with self._mm.transaction():
            self._mark(checking=True)
            check(lib.pmo_check(self._h, stats))
        return {"objects": stats[0], "unreachable": stats[1],
                "refcount_mismatches": stats[2], "dangling": stats[3]}

