"""parkit's modules import each other as layers: no cycle, and each module
only imports modules below it.

The graph is read from the source, not from sys.modules: every import
statement of every module counts, at module level, inside functions and
under ``if TYPE_CHECKING:`` alike, relative or absolute.  The implicit import
of a module's own package (``parkit/__init__.py``, run before any of its
submodules) is not an edge; an explicit ``import parkit`` or ``from parkit
import Dict`` is.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, List, Optional, Set

import pytest

from tests.helpers import ROOT

PACKAGE = "parkit"
PACKAGE_DIR = os.path.join(ROOT, PACKAGE)

#: From the bottom up: a module imports only modules of layers below its own.
LAYERS = [
    ["errors", "lock", "waiting"],    # exceptions, the OFD lock, polling sleeps
    ["storage"],                      # storage path, object paths, namespace files
    ["namespace"],                    # a process's handle on a namespace: ownership
    ["context"],                      # the thread's transaction or snapshot
    ["object"],                       # the Object base class
    ["dict", "log", "queue", "listing"],
    ["records"],                      # the system namespace's records
    ["workerpool"],                   # the worker processes
    ["scheduler"],
    ["tasks"],                        # the task API
    [""],                             # the package: parkit/__init__.py
    ["worker", "cli"],                # the worker process main, the command line
    ["__main__"],
]


def _qualified(name: str) -> str:
    return f"{PACKAGE}.{name}" if name else PACKAGE


def module_files(package_dir: str = PACKAGE_DIR, package: str = PACKAGE) -> Dict[str, str]:
    """Dotted module name -> source file, for every module of the package
    (``parkit`` itself for its ``__init__.py``), subpackages included."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(package_dir):
        dirnames[:] = sorted(d for d in dirnames
                             if os.path.exists(os.path.join(dirpath, d, "__init__.py")))
        rel = os.path.relpath(dirpath, package_dir)
        prefix = package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}"
        for f in sorted(filenames):
            if f.endswith(".py"):
                stem = f[:-3]
                found[prefix if stem == "__init__" else f"{prefix}.{stem}"] = \
                    os.path.join(dirpath, f)
    return found


def imports_of(module: str, path: str, modules: Set[str], package: str = PACKAGE) -> Set[str]:
    """The modules of *modules* that *module* (source at *path*) imports."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    is_package = os.path.basename(path) == "__init__.py"
    found: Set[str] = set()

    def add(name: str) -> None:
        if name in modules and name != module:
            found.add(name)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            if base is None or not (base == package or base.startswith(package + ".")):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:      # a submodule: `from . import x`
                    add(sub)
                else:                   # a name defined in (or imported by) base
                    add(base)
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> Optional[str]:
    """The absolute module name of ``from <node.module> import ...``."""
    if not node.level:
        return node.module
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]          # a module's own package
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    if not parts:
        return None
    return ".".join(parts + ([node.module] if node.module else []))


def import_graph(package_dir: str = PACKAGE_DIR, package: str = PACKAGE) -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports."""
    files = module_files(package_dir, package)
    return {m: imports_of(m, p, set(files), package) for m, p in files.items()}


def find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One import cycle as [a, b, ..., a], or None."""
    state: Dict[str, int] = {}      # 1: on the current path, 2: done
    path: List[str] = []

    def visit(m: str) -> Optional[List[str]]:
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state:
                cycle = visit(n)
                if cycle:
                    return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def format_graph(graph: Dict[str, Set[str]]) -> str:
    return "\n".join(f"  {m} -> {', '.join(sorted(graph[m])) or '-'}" for m in sorted(graph))


# -- the checker checks ---------------------------------------------------------------------

def _write(tmp_path, files: Dict[str, str]) -> str:
    root = tmp_path / "pkg"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return str(root)


def test_checker_reads_every_kind_of_import(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "from .a import f\n",
        "a.py": "def f():\n    from . import b\n    from .sub import c\n",
        "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n",
        "d.py": "from pkg import e\nfrom pkg.sub.c import x\n",
        "e.py": "import os\nfrom pkg import f\n",
        "sub/__init__.py": "from .. import e\n",
        "sub/c.py": "from ..b import y\nfrom . import z\n",
    })
    graph = import_graph(root, "pkg")
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b", "pkg.sub.c"},
        "pkg.b": {"pkg.d"},
        "pkg.d": {"pkg.e", "pkg.sub.c"},
        "pkg.e": {"pkg"},
        "pkg.sub": {"pkg.e"},
        "pkg.sub.c": {"pkg.b", "pkg.sub"},
    }
    assert find_cycle(graph) == ["pkg", "pkg.a", "pkg.b", "pkg.d", "pkg.e", "pkg"]


def test_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    root = _write(tmp_path, {"__init__.py": "", "a.py": "from .b import g\n",
                             "b.py": "def g():\n    from .a import h\n"})
    assert find_cycle(import_graph(root, "pkg")) == ["pkg.a", "pkg.b", "pkg.a"]


# -- parkit ---------------------------------------------------------------------------------

GRAPH = import_graph()


def test_no_import_cycle():
    cycle = find_cycle(GRAPH)
    assert cycle is None, ("import cycle: " + " -> ".join(cycle)
                           + "\nthe graph:\n" + format_graph(GRAPH))


def test_storage_imports_nothing_of_parkit_but_errors():
    assert GRAPH["parkit.storage"] <= {"parkit.errors"}, GRAPH["parkit.storage"]


def test_every_module_imports_only_layers_below_it():
    layer = {_qualified(m): i for i, names in enumerate(LAYERS) for m in names}
    unplaced = set(GRAPH) - set(layer)
    assert not unplaced, f"put these modules in a layer of LAYERS: {sorted(unplaced)}"
    upward = [f"{m} (layer {layer[m]}) imports {n} (layer {layer[n]})"
              for m in sorted(GRAPH) for n in sorted(GRAPH[m]) if layer[n] >= layer[m]]
    assert not upward, "\n".join(upward) + "\nthe graph:\n" + format_graph(GRAPH)


@pytest.mark.parametrize("module", sorted(m for m in GRAPH
                                           if m != PACKAGE and not m.endswith(".__main__")))
def test_no_public_name_shadows_a_module(module):
    """``parkit.<name>`` is the module parkit/<name>.py, if there is one:
    no function or class of the package rebinds a module's name."""
    import importlib

    import parkit
    name = module.rsplit(".", 1)[1]
    importlib.import_module(module)
    value = getattr(parkit, name, None)
    assert value is None or value is importlib.import_module(module), \
        f"parkit.{name} is {value!r}, not the module {module}"
    assert name not in parkit.__all__
