"""PersistentObject: a base class whose instance attributes persist.

Attributes are stored in a hash table inside the pool; ``_v_`` attributes
are volatile (kept on the Python object only) and ``_p_`` ones belong to the
persistence machinery.  ``__init__`` runs once, when the object is created
with ``pool.new``; ``_v__init__`` runs then (before ``__init__``) and again
whenever the object is loaded from the pool, to set up volatile state.
"""
from __future__ import annotations

import types
from typing import Any, Dict, Tuple

from . import _binding as b
from ._binding import check
from .container import require_pool
from .hashtable import KEYS, VALUES, HashTable, get_str, set_str
from .typetable import register_builtin

_PLAIN_METHODS = (types.FunctionType, classmethod, staticmethod)
_oga = object.__getattribute__
_K_INT = b.K_INT


def _is_data_descriptor(cls_attr: Any) -> bool:
    """A property or other descriptor that handles setting and deleting."""
    t = type(cls_attr)
    return hasattr(t, "__set__") or hasattr(t, "__delete__")


def _is_local(name: str) -> bool:
    return name.startswith(("_p_", "_v_")) or (
        name.startswith("__") and name.endswith("__"))


# Where an attribute name is looked up, by (class, name): True for the
# ordinary Python way (volatile names, methods, properties), False for
# the pool.  Cached: deciding costs more than the lookup itself.
_plain_get: Dict[Tuple[type, str], bool] = {}
_plain_set: Dict[Tuple[type, str], bool] = {}


def _gets_plainly(cls: type, name: str) -> bool:
    r = _plain_get.get((cls, name))
    if r is None:
        cls_attr = getattr(cls, name, None)
        r = _plain_get[(cls, name)] = _is_local(name) or \
            isinstance(cls_attr, _PLAIN_METHODS) or _is_data_descriptor(cls_attr)
    return r


def _sets_plainly(cls: type, name: str) -> bool:
    r = _plain_set.get((cls, name))
    if r is None:
        r = _plain_set[(cls, name)] = _is_local(name) or \
            _is_data_descriptor(getattr(cls, name, None))
    return r


class PersistentObject(HashTable):
    """Base class for user-defined persistent objects.  Subclass it, then
    create instances with ``pool.new(MyClass, *args)``."""

    _p_type = b.T_OBJECT
    _p_kind = "attribute dict"

    def _p_type_code(self, manager: Any) -> int:
        code: int = manager.type_code(type(self))
        return code

    def _p_new(self, manager: Any) -> None:
        super()._p_new(manager)
        self._v__init__()

    def _p_resurrect(self, manager: Any, oid: Any) -> None:
        super()._p_resurrect(manager, oid)
        self._v__init__()

    def _v__init__(self) -> None:
        """Set up volatile state; runs on creation and on every load."""

    def __getattribute__(self, name: str) -> Any:
        # methods and data descriptors (properties) of the class come first
        if _gets_plainly(type(self), name):
            return _oga(self, name)
        try:
            h = _oga(self, "_p_h")
        except AttributeError:
            require_pool(self)
            raise
        data = name.encode("utf-8", "surrogatepass")
        o = get_str(h, _oga(self, "_p_off"), data, len(data))
        st = o.status
        if st == 0:
            return o.i if o.kind == _K_INT else _oga(self, "_p_mm").value(o)
        if st != b.EKEY:
            check(st)
        return _oga(self, name)   # class attributes, or AttributeError

    def __setattr__(self, name: str, value: Any) -> None:
        if _sets_plainly(type(self), name):
            object.__setattr__(self, name, value)
            return
        try:
            mm = _oga(self, "_p_mm")
        except AttributeError:
            require_pool(self)
            raise
        v = mm.encode(value)
        if v is not None:
            data = name.encode("utf-8", "surrogatepass")
            st = set_str(_oga(self, "_p_h"), _oga(self, "_p_off"), data, len(data), *v)
            if st == 0:
                return
            if st != b.ENEEDCMP:
                mm.finish_write(st)
                return
        self._p_set(name, value)

    def __delattr__(self, name: str) -> None:
        if _is_local(name) or _is_data_descriptor(getattr(type(self), name, None)):
            object.__delattr__(self, name)
            return
        require_pool(self)
        if not self._p_delete(name):
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'")

    def _p_attributes(self) -> Dict[str, Any]:
        """The persistent attributes, as a plain dict."""
        return dict(zip(self._p_entries(KEYS), self._p_entries(VALUES)))


register_builtin(b.T_OBJECT, PersistentObject)
