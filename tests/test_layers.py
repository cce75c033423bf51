"""The package's layers, as the tree shows them: the foundation (messages, errors) < backends < storage < core <
the front ends (chat, serve, mcpserver) < cli, the edge that starts them all.  A module imports only from its own
layer or below, front ends never import each other, and nothing has an import cycle at run time (imports under
TYPE_CHECKING aside; imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "glm_image_cli"
LAYERS = {"backends": 1, "storage": 2, "core": 3, "chat": 4, "serve": 4, "mcpserver": 4, "cli": 5}
FOUNDATION = {"glm_image_cli", "glm_image_cli.messages", "glm_image_cli.errors", "glm_image_cli.safejson",
              "glm_image_cli.safefile"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it may import while running."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        found: set[str] = set()

        def visit(node: ast.AST, found: set[str] = found) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for other in child.orelse:
                        visit(other, found)
                    continue
                if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("glm_image_cli"):
                    for alias in child.names:
                        full = f"{child.module}.{alias.name}"
                        found.add(full if full in paths else str(child.module))
                elif isinstance(child, ast.Import):
                    found.update(a.name for a in child.names if a.name.startswith("glm_image_cli"))
                visit(child, found)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {module for module in found if module in paths and module != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def layer_of(module: str) -> tuple[int, str]:
    """(rank, sub-package) of a module: the foundation is 0, ``__main__`` is the edge like cli."""
    if module in FOUNDATION:
        return 0, ""
    if module == "glm_image_cli.__main__":
        return LAYERS["cli"], "cli"
    package = module.split(".")[1]
    assert package in LAYERS, f"{module} is in no layer: put it in one of {sorted(LAYERS)}"
    return LAYERS[package], package


def test_no_import_cycle_among_the_package_modules() -> None:
    assert cycles(import_graph()) == []


def test_every_module_imports_only_its_own_layer_or_below() -> None:
    wrong = []
    for module, imported in import_graph().items():
        rank, package = layer_of(module)
        for other in imported:
            other_rank, other_package = layer_of(other)
            if other_rank > rank or (other_rank == rank == LAYERS["chat"] and other_package != package):
                wrong.append(f"{module} -> {other}")
    assert wrong == []


def test_each_layer_says_what_it_may_import() -> None:
    for package in LAYERS:
        doc = (PACKAGE / package / "__init__.py").read_text(encoding="utf-8")
        assert "May import" in doc, package


def test_the_catalogue_and_the_errors_import_nothing_above_them() -> None:
    graph = import_graph()
    assert graph["glm_image_cli.messages"] == set()
    assert graph["glm_image_cli.errors"] <= {"glm_image_cli.messages"}


def test_commands_do_not_import_each_other() -> None:
    graph = import_graph()
    shared = {f"glm_image_cli.cli.commands.{name}"
              for name in ("batchrun", "common", "completion", "generating", "options", "review")}
    shared |= {"glm_image_cli.cli.commands"}
    for module, imported in graph.items():
        if module.startswith("glm_image_cli.cli.commands.") and module not in shared:
            assert {name for name in imported if name.startswith("glm_image_cli.cli.commands")} <= shared, module


def test_backend_names_are_compared_only_in_the_registry() -> None:
    """Outside backends/registry.py nothing spells a backend's name (each backend module says it once, in its
    ``name`` field) and nothing compares a ``backend`` value: callers ask the Backend object instead."""
    from glm_image_cli.backends.registry import BACKEND_NAMES

    found = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "backends/registry.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed: set[int] = set()
        for node in ast.walk(tree):
            if relative.startswith("backends/") and isinstance(node, ast.AnnAssign) and \
                    isinstance(node.target, ast.Name) and node.target.id == "name" and node.value is not None:
                allowed.add(id(node.value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in BACKEND_NAMES and id(node) not in allowed:
                found.append(f"{relative}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.Compare) and not all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
                operands = [node.left, *node.comparators]
                if any(getattr(o, "attr", None) == "backend" or getattr(o, "id", None) == "backend" for o in operands):
                    found.append(f"{relative}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


MAX_MODULE_LINES = 500
# Modules still over the limit, each waiting for its own split.  Remove a name once its module is small again.
OVER_THE_LIMIT_FOR_NOW = {
    "glm_image_cli/core/runner.py",  # 502 since the terminal-safety merge (output_failed); being worked on
}


def test_no_module_is_over_500_lines_but_the_message_catalogue() -> None:
    exempt = {"glm_image_cli/messages.py"} | OVER_THE_LIMIT_FOR_NOW  # the catalogue is one table, en + zh
    sizes = {path.relative_to(PACKAGE.parent).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items()
            if lines > MAX_MODULE_LINES and name not in exempt} == {}
    assert {name for name in OVER_THE_LIMIT_FOR_NOW if sizes.get(name, 0) <= MAX_MODULE_LINES} == set(), \
        "a module on the allow-list is small now: take it off"
