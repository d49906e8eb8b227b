"""No import cycle between the project's modules, function-level imports included.

The graph is read from the source with `ast` (nothing is imported), so anyone can check
it: `python tests/test_import_cycles.py` prints every cycle and exits 1 if there is one.
An edge a → b means module a imports module b (`from b import name` and `from pkg import b`
both count); the implicit import of a module's parent package does not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "nas", "partition", "hw", "training", "search")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name → file, for every module of the project's packages and run.py."""
    files = {"run": root / "run.py"}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement may refer to (modules or names in them)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parent = module.split(".")[: len(module.split(".")) - node.level + is_package]
            base = ".".join(parent + ([base] if base else []))
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def import_graph(root: Path = ROOT) -> nx.DiGraph:
    files = module_files(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = imported(node, module, is_package)
            # `from pkg import sub` names the submodule; `from mod import name` the module
            targets = {n for n in names[1:] if n in files} if isinstance(node, ast.ImportFrom) else set()
            if isinstance(node, ast.ImportFrom) and names[0] in files and len(targets) < len(names) - 1:
                targets.add(names[0])
            if isinstance(node, ast.Import):
                targets = {n for n in names if n in files}
            graph.add_edges_from((module, target) for target in targets if target != module)
    return graph


def cycles(root: Path = ROOT) -> list[list[str]]:
    """Every cycle, in import order, starting at its alphabetically first module."""
    found = [c[c.index(min(c)) :] + c[: c.index(min(c))] for c in nx.simple_cycles(import_graph(root))]
    return sorted(found)


def test_the_graph_sees_imports_at_any_depth():
    graph = import_graph()
    assert graph.has_edge("run", "app")
    assert graph.has_edge("nas.factory", "nas.generators")  # module level
    assert graph.has_edge("training.task", "training.fit")  # inside a function


def test_a_cycle_is_found(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "run.py").write_text("")
    (tmp_path / "nas" / "a.py").write_text("from nas.b import x\n")
    (tmp_path / "nas" / "b.py").write_text("def f():\n    from nas import a\n")
    assert cycles(tmp_path) == [["nas.a", "nas.b"]]


def test_no_import_cycle():
    assert cycles() == []


if __name__ == "__main__":
    found = cycles()
    for cycle in found:
        print(" -> ".join(cycle + cycle[:1]))
    print(f"{len(found)} import cycles" if found else "no import cycle")
    sys.exit(1 if found else 0)
