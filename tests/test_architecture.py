"""Imports go one way and never in a circle (docs/ARCHITECTURE.md, "Layers").

The layers contract lives in ``pyproject.toml`` (``[tool.importlinter]``) and
is run here with ``lint-imports``. The cycle check builds the import graph
with grimp (which import-linter installs): it counts every import statement,
those inside functions and under ``TYPE_CHECKING`` included.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("tunecrate", cache_dir=None)


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other in a circle (strongly connected components
    of two modules or more, by Tarjan's algorithm), each sorted."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(root: str) -> None:
        # Iterative, so that a long chain of imports cannot exhaust the recursion limit.
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    lines = []
    for importer in group:
        for imported in sorted(set(graph.find_modules_directly_imported_by(importer)) & set(group)):
            where = ", ".join(f"l.{d['line_number']}" for d in graph.get_import_details(
                importer=importer, imported=imported))
            lines.append(f"  {importer} -> {imported} ({where})")
    return "\n".join(lines)


def test_layers_contract_is_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "lint-imports (import-linter) is not installed: pip install -e '.[test]'"
    run = subprocess.run([lint, "--no-cache", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                         text=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin",
                                         "COLUMNS": "200", "NO_COLOR": "1"})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " 0 broken" in run.stdout


def test_no_import_cycles_between_modules(graph):
    found = cycles(graph)
    assert not found, "modules that import each other in a circle:\n" + "\n".join(
        describe(graph, group) for group in found)


def test_the_graph_holds_imports_made_inside_functions(graph):
    # cli.base imports the library inside open_library(): the checks above must see such imports.
    assert graph.direct_import_exists(importer="tunecrate.cli.base", imported="tunecrate.library.library")


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.build_graph("tunecrate", cache_dir=None)
    graph.add_import(importer="tunecrate.core.errors", imported="tunecrate.library.library")
    found = cycles(graph)
    assert any({"tunecrate.core.errors", "tunecrate.library.library"} <= set(group) for group in found)


#: The packages a registry may name: the layer of the services. A service that holds playlists offers a
#: source and a target in one module (Plex's in ``targets``, Spotify's in ``sources``).
SERVICE_PACKAGES = ("tunecrate.sources.", "tunecrate.providers.", "tunecrate.targets.")


@pytest.mark.parametrize("package,registry", [
    ("tunecrate.sources", "SOURCES"), ("tunecrate.providers", "PROVIDERS"), ("tunecrate.targets", "TARGETS"),
])
def test_registries_name_modules_of_the_service_layer(package, registry):
    """A registry imports its entries by name, which the graph cannot see: check the names instead."""
    entries = getattr(importlib.import_module(package), registry)
    for name, spec in entries.items():
        module, _, attr = spec.partition(":")
        assert module.startswith(SERVICE_PACKAGES), f"{registry}[{name!r}] = {spec!r} is outside the service layer"
        cls = getattr(importlib.import_module(module), attr)
        assert cls.name == name, f"{spec} calls itself {cls.name!r}, registered as {name!r}"
