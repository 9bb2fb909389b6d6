"""Baseline comparison of two runs: the requirements whose verdict changed.

:func:`compare` pairs the per-requirement verdicts of an OLD and a NEW run. Each change is
one of:

- ``regression``: the verdict got worse into ``fail`` or ``error`` (``pass`` -> ``fail``,
  ``inconc`` -> ``error``, ...);
- ``new-fail``: a requirement OLD did not test is ``fail``/``error`` in NEW;
- ``fixed``: ``fail``/``error`` in OLD, better in NEW;
- ``changed``: any other change (``pass`` -> ``inconc``, newly tested and passing,
  no longer tested, ...).

:func:`worse` is true when there is a regression or a new fail: ``cpm-conformance compare``
exits 1 then, so it can gate CI.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.verdict import Verdict
from conformance.report.model import RunResults

__all__ = ["Change", "compare", "worse"]

_BAD = (Verdict.FAIL, Verdict.ERROR)


@dataclass(frozen=True, slots=True)
class Change:
    requirement: str
    old: Verdict | None
    new: Verdict | None
    kind: str

    def to_json(self) -> dict[str, str]:
        return {"requirement": self.requirement, "kind": self.kind,
                "old": self.old.value if self.old else "untested",
                "new": self.new.value if self.new else "untested"}


def _kind(old: Verdict | None, new: Verdict | None) -> str:
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
    order = {"regression": 0, "new-fail": 1, "fixed": 2, "changed": 3}
    return sorted(changes, key=lambda c: (order[c.kind], c.requirement))


def worse(changes: list[Change]) -> bool:
    return any(c.kind in ("regression", "new-fail") for c in changes)
