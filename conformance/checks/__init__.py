"""checks layer (see DESIGN.md): observations become verdicts against requirements.

- :mod:`conformance.checks.verdict`: :class:`Verdict` (ordered n/a < pass < inconc < fail
  < error), :class:`CheckResult`, :class:`EvidenceRef`, :class:`VerdictRecorder` and the
  outcome exceptions.
- :mod:`conformance.checks.check`: the matcher base (``check``, ``expect_*``,
  ``inconclusive``, ``not_applicable``).
"""

from conformance.checks.check import (
    check,
    evidence,
    expect_contains,
    expect_equal,
    expect_false,
    expect_in,
    expect_match,
    expect_true,
    inconclusive,
    not_applicable,
    record_inconclusive,
)
from conformance.checks.verdict import (
    CheckFailed,
    CheckResult,
    EvidenceRef,
    Inconclusive,
    NotApplicable,
    Verdict,
    VerdictRecorder,
    worst,
)

__all__ = [
    "CheckFailed",
    "CheckResult",
    "EvidenceRef",
    "Inconclusive",
    "NotApplicable",
    "Verdict",
    "VerdictRecorder",
    "check",
    "evidence",
    "expect_contains",
    "expect_equal",
    "expect_false",
    "expect_in",
    "expect_match",
    "expect_true",
    "inconclusive",
    "not_applicable",
    "record_inconclusive",
    "worst",
]
