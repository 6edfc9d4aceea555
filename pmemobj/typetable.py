"""The type table: the class each type code in an object's header stands for.

Built-in classes have fixed codes, declared by their modules with
:func:`register_builtin`.  A user's Persistent class gets a code the first
time one of its objects is made: its ``module:qualname`` is appended to the
pool's type table (a list the pool root holds), and the code is
``T_FIRST_USER`` plus its position there.  Loading an object of it imports
the class by that name.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Dict, List, Optional

from . import _binding as b
from . import qualname
from ._binding import check, lib
from .errors import CorruptPoolError
from .persistent import Persistent

if TYPE_CHECKING:
    from .memory import MemoryManager

# Built-in persistent classes by type code, filled in by their modules.
BUILTIN_CLASSES: Dict[int, type] = {}
BUILTIN_CODES: Dict[type, int] = {}
# Plain containers converted on store: list -> PersistentList, ...
CONVERSIONS: Dict[type, type] = {}


def register_builtin(code: int, cls: type, converts: Optional[type] = None) -> None:
    """Declare *cls* as the persistent class stored under type *code*."""
    BUILTIN_CLASSES[code] = cls
    BUILTIN_CODES[cls] = code
    if converts is not None:
        CONVERSIONS[converts] = cls


class TypeTable:
    """The type codes of one pool's classes, for its :class:`MemoryManager`."""

    __slots__ = ("_mm", "_h", "_codes", "_classes", "_type_paths", "_lock")

    def __init__(self, mm: "MemoryManager"):
        self._mm = mm
        self._h = mm.handle
        self._codes: Dict[type, int] = {}
        self._classes: Dict[int, type] = {}
        self._type_paths: Optional[List[str]] = None
        self._lock = threading.RLock()

    def _paths(self) -> List[str]:
        if self._type_paths is None:
            table = check(lib.pmo_type_table(self._h))
            n = check(lib.pmo_len(self._h, table))
            paths = []
            for i in range(n):
                o = lib.pmo_list_get(self._h, table, i)
                if o.status:
                    check(o.status)
                paths.append(self._mm.value(o))
            self._type_paths = paths
        return self._type_paths

    def code_of(self, cls: type) -> int:
        """The type code stored in headers of *cls* objects; a class seen
        for the first time is added to the pool's type table."""
        known = BUILTIN_CODES.get(cls) or self._codes.get(cls)
        if known:
            return known
        path = qualname.name_of(cls)
        if "<locals>" in path:
            raise TypeError(f"{path} is defined inside a function; persistent "
                            f"classes must be importable by module and name")
        with self._lock:
            paths = self._paths()
            if path not in paths:
                table = check(lib.pmo_type_table(self._h))
                data = path.encode()
                self._mm.finish_write(lib.pmo_list_append(self._h, table, b.K_NEW_STR,
                                                          0, 0.0, data, len(data)))
                paths.append(path)
            code = b.T_FIRST_USER + paths.index(path)
        self._codes[cls] = code
        self._classes[code] = cls
        return code

    def name_of(self, code: int) -> str:
        """A readable name for a type code (for inspection tools)."""
        names = {b.T_STR: "str", b.T_BYTES: "bytes", b.T_BIGINT: "int", b.T_COMPLEX: "complex",
                 b.T_PICKLE: "pickle", b.T_TUPLE: "tuple", b.T_FROZENSET: "frozenset",
                 b.T_BOX: "box"}
        if code in names:
            return names[code]
        cls = BUILTIN_CLASSES.get(code)
        if cls is not None:
            return cls.__name__
        index = code - b.T_FIRST_USER
        paths = self._paths()
        return paths[index] if 0 <= index < len(paths) else f"unknown type {code}"

    def class_of(self, code: int) -> type:
        """The class of objects stored under type *code*, imported by its
        recorded name the first time."""
        cls = BUILTIN_CLASSES.get(code) or self._classes.get(code)
        if cls is not None:
            return cls
        paths = self._paths()
        index = code - b.T_FIRST_USER
        if not 0 <= index < len(paths):
            raise CorruptPoolError(f"type code {code} is not in the type table")
        obj = qualname.resolve(paths[index])
        if not (isinstance(obj, type) and issubclass(obj, Persistent)):
            raise TypeError(f"{paths[index]} is not a Persistent class")
        self._classes[code] = obj
        self._codes[obj] = code
        return obj
