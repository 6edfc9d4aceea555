"""The extension exports its module init and nothing else.

The C core's internals (release, snap, traverse, ...) and even its pmo_
interface, which cffi's module calls inside the same object, stay hidden:
nothing can collide with another library or extension in the process.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

import pmemobj._pmo


def test_only_the_module_init_is_exported():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", pmemobj._pmo.__file__],
                         check=True, capture_output=True, text=True).stdout
    # "address type name"; absolute symbols (A) are the linker's markers
    rows = [line.split() for line in out.splitlines()]
    exported = sorted(r[-1] for r in rows if len(r) >= 2 and r[-2] not in ("A", "a"))
    assert exported == ["PyInit__pmo"], exported
