"""Every fault name the reference SUT asks about exists, and every fault is asked about.

``faults.on("name")`` refuses an unknown name only when its branch runs; this scan finds a
misspelled name in the source at once. The forms the reference SUT uses: a literal
``faults.on("pf.x")`` or ``on("pf.x")`` (``on = faults.on``), a literal bound to a
variable first (``fault = "pf.x" if ... else "pf.y"``), and an f-string naming a family
(``faults.on(f"client.{answer}-ignored")``), which must match at least one fault.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import conformance.reference
from conformance.reference.faults import FAULTS

ROOT = Path(conformance.reference.__file__).parent
#: the shape of every fault name: role, a dot, hyphenated words
NAME = re.compile(r"(pf|cf|client)\.[a-z0-9]+(-[a-z0-9]+)+")


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "faultsets" or rel == Path("faults.py"):
            continue  # the declarations, not uses
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def _is_on_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not node.args:
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "on") or (
        isinstance(func, ast.Name) and func.id == "on"
    )


def _pattern(node: ast.JoinedStr) -> re.Pattern[str]:
    parts = [
        re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9-]+" for v in node.values
    ]
    return re.compile("".join(parts))


def _uses() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(literal name -> places, f-string pattern -> places) in the reference source."""
    literals: dict[str, list[str]] = {}
    families: dict[str, list[str]] = {}
    for path, tree in _sources():
        on_args = {id(n.args[0]) for n in ast.walk(tree) if _is_on_call(n)}
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT.parent.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.JoinedStr) and id(node) in on_args:
                families.setdefault(_pattern(node).pattern, []).append(where)
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and (NAME.fullmatch(node.value) or id(node) in on_args)
            ):
                literals.setdefault(node.value, []).append(where)
    return literals, families


def test_every_fault_name_has_the_shape_the_scan_looks_for() -> None:
    assert [n for n in FAULTS if not NAME.fullmatch(n)] == []


def test_every_fault_name_used_in_the_reference_sut_is_registered() -> None:
    literals, families = _uses()
    unknown = {n: places for n, places in literals.items() if n not in FAULTS}
    assert unknown == {}, f"fault names missing from the registry: {unknown}"
    empty = {
        p: places for p, places in families.items() if not any(re.fullmatch(p, n) for n in FAULTS)
    }
    assert empty == {}, f"fault name patterns matching no registered fault: {empty}"


def test_every_registered_fault_is_used_by_the_reference_sut() -> None:
    literals, families = _uses()
    used = set(literals) | {n for p in families for n in FAULTS if re.fullmatch(p, n)}
    unused = sorted(set(FAULTS) - used)
    assert unused == [], f"faults the reference SUT never asks about: {unused}"
