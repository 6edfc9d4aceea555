"""One adapter per system, all doing the same work.

Every adapter holds three containers -- a mapping ("dict"), a sequence
("list") and a record with attributes a0..a7 ("obj") -- and offers the
same operations (``Store.ops`` lists what an adapter runs when it is not
all of them).  ``dict_set(items)`` and friends are the plain loops, run
either one operation per transaction (the ``*_each`` variants; for systems
that commit on every statement they are the same loop) or, in batch mode,
inside ``with store.txn(family):`` around a slice of the data.

Values are Python ints and keys Python strs on the way in and out: a system
that stores bytes (lmdb) encodes and decodes inside the timed loop, as its
users would have to.  Third-party modules are imported in ``open`` only, so
a missing peer is detected by the driver before a worker is started.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, Iterator, List, Optional, Tuple

FAMILIES = ("dict", "list", "obj")
ATTRS = tuple(f"a{i}" for i in range(8))

Items = List[Tuple[Any, int]]


class Store:
    """Base: the mapping operations go through ``self.d`` with subscripts,
    which fits every system whose mapping speaks Python's protocol."""

    system = "?"
    config = ""
    note = ""
    #: the operations of ``suite.OPS`` this store runs (None: all of them)
    ops: Optional[Tuple[str, ...]] = None

    # -- lifecycle ---------------------------------------------------------

    def open(self, path: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def txn(self, family: str) -> Any:
        """Context manager: one write transaction (batch mode)."""
        return contextlib.nullcontext()

    def rtxn(self, family: str) -> Any:
        """Context manager around a batch of reads."""
        return self.txn(family)

    # -- containers --------------------------------------------------------

    def dict_reset(self) -> None:
        raise NotImplementedError

    def dict_fill(self, items: Items, batch: int = 1000) -> None:
        for i in range(0, len(items), batch):
            with self.txn("dict"):
                self.dict_set(items[i:i + batch])

    def list_reset(self) -> None:
        raise NotImplementedError

    def obj_reset(self) -> None:
        raise NotImplementedError

    # -- dict ----------------------------------------------------------------

    def dict_set(self, items: Items) -> None:
        d = self.d
        for k, v in items:
            d[k] = v

    def dict_get(self, keys: List[str]) -> None:
        d = self.d
        for k in keys:
            d[k]

    def dict_del(self, keys: List[str]) -> None:
        d = self.d
        for k in keys:
            del d[k]

    def dict_set_each(self, items: Items) -> None:
        self.dict_set(items)

    def dict_get_each(self, keys: List[str]) -> None:
        self.dict_get(keys)

    def dict_del_each(self, keys: List[str]) -> None:
        self.dict_del(keys)

    # -- list (default: a mapping from index to value) -----------------------

    def list_append(self, values: List[int]) -> None:
        lst, n = self.l, self.llen
        for v in values:
            lst[n] = v
            n += 1
        self.llen = n

    def list_index(self, idxs: List[int]) -> None:
        lst = self.l
        for i in idxs:
            lst[i]

    def list_iterate(self) -> None:
        lst = self.l
        for i in range(self.llen):
            lst[i]

    def list_append_each(self, values: List[int]) -> None:
        self.list_append(values)

    def list_index_each(self, idxs: List[int]) -> None:
        self.list_index(idxs)

    # -- obj (default: a mapping from attribute name to value) --------------

    def obj_set(self, items: Items) -> None:
        o = self.o
        for name, v in items:
            o[name] = v

    def obj_get(self, names: List[str]) -> None:
        o = self.o
        for name in names:
            o[name]

    def obj_set_each(self, items: Items) -> None:
        self.obj_set(items)

    def obj_get_each(self, names: List[str]) -> None:
        self.obj_get(names)

    # -- scaling support ----------------------------------------------------

    def reopen_times(self, cycles: int) -> Dict[str, List[float]]:
        """Seconds of *cycles* close/open cycles: {"open": [...], "close":
        [...]}, plus "c_open"/"c_close" where the raw library call can be
        timed on the same file; the store is open again afterwards."""
        return {}

    def extra_stats(self) -> Dict[str, Any]:
        return {}


# ---------------------------------------------------------------------------


class PythonObjects(Store):
    """Lists that append and iterate, and records with attributes, as
    Python objects do (pmemobj's and parkit's)."""

    def list_append(self, values: List[int]) -> None:
        append = self.l.append
        for v in values:
            append(v)

    def list_iterate(self) -> None:
        for _ in self.l:
            pass

    def obj_set(self, items: Items) -> None:
        o = self.o
        for name, v in items:
            setattr(o, name, v)

    def obj_get(self, names: List[str]) -> None:
        o = self.o
        for name in names:
            getattr(o, name)


class PmemobjStore(PythonObjects):
    """pmemobj: PersistentDict, PersistentList and a PersistentObject.  An
    operation outside ``pool.transaction()`` is its own transaction."""

    system = "pmemobj"

    def __init__(self, pool_size: int):
        self.pool_size = pool_size
        self.config = "force" if os.environ.get("PMEM_IS_PMEM_FORCE") == "1" else "msync"
        self.note = ("PMEM_IS_PMEM_FORCE=1: survives a process crash, not power loss"
                     if self.config == "force" else "msync at every commit")

    def open(self, path: str) -> None:
        import pmemobj
        self.path = os.path.join(path, "bench.pool")
        self.pool = pmemobj.PersistentObjectPool(self.path, flag="x",
                                                 pool_size=self.pool_size)
        self.pool.root = {}
        self.d = self.l = self.o = None

    def close(self) -> None:
        self.d = self.l = self.o = None
        self.pool.close()

    def txn(self, family: str) -> Any:
        return self.pool.transaction()

    def _replace(self, name: str, value: Any) -> Any:
        """Store a fresh container under root[name] and make sure the one it
        replaces is freed now, not during the next timed loop."""
        setattr(self, name, None)      # drop our wrapper of the old one
        self.pool.root[name] = value
        with self.pool.transaction():  # its commit collects zero-count objects
            pass
        return self.pool.root[name]

    def dict_reset(self) -> None:
        self.d = self._replace("d", {})

    def list_reset(self) -> None:
        self.l = self._replace("l", [])

    def obj_reset(self) -> None:
        from bench.records import PRecord
        self.o = None
        self.o = self._replace("o", self.pool.new(PRecord))

    def reopen_times(self, cycles: int) -> Dict[str, List[float]]:
        """Python opens alternate with raw pmemobj_open/close calls on the
        same file (through ctypes), so that drift hits both alike: the
        difference is what pmemobj adds, and a clean open must not scan."""
        import time
        import pmemobj
        raw = _raw_libpmemobj()
        self.close()
        out: Dict[str, List[float]] = {"open": [], "close": [], "c_open": [], "c_close": []}
        for _ in range(cycles):
            t0 = time.perf_counter()
            pool = pmemobj.PersistentObjectPool(self.path, flag="w")
            t1 = time.perf_counter()
            pool.close()
            t2 = time.perf_counter()
            out["open"].append(t1 - t0)
            out["close"].append(t2 - t1)
            if raw is not None:
                t0 = time.perf_counter()
                pop = raw.pmemobj_open(self.path.encode(), pmemobj.LAYOUT.encode())
                t1 = time.perf_counter()
                if pop:
                    raw.pmemobj_close(pop)
                    out["c_open"].append(t1 - t0)
                    out["c_close"].append(time.perf_counter() - t1)
        self.pool = pmemobj.PersistentObjectPool(self.path, flag="w")
        root = self.pool.root
        self.d, self.l, self.o = root.get("d"), root.get("l"), root.get("o")
        return {k: v for k, v in out.items() if v}

    def extra_stats(self) -> Dict[str, Any]:
        try:
            return {"pool": self.pool.stats()}
        except Exception as e:  # the stats API is not what this bench measures
            return {"pool_stats_error": repr(e)}


def _raw_libpmemobj() -> Any:
    """libpmemobj through ctypes (the library the extension has loaded), to
    time pmemobj_open itself; None if it cannot be loaded."""
    import ctypes
    try:
        lib = ctypes.CDLL("libpmemobj.so.1")
    except OSError:
        return None
    lib.pmemobj_open.restype = ctypes.c_void_p
    lib.pmemobj_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pmemobj_close.restype = None
    lib.pmemobj_close.argtypes = [ctypes.c_void_p]
    return lib


class ParkitStore(PythonObjects):
    """parkit: a ``Dict``, a ``Log`` and a record (an ``Object`` subclass
    declaring a0..a7) in namespace "bench" under a storage path of its own,
    used by this process alone.  A call outside ``parkit.transaction`` is
    its own transaction; batches of writes run in ``parkit.transaction``
    and batches of reads in ``parkit.snapshot``.  The unversioned variant
    runs the writes only (reads are the same).

    The durability mode is parkit's: it sets PMEM_IS_PMEM_FORCE itself when
    imported (force unless PARKIT_DURABILITY=msync), and the store reports
    the mode parkit chose."""

    system = "parkit"
    PATH = "bench/d"
    WRITES = ("dict.set", "dict.update", "dict.delete", "list.append", "obj.setattr")

    def __init__(self, versioned: bool):
        self.versioned = versioned
        self.ops = None if versioned else self.WRITES

    def open(self, path: str) -> None:
        import parkit
        self.parkit = parkit
        mode = "force" if os.environ.get("PMEM_IS_PMEM_FORCE") == "1" else "msync"
        self.config = mode + ("" if self.versioned else ",versioned=False")
        self.note = ("parkit's default: survives a process crash, not power loss"
                     if mode == "force" else "PARKIT_DURABILITY=msync: msync at every commit")
        parkit.set_storage_path(os.path.join(path, "parkit"))
        self.d = parkit.Dict(self.PATH, versioned=self.versioned)
        self.l = self.o = None

    def close(self) -> None:
        self.d = self.l = self.o = None
        self.parkit.close_all()

    def txn(self, family: str) -> Any:
        return self.parkit.transaction("bench")

    def rtxn(self, family: str) -> Any:
        return self.parkit.snapshot("bench")

    def _fresh(self, old: Any, make: Any) -> Any:
        """Drop *old* and make an empty one at the same path; the dropped
        data is freed now, not during the next timed loop (as pmemobj's
        store does: a commit collects what no wrapper holds any more)."""
        if old is not None:
            old.drop()
        new = make()
        with self.parkit.transaction("bench"):
            pass
        return new

    def dict_reset(self) -> None:
        self.d = self._fresh(self.d, lambda: self.parkit.Dict(
            self.PATH, versioned=self.versioned))

    def list_reset(self) -> None:
        self.l = self._fresh(self.l, lambda: self.parkit.Log(
            "bench/l", versioned=self.versioned))

    def obj_reset(self) -> None:
        from bench.parkit_records import KRecord
        self.o = self._fresh(self.o, lambda: KRecord("bench/o", versioned=self.versioned))


class LmdbStore(Store):
    """py-lmdb: one environment per container, bytes keys and values
    (8-byte ints); the list is keyed by big-endian index, written with
    append=True.  ``*_each`` runs one write (or read) txn per operation."""

    system = "lmdb"

    def __init__(self, sync: bool):
        self.sync = sync
        self.config = f"sync={sync}"
        self.note = ("fsync at every commit" if sync else
                     "no fsync: survives a process crash, not power loss")

    def open(self, path: str) -> None:
        import lmdb
        self.path = path
        self.envs = {f: self._open_env(lmdb, f) for f in FAMILIES}
        self.t: Any = None
        self.llen = 0

    def _open_env(self, lmdb: Any, family: str) -> Any:
        return lmdb.open(os.path.join(self.path, family), map_size=8 << 30,
                         sync=self.sync, metasync=self.sync)

    def close(self) -> None:
        for env in self.envs.values():
            env.close()

    @contextlib.contextmanager
    def txn(self, family: str) -> Iterator[None]:
        with self.envs[family].begin(write=True) as t:
            self.t = t
            yield
        self.t = None

    @contextlib.contextmanager
    def rtxn(self, family: str) -> Iterator[None]:
        with self.envs[family].begin() as t:
            self.t = t
            yield
        self.t = None

    def _drop(self, family: str) -> None:
        env = self.envs[family]
        with env.begin(write=True) as t:
            t.drop(env.open_db(), delete=False)

    def dict_reset(self) -> None:
        self._drop("dict")

    def list_reset(self) -> None:
        self._drop("list")
        self.llen = 0

    def obj_reset(self) -> None:
        self._drop("obj")
        with self.txn("obj"):
            self.obj_set([(a, 0) for a in ATTRS])

    # dict --------------------------------------------------------------------
    def dict_set(self, items: Items) -> None:
        put = self.t.put
        for k, v in items:
            put(k.encode(), v.to_bytes(8, "little", signed=True))

    def dict_set_each(self, items: Items) -> None:
        begin = self.envs["dict"].begin
        for k, v in items:
            with begin(write=True) as t:
                t.put(k.encode(), v.to_bytes(8, "little", signed=True))

    def dict_get(self, keys: List[str]) -> None:
        get, dec = self.t.get, int.from_bytes
        for k in keys:
            dec(get(k.encode()), "little", signed=True)

    def dict_get_each(self, keys: List[str]) -> None:
        begin, dec = self.envs["dict"].begin, int.from_bytes
        for k in keys:
            with begin() as t:
                dec(t.get(k.encode()), "little", signed=True)

    def dict_del(self, keys: List[str]) -> None:
        delete = self.t.delete
        for k in keys:
            delete(k.encode())

    def dict_del_each(self, keys: List[str]) -> None:
        begin = self.envs["dict"].begin
        for k in keys:
            with begin(write=True) as t:
                t.delete(k.encode())

    # list ----------------------------------------------------------------------
    def list_append(self, values: List[int]) -> None:
        put, n = self.t.put, self.llen
        for v in values:
            put(n.to_bytes(8, "big"), v.to_bytes(8, "little", signed=True), append=True)
            n += 1
        self.llen = n

    def list_append_each(self, values: List[int]) -> None:
        begin, n = self.envs["list"].begin, self.llen
        for v in values:
            with begin(write=True) as t:
                t.put(n.to_bytes(8, "big"), v.to_bytes(8, "little", signed=True),
                      append=True)
            n += 1
        self.llen = n

    def list_index(self, idxs: List[int]) -> None:
        get, dec = self.t.get, int.from_bytes
        for i in idxs:
            dec(get(i.to_bytes(8, "big")), "little", signed=True)

    def list_index_each(self, idxs: List[int]) -> None:
        begin, dec = self.envs["list"].begin, int.from_bytes
        for i in idxs:
            with begin() as t:
                dec(t.get(i.to_bytes(8, "big")), "little", signed=True)

    def list_iterate(self) -> None:
        dec = int.from_bytes
        with self.envs["list"].begin() as t:
            for v in t.cursor().iternext(keys=False, values=True):
                dec(v, "little", signed=True)

    # obj: one key per attribute ---------------------------------------------------
    def obj_set(self, items: Items) -> None:
        put = self.t.put
        for name, v in items:
            put(name.encode(), v.to_bytes(8, "little", signed=True))

    def obj_set_each(self, items: Items) -> None:
        begin = self.envs["obj"].begin
        for name, v in items:
            with begin(write=True) as t:
                t.put(name.encode(), v.to_bytes(8, "little", signed=True))

    def obj_get(self, names: List[str]) -> None:
        get, dec = self.t.get, int.from_bytes
        for name in names:
            dec(get(name.encode()), "little", signed=True)

    def obj_get_each(self, names: List[str]) -> None:
        begin, dec = self.envs["obj"].begin, int.from_bytes
        for name in names:
            with begin() as t:
                dec(t.get(name.encode()), "little", signed=True)

    def reopen_times(self, cycles: int) -> Dict[str, List[float]]:
        import time
        import lmdb
        self.envs["dict"].close()
        out: Dict[str, List[float]] = {"open": [], "close": []}
        for _ in range(cycles):
            t0 = time.perf_counter()
            env = self._open_env(lmdb, "dict")
            t1 = time.perf_counter()
            env.close()
            out["open"].append(t1 - t0)
            out["close"].append(time.perf_counter() - t1)
        self.envs["dict"] = self._open_env(lmdb, "dict")
        return out


class SqliteStore(Store):
    """sqlite3 in WAL mode, autocommit: each statement outside BEGIN/COMMIT
    is its own transaction.  dict = TEXT primary key table WITHOUT ROWID,
    list = INTEGER PRIMARY KEY table, obj = one row with columns a0..a7."""

    system = "sqlite"

    def __init__(self, synchronous: str):
        self.synchronous = synchronous
        self.config = f"WAL,synchronous={synchronous}"
        self.note = ("fsync at every commit" if synchronous == "FULL" else
                     "WAL fsynced at checkpoints only: survives a process crash")

    def open(self, path: str) -> None:
        import sqlite3
        self.con = sqlite3.connect(os.path.join(path, "bench.sqlite"),
                                   isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute(f"PRAGMA synchronous={self.synchronous}")
        self.llen = 0
        self.upd = {a: f"UPDATE o SET {a}=? WHERE id=1" for a in ATTRS}
        self.sel = {a: f"SELECT {a} FROM o WHERE id=1" for a in ATTRS}

    def close(self) -> None:
        self.con.close()

    @contextlib.contextmanager
    def txn(self, family: str) -> Iterator[None]:
        self.con.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def _recreate(self, table: str, columns: str, options: str = "") -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.con.execute(f"CREATE TABLE {table} ({columns}) {options}")

    def dict_reset(self) -> None:
        self._recreate("d", "k TEXT PRIMARY KEY, v INTEGER", "WITHOUT ROWID")

    def list_reset(self) -> None:
        self._recreate("l", "i INTEGER PRIMARY KEY, v INTEGER")
        self.llen = 0

    def obj_reset(self) -> None:
        self._recreate("o", "id INTEGER PRIMARY KEY, " +
                       ", ".join(f"{a} INTEGER" for a in ATTRS))
        self.con.execute("INSERT INTO o VALUES (1" + ", 0" * len(ATTRS) + ")")

    def dict_set(self, items: Items) -> None:
        ex = self.con.execute
        for k, v in items:
            ex("INSERT OR REPLACE INTO d VALUES (?, ?)", (k, v))

    def dict_get(self, keys: List[str]) -> None:
        ex = self.con.execute
        for k in keys:
            ex("SELECT v FROM d WHERE k=?", (k,)).fetchone()[0]

    def dict_del(self, keys: List[str]) -> None:
        ex = self.con.execute
        for k in keys:
            ex("DELETE FROM d WHERE k=?", (k,))

    def list_append(self, values: List[int]) -> None:
        ex = self.con.execute
        for v in values:
            ex("INSERT INTO l (v) VALUES (?)", (v,))
        self.llen += len(values)

    def list_index(self, idxs: List[int]) -> None:
        ex = self.con.execute
        for i in idxs:
            ex("SELECT v FROM l WHERE i=?", (i + 1,)).fetchone()[0]

    def list_iterate(self) -> None:
        for (v,) in self.con.execute("SELECT v FROM l ORDER BY i"):
            pass

    def obj_set(self, items: Items) -> None:
        ex, upd = self.con.execute, self.upd
        for name, v in items:
            ex(upd[name], (v,))

    def obj_get(self, names: List[str]) -> None:
        ex, sel = self.con.execute, self.sel
        for name in names:
            ex(sel[name]).fetchone()[0]


class ShelveStore(Store):
    """shelve over whichever dbm backend Python has (often only dbm.dumb).
    No transactions: batch mode calls sync() after each batch."""

    system = "shelve"
    config = "dbm"
    note = "no transactions, no fsync"

    def open(self, path: str) -> None:
        import dbm
        import shelve
        self._shelve = shelve
        self.path = path
        self.shelves: Dict[str, Any] = {}
        for f in FAMILIES:
            self._reopen(f)
        self.config = dbm.whichdb(os.path.join(path, "dict")) or "dbm"
        self.llen = 0

    def _reopen(self, family: str) -> Any:
        old = self.shelves.get(family)
        if old is not None:
            old.close()
        sh = self._shelve.open(os.path.join(self.path, family), flag="n")
        self.shelves[family] = sh
        return sh

    def close(self) -> None:
        for sh in self.shelves.values():
            sh.close()

    @contextlib.contextmanager
    def txn(self, family: str) -> Iterator[None]:
        yield
        self.shelves[family].sync()

    def rtxn(self, family: str) -> Any:
        return contextlib.nullcontext()

    def dict_reset(self) -> None:
        self.d = self._reopen("dict")

    def list_reset(self) -> None:
        self.l = self._reopen("list")
        self.llen = 0

    def obj_reset(self) -> None:
        self.o = self._reopen("obj")
        for a in ATTRS:
            self.o[a] = 0

    def list_append(self, values: List[int]) -> None:
        lst, n = self.l, self.llen
        for v in values:
            lst[str(n)] = v
            n += 1
        self.llen = n

    def list_index(self, idxs: List[int]) -> None:
        lst = self.l
        for i in idxs:
            lst[str(i)]

    def list_iterate(self) -> None:
        lst = self.l
        for i in range(self.llen):
            lst[str(i)]


class DiskcacheStore(Store):
    """diskcache.Cache (sqlite underneath, WAL, synchronous=NORMAL), one
    cache per container, eviction off; batch = ``cache.transact()``."""

    system = "diskcache"
    config = "Cache,eviction=none"
    note = "sqlite WAL, synchronous=NORMAL"

    def open(self, path: str) -> None:
        import diskcache
        self.caches = {f: diskcache.Cache(os.path.join(path, f), eviction_policy="none")
                       for f in FAMILIES}
        self.d, self.l, self.o = (self.caches[f] for f in FAMILIES)
        self.llen = 0

    def close(self) -> None:
        for c in self.caches.values():
            c.close()

    def txn(self, family: str) -> Any:
        return self.caches[family].transact()

    def dict_reset(self) -> None:
        self.d.clear()

    def list_reset(self) -> None:
        self.l.clear()
        self.llen = 0

    def obj_reset(self) -> None:
        self.o.clear()
        for a in ATTRS:
            self.o[a] = 0


class ZodbStore(Store):
    """ZODB with a FileStorage (which fsyncs every commit): OOBTree for the
    dict, IOBTree for the list, a Persistent subclass for the record; the
    object cache is sized so the working set stays in memory."""

    system = "ZODB"
    config = "FileStorage"
    note = "fsync at every commit"

    def open(self, path: str) -> None:
        import transaction
        from ZODB import DB
        from ZODB.FileStorage import FileStorage
        from BTrees.IOBTree import IOBTree
        from BTrees.OOBTree import OOBTree
        self._btrees = (OOBTree, IOBTree)
        self.db = DB(FileStorage(os.path.join(path, "Data.fs")), cache_size=1_000_000)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(self.tm)
        self.root = self.conn.root()
        self.llen = 0

    def close(self) -> None:
        self.tm.abort()
        self.conn.close()
        self.db.close()

    def txn(self, family: str) -> Any:
        return self.tm  # ``with tm:`` begins, then commits (aborts on error)

    def _set_root(self, name: str, value: Any) -> Any:
        self.root[name] = value
        self.tm.commit()
        return value

    def dict_reset(self) -> None:
        self.d = self._set_root("d", self._btrees[0]())

    def list_reset(self) -> None:
        self.l = self._set_root("l", self._btrees[1]())
        self.llen = 0

    def obj_reset(self) -> None:
        from bench.zodb_records import ZRecord
        self.o = self._set_root("o", ZRecord())

    def dict_set_each(self, items: Items) -> None:
        d, commit = self.d, self.tm.commit
        for k, v in items:
            d[k] = v
            commit()

    def dict_del_each(self, keys: List[str]) -> None:
        d, commit = self.d, self.tm.commit
        for k in keys:
            del d[k]
            commit()

    def list_append_each(self, values: List[int]) -> None:
        lst, n, commit = self.l, self.llen, self.tm.commit
        for v in values:
            lst[n] = v
            n += 1
            commit()
        self.llen = n

    def list_iterate(self) -> None:
        for _ in self.l.values():
            pass

    def obj_set(self, items: Items) -> None:
        o = self.o
        for name, v in items:
            setattr(o, name, v)

    def obj_set_each(self, items: Items) -> None:
        o, commit = self.o, self.tm.commit
        for name, v in items:
            setattr(o, name, v)
            commit()

    def obj_get(self, names: List[str]) -> None:
        o = self.o
        for name in names:
            getattr(o, name)


# ---------------------------------------------------------------------------

#: spec -> (system label, import needed, factory(pool_size))
SPECS: Dict[str, Tuple[str, str, Any]] = {
    "pmemobj-force": ("pmemobj", "pmemobj", lambda size: PmemobjStore(size)),
    "pmemobj-msync": ("pmemobj", "pmemobj", lambda size: PmemobjStore(size)),
    "parkit-force": ("parkit", "parkit", lambda size: ParkitStore(versioned=True)),
    "parkit-force-unversioned": ("parkit", "parkit", lambda size: ParkitStore(versioned=False)),
    "parkit-msync": ("parkit", "parkit", lambda size: ParkitStore(versioned=True)),
    "parkit-msync-unversioned": ("parkit", "parkit", lambda size: ParkitStore(versioned=False)),
    "lmdb-nosync": ("lmdb", "lmdb", lambda size: LmdbStore(sync=False)),
    "lmdb-sync": ("lmdb", "lmdb", lambda size: LmdbStore(sync=True)),
    "sqlite-normal": ("sqlite", "sqlite3", lambda size: SqliteStore("NORMAL")),
    "sqlite-full": ("sqlite", "sqlite3", lambda size: SqliteStore("FULL")),
    "shelve": ("shelve", "shelve", lambda size: ShelveStore()),
    "diskcache": ("diskcache", "diskcache", lambda size: DiskcacheStore()),
    "zodb": ("ZODB", "ZODB", lambda size: ZodbStore()),
}
