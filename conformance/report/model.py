"""The result model of a run, independent of pytest (DESIGN.md, "Results").

- :class:`TestCaseResult`: one test case: its verdict (the worst of its checks and of how
  it ended), the requirements it declares, its checks with expected/actual/evidence.
- :class:`RequirementResult`: one requirement: the worst verdict over every test case that
  declares it, and those test cases.
- :class:`RunResults`: the run: metadata, test cases, requirements and a summary.

Per-requirement verdict within one test case: the worst of that test case's checks against
the requirement; a requirement the test case declares but never checks explicitly takes the
test-case verdict (a plain ``assert`` judges every requirement the test declares).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.verdict import CheckResult, Verdict, worst
from conformance.report.evidence import MessageRecord

__all__ = [
    "RESULTS_FORMAT",
    "RequirementResult",
    "RunResults",
    "TestCaseResult",
    "exit_status",
]

RESULTS_FORMAT = "cpm-conformance-results/1"


@dataclass(frozen=True, slots=True)
class TestCaseResult:
    __test__ = False  # not a pytest test class

    nodeid: str
    verdict: Verdict
    requirements: tuple[str, ...] = ()
    duration: float = 0.0
    checks: tuple[CheckResult, ...] = ()
    #: why the verdict (the skip reason, the failure's first line, the error)
    reason: str = ""
    role: str = ""
    #: wall-clock start and end (seconds since the epoch), 0 when unknown
    start: float = 0.0
    stop: float = 0.0
    #: the failure text (requirement / expected / actual / evidence, or the traceback)
    details: str = ""
    #: the test purpose (the test function's docstring)
    purpose: str = ""
    #: the captured messages of the test case (from its set-up to its teardown)
    evidence: tuple[MessageRecord, ...] = ()
    #: evidence files relative to the report directory: {"log": ..., "pcap": ...}
    files: Mapping[str, str] = field(default_factory=dict)

    def requirement_verdicts(self) -> dict[str, Verdict]:
        """Verdict per requirement this test case declares or checks."""
        out: dict[str, Verdict] = {}
        for c in self.checks:
            out[c.requirement] = worst((out.get(c.requirement, Verdict.NA), c.verdict))
        for rid in self.requirements:
            if rid not in out:
                out[rid] = self.verdict
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "verdict": self.verdict.value,
            "requirements": list(self.requirements),
            "role": self.role,
            "duration": round(self.duration, 6),
            "start": self.start,
            "stop": self.stop,
            "reason": self.reason,
            "details": self.details,
            "checks": [c.to_json() for c in self.checks],
            "purpose": self.purpose,
            "files": dict(self.files),
            "evidence": [m.to_json() for m in self.evidence],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestCaseResult:
        return cls(
            nodeid=str(data["nodeid"]),
            verdict=Verdict.parse(str(data["verdict"])),
            requirements=tuple(str(r) for r in data.get("requirements", ())),
            duration=float(data.get("duration", 0.0)),
            checks=tuple(CheckResult.from_json(c) for c in data.get("checks", ())),
            reason=str(data.get("reason", "")),
            role=str(data.get("role", "")),
            start=float(data.get("start", 0.0)),
            stop=float(data.get("stop", 0.0)),
            details=str(data.get("details", "")),
            purpose=str(data.get("purpose", "")),
            evidence=tuple(MessageRecord.from_json(m) for m in data.get("evidence", ())),
            files={str(k): str(v) for k, v in dict(data.get("files", {})).items()},
        )


@dataclass(frozen=True, slots=True)
class RequirementResult:
    id: str
    verdict: Verdict
    test_cases: tuple[str, ...]
    #: catalogue facts when known: document, section, strength, role, title
    info: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.value,
            "test_cases": list(self.test_cases),
            **dict(self.info),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequirementResult:
        info = {
            k: str(v) for k, v in data.items() if k not in ("id", "verdict", "test_cases")
        }
        return cls(
            id=str(data["id"]),
            verdict=Verdict.parse(str(data["verdict"])),
            test_cases=tuple(str(t) for t in data.get("test_cases", ())),
            info=info,
        )


def _counts(verdicts: Iterable[Verdict]) -> dict[str, int]:
    c = Counter(v.value for v in verdicts)
    out = {v.value: c.get(v.value, 0) for v in Verdict}
    out["total"] = sum(c.values())
    return out


@dataclass(slots=True)
class RunResults:
    """A run's results; ``requirements`` and ``summary`` are computed from the test cases."""

    run: dict[str, Any] = field(default_factory=dict)
    test_cases: list[TestCaseResult] = field(default_factory=list)
    #: catalogue facts per requirement id (document, section, strength, role, title)
    requirement_info: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, tc: TestCaseResult) -> None:
        self.test_cases.append(tc)

    def requirements(self) -> list[RequirementResult]:
        verdicts: dict[str, Verdict] = {}
        tests: dict[str, list[str]] = {}
        for tc in self.test_cases:
            for rid, v in tc.requirement_verdicts().items():
                verdicts[rid] = worst((verdicts.get(rid, Verdict.NA), v))
                tests.setdefault(rid, []).append(tc.nodeid)
        return [
            RequirementResult(rid, verdicts[rid], tuple(tests[rid]),
                              dict(self.requirement_info.get(rid, {})))
            for rid in sorted(verdicts)
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "test_cases": _counts(tc.verdict for tc in self.test_cases),
            "requirements": _counts(r.verdict for r in self.requirements()),
            "verdict": self.verdict().value,
        }

    def verdict(self) -> Verdict:
        """The run's verdict: the worst test-case verdict (``n/a`` when none ran)."""
        return worst(tc.verdict for tc in self.test_cases)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULTS_FORMAT,
            "run": self.run,
            "summary": self.summary(),
            "test_cases": [tc.to_json() for tc in self.test_cases],
            "requirements": [r.to_json() for r in self.requirements()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResults:
        info = {
            str(r["id"]): {k: str(v) for k, v in r.items()
                           if k not in ("id", "verdict", "test_cases")}
            for r in data.get("requirements", ())
        }
        return cls(
            run=dict(data.get("run", {})),
            test_cases=[TestCaseResult.from_json(t) for t in data.get("test_cases", ())],
            requirement_info=info,
        )


def exit_status(results: RunResults) -> int:
    """0 when every applicable test case passed, 1 on any ``fail``, 2 when no ``fail`` but
    some ``inconc`` or ``error``."""
    verdicts = {tc.verdict for tc in results.test_cases}
    if Verdict.FAIL in verdicts:
        return 1
    if verdicts & {Verdict.INCONC, Verdict.ERROR}:
        return 2
    return 0
