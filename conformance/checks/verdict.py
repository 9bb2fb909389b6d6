"""Verdicts, check results and the per-test-case verdict recorder (DESIGN.md, "Results").

Verdict order (ETSI TTCN-3 verdict overwriting, with ``n/a`` in the place of ``none``)::

    n/a  <  pass  <  inconc  <  fail  <  error

A verdict only gets worse within a test case: :func:`worst` (and
:meth:`VerdictRecorder.verdict`) keeps the highest verdict seen. ``n/a`` is the identity:
a test case whose every check is ``n/a`` is ``n/a``; one ``pass`` makes it ``pass``.

- ``pass``: the observation matches one of the expected outcomes.
- ``inconc``: the SUT never reached the state the check needs (no upper tester, a
  preamble the SUT refused for a reason no requirement of this test covers, ...).
- ``fail``: the SUT broke the requirement.
- ``error``: the test system itself failed (a bug, a crashed emulator, a bad profile).
- ``n/a``: the PICS rules the requirement out (or it is optional and ``--strict`` is off).

The two outcome exceptions :class:`Inconclusive` and :class:`NotApplicable` (defined in
:mod:`conformance.errors`, re-exported here) are plain exceptions whose message starts with a
recognisable prefix (``"inconc: "``, ``"n/a: "``); the pytest plugin turns them into pytest
skips with that message and maps them to verdicts, also across pytest-xdist workers where
only the report text survives. :class:`CheckFailed` is an ``AssertionError``: pytest reports
it as a failure. This layer never imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.errors import (
    INCONC_PREFIX,
    NA_PREFIX,
    Inconclusive,
    LocalProtocolError,
    NotApplicable,
)

__all__ = [
    "INCONC_PREFIX",
    "NA_PREFIX",
    "CheckFailed",
    "CheckResult",
    "EvidenceRef",
    "Inconclusive",
    "NotApplicable",
    "Verdict",
    "VerdictRecorder",
    "verdict_from_skip_reason",
    "worst",
]


class Verdict(StrEnum):
    """A verdict (DESIGN.md vocabulary). Compare with ``<``: the order is the severity."""

    NA = "n/a"
    PASS = "pass"  # noqa: S105 - a verdict, not a secret
    INCONC = "inconc"
    FAIL = "fail"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Verdict:
        """``"pass"``, ``"n/a"``, ... (also accepts ``"na"`` and ``"inconclusive"``)."""
        aliases = {"na": "n/a", "inconclusive": "inconc", "passed": "pass", "failed": "fail"}
        return cls(aliases.get(text.lower(), text.lower()))


_RANK = {Verdict.NA: 0, Verdict.PASS: 1, Verdict.INCONC: 2, Verdict.FAIL: 3, Verdict.ERROR: 4}


def worst(verdicts: Iterable[Verdict], default: Verdict = Verdict.NA) -> Verdict:
    """The worst of ``verdicts`` (``default`` when there are none)."""
    result = default
    for v in verdicts:
        if v > result:
            result = v
    return result


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """Where the evidence of a check lies.

    ``kind`` is for example ``"sip"``, ``"msrp"``, ``"document"``, ``"imap"``, ``"value"``;
    ``pointer`` points into the capture (``"capture.pcap#frame=12"``, a message index, a
    mailbox path); ``excerpt`` is a short excerpt of the raw bytes, when there are any.
    """

    kind: str
    description: str
    pointer: str = ""
    excerpt: bytes = b""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "description": self.description}
        if self.pointer:
            out["pointer"] = self.pointer
        if self.excerpt:
            out["excerpt"] = self.excerpt.decode("utf-8", errors="backslashreplace")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvidenceRef:
        return cls(
            kind=str(data.get("kind", "")),
            description=str(data.get("description", "")),
            pointer=str(data.get("pointer", "")),
            excerpt=str(data.get("excerpt", "")).encode("utf-8"),
        )

    def __str__(self) -> str:
        where = f" @ {self.pointer}" if self.pointer else ""
        return f"{self.kind}: {self.description}{where}"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check against one requirement."""

    requirement: str
    verdict: Verdict
    #: every acceptable outcome, as text
    expected: str
    #: what was observed, as text
    actual: str
    evidence: tuple[EvidenceRef, ...] = ()
    message: str = ""

    def describe(self) -> str:
        """The failure text: requirement / expected / actual / evidence."""
        lines = [
            f"requirement: {self.requirement}  [{self.verdict}]",
            f"  expected: {self.expected}",
            f"  actual:   {self.actual}",
        ]
        if self.message:
            lines.append(f"  message:  {self.message}")
        if self.evidence:
            lines.append("  evidence:")
            lines.extend(f"    - {e}" for e in self.evidence)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "verdict": self.verdict.value,
            "expected": self.expected,
            "actual": self.actual,
            "evidence": [e.to_json() for e in self.evidence],
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            requirement=str(data["requirement"]),
            verdict=Verdict.parse(str(data["verdict"])),
            expected=str(data.get("expected", "")),
            actual=str(data.get("actual", "")),
            evidence=tuple(EvidenceRef.from_json(e) for e in data.get("evidence", ())),
            message=str(data.get("message", "")),
        )


class CheckFailed(AssertionError):
    """A test case's checks failed; pytest reports a failure (verdict ``fail``)."""

    def __init__(self, results: Sequence[CheckResult]) -> None:
        self.results = tuple(results)
        super().__init__("\n".join(r.describe() for r in self.results))


def verdict_from_skip_reason(reason: str) -> tuple[Verdict, str]:
    """Map a pytest skip reason to a verdict and the bare reason.

    ``"inconc: ..."`` is ``inconc``, ``"n/a: ..."`` is ``n/a``. Any other skip is ``inconc``
    too: something stopped the test case before its checks, and a skip is never silent.
    pytest's ``"Skipped: "`` prefix is tolerated.
    """
    text = reason.strip()
    if text.startswith("Skipped: "):
        text = text[len("Skipped: ") :]
    if text.startswith(NA_PREFIX):
        return Verdict.NA, text[len(NA_PREFIX) :]
    if text.startswith(INCONC_PREFIX):
        return Verdict.INCONC, text[len(INCONC_PREFIX) :]
    return Verdict.INCONC, f"skipped: {text}"


@dataclass(slots=True)
class VerdictRecorder:
    """Collects the :class:`CheckResult` of one test case.

    - ``allowed``: when not empty, the requirement ids the test case declares; a check
      against any other id is the test system's own misuse (:class:`LocalProtocolError`,
      verdict ``error``).
    - ``not_applicable``: ids the PICS (or the absence of ``--strict``) rules out, with the
      reason; their checks are still recorded, with verdict ``n/a``.
    """

    allowed: frozenset[str] = frozenset()
    not_applicable: dict[str, str] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)

    def record(self, result: CheckResult) -> CheckResult:
        if self.allowed and result.requirement not in self.allowed:
            raise LocalProtocolError(
                f"check against {result.requirement!r}, which the test case does not declare"
                f" (its requirement marker lists {', '.join(sorted(self.allowed))})"
            )
        reason = self.not_applicable.get(result.requirement)
        if reason is not None and result.verdict is not Verdict.NA:
            note = f"n/a ({reason}); observed {result.verdict.value}"
            result = CheckResult(
                result.requirement,
                Verdict.NA,
                result.expected,
                result.actual,
                result.evidence,
                f"{note}: {result.message}" if result.message else note,
            )
        self.results.append(result)
        return result

    def verdict(self) -> Verdict:
        """The test-case verdict so far: the worst recorded (``n/a`` when none)."""
        return worst(r.verdict for r in self.results)

    def failures(self) -> list[CheckResult]:
        """The results at ``fail`` or worse."""
        return [r for r in self.results if r.verdict >= Verdict.FAIL]

    def for_requirement(self, requirement: str) -> list[CheckResult]:
        return [r for r in self.results if r.requirement == requirement]

    def by_requirement(self) -> dict[str, Verdict]:
        """Worst verdict per requirement id that has at least one check."""
        out: dict[str, Verdict] = {}
        for r in self.results:
            out[r.requirement] = worst((out.get(r.requirement, Verdict.NA), r.verdict))
        return out
