"""Naming importable objects as ``module:qualname`` and finding them again.

The pool's type table stores persistent classes this way, and callers above
pmemobj store functions and classes the same way; this is the one place the
format is written.
"""
from __future__ import annotations

import importlib
from typing import Any


def name_of(obj: Any) -> str:
    """``module:qualname`` of a class or function."""
    return f"{obj.__module__}:{obj.__qualname__}"


def resolve(name: str) -> Any:
    """The object named ``module:qualname``, importing its module.

    Raises ImportError if the module cannot be imported and AttributeError if
    it has no such attribute path."""
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
