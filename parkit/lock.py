"""Cross-process ownership of a namespace, with open-file-description locks.

Byte 0 of the lock file is held (write lock) by the process that has the
namespace's pool open: libpmemobj allows one opener.  A process that wants
the namespace first takes a read lock on byte 1 ("someone is waiting"),
then blocks for byte 0.  The owner looks for byte-1 locks at its
transaction boundaries and hands the pool over.  The kernel drops the locks
of a process that dies, so a killed owner never blocks the others.
"""
from __future__ import annotations

import fcntl
import os
import struct

# struct flock on Linux (x86_64, aarch64): type, whence, start, len, pid
_FLOCK = "hhqqi4x"
_OWNER, _WAITER = 0, 1


def _flock(fd: int, cmd: int, kind: int, byte: int) -> bytes:
    return fcntl.fcntl(fd, cmd, struct.pack(_FLOCK, kind, os.SEEK_SET, byte, 1, 0))


class NamespaceLock:
    """The lock file of one namespace, opened once per process."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        self.held = False

    def acquire(self) -> None:
        """Block (without spinning) until this process owns the namespace."""
        _flock(self.fd, fcntl.F_OFD_SETLKW, fcntl.F_RDLCK, _WAITER)
        try:
            _flock(self.fd, fcntl.F_OFD_SETLKW, fcntl.F_WRLCK, _OWNER)
        finally:
            _flock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_UNLCK, _WAITER)
        self.held = True

    def try_acquire(self) -> bool:
        """Own the namespace if nobody does; never blocks."""
        try:
            _flock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_WRLCK, _OWNER)
        except (BlockingIOError, PermissionError):
            return False
        self.held = True
        return True

    def release(self) -> None:
        """Give up ownership."""
        self.held = False
        _flock(self.fd, fcntl.F_OFD_SETLK, fcntl.F_UNLCK, _OWNER)

    def waiters(self) -> bool:
        """True if another process waits for the namespace."""
        r = _flock(self.fd, fcntl.F_OFD_GETLK, fcntl.F_WRLCK, _WAITER)
        kind: int = struct.unpack(_FLOCK, r)[0]
        return kind != fcntl.F_UNLCK

    def close(self) -> None:
        os.close(self.fd)
