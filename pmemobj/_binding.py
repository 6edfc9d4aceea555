"""The one door to the compiled C core: ``ffi``, ``lib`` and status checks.

Modules of this package call ``lib`` only through the names exported here,
and check every status the C core returns with :func:`check`, which raises
for a failure with the C core's message captured at the moment of failure.

In a source tree (``csrc/`` beside the package) the import fails with a
clear message when the extension was built from other C sources than
those there: a stale build would otherwise misbehave in obscure ways.
"""
from __future__ import annotations

import os
from typing import Any

from . import _pmo  # type: ignore[attr-defined]
from ._sourcehash import source_hash

#: the compiled module's cffi handle and functions (untyped to mypy)
ffi: Any = _pmo.ffi
lib: Any = _pmo.lib


def _check_source_hash(root: str, built: str) -> None:
    """Raise ImportError unless ``built`` (the extension's source hash, ""
    if it has none) is the hash of the sources in the tree at ``root``."""
    current = source_hash(root)
    if built != current:
        raise ImportError(
            f"pmemobj's compiled extension {_pmo.__file__} is stale: it was built "
            f"from other C sources than those in {os.path.join(root, 'csrc')} "
            f"(built from {built or 'unknown sources'}, sources now {current}). "
            f"Rebuild it: run `make` in {root}, or `pip install -e .` there.")


_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_ROOT, "csrc")) and os.path.isfile(os.path.join(_ROOT, "build.py")):
    _check_source_hash(_ROOT, ffi.string(lib.pmo_source_hash()).decode()
                       if hasattr(lib, "pmo_source_hash") else "")
from .errors import (
    ConfinementError,
    CorruptPoolError,
    PmemError,
    PoolClosedError,
    PoolFullError,
    TransactionError,
)

NULL = ffi.NULL

# statuses
OK: int = lib.PMO_OK
COLLECT: int = lib.PMO_COLLECT
EKEY: int = lib.PMO_EKEY
EINDEX: int = lib.PMO_EINDEX
ENEEDCMP: int = lib.PMO_ENEEDCMP
EINVAL: int = lib.PMO_EINVAL
EOPAQUE: int = lib.PMO_EOPAQUE
EOS: int = lib.PMO_EOS

# slot kinds
K_EMPTY: int = lib.PMO_K_EMPTY
K_NONE: int = lib.PMO_K_NONE
K_BOOL: int = lib.PMO_K_BOOL
K_INT: int = lib.PMO_K_INT
K_FLOAT: int = lib.PMO_K_FLOAT
K_REF: int = lib.PMO_K_REF
K_NEW_STR: int = lib.PMO_K_NEW_STR
K_NEW_BYTES: int = lib.PMO_K_NEW_BYTES
K_NEW_BIGINT: int = lib.PMO_K_NEW_BIGINT
K_NEW_COMPLEX: int = lib.PMO_K_NEW_COMPLEX
K_NEW_PICKLE: int = lib.PMO_K_NEW_PICKLE

# type codes
T_STR: int = lib.PMO_T_STR
T_BYTES: int = lib.PMO_T_BYTES
T_BIGINT: int = lib.PMO_T_BIGINT
T_COMPLEX: int = lib.PMO_T_COMPLEX
T_PICKLE: int = lib.PMO_T_PICKLE
T_TUPLE: int = lib.PMO_T_TUPLE
T_FROZENSET: int = lib.PMO_T_FROZENSET
T_BOX: int = lib.PMO_T_BOX
T_LIST: int = lib.PMO_T_LIST
T_DICT: int = lib.PMO_T_DICT
T_OBJECT: int = lib.PMO_T_OBJECT
T_SET: int = lib.PMO_T_SET
T_PFROZENSET: int = lib.PMO_T_PFROZENSET
T_PTUPLE: int = lib.PMO_T_PTUPLE
T_FIRST_CONTAINER: int = lib.PMO_T_FIRST_CONTAINER
T_FIRST_USER: int = lib.PMO_T_FIRST_USER

# layouts
L_BLOB: int = lib.PMO_L_BLOB
L_TUPLE: int = lib.PMO_L_TUPLE
L_LIST: int = lib.PMO_L_LIST
L_DICT: int = lib.PMO_L_DICT
L_OPAQUE: int = lib.PMO_L_OPAQUE

TN_POBJECT: int = lib.PMO_TN_POBJECT
TN_USER: int = lib.PMO_TN_USER
HEADER_SIZE: int = lib.PMO_HEADER_SIZE
MIN_POOL: int = lib.PMO_MIN_POOL

# pmo_gc_mark's mode, what the marked offset is (these mirror csrc/gc.c:
# pmo.h has no names for them)
MARK_SUBSTRUCTURE: int = 0   # an allocation an object owns, not a PObject
MARK_STORED: int = 1         # a PObject referenced by a stored reference: counted
MARK_HELD: int = 2           # a PObject that Python holds: kept, not counted

# pmo_children's subs, which children to list (these mirror csrc/value.c)
CHILDREN_REFERENCES: int = 0     # the PObjects an object references
CHILDREN_SUBSTRUCTURES: int = 1  # the arrays and tables it owns

#: the exception class of a failure status (PmemError for the others)
_BY_STATUS = {
    lib.PMO_EINDEX: IndexError,
    lib.PMO_EKEY: KeyError,
    lib.PMO_EINVAL: ValueError,
    lib.PMO_ECLOSED: PoolClosedError,
    lib.PMO_ENOTX: TransactionError,
    lib.PMO_EABORTED: TransactionError,
    lib.PMO_EOTHERTX: TransactionError,
    lib.PMO_ETXFAIL: TransactionError,
    lib.PMO_ENOMEM: PoolFullError,
    lib.PMO_ECORRUPT: CorruptPoolError,
    lib.PMO_ECONFINED: ConfinementError,
    lib.PMO_EMEMORY: MemoryError,
}

#: the short name of each failure status: its name in csrc/pmo.h less PMO_
REASONS = {getattr(lib, "PMO_" + name): name for name in (
    "EKEY", "EINDEX", "ENEEDCMP", "EINVAL", "ECLOSED", "ENOTX", "EABORTED",
    "EOTHERTX", "EOPAQUE", "EOS", "ECONFINED", "EMEMORY", "EFAIL", "ENOMEM",
    "ECORRUPT", "ETXFAIL")}


def message() -> str:
    """The C core's message about this thread's last failure."""
    raw: bytes = ffi.string(lib.pmo_errmsg())
    return raw.decode("utf-8", "replace")


def check(status: int) -> int:
    """The status check of every C call: *status* itself when it is not a
    failure (OK, or the count or offset a call returns), else raise the
    exception for it.  Where success must cost no call (a hot path), the
    caller tests ``if st:`` first."""
    if status < 0:
        raise error(status)
    return status


def error(status: int) -> BaseException:
    """The exception for a negative status, with the C core's message; a
    PmemError also carries the status and its name (``status``,
    ``reason``)."""
    cls = _BY_STATUS.get(status, PmemError)
    msg = message()
    if status == lib.PMO_ENOMEM:
        msg = f"pool is full ({msg}); the transaction was rolled back"
    e = cls(msg)
    if isinstance(e, PmemError):
        e.status, e.reason = status, REASONS.get(status, f"status {status}")
    return e
