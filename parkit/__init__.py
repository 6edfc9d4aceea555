"""parkit: shared, persistent Python objects for many processes.

Objects live at paths (``"namespace/name"``) under a storage path; each
namespace is a growable pmemobj pool.  Any process that sets the same
storage path sees the same objects::

    import parkit
    parkit.set_storage_path("/tmp/parkit-demo")
    counts = parkit.Dict("app/counts")
    with parkit.transaction(counts):
        counts["hits"] = counts.get("hits", 0) + 1

Durability: unless ``PARKIT_DURABILITY=msync`` (or ``PMEM_IS_PMEM_FORCE=0``)
is set before parkit is imported, pools on ordinary disks run in emulated
persistent memory mode: commits survive a crash of the process but not of
the machine.  With ``msync`` every commit reaches the disk.  On a DAX
filesystem commits always reach the persistent memory.
"""
from __future__ import annotations

import os as _os

# libpmem reads this once, when it is loaded: decide before pmemobj loads.
# An explicit msync wins over a PMEM_IS_PMEM_FORCE left in the environment.
_durability = _os.environ.get("PARKIT_DURABILITY", "").lower()
if _durability == "msync":
    _os.environ["PMEM_IS_PMEM_FORCE"] = "0"
elif _durability in ("", "force"):
    _os.environ.setdefault("PMEM_IS_PMEM_FORCE", "1")
else:   # a typo must not silently weaken durability
    raise ValueError(f"PARKIT_DURABILITY is 'msync' or 'force', not {_durability!r}")

from .context import snapshot, transaction  # noqa: E402
from .dict import Dict  # noqa: E402
from .errors import (  # noqa: E402
    ContextError,
    NamespaceFullError,
    ObjectExistsError,
    ObjectNotFoundError,
    ParkitError,
    StoragePathError,
    TransactionError,
)
from .listing import Namespace, namespaces, objects  # noqa: E402
from .log import Array, Log  # noqa: E402
from .namespace import close_all, get_namespace_size, set_namespace_size  # noqa: E402
from .object import Descriptor, Object  # noqa: E402
from .queue import LifoQueue, Queue  # noqa: E402
from .records import ProcessStatus  # noqa: E402
from .scheduler import Frequency, Periodic, Scheduler, cancel_schedule  # noqa: E402
from .storage import get_storage_path, set_storage_path  # noqa: E402
from .tasks import (  # noqa: E402
    Process,
    ProcessPriority,
    Task,
    bind_symbol,
    bind_task,
    clean,
    create_task,
    processes,
    set_process_priority,
)
from .tasks import current as self  # noqa: E402
from .waiting import wait_until  # noqa: E402
from .workerpool import get_pool_size, killall, set_pool_size  # noqa: E402

from pmemobj import __version__  # one version for the project  # noqa: E402

__all__ = [
    "Array", "Dict", "LifoQueue", "Log", "Namespace", "Object", "Queue",
    "Descriptor", "ContextError", "NamespaceFullError", "ObjectExistsError",
    "ObjectNotFoundError", "ParkitError", "StoragePathError", "TransactionError",
    "close_all", "get_namespace_size", "get_storage_path", "namespaces",
    "objects", "set_namespace_size", "set_storage_path", "snapshot",
    "transaction", "wait_until",
    "Task", "Process", "ProcessPriority", "ProcessStatus", "create_task", "bind_task",
    "bind_symbol", "self", "processes", "clean", "set_process_priority",
    "get_pool_size", "set_pool_size", "killall", "Scheduler", "Periodic", "Frequency",
    "cancel_schedule",
]
