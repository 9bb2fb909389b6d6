"""The result model of a run, independent of pytest (DESIGN.md, "Results").

- :class:`TestCaseResult`: one test case: its verdict (the worst of its checks and of how
  it ended), the requirements it declares, its checks with expected/actual/evidence.
- :class:`RequirementResult`: one requirement: the worst verdict over every test case that
  declares it, and those test cases.
- :class:`RunResults`: the run: metadata, test cases, requirements and a summary.

Per-requirement verdict within one test case: the worst of that test case's checks that carry
the requirement's id. A requirement the test case declares but no check carried is **not
evaluated** there (:data:`NOT_EVALUATED`, with the reason), never a pass or a fail inherited
from the test case (DESIGN.md, "Results"). The one exception is a test case that never judged
anything: when it ended ``n/a`` (the PICS ruled it out), ``inconc`` (the SUT never reached the
state the check needs) or ``error`` (the tool failed), its declared requirements take that
verdict, as none of those says the SUT passed or broke them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.checks.verdict import CheckResult, Verdict, worst
from conformance.report.evidence import MessageRecord

__all__ = [
    "NOT_EVALUATED",
    "RESULTS_FORMAT",
    "RequirementResult",
    "RunResults",
    "TestCaseResult",
    "exit_status",
]

RESULTS_FORMAT = "cpm-conformance-results/1"
#: the status of a requirement that a test case declared but no check of it carried
NOT_EVALUATED = "not evaluated"
#: test-case verdicts that judge nothing, so that a declared requirement may take them
_UNJUDGED = frozenset({Verdict.NA, Verdict.INCONC, Verdict.ERROR})


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
    #: the shard that ran it ("K/N" of ``run --shard``), "" when the run was not sharded
    shard: str = ""
    #: the parallel worker that ran it ("gw3"), "" in a serial run
    worker: str = ""
    #: the users of the profile it ran with (its worker's slice of the user pool, or every
    #: user; docs/parallel.md)
    users: tuple[str, ...] = ()

    def requirement_verdicts(self) -> dict[str, Verdict]:
        """Verdict per requirement this test case judged: the worst of the checks carrying
        each id; a declared id no check carried takes the test case's verdict only when
        that is ``n/a``, ``inconc`` or ``error`` (see :meth:`not_evaluated`)."""
        out: dict[str, Verdict] = {}
        for c in self.checks:
            out[c.requirement] = worst((out.get(c.requirement, Verdict.NA), c.verdict))
        if self.verdict in _UNJUDGED:
            for rid in self.requirements:
                out.setdefault(rid, self.verdict)
        return out

    def not_evaluated(self) -> dict[str, str]:
        """The declared requirements no check of this test case carried, with the reason
        (only when the test case itself passed or failed: see :meth:`requirement_verdicts`)."""
        if self.verdict in _UNJUDGED:
            return {}
        checked = {c.requirement for c in self.checks}
        return {
            rid: f"declared, but no check carried it (the test case: {self.verdict.value})"
            for rid in self.requirements
            if rid not in checked
        }

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
            **({"shard": self.shard} if self.shard else {}),
            **({"worker": self.worker} if self.worker else {}),
            **({"users": list(self.users)} if self.users else {}),
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
            shard=str(data.get("shard", "")),
            worker=str(data.get("worker", "")),
            users=tuple(str(u) for u in data.get("users", ())),
        )


@dataclass(frozen=True, slots=True)
class RequirementResult:
    id: str
    #: the worst verdict of the checks carrying the id; None: not evaluated (see ``reason``)
    verdict: Verdict | None
    test_cases: tuple[str, ...]
    #: catalogue facts when known: document, section, strength, role, title
    info: Mapping[str, str] = field(default_factory=dict)
    #: why the requirement was not evaluated (empty when it has a verdict)
    reason: str = ""

    @property
    def status(self) -> str:
        """The verdict's word, or :data:`NOT_EVALUATED`."""
        return self.verdict.value if self.verdict is not None else NOT_EVALUATED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "verdict": self.status,
            "test_cases": list(self.test_cases),
            **dict(self.info),
        }
        if self.reason:
            out["reason"] = self.reason
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RequirementResult:
        info = {
            k: str(v) for k, v in data.items() if k not in ("id", "verdict", "test_cases", "reason")
        }
        text = str(data["verdict"])
        return cls(
            id=str(data["id"]),
            verdict=None if text == NOT_EVALUATED else Verdict.parse(text),
            test_cases=tuple(str(t) for t in data.get("test_cases", ())),
            info=info,
            reason=str(data.get("reason", "")),
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
        """One result per requirement a test case declared or a check carried: the worst
        verdict of the checks carrying its id over the run; not evaluated when no check
        carried it (and no test case ruled it n/a, inconc or error)."""
        verdicts: dict[str, Verdict] = {}
        reasons: dict[str, str] = {}
        tests: dict[str, list[str]] = {}
        for tc in self.test_cases:
            for rid, v in tc.requirement_verdicts().items():
                verdicts[rid] = worst((verdicts.get(rid, Verdict.NA), v))
                tests.setdefault(rid, []).append(tc.nodeid)
            for rid, why in tc.not_evaluated().items():
                reasons.setdefault(rid, f"{tc.nodeid.rpartition('::')[2]}: {why}")
                tests.setdefault(rid, []).append(tc.nodeid)
        return [
            RequirementResult(
                rid,
                verdicts.get(rid),
                tuple(tests[rid]),
                dict(self.requirement_info.get(rid, {})),
                "" if rid in verdicts else reasons[rid],
            )
            for rid in sorted(tests)
        ]

    def summary(self) -> dict[str, Any]:
        requirements = self.requirements()
        counts = _counts(r.verdict for r in requirements if r.verdict is not None)
        counts[NOT_EVALUATED] = sum(r.verdict is None for r in requirements)
        counts["total"] += counts[NOT_EVALUATED]
        return {
            "test_cases": _counts(tc.verdict for tc in self.test_cases),
            "requirements": counts,
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
            str(r["id"]): {
                k: str(v) for k, v in r.items() if k not in ("id", "verdict", "test_cases")
            }
            for r in data.get("requirements", ())
        }
        return cls(
            run=dict(data.get("run", {})),
            test_cases=[TestCaseResult.from_json(t) for t in data.get("test_cases", ())],
            requirement_info=info,
        )


def exit_status(results: RunResults) -> int:
    """0 when every applicable test case passed, 1 on any ``fail``, 2 when no ``fail`` but
    some ``inconc`` or ``error``, 4 when nothing was applicable (no test case, or every
    one ``n/a``): a gate must not read a run that judged nothing as a pass."""
    verdicts = {tc.verdict for tc in results.test_cases}
    if Verdict.FAIL in verdicts:
        return 1
    if verdicts & {Verdict.INCONC, Verdict.ERROR}:
        return 2
    if not verdicts - {Verdict.NA}:
        return 4
    return 0
