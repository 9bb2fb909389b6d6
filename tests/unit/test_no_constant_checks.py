"""A check that cannot fail proves nothing: no check in the test cases records a constant.

Rejected: ``expect_true(rec, ID, True, ...)``, ``expect_false(rec, ID, False, ...)``,
``check(rec, ID, ok=True, ...)`` and an ``expect_equal`` whose expected and actual are the
same literal. A literal ``False`` (or ``ok=False``) inside a branch that detected the failure
is fine: it records a fail that the branch has already established.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "testcases"


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else _NOT_LITERAL


_NOT_LITERAL = object()


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def constant_checks(source: str, filename: str = "<src>") -> Iterator[str]:
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        where = f"{filename}:{node.lineno}"
        if name == "expect_true":
            cond = node.args[2] if len(node.args) > 2 else _keyword(node, "condition")
            if _literal(cond) is True:
                yield f"{where}: expect_true with the literal True"
        elif name == "expect_false":
            cond = node.args[2] if len(node.args) > 2 else _keyword(node, "condition")
            if _literal(cond) is False:
                yield f"{where}: expect_false with the literal False"
        elif name == "check":
            if _literal(_keyword(node, "ok")) is True:
                yield f"{where}: check with ok=True"
        elif name == "expect_equal":
            expected, actual = _keyword(node, "expected"), _keyword(node, "actual")
            value = _literal(expected)
            if value is not _NOT_LITERAL and _literal(actual) == value:
                yield f"{where}: expect_equal of a literal with itself"


def test_no_check_in_the_test_cases_records_a_constant() -> None:
    found = [
        hit
        for path in sorted(ROOT.rglob("*.py"))
        for hit in constant_checks(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not found, "checks that cannot fail:\n  " + "\n  ".join(found)


def test_the_rule_sees_each_form() -> None:
    src = (
        "expect_true(r, 'A', True, expected='x')\n"
        "expect_true(r, 'A', ok_value, expected='x')\n"
        "expect_false(r, 'A', False, expected='x')\n"
        "check(r, 'A', ok=True, expected='x', actual='y')\n"
        "check(r, 'A', ok=False, expected='x', actual='y')\n"
        "expect_equal(r, 'A', expected='closed', actual='closed')\n"
        "expect_equal(r, 'A', expected='closed', actual=state)\n"
    )
    assert [h.split(": ", 1)[0] for h in constant_checks(src)] == [
        "<src>:1",
        "<src>:3",
        "<src>:4",
        "<src>:6",
    ]
