"""Baseline comparison of two runs: the requirements and test cases whose verdict changed.

:func:`compare` pairs the per-requirement verdicts of an OLD and a NEW run. Each change is
one of:

- ``regression``: the verdict got worse into ``fail`` or ``error`` (``pass`` -> ``fail``,
  ``inconc`` -> ``error``, ...);
- ``new-fail``: a requirement OLD did not test is ``fail``/``error`` in NEW;
- ``coverage-drop``: OLD judged the requirement (pass, fail, inconc or error) and NEW did
  not (not run, or no check carried it): a smaller run must not read as a clean one;
- ``fixed``: ``fail``/``error`` in OLD, better in NEW;
- ``changed``: any other change (``pass`` -> ``inconc``, newly tested and passing, ...).

:func:`compare_test_cases` does the same per test case (verdict changed, only in OLD, only
in NEW). :func:`worse` is true when there is a regression, a new fail or (unless shrinking is
allowed) a coverage drop: ``cpm-conformance compare`` exits 1 then, so it can gate CI.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from conformance.checks.verdict import Verdict
from conformance.report.model import RunResults

__all__ = ["Change", "TestCaseChange", "compare", "compare_test_cases", "summary", "worse"]

_BAD = (Verdict.FAIL, Verdict.ERROR)


@dataclass(frozen=True, slots=True)
class Change:
    requirement: str
    old: Verdict | None
    new: Verdict | None
    kind: str

    def to_json(self) -> dict[str, str]:
        return {
            "requirement": self.requirement,
            "kind": self.kind,
            "old": self.old.value if self.old else "untested",
            "new": self.new.value if self.new else "untested",
        }


_JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR)
#: the kinds a gate fails on (a coverage drop only without --allow-shrink)
BAD_KINDS = ("regression", "new-fail", "coverage-drop")


def _kind(old: Verdict | None, new: Verdict | None) -> str:
    if new is None and old in _JUDGED:
        return "coverage-drop"
    if new in _BAD:
        if old is None:
            return "new-fail"
        if old not in _BAD or new > old:
            return "regression"
    if old in _BAD and new not in _BAD and new is not None:
        return "fixed"
    return "changed"


def compare(old: RunResults, new: RunResults) -> list[Change]:
    """Every requirement whose verdict differs between ``old`` and ``new`` (sorted: the
    regressions and new fails first, then the fixes, then the rest; by id within each)."""
    # a requirement no check carried (not evaluated) counts as untested on that side
    a = {r.id: r.verdict for r in old.requirements() if r.verdict is not None}
    b = {r.id: r.verdict for r in new.requirements() if r.verdict is not None}
    changes = [
        Change(rid, a.get(rid), b.get(rid), _kind(a.get(rid), b.get(rid)))
        for rid in sorted(set(a) | set(b))
        if a.get(rid) != b.get(rid)
    ]
    order = {"regression": 0, "new-fail": 1, "coverage-drop": 2, "fixed": 3, "changed": 4}
    return sorted(changes, key=lambda c: (order[c.kind], c.requirement))


def worse(changes: list[Change], *, allow_shrink: bool = False) -> bool:
    bad = {"regression", "new-fail"} if allow_shrink else set(BAD_KINDS)
    return any(c.kind in bad for c in changes)


@dataclass(frozen=True, slots=True)
class TestCaseChange:
    __test__ = False  # not a pytest test class

    nodeid: str
    old: str  #: the verdict, or "not run"
    new: str

    def to_json(self) -> dict[str, str]:
        return {"test_case": self.nodeid, "old": self.old, "new": self.new}


def compare_test_cases(old: RunResults, new: RunResults) -> list[TestCaseChange]:
    """Every test case whose verdict differs, or that ran in one run only."""
    a = {tc.nodeid: tc.verdict.value for tc in old.test_cases}
    b = {tc.nodeid: tc.verdict.value for tc in new.test_cases}
    return [
        TestCaseChange(n, a.get(n, "not run"), b.get(n, "not run"))
        for n in sorted(set(a) | set(b))
        if a.get(n) != b.get(n)
    ]


def summary(changes: list[Change], cases: list[TestCaseChange]) -> str:
    """One line: the count of each kind of change, and the test-case changes."""
    kinds = Counter(c.kind for c in changes)
    parts = [f"{kinds.get(k, 0)} {k}" for k in (*BAD_KINDS, "fixed", "changed")]
    only_old = sum(c.new == "not run" for c in cases)
    only_new = sum(c.old == "not run" for c in cases)
    return (
        f"requirements: {', '.join(parts)}; test cases: {len(cases) - only_old - only_new}"
        f" changed verdict, {only_old} only in OLD, {only_new} only in NEW"
    )
