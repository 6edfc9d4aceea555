"""The MemoryManager API, reference counts, user-defined types and gc."""
from __future__ import annotations

import threading

import pytest

import pmemobj
from pmemobj import Persistent, ffi
from tests.helpers import reopen


class Cell(Persistent):
    """A user-defined type: one reference slot plus an owned buffer."""

    def _p_new(self, manager):
        self._p_mm = manager
        self._p_oid = manager.new_pobject(type(self), 32)
        self._buf = pmemobj.OID_NULL

    def _p_resurrect(self, manager, oid):
        self._p_mm, self._p_oid = manager, oid

    def _fields(self):
        return ffi.cast("uint64_t *", self._p_mm.body(self._p_oid))

    def set(self, value):
        mm = self._p_mm
        with mm.transaction():
            f = self._fields()
            mm.snapshot_range(f, 32)
            old = (mm.uuid, int(f[0]))
            oid = mm.persist(value)
            mm.incref(oid)
            f[0] = oid[1]
            if f[1] == 0:
                buf = mm.zalloc(64, pmemobj.FIRST_USER_TYPE_NUM)
                f[1] = buf[1]
            mm.xdecref(old if old[1] else pmemobj.OID_NULL)

    def get(self):
        f = self._fields()
        return self._p_mm.resurrect((self._p_mm.uuid, int(f[0])))

    def _p_traverse(self):
        f = self._fields()
        return [(self._p_mm.uuid, int(f[0]))] if f[0] else []

    def _p_substructures(self):
        f = self._fields()
        return [(self._p_mm.uuid, int(f[1]))] if f[1] else []

    def _p_deallocate(self):
        mm = self._p_mm
        f = self._fields()
        mm.snapshot_range(f, 32)
        if f[0]:
            mm.decref((mm.uuid, int(f[0])))
        if f[1]:
            mm.free((mm.uuid, int(f[1])))
        f[0] = f[1] = 0


def test_alloc_free_realloc_need_a_transaction(pool):
    mm = pool.mm
    with mm.transaction():
        oid = mm.zalloc(100)
        p = ffi.cast("char *", mm.direct(oid))
        assert ffi.unpack(p, 100) == b"\0" * 100
        ffi.memmove(p, b"hello", 5)
        oid2 = mm.realloc(oid, 1000)
        assert ffi.unpack(ffi.cast("char *", mm.direct(oid2)), 5) == b"hello"
        oid3 = mm.zrealloc(oid2, 2000)
        q = ffi.cast("char *", mm.direct(oid3))
        assert ffi.unpack(q, 5) == b"hello" and ffi.unpack(q + 1000, 1000) == b"\0" * 1000
        with pytest.raises(TypeError):
            mm.realloc(oid3, 10, type_num=99)
        mm.free(oid3)
    assert mm.otuple(oid3) == oid3
    with pytest.raises(ValueError):
        mm.otuple((1234, 5678))


def test_alloc_is_rolled_back_on_abort(pool):
    base = pool.stats()["objects"]
    with pytest.raises(RuntimeError):
        with pool.mm.transaction():
            pool.mm.alloc(1000)
            raise RuntimeError
    assert pool.stats()["objects"] == base


def test_persist_resurrect_and_refcounts(pool):
    mm = pool.mm
    base = pool.stats()["pobjects"]
    with mm.transaction():
        oid = mm.persist(("a", 1, b"b" * 100))
        assert mm.resurrect(oid) == ("a", 1, b"b" * 100)
        mm.incref(oid)
        mm.incref(oid)
        mm.decref(oid)
    assert mm.resurrect(oid) == ("a", 1, b"b" * 100)
    assert pool.stats()["pobjects"] == base + 2  # the tuple and the long bytes
    mm.decref(oid)  # to zero: freed with what it references
    assert pool.stats()["pobjects"] == base
    assert mm.persist(7) != pmemobj.OID_NULL
    mm.xdecref(pmemobj.OID_NULL)


def test_resurrect_of_garbage_oid_is_an_error(pool):
    with pytest.raises(ValueError):
        pool.mm.resurrect((pool.mm.uuid, 12345678))
    with pytest.raises(ValueError):
        pool.mm.resurrect((pool.mm.uuid, 1 << 40))


def test_user_defined_type_persists_and_is_collected(pool):
    cell = pool.new(Cell)
    cell.set("first")
    cell.set(("second", [1, 2]))
    pool.root = cell
    pool = reopen(pool)
    cell = pool.root
    assert type(cell) is Cell
    assert cell.get() == ("second", [1, 2])
    assert pool.check()["refcount_mismatches"] == 0
    base = pool.stats()["objects"]
    pool.root = None
    del cell
    pool = reopen(pool)
    assert pool.stats()["objects"] < base
    assert pool.check() == {"objects": pool.stats()["objects"], "unreachable": 0,
                            "refcount_mismatches": 0, "dangling": 0}
    pool.close()


def test_gc_frees_unreachable_objects_and_cycles(pool):
    pool.root = {"keep": [1, 2]}
    a = pool.new(pmemobj.PersistentList)
    b = pool.new(pmemobj.PersistentList)
    a.append(b)
    b.append(a)          # a cycle: counts never reach zero
    pool.root["cycle"] = a
    del a, b
    del pool.root["cycle"]
    # counts alone cannot free a cycle
    assert pool.check()["unreachable"] >= 4
    stats = pool.gc()
    assert stats["freed"] >= 2
    assert pool.check()["unreachable"] == 0
    assert pool.root == {"keep": [1, 2]}


def test_gc_keeps_objects_python_still_holds(pool):
    lst = pool.new(pmemobj.PersistentList, [1, 2, 3])
    pool.gc()
    assert lst == [1, 2, 3]
    pool.root = lst
    pool = reopen(pool)
    assert pool.root == [1, 2, 3]
    pool.close()


def test_unattached_new_objects_are_freed(pool):
    base = pool.stats()["pobjects"]
    for _ in range(10):
        pool.new(pmemobj.PersistentDict, {"a": "x" * 50})
    # each new object collects the dropped ones before it
    assert pool.stats()["pobjects"] <= base + 3
    pool = reopen(pool)
    assert pool.stats()["pobjects"] == base
    pool.close()


def test_a_shared_object_resurrects_as_one_object(pool):
    shared = pool.new(pmemobj.PersistentList, [1])
    pool.root = {"a": shared, "b": shared}
    pool = reopen(pool)
    assert pool.root["a"] is pool.root["b"]
    pool.root["a"].append(2)
    assert pool.root["b"] == [1, 2]
    pool.close()


def test_holding_many_unstored_objects_stays_linear(pool, monkeypatch):
    # each new object's commit looks through the zero-count table, where
    # every unstored object waits: looking at all of them each time made
    # building 4000 objects take a second (quadratic).  Counted, not timed.
    import pmemobj.collector as collector
    real, looked = collector.lib, [0]

    class CountingLib:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def pmo_zct_read(h, start, buf, n):
            got = real.pmo_zct_read(h, start, buf, n)
            looked[0] += max(0, min(got, start + n) - start)
            return got

    monkeypatch.setattr(collector, "lib", CountingLib())
    held = [pool.new(pmemobj.PersistentList, [i]) for i in range(2000)]
    assert looked[0] < 20 * len(held), looked[0]   # not about 2000 * 2000 / 2
    del held
    pool.new(pmemobj.PersistentList)               # their going is noticed
    assert pool.stats()["pobjects"] <= 2


def test_garbage_stays_bounded_while_values_are_replaced(pool):
    # a collection that removed entries left its "looked at" mark past the
    # end of the table, so later garbage went unseen until the pool filled
    pool.root = {"data": None}
    root = pool.root
    for i in range(60):
        root["data"] = list(range(2000))      # the old list becomes garbage
        pool.new(pmemobj.PersistentDict)      # an unstored object, dropped at once
        assert pool.stats()["pobjects"] <= 4, i



# -- another thread drops a value a reader was just handed ---------------------

def _paused_reader(pool, monkeypatch, where, read, call=1):
    """Run read() in a thread that pauses at its *call*-th entry into the
    method *where* ("Class.name", after the C call handed it a reference,
    before it holds the object in Python) while the caller's block runs;
    returns (thread, resume event, {"value": ...} or {"error": ...})."""
    from pmemobj.memory import MemoryManager
    from pmemobj.values import Values
    cls_name, name = where.split(".")
    cls = {"MemoryManager": MemoryManager, "Values": Values}[cls_name]
    original = getattr(cls, name)
    handed, resume, calls = threading.Event(), threading.Event(), [0]

    def paused(self, *args):
        if threading.current_thread().name == "reader" and not handed.is_set():
            calls[0] += 1
            if calls[0] == call:
                handed.set()
                resume.wait(10)
        return original(self, *args)
    monkeypatch.setattr(cls, name, paused)
    out = {}

    def reader():
        try:
            out["value"] = read()
        except BaseException as e:  # noqa: BLE001
            out["error"] = e
    t = threading.Thread(target=reader, name="reader")
    t.start()
    assert handed.wait(10)
    return t, resume, out


@pytest.mark.parametrize("value, where, call, copy", [
    ([1, 1, 1], "MemoryManager.wrapper", 1, list),
    ({"a": [1]}, "MemoryManager.wrapper", 1, lambda d: {k: list(v) for k, v in d.items()}),
    (("t", 1, b"x" * 50), "Values._tuple_items", 1, tuple),
    ((("a", 1), ("b", 2)), "Values._tuple_items", 2, tuple),   # inside an inner tuple
])
def test_a_value_handed_to_a_reader_is_not_freed_under_it(pool, monkeypatch, value, where,
                                                          call, copy):
    # between the C call that returns a reference and the Python object
    # that keeps its referent alive, another thread replaced the value: the
    # collector freed the old one and the reader read freed memory
    pool.root = {"k": value}
    root = pool.root
    t, resume, out = _paused_reader(pool, monkeypatch, where,
                                    lambda: copy(root["k"]), call)
    try:
        before = pool.stats()["pobjects"]
        root["k"] = "replaced"                    # the old value's last reference
        for i in range(50):                       # memory to reuse, collections
            root[f"x{i}"] = [9, 9, 9]
        pool.gc()                                 # the collector spares it too
        kept = pool.stats()["pobjects"] - before - 50
    finally:
        resume.set()
        t.join(10)
    assert kept == 0                              # nothing of it was freed
    assert out == {"value": value}
    assert pool.check()["refcount_mismatches"] == 0


def test_a_reader_that_holds_the_object_before_the_collector_frees_it(pool, monkeypatch):
    # the collector looked (not held), then the reader made its object and
    # unpinned, then the collector freed it: freed under a live object
    from pmemobj.memory import MemoryManager
    pool.root = {"k": [1, 1, 1]}
    root = pool.root
    t, resume_reader, out = _paused_reader(pool, monkeypatch, "MemoryManager.wrapper",
                                           lambda: root["k"])
    original_tx, looked, resume_writer = MemoryManager.transaction, threading.Event(), \
        threading.Event()

    def transaction(self):
        import sys
        if threading.current_thread().name == "writer" and not looked.is_set() and \
                sys._getframe(1).f_code.co_name == "collect":
            looked.set()            # after the collector's look, before it frees
            resume_writer.wait(10)
        return original_tx(self)
    monkeypatch.setattr(MemoryManager, "transaction", transaction)
    w = threading.Thread(target=lambda: root.__setitem__("k", "replaced"), name="writer")
    w.start()
    try:
        assert looked.wait(10)
        resume_reader.set()
        t.join(10)                  # the reader holds its list, unpinned
    finally:
        resume_reader.set()
        resume_writer.set()
        w.join(10)
    held = out["value"]
    assert list(held) == [1, 1, 1]
    assert pool.check()["dangling"] == 0   # not freed while held
    del held, out["value"]
    pool.new(pmemobj.PersistentList)       # a collection notices it went


def test_a_pin_left_by_an_interrupted_read_is_cleared(pool):
    # an exception between the C call and its unpin (a KeyboardInterrupt)
    # leaves a pin: the thread's next collection drops it
    from pmemobj._binding import lib
    pool.root = {"k": [1, 2], "n": 0}
    root = pool.root
    base = pool.stats()["pobjects"]
    o = lib.pmo_dict_get_str(root._p_h, root._p_off, b"k", 1)   # read, never unpinned
    assert o.pinned and lib.pmo_pin_depth() == 1
    root["k"] = None                       # a collection: the stale pin goes,
    assert lib.pmo_pin_depth() == 0        # and with it the list
    assert pool.stats()["pobjects"] == base - 1
