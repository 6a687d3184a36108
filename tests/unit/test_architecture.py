"""The package's shape, checked: one boundary to Docker, imports that only go down,
small modules and functions. A change that breaks the design fails here first."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pojemnik"
# Lowest first: a module may import from its own layer and the layers below it.
LAYERS = ["errors", "console", "declaration", "planning", "ssh", "hostfiles", "engine",
          "operations", "tasks"]
MAX_MODULE_LINES = 350
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, ast.Module]:
    return {path.relative_to(PACKAGE).as_posix(): ast.parse(path.read_text())
            for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int | None:
    head = module.split("/")[0].removesuffix(".py")
    return LAYERS.index(head) if head in LAYERS else None


def imported(module: str, tree: ast.Module) -> list[str]:
    """pojemnik modules imported, as paths like 'engine/backend' (relative imports resolved)."""
    package = module.split("/")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.startswith("pojemnik"):
                target = node.module.split(".")[1:]
            else:
                continue
            base_name = "/".join(target) or "__init__"
            # `from . import plan` imports the module planning/plan, not the package.
            submodules = [f"{base_name}/{a.name}" for a in node.names
                          if (PACKAGE / f"{base_name}/{a.name}.py").exists()]
            found += submodules or [base_name]
    return found


def test_only_the_docker_boundary_imports_docker() -> None:
    importers = set()
    for module, tree in modules().items():
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and
                     not node.level else [])
            if any(n == "docker" or n.startswith("docker.") for n in names):
                importers.add(module)
    assert importers and all(m.startswith("engine/") for m in importers), importers


def test_imports_never_go_up_a_layer() -> None:
    upward = []
    for module, tree in modules().items():
        own = layer(module)
        if own is None:
            continue
        for target in imported(module, tree):
            other = layer(target)
            if other is not None and other > own:
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_modules_and_functions_are_small() -> None:
    too_long = []
    for module, tree in modules().items():
        lines = len((PACKAGE / module).read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{module}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_the_import_graph_has_no_cycle() -> None:
    trees = modules()
    known = {m.removesuffix(".py").removesuffix("/__init__") for m in trees}
    graph: dict[str, set[str]] = {}
    for module, tree in trees.items():
        name = module.removesuffix(".py").removesuffix("/__init__")
        graph[name] = {t for t in imported(module, tree) if t in known and t != name}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
