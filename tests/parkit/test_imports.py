"""parkit's modules import each other as layers: each module only imports
modules below it (tests/test_layers.py checks there is no cycle; the graph,
imports for the type checker included, comes from tests/importgraph.py)."""
from __future__ import annotations

from typing import Dict, Set

import pytest

from tests.importgraph import import_graph

PACKAGE = "parkit"

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


def format_graph(graph: Dict[str, Set[str]]) -> str:
    return "\n".join(f"  {m} -> {', '.join(sorted(graph[m])) or '-'}" for m in sorted(graph))


# -- parkit ---------------------------------------------------------------------------------

GRAPH = import_graph(PACKAGE, type_checking=True)


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
