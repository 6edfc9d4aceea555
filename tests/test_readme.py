"""The README's examples run as doctests."""
from __future__ import annotations

import doctest
import os

import parkit

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.rst")


def test_readme_examples(tmp_path):
    globs = {"path": str(tmp_path / "readme.pool"), "storage": str(tmp_path / "storage")}
    try:
        result = doctest.testfile(README, module_relative=False, globs=globs,
                                  optionflags=doctest.ELLIPSIS)
    finally:
        pool = globs.get("pool")
        if pool is not None:
            pool.close()
        parkit.close_all()
    assert result.attempted > 10
    assert result.failed == 0
