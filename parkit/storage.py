"""Where things live: the storage path, object paths and namespace files.

An object path ``"a/b/name"`` names object ``name`` in namespace ``"a/b"``;
a path with no slash lives in namespace ``"default"``.  Namespace ``a/b`` is
the growable pool ``<storage>/a/b.pool`` (a poolset file; its part files
are under ``b.pool.parts/``), with ``b.pool.lock`` for ownership and
``b.pool.seq`` as a change counter other processes can watch.
"""
from __future__ import annotations

import os
import re
import threading
from typing import Iterator, Optional, Tuple, Union

import pmemobj

from .errors import StoragePathError

ENV_STORAGE_PATH = "PARKIT_STORAGE_PATH"
DEFAULT_NAMESPACE = "default"
#: Default maximum size of a namespace; disk is used only as it fills.
DEFAULT_NAMESPACE_SIZE = 1 << 30
POOL_SUFFIX = ".pool"

_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_local = threading.local()


def set_storage_path(path: Union[str, "os.PathLike[str]"]) -> None:
    """Use *path* (created if missing) for this thread's namespaces."""
    if not isinstance(path, (str, os.PathLike)):
        raise StoragePathError(f"a storage path is a str or path, not {type(path).__name__}")
    _local.path = _validate_storage(os.fspath(path))


def get_storage_path() -> str:
    """This thread's storage path: the one set with :func:`set_storage_path`,
    else the ``PARKIT_STORAGE_PATH`` environment variable."""
    path: Optional[str] = getattr(_local, "path", None)
    if path is not None:
        return path
    env = os.environ.get(ENV_STORAGE_PATH)
    if not env:
        raise StoragePathError(
            f"no storage path: call parkit.set_storage_path() or set "
            f"{ENV_STORAGE_PATH}")
    path = _local.path = _validate_storage(env)
    return path


def _validate_storage(path: str) -> str:
    if not path:
        raise StoragePathError("the storage path is empty")
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise StoragePathError(f"cannot use {path!r} as storage path: {e.strerror}") from None
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise StoragePathError(f"storage path {path!r} is not writable")
    return path


def _check_components(text: str, what: str) -> None:
    for part in text.split("/"):
        if not _COMPONENT.match(part) or part in (".", ".."):
            raise ValueError(
                f"invalid {what} {text!r}: each '/'-separated part must be a "
                f"non-empty name of letters, digits, '_', '-' or '.', not "
                f"starting with '.' or '-'")


def check_namespace(namespace: str) -> str:
    """*namespace* if it is a valid namespace path."""
    if not isinstance(namespace, str):
        raise TypeError(f"a namespace is a str, not {type(namespace).__name__}")
    _check_components(namespace, "namespace")
    for part in namespace.split("/"):
        # the names of a namespace's own files and directories
        if part.endswith(POOL_SUFFIX) or POOL_SUFFIX + "." in part:
            raise ValueError(f"invalid namespace {namespace!r}: no part may end "
                             f"with {POOL_SUFFIX!r} or contain {POOL_SUFFIX + '.'!r}")
    return namespace


def split_path(path: str) -> Tuple[str, str]:
    """(namespace, name) of an object path."""
    if not isinstance(path, str):
        raise TypeError(f"an object path is a str, not {type(path).__name__}")
    _check_components(path, "object path")
    namespace, _, name = path.rpartition("/")
    return check_namespace(namespace or DEFAULT_NAMESPACE), name


def namespace_file(namespace: str, storage: Optional[str] = None) -> str:
    """The pool (poolset) file of *namespace*."""
    return os.path.join(storage or get_storage_path(), *namespace.split("/")) + POOL_SUFFIX


def namespaces(storage: Optional[str] = None) -> Iterator[str]:
    """The namespaces that exist under the storage path, sorted."""
    root = storage or get_storage_path()
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.endswith(POOL_SUFFIX + ".parts")]
        for f in filenames:
            if f.endswith(POOL_SUFFIX):
                rel = os.path.relpath(os.path.join(dirpath, f[: -len(POOL_SUFFIX)]), root)
                found.append(rel.replace(os.sep, "/"))
    return iter(sorted(found))


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
    from .namespace import handle_for  # the handle serialises with users
    handle = handle_for(check_namespace(namespace))
    handle.set_size(size)
