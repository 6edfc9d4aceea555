"""The exceptions pmemobj raises.

Every one derives from :class:`PmemError`.  Where Python code expects a
built-in exception the second base provides it: a pool that is missing is
also a ``FileNotFoundError``, a full pool is also a ``MemoryError``.
"""
from __future__ import annotations


class PmemError(Exception):
    """Base class of every pmemobj error."""


class PoolError(PmemError, OSError):
    """A pool file could not be created or opened."""


class PoolNotFoundError(PoolError, FileNotFoundError):
    """The pool file does not exist (flag ``'w'``)."""


class PoolExistsError(PoolError, FileExistsError):
    """The pool file already exists (flag ``'x'`` or :func:`create`)."""


class PoolInUseError(PoolError, BlockingIOError):
    """The pool is open already, in this process or another one."""


class ForeignFileError(PoolError):
    """The file is not a pmemobj pool: empty, foreign, truncated, or a pool
    of another layout."""


class CorruptPoolError(PmemError):
    """Inconsistent data was found inside an open pool."""


class PoolClosedError(PmemError, ValueError):
    """The pool, or an object of it, was used after ``close()``."""


class TransactionError(PmemError):
    """A transaction was misused, or was aborted and rolled back."""


class PoolFullError(PmemError, MemoryError):
    """The pool has no room left; the transaction was rolled back."""


class ConfinementError(PmemError):
    """The thread is confined to another pool, or to reading this one, by
    :meth:`PersistentObjectPool.confine`.  Nothing was done."""


__all__ = [
    "PmemError", "PoolError", "PoolNotFoundError", "PoolExistsError",
    "PoolInUseError", "ForeignFileError", "CorruptPoolError",
    "PoolClosedError", "TransactionError", "PoolFullError", "ConfinementError",
]
