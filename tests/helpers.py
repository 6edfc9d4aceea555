"""Helpers shared by the test modules (fixtures live in conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Callable, Optional, Tuple

import pmemobj

#: The checkout: what child processes need on PYTHONPATH.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child_env(env: Any = None) -> dict:
    """*env* (default: this process's environment) with the checkout on PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def run_module(module: str, *args: str, stderr: Any = subprocess.PIPE,
               env: Any = None) -> subprocess.CompletedProcess:
    """``python -m module args...`` in a child process, with the checkout on
    PYTHONPATH."""
    return subprocess.run([sys.executable, "-m", module, *args], stdout=subprocess.PIPE,
                          stderr=stderr, text=True, env=child_env(env), timeout=120)


def reopen(pool: pmemobj.PersistentObjectPool) -> pmemobj.PersistentObjectPool:
    """Close *pool* and open its file again."""
    pool.close()
    return pmemobj.open(pool.filename)


def outcome(fn: Callable[[Any], Any], target: Any) -> Tuple[str, Any]:
    """What fn(target) did: ('ok', result) or ('raise', exception type), to
    compare a persistent container with its built-in model."""
    try:
        return "ok", fn(target)
    except Exception as e:  # noqa: BLE001 -- comparing exception types is the point
        return "raise", type(e)


def assert_same(fn: Callable[[Any], Any], persistent: Any, model: Any,
                contents: Callable[[Any], Any],
                also: Optional[Callable[[Tuple[str, Any], Tuple[str, Any], Any], None]] = None,
                ) -> Tuple[str, Any]:
    """fn gives the same result (or raises the same exception type) on the
    persistent container and on its built-in model, and leaves them with the
    same contents (as ``contents`` sees them) and length.  ``also(got, want,
    model)`` checks more of the two outcomes."""
    got, want = outcome(fn, persistent), outcome(fn, model)
    assert got == want, (got, want)
    if also is not None:
        also(got, want, model)
    assert contents(persistent) == contents(model)
    assert len(persistent) == len(model)
    return got
