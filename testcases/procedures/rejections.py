"""The judging step shared by the PF's rejection test cases (seed 004 8.2.1 steps 1-3 and
8.3.2 steps 1-5, 7.iii, 8.b.ii.1): the status of the PF's final response and, where the
step names one, its first Warning.

The expected values stay in each test case (the seed text of its own step); this module
only records the two checks the way every rejection case recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.checks import VerdictRecorder, expect_equal
from conformance.checks.verdict import EvidenceRef
from conformance.protocol.sip.message import SipResponse
from conformance.testcases.procedures.messages import first_warning, sip_evidence

FINAL_RESPONSE = "the PF's final response"


def expect_rejection(
    recorder: VerdictRecorder,
    answer: SipResponse,
    requirement: str,
    status: int,
    *,
    warning_requirement: str | None = None,
    warning: tuple[int, str] | None = None,
    more_evidence: Sequence[EvidenceRef] = (),
) -> None:
    """``answer`` (the PF's final response) has ``status`` (``requirement``) and, with
    ``warning_requirement``, ``warning`` as its first Warning (code, text)."""
    ev = [sip_evidence(answer, FINAL_RESPONSE), *more_evidence]
    expect_equal(recorder, requirement, expected=status, actual=answer.status, evidence=ev)
    if warning_requirement is not None:
        expect_equal(
            recorder,
            warning_requirement,
            expected=warning,
            actual=first_warning(answer),
            evidence=ev,
        )


__all__ = ["FINAL_RESPONSE", "expect_rejection"]
