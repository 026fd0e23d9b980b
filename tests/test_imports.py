"""The import graph of ``saliency_widgets`` and ``sphinxext``: no circle, no borrowed private name.

Every ``import`` and ``from … import`` of the packages' own modules is read from the source (at
module level and inside functions; ``if TYPE_CHECKING:`` blocks, which never run, are left out).
A module that imports a module importing it, directly or around a longer circle, is a defect: so
is a module reaching into another module's ``_private`` name (``from m import _x``, ``m._x``).
A package's ``__init__`` importing its children is an edge like any other, so a child importing
names back from its own package's ``__init__`` closes a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("saliency_widgets", "sphinxext")

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Import cycles tolerated for now: none (methods/ resolves names through methods._named)."""


def _modules() -> dict[str, Path]:
    found = {}
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    kept, stack = [], [tree]
    while stack:
        node = stack.pop()
        kept.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            else:
                stack.append(child)
    return kept


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = _package(module).split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> tuple[set[str], list[str]]:
    """The project modules ``module`` imports, and the private names it borrows."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    targets: set[str] = set()
    borrowed: list[str] = []
    aliases: dict[str, str] = {}  # local name -> project module
    nodes = _runtime_nodes(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    targets.add(alias.name)
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:  # a submodule: the module itself is imported
                    targets.add(full)
                    aliases[alias.asname or alias.name] = full
                elif base in MODULES:
                    targets.add(base)
                    if _private(alias.name) and base != module:
                        borrowed.append(f"{module}: from {base} import {alias.name}")
    for node in nodes:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            owner = aliases.get(node.value.id)
            if owner and _private(node.attr) and f"{owner}.{node.attr}" not in MODULES:
                borrowed.append(f"{module}: {node.value.id}.{node.attr} ({owner})")
    targets.discard(module)
    return targets, borrowed


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _graph() -> dict[str, set[str]]:
    return {module: _imports(module)[0] for module in MODULES}


def _cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.add(frozenset(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_walk_sees_the_packages_imports():
    edges = _graph()
    assert len(MODULES) > 60
    assert "saliency_widgets.engine" in edges["saliency_widgets.grid"]  # inside a function
    assert "sphinxext.saliency_grid._directive" in edges["sphinxext.saliency_grid._grid"]
    assert "saliency_widgets.widget" not in edges["saliency_widgets"]  # TYPE_CHECKING only


def test_the_cycle_finder_finds_circles_of_any_length():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}
    assert _cycles({"a": {"b"}, "b": set()}) == set()


def test_no_module_imports_a_module_that_imports_it():
    found = _cycles(_graph())
    assert found - KNOWN_CYCLES == set(), sorted(sorted(group) for group in found)
    assert KNOWN_CYCLES <= found, "a known cycle changed or is gone: update KNOWN_CYCLES"


def test_no_module_borrows_another_modules_private_name():
    borrowed = [line for module in MODULES for line in _imports(module)[1]]
    assert borrowed == []
