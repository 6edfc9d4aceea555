"""pmemobj: persistent Python objects in libpmemobj pools.

Open or create a pool, store values under its ``root``, and they are there
the next time the pool is opened::

    import pmemobj
    with pmemobj.PersistentObjectPool("data.pool", flag="c") as pool:
        if pool.root is None:
            pool.root = {}            # stored as a PersistentDict
        pool.root["runs"] = pool.root.get("runs", 0) + 1

See the README for durability modes, transactions and the limits.
"""
from __future__ import annotations

from ._binding import ffi
from .container import PersistentContainer
from .dict import PersistentDict
from .errors import (
    ConfinementError,
    CorruptPoolError,
    ForeignFileError,
    PmemError,
    PoolClosedError,
    PoolError,
    PoolExistsError,
    PoolFullError,
    PoolInUseError,
    PoolNotFoundError,
    TransactionError,
)
from .list import PersistentList
from .memory import FIRST_USER_TYPE_NUM, POBJECT_TYPE_NUM, MemoryManager, Transaction
from .object import PersistentObject
from .persistent import OID_NULL, Oid, Persistent
from .pool import (LAYOUT, MIN_POOL_SIZE, PersistentObjectPool, create, open, parts_dir, probe,
                   remove, set_max_size, unconfined)
from .set import PersistentFrozenSet, PersistentSet
from .tuple import PersistentTuple

from ._version import __version__ as __version__

__all__ = [
    "create", "open", "PersistentObjectPool", "MIN_POOL_SIZE", "LAYOUT",
    "parts_dir", "remove", "set_max_size", "probe", "unconfined",
    "MemoryManager", "Transaction", "Persistent", "PersistentContainer",
    "Oid", "OID_NULL", "POBJECT_TYPE_NUM", "FIRST_USER_TYPE_NUM",
    "PersistentList", "PersistentDict", "PersistentObject", "PersistentSet",
    "PersistentFrozenSet", "PersistentTuple",
    "PmemError", "PoolError", "PoolNotFoundError", "PoolExistsError",
    "PoolInUseError", "ForeignFileError", "CorruptPoolError",
    "PoolClosedError", "TransactionError", "PoolFullError", "ConfinementError", "ffi",
]
