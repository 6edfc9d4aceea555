"""Namespaces: one growable pmemobj pool each, shared by many processes.

A :class:`Handle` is this process's access to one namespace (one per
namespace and storage path, from :func:`handle_for`): its pool while the
process owns it, the hand-off to other processes, the change counter, and
the namespace's maximum size.

libpmemobj lets one process open a pool.  A process that uses a namespace
takes ownership (see :mod:`parkit.lock`), opens the pool and keeps it open
while it works: a process alone pays nothing per operation.  When another
process waits, the owner hands the pool over at its next transaction
boundary once it has held it for a short time slice; an idle owner is
asked by a background thread.  A hand-off costs one close and one open.

Writers also bump a change counter (a small shared file) that blocked
readers poll, so they wake without owning the namespace.
"""
from __future__ import annotations

import atexit
import mmap
import os
import struct
import sys
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Set, Tuple

import pmemobj

from .errors import ContextError
from .lock import NamespaceLock
from .storage import check_namespace, get_storage_path, namespace_file
from .waiting import sleep_until

#: How long an owner keeps a namespace while other processes wait (s).
SLICE = 0.010
#: How often the background thread looks for waiters on idle namespaces,
#: and the least time between two looks by a busy owner (each is a syscall).
POLL = 0.002
CHECK_EVERY = 0.001

#: How long a new owner waits for a dying owner to let go of the pool (s).
DYING_OWNER = 2.0

#: Default maximum size of a namespace; disk is used only as it fills.
DEFAULT_NAMESPACE_SIZE = 1 << 30

_SEQ = struct.Struct("=Q")  # native: the pool bumps it from C


class Handle:
    """This process's access to one namespace: its pool, when owned."""

    def __init__(self, storage: str, namespace: str):
        self.storage = storage
        self.namespace = namespace
        self.file = namespace_file(namespace, storage)
        self.mutex = threading.RLock()
        self.pool: Optional[pmemobj.PersistentObjectPool] = None
        self.generation = 0      # bumped at every open
        # name -> {id: Object}: by identity, as Objects of one path compare equal
        self._bound: Dict[str, "weakref.WeakValueDictionary[int, Any]"] = {}
        self.depth = 0           # parkit transactions running in this process
        self._lock: Optional[NamespaceLock] = None
        self._since = 0.0
        self._next_check = 0.0
        self._objects: Any = None
        self._seq: Optional[mmap.mmap] = None
        # per enter(), while the mutex is held: the confinement it lifted
        self._lifted: List[Optional[Any]] = []

    # -- ownership ------------------------------------------------------------

    def enter(self, unconfined: bool = False) -> pmemobj.PersistentObjectPool:
        """Lock the handle for this thread and own the pool; pair with
        :meth:`leave`.  *unconfined*: lift this thread's confinement to
        another pool (see :func:`pmemobj.unconfined`) until then."""
        self.mutex.acquire()
        lift = pmemobj.unconfined() if unconfined else None
        try:
            if lift is not None:
                lift.__enter__()
            try:
                if self.pool is None:
                    self._open()
            except BaseException:
                if lift is not None:
                    lift.__exit__(None, None, None)
                raise
        except BaseException:
            self.mutex.release()
            raise
        self._lifted.append(lift)
        return self.pool  # type: ignore[return-value]

    def leave(self) -> None:
        """End an operation: hand over if others wait.  (Writes publish
        themselves: the pool bumps the change counter at each commit.)"""
        try:
            if self.depth == 0 and self.pool is not None:
                now = time.monotonic()
                if now >= self._next_check:
                    self._next_check = now + CHECK_EVERY
                    if (now - self._since > SLICE and self._lock is not None
                            and self._lock.waiters()):
                        self._close()
        finally:
            lift = self._lifted.pop() if self._lifted else None
            if lift is not None:
                lift.__exit__(None, None, None)
            self.mutex.release()

    def _lockfile(self) -> NamespaceLock:
        if self._lock is None:
            os.makedirs(os.path.dirname(self.file), exist_ok=True)
            self._lock = NamespaceLock(self.file + ".lock")
        return self._lock

    def _open(self) -> None:
        lock = self._lockfile()
        lock.acquire()
        try:
            pool = self._open_pool_after_owner()
            try:
                pool.count_commits(self._seqmap())
                if pool.root is None:
                    pool.root = {"objects": {}}
                objects = pool.root["objects"]
            except BaseException:
                pool.close()   # else it stays open, and in use, after the lock goes
                raise
        except BaseException:
            lock.release()
            raise
        self.pool = pool
        self._objects = objects
        self.generation += 1
        self._since = time.monotonic()
        _releaser.watch(self)

    def _open_pool_after_owner(self) -> pmemobj.PersistentObjectPool:
        """Open the pool, waiting a little if it is still in use: a process
        dying as the owner loses its namespace lock as its files close, one
        by one, and the pool file may close a moment after the lock."""
        deadline = time.monotonic() + DYING_OWNER
        while True:
            try:
                return self._open_pool()
            except pmemobj.PoolInUseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.001)

    def _open_pool(self) -> pmemobj.PersistentObjectPool:
        if os.path.exists(self.file):
            try:
                return pmemobj.open(self.file)
            except pmemobj.ForeignFileError:
                if not self._half_created():
                    raise
                pmemobj.remove(self.file)
        pool = pmemobj.PersistentObjectPool(
            self.file, "x", pool_size=_pending_size(self.file), growable=True)
        try:
            os.unlink(self.file + ".size")
        except FileNotFoundError:
            pass
        return pool

    def _half_created(self) -> bool:
        """A creation cut short: a poolset file with no part written."""
        parts = pmemobj.parts_dir(self.file)
        return not os.path.isdir(parts) or not any(os.scandir(parts))

    def _close(self) -> None:
        if self.pool is not None:
            # if this raises, the pool stays open and owned: forgetting it
            # would keep the namespace locked with nobody to hand it over
            self.pool.close()
        self.pool, self._objects = None, None
        if self._lock is not None and self._lock.held:
            self._lock.release()

    def objects(self) -> Any:
        """The pool's map of object name -> entry (pool must be owned)."""
        return self._objects

    def register(self, name: str, obj: Any) -> None:
        """Note a live Object bound to *name*, for :meth:`detach`."""
        with self.mutex:
            self._bound.setdefault(name, weakref.WeakValueDictionary())[id(obj)] = obj

    def detach(self, name: str) -> None:
        """The object *name* was dropped: this process's Objects bound to it
        forget its entry and find out at their next use."""
        bound = self._bound.get(name)
        for obj in list(bound.values()) if bound is not None else ():
            obj._detach()

    def forget_after_fork(self) -> None:
        """In a forked child: the pool, its lock and the mutex are the
        parent's; start closed (the parent still owns the namespace, and
        the child takes its turn at its first use)."""
        self.mutex = threading.RLock()
        if self._lock is not None:
            self._lock.close()   # the parent's lock stays: it has its own fd
            self._lock = None
        self.pool, self._objects = None, None
        self.depth = 0
        self._lifted = []

    def set_size(self, size: int) -> None:
        with self.mutex:
            if self.depth:   # (the mutex is ours: the transaction is this thread's)
                raise ContextError(
                    f"cannot resize namespace {self.namespace!r} inside a "
                    f"transaction or snapshot on it")
            lock = self._lockfile()
            if self.pool is not None:
                self._close()
            lock.acquire()
            try:
                if os.path.exists(self.file):
                    pmemobj.set_max_size(self.file, size)
                else:
                    with open(self.file + ".size", "w") as f:
                        f.write(str(size))
            finally:
                lock.release()

    # -- change counter -------------------------------------------------------------

    def _seqmap(self) -> mmap.mmap:
        if self._seq is None:
            os.makedirs(os.path.dirname(self.file), exist_ok=True)
            fd = os.open(self.file + ".seq", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            try:
                if os.fstat(fd).st_size < _SEQ.size:
                    os.ftruncate(fd, _SEQ.size)
                self._seq = mmap.mmap(fd, _SEQ.size)
            finally:
                os.close(fd)
        return self._seq

    def changes(self) -> int:
        """The change counter: different after any write by any process."""
        count: int = _SEQ.unpack_from(self._seqmap(), 0)[0]
        return count

    def wait_change(self, seen: int, deadline: Optional[float]) -> bool:
        """Sleep until the counter moves from *seen* or *deadline* (a
        time.monotonic value) passes; False on timeout."""
        return sleep_until(lambda: self.changes() != seen, deadline, 0.005)


class _Releaser:
    """Background thread handing idle namespaces to waiting processes."""

    def __init__(self) -> None:
        self._handles: Set[Handle] = set()
        self._cv = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def watch(self, handle: Handle) -> None:
        with self._cv:
            self._handles.add(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="parkit-releaser",
                                                daemon=True)
                self._thread.start()
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._handles:
                    self._cv.wait()
                handles = list(self._handles)
            time.sleep(POLL)
            for h in handles:
                if not h.mutex.acquire(blocking=False):
                    continue
                try:
                    if h.pool is not None and h.depth == 0 and h._lock is not None \
                            and h._lock.waiters():
                        h._close()
                    if h.pool is None:
                        with self._cv:
                            self._handles.discard(h)
                except Exception:
                    pass  # the next operation on the handle reports it
                finally:
                    h.mutex.release()


_releaser = _Releaser()
_handles: Dict[Tuple[str, str], Handle] = {}
_handles_lock = threading.Lock()


def handle_for(namespace: str, storage: Optional[str] = None) -> Handle:
    """The process-wide handle of *namespace* under the storage path."""
    storage = storage or get_storage_path()
    key = (storage, namespace)
    h = _handles.get(key)
    if h is None:
        with _handles_lock:
            h = _handles.setdefault(key, Handle(storage, namespace))
    return h


def _after_fork_in_child() -> None:
    # the parent owns its pools; a child starts with none of them
    global _releaser, _handles_lock
    _handles_lock = threading.Lock()
    for h in _handles.values():
        h.forget_after_fork()
    _releaser = _Releaser()


os.register_at_fork(after_in_child=_after_fork_in_child)


def close_all(wait: Optional[float] = None) -> None:
    """Close every namespace this process has open (they reopen on use).
    With *wait*, a namespace busy in another thread for longer is skipped."""
    for h in list(_handles.values()):
        if not h.mutex.acquire(timeout=-1 if wait is None else wait):
            continue
        try:
            if h.pool is not None and h.depth == 0:
                h._close()
        finally:
            h.mutex.release()


# a clean close spares the next opener a garbage collection
atexit.register(close_all)


class _ForkHooks:
    """A child made by fork() (multiprocessing's default start method)
    cannot reopen a pool that was open in its parent at the fork: close them
    first.  multiprocessing's children leave through os._exit, past atexit:
    close theirs at its exit hooks."""

    registered = False

    def before(self) -> None:
        close_all(wait=1.0)
        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None and not self.registered:
            mp_util.register_after_fork(self, _ForkHooks.in_mp_child)
            self.registered = True

    def in_mp_child(self) -> None:
        from multiprocessing import util
        util.Finalize(None, close_all, exitpriority=0)


_fork_hooks = _ForkHooks()
os.register_at_fork(before=_fork_hooks.before)


# -- the size of a namespace ------------------------------------------------------


def get_namespace_size(namespace: str) -> int:
    """The maximum size in bytes of *namespace*'s storage."""
    path = namespace_file(check_namespace(namespace))
    if os.path.exists(path):
        return pmemobj.pool.poolset_size(path)
    return _pending_size(path)


def _pending_size(path: str) -> int:
    try:
        with open(path + ".size") as f:
            return int(f.read())
    except (OSError, ValueError):
        return DEFAULT_NAMESPACE_SIZE


def set_namespace_size(namespace: str, size: int) -> None:
    """Change the maximum size of *namespace* (default 1 GiB).  Growing takes
    effect when the namespace is next opened; shrinking below what it holds
    raises ValueError."""
    if not isinstance(size, int) or size < pmemobj.MIN_POOL_SIZE * 2:
        raise ValueError(f"a namespace size is an int of at least {pmemobj.MIN_POOL_SIZE * 2}")
    handle = handle_for(check_namespace(namespace))  # it serialises with users
    handle.set_size(size)
