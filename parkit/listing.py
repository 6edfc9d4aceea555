"""Listing what exists: namespaces, and the objects in them.

:func:`namespaces` finds the namespaces under the storage path (their pool
files); :func:`objects` and :class:`Namespace` read a namespace's map of
objects and describe each one with a Descriptor.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, List, Optional, Tuple

from .context import enter
from .errors import ObjectNotFoundError
from .namespace import Handle, get_namespace_size, handle_for
from .object import Descriptor, bind_path, make_descriptor
from .storage import POOL_SUFFIX, check_namespace, get_storage_path, namespace_file


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


def _entries(namespace: str) -> Iterator[Tuple[str, Descriptor]]:
    h = handle_for(check_namespace(namespace))
    enter(h)
    try:
        objs = h.objects()
        items = [(name, make_descriptor(namespace, name, objs[name])) for name in objs]
    finally:
        h.leave()
    return iter(items)


def objects(namespace: Optional[str] = None) -> Iterator[Tuple[str, Descriptor]]:
    """(path, Descriptor) of every object, in one namespace or in all.  A
    bad namespace name raises at the call, not at the first item."""
    if namespace is not None:
        check_namespace(namespace)
    return _all_entries(namespace)


def _all_entries(namespace: Optional[str]) -> Iterator[Tuple[str, Descriptor]]:
    for ns in [namespace] if namespace is not None else list(namespaces()):
        if namespace is not None and not os.path.exists(namespace_file(ns)):
            continue
        for name, desc in _entries(ns):
            yield f"{ns}/{name}", desc


class Namespace:
    """Directory-like access to the objects of one namespace."""

    def __init__(self, path: str, /):
        self.path = check_namespace(path)

    def __repr__(self) -> str:
        return f"Namespace({self.path!r})"

    @property
    def _handle(self) -> Handle:
        # what a transaction or snapshot on the namespace opens
        return handle_for(self.path)

    @property
    def exists(self) -> bool:
        """True once anything was stored in the namespace."""
        return os.path.exists(namespace_file(self.path))

    def names(self) -> List[str]:
        """Names of the objects in the namespace."""
        return [name for name, _ in self._items()]

    def _items(self) -> Iterator[Tuple[str, Descriptor]]:
        return _entries(self.path) if self.exists else iter(())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def objects(self) -> Iterator[Tuple[str, Descriptor]]:
        """(path, Descriptor) of each object."""
        return ((f"{self.path}/{n}", d) for n, d in self._items())

    def __getitem__(self, name: str) -> Any:
        """The object called *name*, bound as its own class."""
        for n, desc in self._items():
            if n == name:
                return bind_path(f"{self.path}/{name}", desc["type"])
        raise ObjectNotFoundError(f"no object {name!r} in namespace {self.path!r}")

    def namespaces(self) -> Iterator[str]:
        """Namespaces nested under this one."""
        prefix = self.path + "/"
        return (ns for ns in namespaces() if ns.startswith(prefix))

    @property
    def size(self) -> int:
        """Maximum size of the namespace's storage."""
        return get_namespace_size(self.path)
