"""Pools: files of persistent memory holding one object graph.

Durability: on a DAX filesystem (real persistent memory) writes reach the
media when a transaction commits.  On an ordinary filesystem libpmemobj
emulates persistent memory with a memory-mapped file: every commit calls
msync, which survives power loss but is slow.  With the environment
variable ``PMEM_IS_PMEM_FORCE=1`` set before the first pool is opened, it
only flushes CPU caches: commits survive a crash of the process (the page
cache keeps the data) but not a crash of the machine.
"""
from __future__ import annotations

import builtins
import errno
import fcntl
import logging
import os
import shutil
import stat
import weakref
from typing import Any, Dict, Optional, Set, Union

from . import _binding as b
from ._binding import check, ffi, lib
from .errors import (
    ForeignFileError,
    PmemError,
    PoolClosedError,
    PoolError,
    PoolExistsError,
    PoolInUseError,
    PoolFullError,
    PoolNotFoundError,
    TransactionError,
)
from .memory import MemoryManager, Transaction

log = logging.getLogger("pmemobj")

#: Smallest pool libpmemobj creates (8 MiB).
MIN_POOL_SIZE: int = b.MIN_POOL
#: The libpmemobj layout name of our pools; others are refused.
LAYOUT = "pmemobj-python-1"

_POOL_SIGNATURE = b"PMEMOBJ\0"
_POOLSET_SIGNATURE = b"PMEMPOOLSET"

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().rstrip("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def poolset_size(path: str) -> int:
    """The largest size a poolset file lets its pool map: the sum of the
    part sizes (a directory part's size is its maximum)."""
    total = 0
    with builtins.open(path, "r") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith(("PMEMPOOLSET", "OPTION")):
                continue
            if line.startswith("REPLICA"):
                break
            total += _parse_size(line.split()[0])
    return total


def parts_dir(path: str) -> str:
    """Where a growable pool at *path* keeps its part files."""
    return os.path.abspath(path) + ".parts"


def _write_poolset(path: str, max_size: int) -> None:
    """Write the poolset file of a growable pool: one directory part that
    libpmemobj fills with part files as the heap grows, up to *max_size*."""
    tmp = path + ".tmp"
    with builtins.open(tmp, "w") as f:
        f.write(f"PMEMPOOLSET\nOPTION SINGLEHDR\n{max_size} {parts_dir(path)}/\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def set_max_size(path: PathLike, max_size: int) -> None:
    """Change the maximum size of a closed growable pool.  It can grow at
    once; it cannot shrink below the part files it already has."""
    path = os.fsdecode(os.fspath(path))
    _inspect(path)
    used = sum(e.stat().st_size for e in os.scandir(parts_dir(path)) if e.is_file())
    if max_size < max(used, MIN_POOL_SIZE):
        raise ValueError(f"{path} already uses {used} bytes; cannot set its "
                         f"maximum to {max_size}")
    _write_poolset(path, max_size)


#: libpmemobj's smallest part file: a smaller one was never part of a heap
_MIN_PART = 2 << 20


def _check_last_part(path: str) -> None:
    """A part file shorter than libpmemobj's least is one being added to a
    growable pool, or one a crash left unfinished (empty).  libpmemobj
    refuses the pool then, or dies of SIGBUS if the pool is open elsewhere.
    If another process has the pool open (libpmemobj locks the first part
    meanwhile), it is in use: it may be adding this very part.  If not,
    the heap never reached the part: it goes."""
    try:
        parts = sorted(e.path for e in os.scandir(parts_dir(path))
                       if e.is_file() and e.name.endswith(".pmem"))
    except OSError:
        return
    if len(parts) < 2 or os.stat(parts[-1]).st_size >= _MIN_PART:
        return
    try:
        fd = os.open(parts[0], os.O_RDONLY)
    except OSError:
        return   # libpmemobj reports it, in its words
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PoolInUseError(errno.EAGAIN, "pool is in use: it is already open in "
                                 "this or another process", path) from None
        if os.stat(parts[-1]).st_size < _MIN_PART:
            log.warning("%s: removing %s, a part a crash left unfinished", path, parts[-1])
            os.unlink(parts[-1])
    finally:
        os.close(fd)   # (drops the lock)


def _inspect(path: str) -> int:
    """Check that *path* looks like a pool before libpmemobj maps it (it
    crashes on some malformed files); return the size it may map."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise PoolNotFoundError(errno.ENOENT, "pool file does not exist", path) from None
    except PermissionError:
        raise PoolError(errno.EACCES, "permission denied", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise ForeignFileError(errno.EISDIR, "is a directory, not a pool file", path)
    if not stat.S_ISREG(st.st_mode):
        raise ForeignFileError(errno.EINVAL, "is not a regular file", path)
    try:
        with builtins.open(path, "rb") as f:
            head = f.read(16)
    except PermissionError:
        raise PoolError(errno.EACCES, "permission denied", path) from None
    if head.startswith(_POOLSET_SIGNATURE):
        size = poolset_size(path)
        if os.path.isdir(parts_dir(path)) and not _poolset_points_home(path):
            _write_poolset(path, size)  # the pool was moved or copied
        _check_last_part(path)
        return size
    if st.st_size == 0:
        raise ForeignFileError(errno.EINVAL, "file is empty, not a pool", path)
    if head[:8] != _POOL_SIGNATURE:
        raise ForeignFileError(errno.EINVAL, "not a pmemobj pool (no PMEMOBJ signature)", path)
    if st.st_size < MIN_POOL_SIZE:
        raise ForeignFileError(
            errno.EINVAL,
            f"pool file is truncated ({st.st_size} bytes; a pool has at least "
            f"{MIN_POOL_SIZE})", path)
    return st.st_size


def _poolset_points_home(path: str) -> bool:
    with builtins.open(path) as f:
        return f"{parts_dir(path)}/" in f.read()


def _is_poolset(path: str) -> bool:
    with builtins.open(path, "rb") as f:
        return f.read(len(_POOLSET_SIGNATURE)) == _POOLSET_SIGNATURE


def durability() -> str:
    """How commits are made durable in this process: "pmem" when
    PMEM_IS_PMEM_FORCE=1 makes libpmem treat mapped files as persistent
    memory (process crashes are survived, machine crashes are not), else
    "msync or DAX" (msync on ordinary files, cache flushes on DAX)."""
    force = os.environ.get("PMEM_IS_PMEM_FORCE")
    return "emulated pmem (PMEM_IS_PMEM_FORCE=1)" if force == "1" else "msync or DAX"


def _umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        with builtins.open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _open_error(path: str, creating: bool) -> OSError:
    code = lib.pmo_errno() or errno.EINVAL
    msg = b.message()
    if code in (errno.EAGAIN, errno.EWOULDBLOCK):
        return PoolInUseError(code, "pool is in use: it is already open in this "
                              "or another process", path)
    if code == errno.ENOENT:
        return PoolNotFoundError(code, msg, path)
    if code == errno.EEXIST and not creating and os.path.abspath(path) in _inherited:
        return PoolInUseError(code, "the pool was open in the parent process when this "
                              "process was forked: libpmemobj cannot open it again here "
                              "(close pools before forking, or start processes with "
                              "'spawn')", path)
    if code == errno.EEXIST:
        return PoolExistsError(code, "pool file already exists", path)
    if code in (errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS):
        return PoolError(code, msg, path)
    if creating:
        return PoolError(code, msg, path)
    if "layout" in msg:
        return ForeignFileError(code, f"a pool of another layout ({msg})", path)
    return ForeignFileError(code, f"not a usable pmemobj pool ({msg})", path)


# -- fork ----------------------------------------------------------------------
# A child made by fork() shares the parent's open pool files, and with them
# libpmemobj's lock: were it to keep them, nobody could open the pool again
# after the parent closed it, while the child lived.  The C core keeps the
# mappings out of children (the pools are closed there); the files the
# child inherits are closed here.

_open_pools: "weakref.WeakSet[PersistentObjectPool]" = weakref.WeakSet()
_inherited: Set[str] = set()   # pools open in a parent at a fork (absolute paths)


def _before_fork() -> None:
    for pool in list(_open_pools):
        lib.pmo_dontfork(pool._h)   # grown pools map new parts


def _after_fork_in_child() -> None:
    pools = list(_open_pools)
    _open_pools.clear()
    if not pools:
        return
    names = {os.path.abspath(p.filename) for p in pools}
    _inherited.update(names)
    dirs = tuple(parts_dir(p.filename) + "/" for p in pools)
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target in names or target.startswith(dirs):
                os.close(int(fd))
        except OSError:
            pass


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


class Hold:
    """See :meth:`PersistentObjectPool.hold`."""

    __slots__ = ("_h",)

    def __init__(self, h: Any):
        self._h = h

    def __enter__(self) -> None:
        st = lib.pmo_hold(self._h)
        if st:
            check(st)

    def __exit__(self, *exc: Any) -> None:
        lib.pmo_unhold(self._h)


class Confine:
    """See :meth:`PersistentObjectPool.confine` and :func:`unconfined`.
    The enclosing confinements are kept per thread in C: one instance
    serves any number of blocks, nested or in several threads."""

    __slots__ = ("_h", "_read_only")

    def __init__(self, h: Any, read_only: bool):
        self._h, self._read_only = h, read_only

    def __enter__(self) -> None:
        st = lib.pmo_confine_push(self._h, self._read_only)
        if st:
            check(st)

    def __exit__(self, *exc: Any) -> None:
        lib.pmo_confine_pop()


_UNCONFINED = Confine(ffi.NULL, False)


def unconfined() -> Confine:
    """A context manager lifting this thread's confinement (see
    :meth:`PersistentObjectPool.confine`) for its block, restoring it after."""
    return _UNCONFINED


class PersistentObjectPool:
    """A pool file and the object graph it holds.

    *flag* ``'w'`` opens an existing pool, ``'x'`` creates a new one, ``'c'``
    opens or creates.  A new pool gets *pool_size* bytes (it cannot grow)
    and file mode *mode* (the umask applies).  A pool that was not closed
    cleanly is garbage collected on open.  Use it as a context manager or
    call :meth:`close`.

    With *growable*, a new pool is a poolset: *filename* is a small text
    file and the heap lives in part files under ``filename + ".parts"``,
    added as it grows, up to *pool_size* bytes; an empty pool takes 8 MiB
    of disk whatever its maximum.

    *collect_unclean=False* skips the collection after an unclean shutdown
    (for inspecting such a pool as it was found); :attr:`recovered` holds
    the collection's counts when it ran.
    """

    def __init__(self, filename: PathLike, flag: str = "w",
                 pool_size: int = MIN_POOL_SIZE, mode: int = 0o666,
                 debug: bool = False, *, growable: bool = False,
                 collect_unclean: bool = True):
        path = os.fsdecode(os.fspath(filename))
        if flag not in ("w", "x", "c"):
            raise ValueError(f"flag must be 'w', 'x' or 'c', not {flag!r}")
        if not isinstance(pool_size, int) or pool_size < MIN_POOL_SIZE:
            raise ValueError(f"pool_size must be an int of at least {MIN_POOL_SIZE}")
        self.filename = path
        self.debug = debug
        self._closed = True
        self._h = ffi.gc(lib.pmo_handle_new(), lib.pmo_handle_free)
        if self._h == ffi.NULL:
            raise MemoryError("cannot allocate a pool handle")
        exists = os.path.lexists(path)
        if flag == "w" and not exists:
            raise PoolNotFoundError(errno.ENOENT, "pool file does not exist", path)
        if flag == "x" and exists:
            raise PoolExistsError(errno.EEXIST, "pool file already exists", path)
        if exists:
            limit = _inspect(path)
            st = lib.pmo_open(self._h, path.encode(), LAYOUT.encode(), limit)
        else:
            size = pool_size
            if growable:
                os.makedirs(parts_dir(path), exist_ok=True)
                _write_poolset(path, pool_size)
                size = 0
            # libpmemobj sets the mode as given; honour the umask ourselves
            # emulated pmem: no unsafe-shutdown tracking (see csrc/pool.c)
            sds = 0 if os.environ.get("PMEM_IS_PMEM_FORCE") == "1" else 1
            st = lib.pmo_create(self._h, path.encode(), LAYOUT.encode(),
                                size, mode & ~_umask(), pool_size, sds)
        if st:
            err = _open_error(path, creating=not exists)
            if growable and not exists:
                remove(path)
            raise err
        self._closed = False
        self._counter: Any = None
        _open_pools.add(self)
        self.mm = MemoryManager(self, self._h)
        self._hold = Hold(self._h)
        self._confines = (Confine(self._h, False), Confine(self._h, True))
        self.recovered: Optional[Dict[str, int]] = None
        if collect_unclean:
            try:
                self._collect_at_open(path)
            except PoolFullError as e:
                # too full to free anything: open anyway (reads work, and
                # freeing room lets the next collection run)
                log.warning("%s: garbage left for later: %s", path, e)
            except BaseException:
                self._abandon()   # not left open (and "in use") in this process
                raise

    def _collect_at_open(self, path: str) -> None:
        if not lib.pmo_was_clean(self._h):
            log.warning("%s was not closed cleanly; collecting garbage", path)
            self.recovered = self.gc()
            log.warning("%s: %s", path, self.recovered)
        elif lib.pmo_gc_needed(self._h):
            self.recovered = self.gc()  # a full pool left garbage behind

    def _abandon(self) -> None:
        """Close without collecting or marking the pool clean."""
        lib.pmo_abandon(self._h)
        _open_pools.discard(self)

    # -- state -------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the pool is closed."""
        return not lib.pmo_is_open(self._h)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.filename!r} {state}>"

    def __enter__(self) -> "PersistentObjectPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def hold(self) -> "Hold":
        """A context manager keeping the pool open, and other threads'
        operations on it waiting, for its block: several reads see one
        state.  Entering raises PoolClosedError if the pool is closed.
        Re-entrant; a transaction of the pool holds it too."""
        return self._hold

    def confine(self, read_only: bool = False) -> Confine:
        """A context manager confining this thread to this pool for its
        block: using an object of another pool raises ConfinementError, as
        does any write when *read_only*, and nothing is done.  Other
        threads are not affected.  Nests (an inner block cannot widen the
        outer one)."""
        self._require_open()
        return self._confines[bool(read_only)]

    def count_commits(self, counter: Any) -> None:
        """After each committed transaction that changed something, add 1
        to the native-endian 8-byte integer at the start of *counter*, a
        writable buffer such as a shared ``mmap``: other processes watching
        it learn that the pool changed without opening it.  The pool keeps
        a reference to *counter*."""
        self._require_open()
        view = ffi.from_buffer("uint64_t[]", counter, require_writable=True)
        if len(view) < 1:
            raise ValueError("the counter buffer needs at least 8 bytes")
        self._counter = view
        lib.pmo_count_commits(self._h, view)

    def _require_open(self) -> None:
        if self.closed:
            raise PoolClosedError(f"pool {self.filename!r} is closed")

    # -- the object graph -------------------------------------------------

    @property
    def root(self) -> Any:
        """The root object.  Only what is reachable from it survives a
        close; setting it releases the previous root."""
        o = lib.pmo_root_get(self._h)
        if o.status:
            check(o.status)
        return self.mm.value(o)

    @root.setter
    def root(self, value: Any) -> None:
        self.mm.store(lib.pmo_root_set, value)

    def new(self, typ: type, /, *args: Any, **kw: Any) -> Any:
        """Create an instance of the Persistent class *typ* in this pool."""
        return self.mm.new(typ, *args, **kw)

    def persist_via_pickle(self, *types: type) -> None:
        """Store instances of *types* (immutable, non-container types) as
        pickles.  Pickles in a pool load only for nominated types, so
        opening an untrusted pool runs no code by default."""
        self.mm.persist_via_pickle(*types)

    def transaction(self) -> Transaction:
        """A context manager: its block commits as a whole on normal exit,
        rolls back on an exception, and is all-or-nothing across a crash.
        Transactions nest; one thread's transaction makes other threads
        using this pool wait."""
        self._require_open()
        return self.mm.transaction()

    def gc(self, debug: Optional[bool] = None) -> Dict[str, int]:
        """Free every object not reachable from :attr:`root` (or from a
        Python object still in use) and repair reference counts.  Returns
        counts: objects scanned, freed, substructures freed, counts fixed."""
        self._require_open()
        stats = self.mm.collector.gc()
        if self.debug if debug is None else debug:
            log.info("gc %s: %s", self.filename, stats)
        return stats

    def check(self) -> Dict[str, int]:
        """Verify the pool without changing it: objects, unreachable ones
        (not reachable from the root, nor waiting to be freed), reference
        count mismatches, dangling references."""
        self._require_open()
        return self.mm.collector.check_pool()

    def stats(self) -> Dict[str, int]:
        """Allocation counts: objects, bytes in use, PObjects, pool size."""
        out = ffi.new("uint64_t[4]")
        check(lib.pmo_stats(self._h, out))
        return {"objects": out[0], "bytes_used": out[1], "pobjects": out[2],
                "pool_size": out[3]}

    def info(self) -> Dict[str, Any]:
        """What the pool holds: sizes, objects by type, the state it was
        found in when opened, and how durable its commits are."""
        out = ffi.new("uint64_t[4]")
        check(lib.pmo_stats(self._h, out))
        hist = ffi.new("uint64_t[]", 3 * 256)
        n = check(lib.pmo_type_histogram(self._h, hist, 256))
        by_type: Dict[str, Dict[str, int]] = {}
        for k in range(min(n, 256)):
            name = self.mm.types.name_of(int(hist[3 * k]))
            by_type[name] = {"count": int(hist[3 * k + 1]), "bytes": int(hist[3 * k + 2])}
        return {
            "path": self.filename,
            "pool_size": int(out[3]),
            "used": int(out[1]),
            "free_estimate": max(int(out[3]) - int(out[1]), 0),
            "allocations": int(out[0]),
            "objects": int(out[2]),
            "objects_by_type": by_type,
            "clean_shutdown": bool(lib.pmo_was_clean(self._h)),
            "layout": LAYOUT,
            "layout_version": int(lib.pmo_layout_version(self._h)),
            "growable": _is_poolset(self.filename),
            "durability": durability(),
        }

    def close(self) -> None:
        """Release garbage, mark the pool clean and close the file.  Calling
        it again does nothing.  Objects of the pool are unusable after."""
        if self.closed:
            return
        if lib.pmo_tx_active(self._h):
            raise TransactionError("cannot close the pool inside one of its transactions")
        # other threads wait until the pool is closed: none may use an
        # object the last collection freed
        if lib.pmo_hold(self._h):
            return  # another thread closed it meanwhile
        try:
            self.mm.collector.collect(keep_live=False)
            if lib.pmo_gc_needed(self._h):
                self.gc()
        except PmemError as e:
            # what is left waits in the zero-count table for the next open
            log.warning("%s: garbage left for later: %s", self.filename, e)
        finally:
            st = lib.pmo_close(self._h)
            lib.pmo_unhold(self._h)
            _open_pools.discard(self)
            self._counter = None   # the caller's buffer is theirs again
            if st:
                check(st)


def probe(filename: PathLike) -> Optional[str]:
    """Open the pool once in a child process: a description of how
    libpmemobj died if it did (damage to its own heap metadata can crash it),
    else None.  For tools that must survive any file; costs a fork."""
    path = os.fsdecode(os.fspath(filename))
    _inspect(path)
    pid = os.fork()
    if pid == 0:  # child: report only through the exit status
        try:
            os._exit(0 if lib.pmo_probe(path.encode(), LAYOUT.encode()) == 0 else 1)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return (f"libpmemobj crashed opening it (signal {os.WTERMSIG(status)}): "
                f"its heap metadata is damaged")
    return None


def remove(filename: PathLike) -> None:
    """Delete the pool at *filename* and, for a growable pool, its part
    files.  The pool must not be open; a missing pool is not an error."""
    path = os.fsdecode(filename)
    shutil.rmtree(parts_dir(path), ignore_errors=True)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def create(filename: PathLike, pool_size: int = MIN_POOL_SIZE, mode: int = 0o666,
           debug: bool = False) -> PersistentObjectPool:
    """Create a new pool file; raise :class:`PoolExistsError` if it exists."""
    return PersistentObjectPool(filename, "x", pool_size, mode, debug)


def open(filename: PathLike, debug: bool = False) -> PersistentObjectPool:  # noqa: A001
    """Open an existing pool; raise :class:`PoolNotFoundError` if missing.
    A pool not closed cleanly is garbage collected first."""
    return PersistentObjectPool(filename, "w", debug=debug)
