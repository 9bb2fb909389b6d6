"""The import graph of ``conformance/``: no cycle between modules, no upward import.

The layers (``docs/dev/architecture.md``) are a promise a reader relies on: a module only
ever imports from its own layer or from a layer below it, and two modules never need each
other. Every import counts, including those under ``TYPE_CHECKING`` and those inside a
function, because both are how a cycle is usually hidden.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "conformance"

#: each layer may import itself and the layers listed for it (everything below it)
BASE = frozenset({"errors", "__init__"})
ALLOWED: dict[str, frozenset[str]] = {
    "protocol": BASE,
    "documents": BASE | {"protocol"},
    "net": BASE | {"protocol", "documents"},
    "roles": BASE | {"protocol", "documents", "net"},
    "checks": BASE | {"protocol", "documents", "net", "roles"},
    "catalog": BASE | {"protocol", "documents", "net", "roles", "checks"},
    "report": BASE | {"protocol", "documents", "net", "roles", "checks", "catalog"},
    # the reference SUT is a network of its own: it is built on the codecs, documents and
    # transports, and never sees the emulators, the checks or the catalogue, so that its
    # behaviour is not the emulators' behaviour seen in a mirror
    "reference": BASE | {"protocol", "documents", "net"},
    "errors": frozenset({"errors"}),
    "__init__": frozenset({"errors"}),
}
#: the entry points sit on top and may import any layer
TOP = frozenset(
    {
        "child",
        "cli",
        "command",
        "plugin",
        "pytest",
        "selftest",
        "selftest_pool",
        "preflight",
        "robustness",
        "demo",
        "__main__",
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every ``conformance`` module ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "conformance")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "conformance":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in modules else target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {t for t in _imports(name, path, modules) if t in modules and t != name}
        for name, path in modules.items()
    }


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_cycle_between_modules() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "modules that import each other (directly or around a loop):\n" + "\n".join(
        "  " + " <-> ".join(c) for c in cycles
    )


def test_imports_only_point_downward() -> None:
    upward = []
    for module, targets in _graph().items():
        layer = _layer(module)
        if layer in TOP:
            continue
        allowed = ALLOWED.get(layer)
        assert allowed is not None, f"{module}: layer {layer!r} is not placed in ALLOWED"
        upward += [
            f"{module} -> {t}" for t in sorted(targets) if _layer(t) not in allowed | {layer}
        ]
    assert not upward, "imports against the layering:\n  " + "\n  ".join(upward)


def test_the_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
