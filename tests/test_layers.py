"""The packages read as layers: no import cycles, and pmemobj knows nothing
above it (see tests/importgraph.py for what counts as an import)."""
from __future__ import annotations

import os
import re

import pytest

from tests.helpers import ROOT
from tests.importgraph import _modules, find_cycles, import_graph


@pytest.mark.parametrize("package,type_checking", [("pmemobj", False), ("parkit", True)])
def test_no_import_cycles(package, type_checking):
    # parkit has no cycle even through its imports for the type checker
    cycles = find_cycles(import_graph(package, type_checking=type_checking))
    assert cycles == [], f"import cycles in {package}: {cycles}"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "a.py").write_text("def f():\n    from . import b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from . import c\n"
                              "def g():\n    from cyc import a\n")
    (pkg / "c.py").write_text("from .b import g\n")
    graph = import_graph("cyc", str(tmp_path))
    assert graph["cyc.a"] == {"cyc.b"}
    assert graph["cyc.b"] == {"cyc.a"}          # the TYPE_CHECKING import is left out
    assert graph["cyc.c"] == {"cyc.b"}
    assert find_cycles(graph) == [["cyc.a", "cyc.b"]]


def test_pmemobj_does_not_name_the_facade():
    # the object layer knows nothing of what is built on it
    found = []
    for mod, path in sorted(_modules("pmemobj").items()):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if re.search("parkit", line, re.IGNORECASE):
                    found.append(f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()}")
    assert found == []
