"""A test case never reaches beyond the users its ``users(n)`` marker claims.

Parallel workers share one SUT, each with its own slice of the profile's users
(``pixit.users``); the marker tells how many a test case needs (none: one). This scan reads
every ``pixit.users[k]`` (``tc.pixit.users[k]``, slices, negative indices, a
``len(pixit.users) < k`` guard) in a test function, in the functions of its module and in
the procedures it calls by name (transitively), and fails when the test case needs more
users than its marker says. It is a lower bound: users reached by iterating the slice are
not seen here (the markers were set from a run that recorded every index touched).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "testcases"

Functions = dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]


def _is_pixit_users(node: ast.expr) -> bool:
    """``pixit.users`` or ``<anything>.pixit.users``."""
    if not (isinstance(node, ast.Attribute) and node.attr == "users"):
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "pixit") or (
        isinstance(owner, ast.Attribute) and owner.attr == "pixit"
    )


def _int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int)
    ):
        return -node.operand.value
    return None


def _needed(index: ast.expr) -> int:
    """How many users ``users[index]`` needs (0: not a literal)."""
    if isinstance(index, ast.Slice):
        stop, start = _int(index.upper), _int(index.lower)
        if stop is not None and stop > 0:
            return stop
        return start + 1 if start is not None and start > 0 else 0
    k = _int(index)
    if k is None:
        return 0
    return k + 1 if k >= 0 else -k


def own_need(function: ast.AST) -> int:
    """The users one function's body indexes (or guards with ``len(...) < k``)."""
    need = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Subscript) and _is_pixit_users(node.value):
            need = max(need, _needed(node.slice))
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Call)
            and isinstance(node.left.func, ast.Name)
            and node.left.func.id == "len"
            and node.left.args
            and _is_pixit_users(node.left.args[0])
            and isinstance(node.ops[0], ast.Lt)
        ):
            need = max(need, _int(node.comparators[0]) or 0)
    return need


def _called(function: ast.AST) -> Iterator[str]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                yield node.func.id
            elif isinstance(node.func, ast.Attribute):
                yield node.func.attr


def _functions(tree: ast.AST) -> Functions:
    found: Functions = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(node.name, []).append(node)
    return found


def need(function: ast.AST, known: Functions) -> int:
    """The users ``function`` needs, through the functions it calls (by name)."""
    seen: set[int] = set()
    todo = [function]
    total = 0
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        total = max(total, own_need(current))
        for name in _called(current):
            todo.extend(known.get(name, ()))
    return total


def marker(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int | None:
    """The ``n`` of ``@pytest.mark.users(n)``, None without the marker."""
    for deco in function.decorator_list:
        if (
            isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "users"
            and deco.args
        ):
            value = _int(deco.args[0])
            assert value is not None, f"{function.name}: users() takes an int literal"
            return value
    return None


def _procedures() -> Functions:
    known: Functions = {}
    for path in sorted((ROOT / "procedures").glob("*.py")):
        for name, defs in _functions(ast.parse(path.read_text(), str(path))).items():
            known.setdefault(name, []).extend(defs)
    return known


def violations(source: str, filename: str, procedures: Functions) -> Iterator[str]:
    tree = ast.parse(source, filename)
    known: Functions = dict(procedures)
    for name, defs in _functions(tree).items():
        known[name] = [*defs, *known.get(name, ())]
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test_"):
            continue
        claimed = marker(node)
        if claimed is not None and claimed < 2:
            yield f"{filename}::{node.name}: users({claimed}) (one user needs no marker)"
        needed = need(node, known)
        if needed > (claimed or 1):
            yield f"{filename}::{node.name}: indexes {needed} users, marker users({claimed})"


def test_no_test_case_indexes_beyond_its_users_marker() -> None:
    procedures = _procedures()
    found = [
        v
        for path in sorted(ROOT.rglob("test_*.py"))
        for v in violations(path.read_text(), str(path.relative_to(ROOT)), procedures)
    ]
    assert found == []


def test_the_scan_sees_an_index_beyond_the_marker() -> None:
    source = """
import pytest

def helper(pixit):
    return pixit.users[2].uri

@pytest.mark.users(2)
async def test_through_a_helper(tc):
    helper(tc.pixit)

async def test_no_marker(tc):
    tc.pixit.users[1]

@pytest.mark.users(3)
async def test_fine(tc):
    a, b, c = (u.uri for u in tc.pixit.users[:3])
    tc.pixit.users[-3]

async def test_guard(pixit):
    if len(pixit.users) < 3:
        pass
"""
    found = list(violations(source, "m.py", {}))
    assert found == [
        "m.py::test_through_a_helper: indexes 3 users, marker users(2)",
        "m.py::test_no_marker: indexes 2 users, marker users(None)",
        "m.py::test_guard: indexes 3 users, marker users(None)",
    ]
