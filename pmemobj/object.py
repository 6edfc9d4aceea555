"""PersistentObject: a base class whose instance attributes persist.

Attributes are stored in a hash table inside the pool; ``_v_`` attributes
are volatile (kept on the Python object only) and ``_p_`` ones belong to the
persistence machinery.  ``__init__`` runs once, when the object is created
with ``pool.new``; ``_v__init__`` runs then (before ``__init__``) and again
whenever the object is loaded from the pool, to set up volatile state.
"""
from __future__ import annotations

import types
from typing import Any

from . import _binding as b
from ._binding import lib
from .container import require_pool
from .dict import HashTable
from .memory import register_builtin

_PLAIN_METHODS = (types.FunctionType, classmethod, staticmethod)


def _is_data_descriptor(cls_attr: Any) -> bool:
    """A property or other descriptor that handles setting and deleting."""
    t = type(cls_attr)
    return hasattr(t, "__set__") or hasattr(t, "__delete__")


def _is_local(name: str) -> bool:
    return name.startswith(("_p_", "_v_")) or (
        name.startswith("__") and name.endswith("__"))


class PersistentObject(HashTable):
    """Base class for user-defined persistent objects.  Subclass it, then
    create instances with ``pool.new(MyClass, *args)``."""

    _p_type = b.T_OBJECT
    _p_kind = "attribute dict"

    def _p_type_code(self, manager: Any) -> int:
        return manager._type_code(type(self))

    def _p_new(self, manager: Any) -> None:
        super()._p_new(manager)
        self._v__init__()

    def _p_resurrect(self, manager: Any, oid: Any) -> None:
        super()._p_resurrect(manager, oid)
        self._v__init__()

    def _v__init__(self) -> None:
        """Set up volatile state; runs on creation and on every load."""

    def __getattribute__(self, name: str) -> Any:
        if _is_local(name):
            return object.__getattribute__(self, name)
        cls_attr = getattr(type(self), name, None)
        # methods and data descriptors (properties) of the class come first
        if isinstance(cls_attr, _PLAIN_METHODS) or _is_data_descriptor(cls_attr):
            return object.__getattribute__(self, name)
        require_pool(self)
        pos = self._p_position(name)
        if pos >= 0:
            return self._p_value_at(pos)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if _is_local(name) or _is_data_descriptor(getattr(type(self), name, None)):
            object.__setattr__(self, name, value)
            return
        require_pool(self)
        self._p_set(name, value)

    def __delattr__(self, name: str) -> None:
        if _is_local(name) or _is_data_descriptor(getattr(type(self), name, None)):
            object.__delattr__(self, name)
            return
        require_pool(self)
        if not self._p_delete(name):
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'")

    def _p_attributes(self) -> dict:
        """The persistent attributes, as a plain dict."""
        return dict(zip(self._p_entries(0), self._p_entries(1)))


register_builtin(b.T_OBJECT, PersistentObject)
