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
from typing import Optional, Tuple, Union

from .errors import StoragePathError

ENV_STORAGE_PATH = "PARKIT_STORAGE_PATH"
DEFAULT_NAMESPACE = "default"
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
