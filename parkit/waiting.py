"""Blocking without spinning a core: polling with growing sleeps.

Blocked reads (Log.wait, a Queue's get and put) poll a namespace's change
counter this way, and :func:`wait_until` polls any predicate.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional


def sleep_until(done: Callable[[], Any], deadline: Optional[float],
                longest: float) -> bool:
    """Poll *done* with sleeps growing from 0.2 ms to *longest* seconds
    until it is true (True) or *deadline* (time.monotonic) passes (False):
    blocking without spinning a core."""
    delay = 0.0002
    while not done():
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            delay = min(delay, left)
        time.sleep(delay)
        delay = min(delay * 2, longest)
    return True


def wait_until(predicate: Callable[[], Any], timeout: Optional[float] = None) -> bool:
    """Block until ``predicate()`` is true (True) or *timeout* seconds pass
    (False), sleeping between tries instead of spinning."""
    deadline = None if timeout is None else time.monotonic() + timeout
    return sleep_until(predicate, deadline, 0.02)
