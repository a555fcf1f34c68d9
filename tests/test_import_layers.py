"""The package's imports form no cycle and never run upwards through the layers.

Every module of the installed source tree is parsed (not imported) and each ``import`` / ``from ... import`` naming an
attnmod module is an edge, including imports inside functions (a lazy import still ties two modules together); only
imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import attnmod

ROOT = Path(attnmod.__file__).resolve().parent
NOT_PACKAGE = {"tests", "benchmarks", "docs", "build"}
#: toolkit <- analysis <- lightning_modules, reports <- workflows <- api <- cli (a module may import its own layer
#: and those below it).
LAYERS = {"toolkit": 0, "analysis": 1, "lightning_modules": 2, "reports": 2, "workflows": 3, "api": 4, "cli": 5}
#: Inside the toolkit (docs/architecture.md): the shared basics <- the prompt front end and the shapes world <- the
#: models <- the modulation inside the UNet <- generation and the probe, which run a pipeline with them.
TOOLKIT_LAYERS = {
    "errors": 0,
    "devices": 0,
    "threads": 0,
    "run_files": 0,
    "output_folder": 0,
    "interrupt": 0,
    "prompt": 1,
    "shapes_world": 1,
    "models": 2,
    "modulation": 3,
    "generation": 4,
    "probe": 4,
}


def package_modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_PACKAGE or any(part.startswith(".") for part in relative.parts):
            continue
        if not all(
            (ROOT / Path(*relative.parts[:depth]) / "__init__.py").is_file() for depth in range(1, len(relative.parts))
        ):
            continue  # a folder that is not a package (data, templates)
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(["attnmod", *parts])] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped.update(id(sub) for child in node.body for sub in ast.walk(child))
    return skipped


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    skipped = _type_checking_nodes(tree)
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                # `from . import metrics` names a module; `from .scoring import score_record` names the module it is in
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {target for target in targets if target in known and target != name}


def import_graph() -> dict[str, set[str]]:
    known = package_modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus modules importing themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def toolkit_layer(module: str) -> int | None:
    """The layer of a toolkit module inside the toolkit (None outside it; -1 for a part not placed yet)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[1] != "toolkit":
        return None
    return TOOLKIT_LAYERS.get(parts[2], -1)


def upward_imports(graph: dict[str, set[str]], layer_of) -> list[str]:
    """Every edge that runs from a module to one of a higher layer (modules without a layer are not compared)."""
    return [
        f"{module} -> {other}"
        for module, others in sorted(graph.items())
        for other in sorted(others)
        if layer_of(module) is not None and layer_of(other) is not None and layer_of(other) > layer_of(module)
    ]


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_walk_sees_the_real_edges():
    graph = import_graph()
    assert "attnmod.workflows" in graph and "attnmod.analysis.scoring" in graph
    # A module-level and a function-level import, both relative.
    assert "attnmod.analysis.regions" in graph["attnmod.analysis.scoring"]
    assert "attnmod.analysis.attribution" in graph["attnmod.workflows"]


def test_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def test_no_layer_imports_a_higher_one():
    assert upward_imports(import_graph(), layer) == []


def test_every_toolkit_part_has_a_layer():
    unplaced = sorted({module.split(".")[2] for module in import_graph() if toolkit_layer(module) == -1})
    assert unplaced == [], f"place these toolkit parts in TOOLKIT_LAYERS (and docs/architecture.md): {unplaced}"


def test_no_toolkit_part_imports_a_higher_one():
    assert upward_imports(import_graph(), toolkit_layer) == []


def test_the_toolkit_layers_catch_a_planted_upward_import():
    planted = {
        "attnmod.toolkit.prompt.parse": {"attnmod.toolkit.modulation.plan", "attnmod.toolkit.errors"},
        "attnmod.toolkit.modulation.plan": {"attnmod.toolkit.prompt.tree"},
        "attnmod.toolkit.models.loading": {"attnmod.toolkit.generation"},
        "attnmod.analysis.scoring": {"attnmod.toolkit.generation"},
    }
    assert upward_imports(planted, toolkit_layer) == [
        "attnmod.toolkit.models.loading -> attnmod.toolkit.generation",
        "attnmod.toolkit.prompt.parse -> attnmod.toolkit.modulation.plan",
    ]


#: The layout's size rule (docs/architecture.md): a module of toolkit/ or analysis/ that grows past this is split by job.
MAX_MODULE_LINES = 500


def test_no_module_of_the_toolkit_or_the_analysis_is_over_500_lines():
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in package_modules().items()
        if name.split(".")[1:2] in (["toolkit"], ["analysis"])
    }
    assert len(sizes) > 40  # the walk found the sub-packages, not an empty tree
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not too_long, f"split these by job: {too_long}"
