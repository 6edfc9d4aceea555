"""The exceptions pmemobj raises.

Every one derives from :class:`PmemError`.  Where Python code expects a
built-in exception the second base provides it: a pool that is missing is
also a ``FileNotFoundError``, a full pool is also a ``MemoryError``.

An error made from a status of the C core keeps it, so that the causes one
class covers stay apart (see :class:`PmemError`).
"""
from __future__ import annotations

from typing import Optional


class PmemError(Exception):
    """Base class of every pmemobj error.

    One made from a status of the C core carries it: :attr:`status` is the
    status code (a negative int, ``PMO_E...`` in csrc/pmo.h) and
    :attr:`reason` its short name (the name less ``PMO_``); the message
    says what failed.  A :class:`TransactionError` has one of

    ``"ENOTX"``
        the call needs a transaction of this pool and none runs in this
        thread (or the block being ended is not the running one);
    ``"EABORTED"``
        the running transaction was aborted by an earlier failure and only
        leaving its block is left to do;
    ``"EOTHERTX"``
        this thread runs a transaction of another pool;
    ``"ETXFAIL"``
        libpmemobj refused a transactional call (and the transaction was
        aborted).

    A :class:`PoolFullError` has ``"ENOMEM"``, a :class:`PoolClosedError`
    ``"ECLOSED"``, a :class:`CorruptPoolError` ``"ECORRUPT"``, a
    :class:`ConfinementError` ``"ECONFINED"``.  Errors raised by checks in
    Python, and the :class:`PoolError` family (which carries ``errno``),
    have None for both.
    """

    #: The C core's status code, or None.
    status: Optional[int] = None
    #: The short name of :attr:`status`, such as ``"ENOTX"``, or None.
    reason: Optional[str] = None


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
