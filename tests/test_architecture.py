"""The package's structure: no import circles among the modules of ``src/nof1`` (module-level and
function-level imports alike: an import inside a function hides a circle, it does not break it),
and no module imports another module's private (``_name``) helpers.

Imports under ``if TYPE_CHECKING:`` are not run and are not counted.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "nof1"


@dataclass(frozen=True)
class Import:
    module: str        # the importing module
    line: int
    target: str        # the nof1 module imported from
    names: tuple[str, ...]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _owner(name: str, modules: dict[str, Path]) -> str:
    while name not in modules:
        name = name.rpartition(".")[0]
    return name


def nof1_imports() -> list[Import]:
    """Every run-time import of a nof1 module by a nof1 module (at any depth of the code)."""
    modules = _modules()
    out: list[Import] = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "nof1":
                        out.append(Import(mod, node.lineno, _owner(alias.name, modules), ()))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source.split(".")[0] != "nof1":
                    continue
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    target = full if full in modules else _owner(source, modules)
                    out.append(Import(mod, node.lineno, target, (alias.name,)))
    return out


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _is_package(mod: str) -> bool:
    return (PACKAGE.parent / Path(*mod.split(".")) / "__init__.py").exists()


def test_the_checker_sees_function_level_imports() -> None:
    # analyze runs the sections after the methods: an import inside a function of core.py
    found = {(i.module, i.target) for i in nof1_imports()}
    assert ("nof1.analysis.core", "nof1.analysis.sections") in found
    assert ("nof1.data", "nof1.ingest") in found
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles_among_the_modules() -> None:
    edges: dict[str, set[str]] = {}
    for i in nof1_imports():
        # a package's __init__ re-exports its modules; importing the package is not a dependency
        # of the package on each of its modules' importers
        if i.target != i.module and not _is_package(i.target):
            edges.setdefault(i.module, set()).add(i.target)
    lines = {(i.module, i.target): i.line for i in nof1_imports()}
    cycles = _cycles(edges)
    detail = [
        " <-> ".join(c) + ": " + ", ".join(f"{a}:{lines[(a, b)]} -> {b}" for a in c for b in sorted(edges[a])
                                           if b in c)
        for c in cycles
    ]
    assert not cycles, "import circles:\n" + "\n".join(detail)


def test_no_module_imports_another_modules_private_names() -> None:
    bad = [f"{i.module}:{i.line} imports {name} from {i.target}"
           for i in nof1_imports() for name in i.names
           if name.startswith("_") and not name.startswith("__") and i.target != i.module]
    assert not bad, "\n".join(bad)
