"""The public API is type-annotated: mypy --strict accepts both packages."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_strict_is_clean():
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                          "pmemobj", "parkit"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr


def test_packages_ship_py_typed():
    for package in ("pmemobj", "parkit"):
        assert os.path.exists(os.path.join(ROOT, package, "py.typed"))
