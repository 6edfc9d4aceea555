"""The import graph of a package, read from its source.

The graph counts every import a module can run: at module level, inside
functions and classes, relative ones (``from . import x``, ``from .x import
y``), and ``from package import name`` where the name is a submodule.
Imports under ``if TYPE_CHECKING:`` never run and are left out unless asked
for.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, Iterator, List, Set

from tests.helpers import ROOT


def _modules(package: str, root: str = ROOT) -> Dict[str, str]:
    """Dotted module name -> file, for every Python module of *package*."""
    out = {}
    top = os.path.join(root, package)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = os.path.relpath(dirpath, root).replace(os.sep, ".")
        for f in filenames:
            if f.endswith(".py"):
                name = rel if f == "__init__.py" else f"{rel}.{f[:-3]}"
                out[name] = os.path.join(dirpath, f)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, type_checking: bool) -> Iterator[ast.AST]:
    """Every import node at any depth: those that can run, and with
    *type_checking* those under ``if TYPE_CHECKING:`` too."""
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if not type_checking and isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)   # only the branch that runs
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _bound_names(path: str) -> Set[str]:
    """The names a module binds at its top level."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def import_graph(package: str, root: str = ROOT,
                 type_checking: bool = False) -> Dict[str, Set[str]]:
    """Module -> the modules of the same package it imports (with
    *type_checking*, counting imports made for the type checker only)."""
    modules = _modules(package, root)
    packages = {m for m, p in modules.items() if p.endswith("__init__.py")}
    bound = {m: _bound_names(modules[m]) for m in packages}
    graph: Dict[str, Set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        is_pkg = path.endswith("__init__.py")
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in _imports(tree, type_checking):
            targets: List[str] = []
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            else:
                if node.level:
                    here = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = ".".join(here[:len(here) - node.level + 1]
                                    + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                for alias in node.names:
                    # a submodule named in the list, else a name of the module
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        targets.append(sub)
                    elif base not in packages or alias.name in bound[base]:
                        targets.append(base)
                    # else a submodule that is not Python source (the
                    # compiled extension): not part of the graph
            graph[mod].update(t for t in targets if t in modules and t != mod)
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (and
    modules importing themselves), each sorted: Tarjan's algorithm."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: Set[str] = set()
    stack: List[str] = []
    out: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out
