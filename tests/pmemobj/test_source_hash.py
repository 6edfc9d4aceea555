"""A stale build of the extension is refused at import, with what to do.

build.py embeds a hash of the C sources and of itself in the extension;
importing pmemobj from a source tree compares it with the sources there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from pmemobj._binding import _check_source_hash, ffi, lib
from pmemobj._sourcehash import source_hash

from tests.helpers import ROOT


def test_the_extension_is_built_from_these_sources():
    built = ffi.string(lib.pmo_source_hash()).decode()
    assert len(built) == 16 and int(built, 16) >= 0
    assert built == source_hash(ROOT)


def test_a_mismatching_hash_raises_import_error_saying_how_to_rebuild():
    _check_source_hash(ROOT, source_hash(ROOT))
    with pytest.raises(ImportError, match=r"stale.*`make`.*`pip install -e \.`"):
        _check_source_hash(ROOT, "0" * 16)
    with pytest.raises(ImportError, match="stale"):
        _check_source_hash(ROOT, "")   # built before extensions had a hash


def _tree(tmp_path):
    """A copy of the source tree's pmemobj (with its built extension), csrc/
    and build.py."""
    ignore = shutil.ignore_patterns("__pycache__", "*.o")
    shutil.copytree(os.path.join(ROOT, "pmemobj"), tmp_path / "pmemobj", ignore=ignore)
    shutil.copytree(os.path.join(ROOT, "csrc"), tmp_path / "csrc", ignore=ignore)
    shutil.copy(os.path.join(ROOT, "build.py"), tmp_path / "build.py")
    return tmp_path


def test_the_hash_covers_every_c_source_and_build_py(tmp_path):
    tree = _tree(tmp_path)
    seen = {source_hash(str(tree))}
    assert seen == {source_hash(ROOT)}
    (tree / "csrc" / "pmo.h").write_text((tree / "csrc" / "pmo.h").read_text() + "\n")
    seen.add(source_hash(str(tree)))
    (tree / "csrc" / "new.c").write_text("")
    seen.add(source_hash(str(tree)))
    (tree / "build.py").write_text((tree / "build.py").read_text() + "#\n")
    seen.add(source_hash(str(tree)))
    (tree / "pmemobj" / "dict.py").write_text("")   # Python code is not built
    seen.add(source_hash(str(tree)))
    assert len(seen) == 4


def _import(tree):
    env = dict(os.environ, PYTHONPATH=str(tree))
    code = "import pmemobj; print(pmemobj.__file__)"
    return subprocess.run([sys.executable, "-c", code], cwd=str(tree),
                          env=env, capture_output=True, text=True, timeout=120)


def test_importing_against_edited_sources_fails_clearly(tmp_path):
    tree = _tree(tmp_path)
    assert _import(tree).stdout.startswith(str(tree))
    pmo_h = tree / "csrc" / "pmo.h"
    pmo_h.write_text(pmo_h.read_text() + "/* edited */\n")
    out = _import(tree)
    assert out.returncode != 0
    assert "ImportError" in out.stderr and "is stale" in out.stderr, out.stderr
    assert "make" in out.stderr


def test_without_sources_beside_it_the_check_is_skipped(tmp_path):
    tree = _tree(tmp_path)
    shutil.rmtree(tree / "csrc")
    assert _import(tree).stdout.startswith(str(tree))
