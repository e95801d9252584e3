"""The package's shape: no import circles, and the pure stages never reach ``pybpf.sys``.

The import graph is read from the source with ``ast``: every ``import pybpf...`` and
``from pybpf... import ...``, at module level *and inside functions* (a lazy import
still ties the two modules together: a circle through one only fails later, at
first use). Imports under ``if TYPE_CHECKING:`` are left out: they never run. An
import of ``pybpf.a.b`` counts as an edge to ``pybpf.a.b`` only, not to the package
``pybpf.a`` Python initialises first (every package would otherwise sit in a circle
with its own modules); ``from pybpf.a import x`` is an edge to ``pybpf.a.x`` when
that is a module, else to ``pybpf.a``.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pybpf

SRC = Path(pybpf.__file__).resolve().parent

#: stages that make no system call: they must not import pybpf.sys, even indirectly
PURE = ("pybpf.elf", "pybpf.btf", "pybpf.asm", "pybpf.linker", "pybpf.plan")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    walk_one(other)
                continue
            walk_one(child)

    def walk_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "pybpf")
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"relative import at line {node.lineno}: use pybpf.* paths")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pybpf":
            assert node.module is not None
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        walk(node)

    walk(tree)
    return found


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """pybpf module → the pybpf modules it imports (see module docstring)."""
    paths = {_module_name(p): p for p in SRC.rglob("*.py")}
    names = set(paths)
    graph = {}
    for name, path in paths.items():
        edges = _imports(ast.parse(path.read_text(), str(path)), names)
        graph[name] = frozenset(e for e in edges if e in names and e != name)
    return graph


def _cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _reach(graph: dict[str, frozenset[str]], start: str) -> dict[str, str]:
    """Every module ``start`` imports, directly or not → the module importing it."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in graph[v]:
            if w not in seen and w != start:
                seen[w] = v
                todo.append(w)
    return seen


def _path(seen: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(seen[chain[-1]])
    return " -> ".join(reversed(chain))


def test_the_graph_sees_imports() -> None:
    """The reader finds module-level, lazy and from-package imports (not a vacuous pass)."""
    g = import_graph()
    assert "pybpf.map" in g["pybpf.object"]  # module level
    assert "pybpf.loader.load" in g["pybpf.object"]  # inside Object.load
    assert "pybpf.sys.maps" in g["pybpf.loader.load"]  # from pybpf.sys import maps
    assert "pybpf.object" not in g["pybpf.loader.struct_ops"]  # only under TYPE_CHECKING
    assert _cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"})}) == [
        ["a", "b", "c"]
    ]


def test_no_import_cycles() -> None:
    cycles = _cycles(import_graph())
    assert cycles == [], "import circles in src/pybpf: " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_pure_stages_do_not_import_sys() -> None:
    g = import_graph()
    bad = []
    for mod in sorted(g):
        if not any(mod == p or mod.startswith(p + ".") for p in PURE):
            continue
        seen = _reach(g, mod)
        sys_mods = sorted(m for m in seen if m == "pybpf.sys" or m.startswith("pybpf.sys."))
        if sys_mods:
            bad.append(_path(seen, mod, sys_mods[0]))
    assert bad == [], "pure modules reaching pybpf.sys:\n" + "\n".join(bad)


def test_object_and_loader_do_not_reach_into_each_other() -> None:
    """The façade calls the planner and the executor; neither imports the façade."""
    g = import_graph()
    for mod in ("pybpf.loader.load", "pybpf.loader.programs", "pybpf.plan.planner"):
        assert "pybpf.object" not in _reach(g, mod), mod
