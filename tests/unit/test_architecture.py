"""The package's shape, checked: one boundary each to Docker, SSH and the host's files,
imports that only go down, a folder per capability (each saying what lives there, its
helpers private to it), small modules and functions, in the package and in the example
users copy. A change that breaks the design fails here first."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE = REPOSITORY / "pojemnik"
EXAMPLE = [REPOSITORY / name for name in ("stack.py", "tasks.py", "fabfile.py")]
# Lowest first: a module may import from its own layer and the layers below it.
LAYERS = ["agent", "errors", "console", "declaration", "planning", "ssh", "hostfiles", "engine",
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


def importers_of(library: str) -> set[str]:
    importers = set()
    for module, tree in modules().items():
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and
                     not node.level else [])
            if any(n == library or n.startswith(f"{library}.") for n in names):
                importers.add(module)
    return importers


def test_only_the_docker_boundary_imports_docker() -> None:
    importers = importers_of("docker")
    assert importers and all(m.startswith("engine/") for m in importers), importers


def test_only_the_ssh_boundary_imports_paramiko() -> None:
    importers = importers_of("paramiko")
    assert importers and all(m.startswith("ssh/") for m in importers), importers


def test_only_the_host_files_boundary_replaces_files() -> None:
    """pojemnik's own files (upstreams, releases, secrets, state) are written by one
    writer, which replaces them atomically: `hostfiles/` (and, on the server itself, the
    agent its records)."""
    writers = {module for module, tree in modules().items() for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and node.attr == "replace"
               and isinstance(node.value, ast.Name) and node.value.id == "os"}
    assert writers and all(m.startswith(("hostfiles/", "agent/")) for m in writers), writers


def test_the_agent_needs_only_the_standard_library() -> None:
    """The server runs `pojemnik/agent` with its own python3, as a zipapp of that folder
    alone: it imports the standard library and itself, nothing else of pojemnik."""
    foreign = []
    for module, tree in modules().items():
        if not module.startswith("agent/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level == 1 else [node.module or ""]
            else:
                continue
            foreign += [f"{module} imports {n or '..'}" for n in names
                        if n.split(".")[0] not in sys.stdlib_module_names]
    assert modules() and foreign == []


def test_every_package_says_what_lives_there() -> None:
    silent = [module for module, tree in modules().items()
              if module.endswith("__init__.py") and not ast.get_docstring(tree)]
    assert silent == []


def test_a_family_of_modules_is_a_folder() -> None:
    """No `swarm_*`, `validate_*`, `datacopy_*` beside each other: modules of one folder
    never share a first word (nor share one with a subfolder)."""
    families = []
    for folder in sorted({p.parent for p in PACKAGE.rglob("*.py")}):
        words: dict[str, list[str]] = {}
        for path in sorted(folder.glob("*.py")):
            if path.stem != "__init__":
                words.setdefault(path.stem.lstrip("_").split("_")[0], []).append(path.name)
        for sub in folder.iterdir():
            if (sub / "__init__.py").exists():
                words.setdefault(sub.name.split("_")[0], []).append(f"{sub.name}/")
        families += [f"{folder.relative_to(PACKAGE)}: {names}" for names in words.values()
                     if len(names) > 1]
    assert families == []


def test_private_modules_serve_their_own_folder() -> None:
    """`_name.py` is a helper of its folder's entry points: nothing outside imports it."""
    outside = []
    for module, tree in modules().items():
        for target in imported(module, tree):
            folder, _, name = target.rpartition("/")
            if name.startswith("_") and name != "__init__" and \
                    module.rpartition("/")[0] != folder:
                outside.append(f"{module} imports {target}")
    assert outside == []


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
    """In the package, and in the example's stack.py, tasks.py and fabfile.py."""
    too_long = []
    sources = {**{PACKAGE / m: tree for m, tree in modules().items()},
               **{path: ast.parse(path.read_text()) for path in EXAMPLE}}
    for path, tree in sources.items():
        module = path.relative_to(REPOSITORY).as_posix()
        lines = len(path.read_text().splitlines())
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
