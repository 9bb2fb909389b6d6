"""Import rules of conformance/protocol: no cycle between its modules, headers.py never
imports the message model, and no module imports another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import conformance.protocol

ROOT = Path(conformance.protocol.__file__).parent


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path) -> list[ast.ImportFrom | ast.Import]:
    """Every import of the module, TYPE_CHECKING blocks and function bodies included."""
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import)]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in _imports(path):
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
                continue
            base = node.module or ""
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    graph[name].add(f"{base}.{alias.name}")
                elif base in modules:
                    graph[name].add(base)
    return graph


def test_no_import_cycle_inside_protocol() -> None:
    modules = _modules()
    # a package's __init__ only re-exports its modules: its edges are not dependencies
    edges = {
        m: set() if modules[m].name == "__init__.py" else targets for m, targets in _graph().items()
    }
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges[node]:
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join([*path, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in edges:
        if node not in state:
            visit(node, [])


def test_headers_does_not_import_the_message_model() -> None:
    graph = _graph()
    assert "conformance.protocol.sip.message" not in graph["conformance.protocol.sip.headers"]


def test_no_private_name_imported_across_modules() -> None:
    for name, path in _modules().items():
        for node in _imports(path):
            if isinstance(node, ast.ImportFrom):
                private = [
                    a.name
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
                assert not private, f"{name} imports {private} from {node.module}"
