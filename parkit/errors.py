"""parkit's exceptions, and how a full namespace is reported."""
from __future__ import annotations

import pmemobj


class ParkitError(Exception):
    """Base class of parkit's own errors."""


class StoragePathError(ParkitError, ValueError):
    """No storage path is set, or the one given cannot be used."""


class ObjectExistsError(ParkitError):
    """Creating an object at a path that already holds one, without bind."""


class ObjectNotFoundError(ParkitError):
    """The object at this path was dropped (or never created)."""


class NamespaceFullError(ParkitError, pmemobj.PoolFullError):
    """A namespace reached its maximum size (see set_namespace_size); the
    change was rolled back.  Also a MemoryError and a pmemobj.PoolFullError."""


class TransactionError(ParkitError, pmemobj.TransactionError):
    """A transaction failed unexpectedly; its changes were rolled back."""


class ContextError(TransactionError):
    """Objects of two namespaces were used in one transaction, or a write
    was attempted inside a read-only snapshot."""


def namespace_full(namespace: str, e: BaseException) -> NamespaceFullError:
    """The NamespaceFullError to raise when *namespace* ran out of space (*e*)."""
    return NamespaceFullError(f"namespace {namespace!r} is full: raise its maximum "
                              f"with parkit.set_namespace_size() ({e})")
