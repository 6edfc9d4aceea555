"""The one door to the compiled C core: ``ffi``, ``lib`` and status checks.

Modules of this package call ``lib`` only through the names exported here,
and turn a negative status into an exception with :func:`error`, which
attaches the C core's message captured at the moment of failure.
"""
from __future__ import annotations

from ._pmo import ffi, lib  # type: ignore[import-not-found]
from .errors import (
    CorruptPoolError,
    PmemError,
    PoolClosedError,
    PoolFullError,
    TransactionError,
)

NULL = ffi.NULL

# statuses
OK = lib.PMO_OK
COLLECT = lib.PMO_COLLECT
EKEY = lib.PMO_EKEY
EINDEX = lib.PMO_EINDEX
ENEEDCMP = lib.PMO_ENEEDCMP
EINVAL = lib.PMO_EINVAL
EOPAQUE = lib.PMO_EOPAQUE
EOS = lib.PMO_EOS

# slot kinds
K_EMPTY = lib.PMO_K_EMPTY
K_NONE = lib.PMO_K_NONE
K_BOOL = lib.PMO_K_BOOL
K_INT = lib.PMO_K_INT
K_FLOAT = lib.PMO_K_FLOAT
K_REF = lib.PMO_K_REF
K_NEW_STR = lib.PMO_K_NEW_STR
K_NEW_BYTES = lib.PMO_K_NEW_BYTES
K_NEW_BIGINT = lib.PMO_K_NEW_BIGINT
K_NEW_COMPLEX = lib.PMO_K_NEW_COMPLEX
K_NEW_PICKLE = lib.PMO_K_NEW_PICKLE

# type codes
T_STR = lib.PMO_T_STR
T_BYTES = lib.PMO_T_BYTES
T_BIGINT = lib.PMO_T_BIGINT
T_COMPLEX = lib.PMO_T_COMPLEX
T_PICKLE = lib.PMO_T_PICKLE
T_TUPLE = lib.PMO_T_TUPLE
T_FROZENSET = lib.PMO_T_FROZENSET
T_BOX = lib.PMO_T_BOX
T_LIST = lib.PMO_T_LIST
T_DICT = lib.PMO_T_DICT
T_OBJECT = lib.PMO_T_OBJECT
T_SET = lib.PMO_T_SET
T_PFROZENSET = lib.PMO_T_PFROZENSET
T_PTUPLE = lib.PMO_T_PTUPLE
T_FIRST_CONTAINER = lib.PMO_T_FIRST_CONTAINER
T_FIRST_USER = lib.PMO_T_FIRST_USER

# layouts
L_BLOB = lib.PMO_L_BLOB
L_TUPLE = lib.PMO_L_TUPLE
L_LIST = lib.PMO_L_LIST
L_DICT = lib.PMO_L_DICT
L_OPAQUE = lib.PMO_L_OPAQUE

TN_POBJECT = lib.PMO_TN_POBJECT
TN_USER = lib.PMO_TN_USER
HEADER_SIZE = lib.PMO_HEADER_SIZE
MIN_POOL = lib.PMO_MIN_POOL

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
}


def message() -> str:
    """The C core's message about this thread's last failure."""
    return ffi.string(lib.pmo_errmsg()).decode("utf-8", "replace")


def error(status: int) -> BaseException:
    """The exception for a negative status."""
    cls = _BY_STATUS.get(status, PmemError)
    msg = message()
    if status == lib.PMO_ENOMEM:
        msg = f"pool is full ({msg}); the transaction was rolled back"
    return cls(msg)
