"""The matcher base: an observation becomes a :class:`CheckResult` against one requirement.

Every helper records exactly one result in the test case's :class:`VerdictRecorder` and
returns it. A failed check does not stop the test case (soft), unless ``fatal=True``: then
it raises :class:`CheckFailed` at once. The plugin fails the test case at its end when any
check failed, printing requirement / expected / actual / evidence for each.

Example (the ``verdicts`` fixture is the test case's recorder)::

    ok = ua.expect_response(invite, within=guard)
    expect_equal(verdicts, "PF-8.3.2-3", expected=200, actual=ok.status,
                 evidence=[sip_evidence(ok)], fatal=True)
    expect_in(verdicts, "PF-8.3.2-4", expected={"sent", "received"},
              actual=ok.header("Message-Direction"))
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import NoReturn

from conformance.checks.verdict import (
    CheckFailed,
    CheckResult,
    EvidenceRef,
    Inconclusive,
    NotApplicable,
    Verdict,
    VerdictRecorder,
)

__all__ = [
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
]

Evidence = Iterable[EvidenceRef] | EvidenceRef | None


def _evidence_tuple(ev: Evidence) -> tuple[EvidenceRef, ...]:
    if ev is None:
        return ()
    if isinstance(ev, EvidenceRef):
        return (ev,)
    return tuple(ev)


def _text(value: object) -> str:
    """A value as a reader of the report reads it: text as it is, no Python reprs (``yes``
    and ``no`` for booleans, ``none`` for None, lists and tuples as ``a, b``, sets sorted,
    mappings as ``key: value``)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, str):
        return value
    return _human(value, nested=False)


def _human(value: object, *, nested: bool) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, Mapping):
        inner = "; ".join(
            f"{_human(k, nested=True)}: {_human(v, nested=True)}" for k, v in value.items()
        )
        return f"{{{inner}}}" if nested else inner
    if isinstance(value, (set, frozenset)):
        items = sorted((_human(v, nested=True) for v in value), key=str)
    elif isinstance(value, (list, tuple)):
        items = [_human(v, nested=True) for v in value]
    else:
        return str(value)
    if not items:
        return "(empty)" if not nested else "[]"
    return f"[{', '.join(items)}]" if nested else ", ".join(items)


def evidence(
    kind: str, description: str, pointer: str = "", excerpt: bytes | str = b""
) -> EvidenceRef:
    """Shorthand for :class:`EvidenceRef` (``excerpt`` may be text)."""
    raw = excerpt.encode("utf-8") if isinstance(excerpt, str) else excerpt
    return EvidenceRef(kind, description, pointer, raw)


def check(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    ok: bool,
    expected: object,
    actual: object,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
    failure: Verdict = Verdict.FAIL,
) -> CheckResult:
    """Record ``pass`` when ``ok``, else ``failure`` (``fail`` by default).

    ``expected`` describes every acceptable outcome; ``actual`` what was observed. Both are
    kept as text (``str`` as is, ``bytes`` decoded, anything else ``repr``).
    """
    result = recorder.record(
        CheckResult(
            requirement=requirement,
            verdict=Verdict.PASS if ok else failure,
            expected=_text(expected),
            actual=_text(actual),
            evidence=_evidence_tuple(evidence),
            message=message,
        )
    )
    if fatal and result.verdict >= Verdict.FAIL:
        raise CheckFailed([result])
    if fatal and result.verdict is Verdict.INCONC:
        raise Inconclusive(f"{requirement}: {message or 'check inconclusive'}")
    return result


def expect_equal(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    expected: object,
    actual: object,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``actual == expected``."""
    return check(
        recorder,
        requirement,
        ok=actual == expected,
        expected=expected,
        actual=actual,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def expect_in(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    expected: Collection[object],
    actual: object,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``actual`` is one of the acceptable outcomes ``expected``."""
    shown = " | ".join(sorted(_text(e) for e in expected))
    return check(
        recorder,
        requirement,
        ok=actual in expected,
        expected=f"one of: {shown}",
        actual=actual,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def expect_contains(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    item: object,
    container: Collection[object] | str | bytes,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``item in container`` (a header among headers, a substring in a body, ...)."""
    return check(
        recorder,
        requirement,
        ok=item in container,
        expected=f"contains {_text(item)}",
        actual=container,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def expect_match(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    predicate: Callable[[object], bool],
    expected: str,
    actual: object,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``predicate(actual)``; ``expected`` describes what the predicate accepts."""
    return check(
        recorder,
        requirement,
        ok=bool(predicate(actual)),
        expected=expected,
        actual=actual,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def expect_true(
    recorder: VerdictRecorder,
    requirement: str,
    condition: bool,
    *,
    expected: str,
    actual: object = None,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``condition`` holds; ``expected`` says what it means, ``actual`` what was seen."""
    return check(
        recorder,
        requirement,
        ok=bool(condition),
        expected=expected,
        actual=condition if actual is None else actual,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def expect_false(
    recorder: VerdictRecorder,
    requirement: str,
    condition: bool,
    *,
    expected: str,
    actual: object = None,
    evidence: Evidence = None,
    message: str = "",
    fatal: bool = False,
) -> CheckResult:
    """``condition`` does not hold (a SHALL NOT)."""
    return check(
        recorder,
        requirement,
        ok=not condition,
        expected=expected,
        actual=condition if actual is None else actual,
        evidence=evidence,
        message=message,
        fatal=fatal,
    )


def record_inconclusive(
    recorder: VerdictRecorder,
    requirement: str,
    *,
    expected: object,
    actual: object,
    reason: str,
    evidence: Evidence = None,
) -> CheckResult:
    """Record ``inconc`` for one requirement and go on (the soft form of :func:`inconclusive`)."""
    return check(
        recorder,
        requirement,
        ok=False,
        expected=expected,
        actual=actual,
        evidence=evidence,
        message=reason,
        failure=Verdict.INCONC,
    )


def inconclusive(reason: str) -> NoReturn:
    """Stop the test case: the SUT never reached the state the checks need (``inconc``)."""
    raise Inconclusive(reason)


def not_applicable(reason: str) -> NoReturn:
    """Stop the test case: the PICS rules it out (``n/a``)."""
    raise NotApplicable(reason)
