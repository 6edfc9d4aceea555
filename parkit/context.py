"""Transactions and snapshots: the context a thread's operations run in.

:func:`transaction` and :func:`snapshot` open a context on one namespace
for the current thread; contexts nest, and the innermost is the thread's
current one (:func:`current`).  While it is open the thread owns the
namespace and its pool confines the thread to it (read-only in a
snapshot), so the C core rejects any use of another namespace's objects.
:func:`enter` is how parkit's own work takes a namespace, also inside a
context on another one.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Iterator, Optional

import pmemobj

from .errors import (
    ContextError,
    NamespaceFullError,
    ObjectNotFoundError,
    TransactionError,
    namespace_full,
)
from .namespace import Handle, handle_for
from .storage import check_namespace


class Context:
    """One open transaction or snapshot of a thread."""

    __slots__ = ("handle", "snapshot", "zero_copy", "parent")

    def __init__(self, handle: Handle, snapshot: bool, zero_copy: bool,
                 parent: Optional[Context]):
        self.handle = handle
        self.snapshot = snapshot
        self.zero_copy = zero_copy
        self.parent = parent


class _Local(threading.local):
    ctx: Optional[Context] = None   # the innermost transaction or snapshot


_tls = _Local()


def current() -> Optional[Context]:
    """This thread's innermost transaction or snapshot, if any."""
    return _tls.ctx


class _OpenContexts:
    """Transactions and snapshots open in this process, in any thread.
    While there are none, the general paths skip the per-thread check."""

    __slots__ = ("count", "lock")

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.count += n

    def after_fork_in_child(self) -> None:
        # only the forking thread's contexts live on in the child
        self.lock = threading.Lock()
        self.count, ctx = 0, _tls.ctx
        while ctx is not None:
            self.count, ctx = self.count + 1, ctx.parent


open_contexts = _OpenContexts()
os.register_at_fork(after_in_child=open_contexts.after_fork_in_child)


def enter(handle: Handle) -> pmemobj.PersistentObjectPool:
    """``handle.enter()`` for this thread (pair with ``handle.leave()``).
    parkit's own work on a namespace (binding, listing) inside this
    thread's context on another one lifts that context's confinement."""
    ctx = _tls.ctx
    return handle.enter(unconfined=ctx is not None and ctx.handle is not handle)


def _handle_of(target: Any) -> Handle:
    # an Object's handle, or a Namespace's (both name it _handle)
    if isinstance(target, str):
        return handle_for(check_namespace(target))
    handle = getattr(target, "_handle", None)
    if isinstance(handle, Handle):
        return handle
    raise TypeError(f"a transaction is opened on an Object, a Namespace or a "
                    f"namespace name, not {type(target).__name__}")


@contextlib.contextmanager
def _scope(handle: Handle, snapshot: bool, zero_copy: bool) -> Iterator[None]:
    parent = _tls.ctx
    if snapshot and parent is not None and not parent.snapshot and parent.handle is handle:
        snapshot = False   # already in a transaction: its view is consistent
    if parent is not None and parent.handle is not handle:
        raise ContextError(f"a transaction on namespace {parent.handle.namespace!r} is "
                           f"running; namespace {handle.namespace!r} cannot join it")
    if parent is not None and parent.snapshot and not snapshot:
        raise ContextError("cannot open a write transaction inside a snapshot")
    pool = handle.enter()   # (no other namespace's context to lift: checked above)
    handle.depth += 1
    open_contexts.add(1)
    ctx = _tls.ctx = Context(handle, snapshot or bool(parent and parent.snapshot),
                             zero_copy or bool(parent and parent.zero_copy), parent)
    try:
        try:
            # confined: the hot calls leave the context checks to the C core
            with pool.transaction(), pool.confine(read_only=ctx.snapshot):
                yield
        except (NamespaceFullError, ContextError, ObjectNotFoundError):
            raise
        except pmemobj.PoolFullError as e:
            raise namespace_full(handle.namespace, e) from e
        except pmemobj.ConfinementError as e:
            # a live (zero-copy) container used against the context's rules
            raise ContextError(f"transaction rolled back: {e}") from e
        except pmemobj.PmemError as e:
            raise TransactionError(f"transaction rolled back: {e}") from e
    finally:
        _tls.ctx = parent
        open_contexts.add(-1)
        handle.depth -= 1
        handle.leave()


def transaction(obj: Any, zero_copy: bool = False, isolated: bool = False
                ) -> "contextlib.AbstractContextManager[None]":
    """Run a block as one write transaction on the namespace of *obj* (an
    Object, a Namespace or a namespace name): all of its changes commit
    together, or none do (on an exception or a crash).  Only one write
    transaction runs in a namespace at a time, across processes; using an
    object of another namespace inside raises ContextError.  Transactions
    are always isolated; *isolated* is accepted for compatibility."""
    return _scope(_handle_of(obj), snapshot=False, zero_copy=zero_copy)


def snapshot(obj: Any, zero_copy: bool = False
             ) -> "contextlib.AbstractContextManager[None]":
    """A consistent read-only view of *obj*'s namespace for the block:
    nothing changes under it, and writes inside raise ContextError.  Inside
    a transaction on that namespace it opens nothing: the transaction goes
    on, writes included."""
    return _scope(_handle_of(obj), snapshot=True, zero_copy=zero_copy)
